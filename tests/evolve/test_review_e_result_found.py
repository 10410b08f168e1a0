"""A run's result committed on `<experiment>-<run>` (the experiment moved during the run) is
found there after more work lands on top of it, and after that experiment is merged and
deleted.

Only the side experiment's head was looked at (and the experiment's first parents): a thought
on `main-<run>` after the result made the finished run unfinished again, so a bare `evolve
--resume` found it (or named it beside the run that was meant: "2 unfinished runs") and
committed its result a second time, on `main-<run>-2`. Found by review E.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.evolve.run import NothingToResume, find_resumable, resume_run, start_run
from mindgit.merge.engine import merge
from mindgit.store.generation import RunParams
from mindgit.store.repository import Store
from tests.conftest import Mg, fsck, git
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store, stop_after

PARAMS = RunParams(population=8, generations=4, seed=7)


def result_on_side(tmp_path: Path) -> tuple[Store, str, str]:
    """A finished run whose result went to `main-<run>` (main moved while it was stopped)."""
    store = new_store(tmp_path / "a", float_genes(6))
    first = start_run(store, str(RASTRIGIN), PARAMS, should_stop=stop_after(1))
    store.think("written on main while the run was paused")
    r = resume_run(store)
    assert r.complete and r.result_commit is not None and r.result_experiment is not None
    assert r.result_experiment != "main"
    with pytest.raises(NothingToResume):
        find_resumable(store)
    return store, first.run_id, r.result_experiment


def assert_finished(store: Store, run_id: str, experiments: list[str]) -> None:
    with pytest.raises(NothingToResume):
        find_resumable(store)
    with pytest.raises(NothingToResume):
        resume_run(store, run_id)
    assert sorted(store.experiments()) == sorted(experiments)
    fsck(store.path)


def test_work_on_top_of_the_result_leaves_the_run_finished(tmp_path: Path, mg: Mg) -> None:
    store, run_id, side = result_on_side(tmp_path)
    store.think("more work on the result", experiment=side)
    assert_finished(store, run_id, ["main", side])
    # As the user meets it: a bare --resume has nothing to resume, and writes nothing.
    refs = git("--git-dir", str(store.path), "for-each-ref")
    r = mg("--store", str(store.path), "evolve", "--resume", "-q")
    assert r.code == 1 and "nothing to resume" in r.err
    assert git("--git-dir", str(store.path), "for-each-ref") == refs


def test_a_result_merged_and_its_experiment_deleted_leaves_the_run_finished(
    tmp_path: Path,
) -> None:
    store, run_id, side = result_on_side(tmp_path)
    store.think("more work on the result", experiment=side)
    merge(store, side, into="main")
    git("--git-dir", str(store.path), "update-ref", "-d", f"refs/heads/{side}")
    assert_finished(store, run_id, ["main"])


def test_another_run_s_unfinished_run_is_the_one_resumed(tmp_path: Path) -> None:
    store, _, side = result_on_side(tmp_path)
    store.think("more work on the result", experiment=side)
    other = start_run(
        store,
        str(RASTRIGIN),
        RunParams(population=8, generations=4, seed=8),
        should_stop=stop_after(1),
    )
    assert other.stopped
    assert find_resumable(store) == other.run_id
