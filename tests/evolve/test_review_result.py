"""Review: where a run's result is committed must never drop work made meanwhile.

Real stores, the real sandbox and the shipped Rastrigin module; nothing is mocked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pygit2
import pytest

from mindgit.evolve.run import NothingToResume, result_experiment, resume_run, start_run
from mindgit.ipld.cid import CID
from mindgit.store.generation import RunParams
from mindgit.store.repository import Commit, Store, open_store
from mindgit.store.state import Block, State
from tests.conftest import Mg, git
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store, stop_after

PARAMS = RunParams(population=8, generations=4, seed=7)


def test_a_result_experiment_holding_the_users_work_is_not_overwritten(tmp_path: Path) -> None:
    """`main-<run>` already exists with work of its own (a user's fork of that name) and main
    moved: the result must not replace that experiment's state (it dropped its thought)."""
    store = new_store(tmp_path / "a", float_genes(6))
    first = start_run(store, str(RASTRIGIN), PARAMS, should_stop=stop_after(1))
    assert first.stopped
    side = result_experiment("main", first.run_id)
    store.fork(side, switch=False)
    own, own_cid = store.think("my own work on the side", experiment=side)
    store.think("written on main while the run was paused")
    r = resume_run(store)
    assert r.complete and r.result_commit is not None
    # The user's experiment is as they left it; the result is on an experiment of its own.
    assert store.head(side) == own.id
    assert own_cid in store.state(store.head(side)).thoughts
    assert r.result_experiment not in (None, "main", side)
    assert r.result_experiment is not None
    assert store.head(r.result_experiment) == r.result_commit
    assert str(store.snapshot(r.result_experiment).manifest.cid) == str(r.best_state)
    # And the run is finished: nothing left to resume.
    with pytest.raises(NothingToResume):
        resume_run(store)


class _MovesMainBeforeCommitting(Store):
    """A store in which another writer adds a thought to the experiment just as the result is
    committed: the window between a run's 'has the experiment moved?' and its commit."""

    raced: tuple[Commit, CID] | None = None

    def update(
        self,
        change: Callable[[State], tuple[State, Mapping[CID, bytes]]],
        message: str,
        *,
        experiment: str | None = None,
        trailers: Mapping[str, str] | None = None,
        written: Callable[[pygit2.Tree], tuple[pygit2.Oid, Block] | None] | None = None,
    ) -> Commit:
        if self.raced is None and message.startswith("evolve "):
            self.raced = self.think("landed just before the result", experiment=experiment)
        return super().update(
            change, message, experiment=experiment, trailers=trailers, written=written
        )


def test_a_thought_landing_just_before_the_result_is_not_dropped(tmp_path: Path) -> None:
    new_store(tmp_path / "a", float_genes(6))
    plain = open_store(tmp_path / "a")
    store = _MovesMainBeforeCommitting(plain.path)
    r = start_run(store, str(RASTRIGIN), PARAMS)
    assert r.complete and store.raced is not None
    edit, cid = store.raced
    # main keeps the thought that landed; the result went beside it, for the user to merge.
    assert cid in store.state(store.head("main")).thoughts
    assert store.head("main") == edit.id
    assert r.result_experiment == result_experiment("main", r.run_id)
    assert r.result_commit is not None and store.head(r.result_experiment) == r.result_commit


def test_resuming_a_run_whose_experiment_was_deleted_puts_the_result_beside_it(
    tmp_path: Path,
) -> None:
    """It bred every remaining generation, then failed with "unknown experiment 'main'" (exit
    1), leaving the run finished and its result nowhere."""
    store = new_store(tmp_path / "a", float_genes(6))
    first = start_run(store, str(RASTRIGIN), PARAMS, should_stop=stop_after(1))
    assert first.stopped
    start = store.head()
    store.fork("other")
    git("--git-dir", str(store.path), "update-ref", "-d", "refs/heads/main")
    r = resume_run(store, first.run_id)
    assert r.complete and r.result_commit is not None
    assert r.result_experiment == result_experiment("main", r.run_id)
    assert store.head(r.result_experiment) == r.result_commit
    result = store.repo[r.result_commit].peel(pygit2.Commit)
    assert [str(p) for p in result.parent_ids] == [start]
    assert str(store.snapshot(r.result_experiment).manifest.cid) == str(r.best_state)
    with pytest.raises(NothingToResume):
        resume_run(store, first.run_id)


def test_the_cli_does_not_offer_a_merge_into_a_deleted_experiment(tmp_path: Path, mg: Mg) -> None:
    store = new_store(tmp_path / "a", float_genes(6))
    first = start_run(store, str(RASTRIGIN), PARAMS, should_stop=stop_after(1))
    store.fork("other")
    git("--git-dir", str(store.path), "update-ref", "-d", "refs/heads/main")
    r = mg(f"--store={store.path}", "evolve", "--resume", first.run_id, "-q")
    assert r.code == 0, r.err
    side = result_experiment("main", first.run_id)
    assert f"(on {side})" in r.out
    assert "--into main" not in r.err and "main no longer exists" in r.err, r.err
