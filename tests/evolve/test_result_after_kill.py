"""A run killed between its last generation and its result, whose experiment is then deleted:
--resume said "complete and its result is committed" though no result was ever committed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mindgit.evolve.run import result_experiment, resume_run
from mindgit.evolve.runs import list_runs
from mindgit.store.deletion import delete_experiment
from tests.conftest import ROOT
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store

# Runs a whole evolve in store argv[1] and dies (SIGKILL, no cleanup) where the result would be
# committed: every generation is written, the result is not.
KILLED_BEFORE_THE_RESULT = r"""
import os, signal, sys
from mindgit.evolve import run
from mindgit.store.generation import RunParams
from mindgit.store.repository import open_store
run._commit_result = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
run.start_run(open_store(sys.argv[1]), sys.argv[2], RunParams(population=6, generations=3, seed=5))
"""


def test_the_result_of_a_run_killed_before_it_goes_beside_the_deleted_experiment(
    tmp_path: Path,
) -> None:
    store = new_store(tmp_path / "a", float_genes(4))
    start = store.head()
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_BEFORE_THE_RESULT, str(store.path), str(RASTRIGIN)],
        cwd=ROOT,
        capture_output=True,
    )
    assert killed.returncode == -9, killed.stderr
    (run,) = list_runs(store)
    assert store.head() == start  # no result on main
    store.fork("other")
    delete_experiment(store, "main")
    r = resume_run(store, run.run_id)
    assert r.complete and r.result_commit is not None
    side = result_experiment("main", run.run_id)
    assert r.result_experiment == side
    assert store.head(side) == r.result_commit


def test_a_run_id_where_a_state_is_meant_is_named_a_run(tmp_path: Path) -> None:
    """`merge <run id>` (and show, diff, fork --from...) said only "unknown experiment or
    revision", pointing at `mindgit experiments`."""
    import pytest

    from mindgit.evolve.run import start_run
    from mindgit.store.generation import RunParams
    from mindgit.store.repository import UnknownRef

    store = new_store(tmp_path / "a", float_genes(4))
    run = start_run(store, str(RASTRIGIN), RunParams(population=4, generations=2, seed=1))
    with pytest.raises(UnknownRef) as e:
        store.resolve(run.run_id)
    assert e.value.hint == (
        f"{run.run_id} is a run: `mindgit runs` shows the experiment its result went to; "
        f"refs/runs/{run.run_id} names its last generation"
    )
    with pytest.raises(UnknownRef) as other:
        store.resolve("nope")
    assert other.value.hint == "`mindgit experiments` lists the experiments"
