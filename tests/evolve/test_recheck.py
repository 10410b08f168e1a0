"""A peer's check of a run: everything recorded is reproduced bit for bit, or named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pygit2

from mindgit.evolve.recheck import recheck
from mindgit.evolve.run import start_run
from mindgit.ipld import dagjson
from mindgit.store.generation import GENERATION_FILE, RUNS_PREFIX, RunParams
from mindgit.store.genome import Gene
from mindgit.store.refs import update_ref
from mindgit.store.repository import Store
from tests.evolve.helpers import HOSTILE, ONEMAX, RASTRIGIN, float_genes, new_store


def test_an_honest_run_rechecks_clean(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s", float_genes(5))
    r = start_run(store, str(RASTRIGIN), RunParams(population=8, generations=5, seed=4))
    report = recheck(store, r.run_id)
    assert report.ok, report.discrepancies
    assert (report.generations, report.individuals) == (5, 40)


def test_runs_scored_one_state_at_a_time_and_with_failures_recheck_clean(tmp_path: Path) -> None:
    genes = [Gene.make(f"b{i}", "bool", False) for i in range(6)] + [Gene.make("n", "str", "x")]
    store = new_store(tmp_path / "s", genes)
    r = start_run(store, str(ONEMAX), RunParams(population=6, generations=4, seed=1))
    assert recheck(store, r.run_id).ok
    genes = [Gene.make("a", "float", 0.5, min=-1, max=3)]
    other = new_store(tmp_path / "t", genes)
    r = start_run(
        other,
        str(HOSTILE / "selective.wat"),
        RunParams(population=10, generations=4, seed=3, mutation_scale=0.5),
    )
    assert recheck(other, r.run_id).ok


def forge(store: Store, run_id: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Rewrite the run's last generation with ``change`` applied to its generation.json."""
    repo = store.repo
    ref = RUNS_PREFIX + run_id
    tip = repo.lookup_reference(ref).target
    commit = repo[tip].peel(pygit2.Commit)
    node = dagjson.decode(repo[commit.tree[GENERATION_FILE].id].read_raw())
    assert isinstance(node, dict)
    change(node)
    tb = repo.TreeBuilder(commit.tree)
    tb.insert(GENERATION_FILE, repo.create_blob(dagjson.encode(node)), pygit2.enums.FileMode.BLOB)
    forged = store.write_commit(tb.write(), [str(commit.parent_ids[0])], "forged")
    update_ref(repo, ref, forged, str(tip), message="forge", committer="x <x>")


def test_a_forged_score_is_found(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s", float_genes(5))
    r = start_run(store, str(RASTRIGIN), RunParams(population=8, generations=3, seed=4))

    def lower_a_score(node: dict[str, Any]) -> None:
        ind = node["individuals"][-1]
        ind["score"] = ind["score"] - 1.0  # still not the best, so the record stays consistent

    forge(store, r.run_id, lower_a_score)
    report = recheck(store, r.run_id)
    assert [(d.generation, d.index, d.what) for d in report.discrepancies] == [(2, 7, "score")]


def test_forged_parents_are_found(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s", float_genes(5))
    r = start_run(store, str(RASTRIGIN), RunParams(population=8, generations=3, seed=4))

    def other_parent(node: dict[str, Any]) -> None:
        ind = node["individuals"][-1]
        ind["parents"] = [(ind["parents"][0] + 1) % 8]

    forge(store, r.run_id, other_parent)
    report = recheck(store, r.run_id)
    assert ("parents" in {d.what for d in report.discrepancies}) and not report.ok
