"""`mindgit lineage` says where and why it stops when an earlier run cannot be walked.

A run started from another run's result walks on into that run. When that run was deleted
(`runs --delete RUN --force`), never fetched, or its ref is damaged, the walk ended at the
result with no word, and the origin looked like a commit no run made.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mindgit.evolve import runs as evolve_runs
from mindgit.evolve.run import start_run
from mindgit.evolve.run_deletion import delete_run
from mindgit.evolve.runs import lineage
from mindgit.store.generation import TRAILER_GENERATION, TRAILER_RUN, RunParams
from mindgit.store.repository import Store
from mindgit.store.state import make_thought
from tests.conftest import Mg, git
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.snapshots import changed, snapshot


@pytest.fixture
def node(tmp_path: Path) -> Store:
    return new_store(tmp_path / "a", float_genes(4))


def two_runs(node: Store) -> tuple[str, str, str]:
    """Run one, then run two from its result: (first run, its result commit, second run)."""
    first = start_run(node, str(RASTRIGIN), RunParams(population=4, generations=3, seed=2))
    second = start_run(node, str(RASTRIGIN), RunParams(population=4, generations=2, seed=3))
    assert first.result_commit is not None
    return first.run_id, first.result_commit, second.run_id


def test_an_unbroken_chain_has_no_stop(node: Store, mg: Mg) -> None:
    first, _, second = two_runs(node)
    lin = lineage(node, second)
    assert [r.run_id for r in lin.runs] == [second, first]
    assert lin.stop is None
    r = mg("--store", str(node.path), "lineage", second)
    assert r.code == 0 and r.out.splitlines()[-1].startswith("origin ")
    r = mg("--store", str(node.path), "lineage", "--json", second)
    assert json.loads(r.out)["stop"] is None


def test_a_deleted_run_is_where_the_lineage_stops(node: Store, mg: Mg) -> None:
    first, result, second = two_runs(node)
    delete_run(node, first, force=True)
    lin = lineage(node, second)
    assert [r.run_id for r in lin.runs] == [second]
    assert lin.origin == result
    assert lin.stop is not None
    assert (lin.stop.commit, lin.stop.run_id) == (result, first)
    why = f"it is the result of run {first}, which is not in this store (deleted, or never fetched)"
    assert lin.stop.reason == why
    at = "--store", str(node.path)
    before = snapshot(node.path)
    r = mg(*at, "lineage", second)
    assert (r.code, r.err) == (0, "")
    assert r.out.splitlines()[-2:] == [f"origin {result}", f"stops at {result}: {why}"]
    assert mg(*at, "lineage", "--all", second).out.splitlines()[-1] == f"stops at {result}: {why}"
    r = mg(*at, "lineage", "--json", second)
    assert r.code == 0
    doc = json.loads(r.out)
    assert doc["origin"] == result
    assert doc["stop"] == {"commit": result, "run": first, "reason": why}
    assert not changed(before, node.path)


def test_a_damaged_run_ref_is_where_the_lineage_stops(node: Store, mg: Mg) -> None:
    first, result, second = two_runs(node)
    blob = git("--git-dir", str(node.path), "hash-object", "-w", "--stdin", input=b"x").strip()
    git("--git-dir", str(node.path), "update-ref", f"refs/runs/{first}", blob)
    lin = lineage(node, second)
    assert lin.stop is not None and lin.stop.run_id == first
    assert lin.stop.reason.startswith(
        f"it is the result of run {first}, which cannot be read: refs/runs/{first}: "
    )
    r = mg("--store", str(node.path), "lineage", second)
    assert r.code == 0 and r.out.splitlines()[-1].startswith(f"stops at {result}: ")


def test_a_result_trailer_that_names_no_run(node: Store, mg: Mg) -> None:
    thought = make_thought("made by hand", [])
    fake = node.update(
        lambda s: (s.with_thoughts(s.thoughts | {thought.cid}), {thought.cid: thought.data}),
        "evolve: a result written by hand",
        trailers={TRAILER_RUN: "not\x1ba run", TRAILER_GENERATION: "2"},
    )
    run = start_run(node, str(RASTRIGIN), RunParams(population=4, generations=2, seed=3))
    lin = lineage(node, run.run_id)
    assert lin.stop is not None and lin.stop.commit == str(fake.id)
    assert lin.stop.reason == f"its {TRAILER_RUN} trailer 'not\\x1ba run' is not a run id"
    r = mg("--store", str(node.path), "lineage", run.run_id)
    assert r.code == 0 and "\x1b" not in r.out


def test_the_chain_limit_is_where_the_lineage_stops(
    node: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _, second = two_runs(node)
    # At the real limit this needs 101 runs; the walk is the same at a lowered one.
    monkeypatch.setattr(evolve_runs, "MAX_RUN_CHAIN", 1)
    lin = lineage(node, second)
    assert [r.run_id for r in lin.runs] == [second]
    assert lin.stop is not None
    assert lin.stop.reason == f"it is the result of run {first}, past the 1 runs lineage follows"


def test_lineage_of_a_result_whose_run_was_deleted_says_so(node: Store, mg: Mg) -> None:
    first, result, _ = two_runs(node)
    delete_run(node, first, force=True)
    before = snapshot(node.path)
    r = mg("--store", str(node.path), "lineage", result)
    # It was "commit ... was not produced by a run in this store".
    assert (r.code, r.out) == (1, "")
    assert r.err == (
        f"mindgit: error: commit {result[:12]}: it is the result of run {first}, which is not"
        " in this store (deleted, or never fetched) (hint: `mindgit --store"
        f" {node.path} runs` lists the runs this store holds)\n"
    )
    assert not changed(before, node.path)
