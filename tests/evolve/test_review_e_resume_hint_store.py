"""Ctrl-C of `mindgit --store PATH evolve ...` printed `mindgit evolve --resume RUN`, without the
store: run as printed from another directory it found another store, or none. The store is
named as it was given (--store or MINDGIT_STORE), as `experiments --delete` names it in the
command that brings an experiment back. Found by review E.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mindgit.evolve.fitness import add_fitness
from mindgit.store.generation import RUNS_PREFIX
from tests.conftest import Mg, fsck
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.evolve.test_kill import DRIVER


@pytest.mark.skipif(os.name != "posix", reason="SIGINT")
def test_ctrl_c_names_the_store_given_in_the_resume_command(tmp_path: Path, mg: Mg) -> None:
    path = tmp_path / "my store"
    store = new_store(path, float_genes(3))
    add_fitness(store, RASTRIGIN)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    args = ["evolve", "--fitness", "rastrigin", "--generations", "3000", "--population", "16"]
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, "--store", str(path), *args],
        cwd=elsewhere,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k != "MINDGIT_STORE"},
    )
    deadline = time.monotonic() + 60
    while not [x for x in store.repo.references if x.startswith(RUNS_PREFIX)]:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    (run,) = [
        x.removeprefix(RUNS_PREFIX) for x in store.repo.references if x.startswith(RUNS_PREFIX)
    ]
    command = f"mindgit --store {shlex.quote(str(path))} evolve --resume {run}"
    assert f"stopped; continue with `{command}`" in err.decode()
    # As printed, from elsewhere, it resumes the run.
    r = mg(*shlex.split(command)[1:], "-q")
    assert r.code == 0, r.err
    fsck(path)
