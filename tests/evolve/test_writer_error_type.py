"""`evolve --json` reports a writer's error under its own type whether the generations are
written by a second process (the default) or in evolve's own (MINDGIT_EVOLVE_FORK=0): the
second process's errors came back as 'PersistFailed'."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import git
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store


@pytest.mark.parametrize("fork", ["1", "0"])
def test_a_run_ref_deleted_meanwhile_is_the_same_error_type_either_way(
    tmp_path: Path, fork: str
) -> None:
    store = new_store(tmp_path / "s", float_genes(8))
    runs = Path(store.repo.path) / "refs" / "runs"
    evolve = subprocess.Popen(
        [
            *(sys.executable, "-m", "mindgit", "--store", str(store.path), "evolve", "--json"),
            *("--fitness", str(RASTRIGIN), "--generations", "100000", "--population", "16"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "MINDGIT_EVOLVE_FORK": fork},
    )
    try:
        deadline = time.monotonic() + 60
        while not (runs.is_dir() and [p for p in runs.iterdir() if ".lock" not in p.name]):
            assert evolve.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        (ref,) = [p for p in runs.iterdir() if ".lock" not in p.name]
        git(
            "--git-dir",
            str(store.repo.path),
            "-c",
            "core.filesRefLockTimeout=10000",
            "update-ref",
            "-d",
            f"refs/runs/{ref.name}",
        )
        out, err = evolve.communicate(timeout=60)
    finally:
        if evolve.poll() is None:
            evolve.kill()
            evolve.wait()
    assert evolve.returncode == 1, err
    failure = json.loads(out.decode() or err.decode())
    assert failure["type"] == "RunRefNotMoved", failure
    assert f"run {ref.name}: its ref refs/runs/{ref.name} was deleted" in failure["error"]
