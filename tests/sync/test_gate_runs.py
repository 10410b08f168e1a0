"""The gate checks a whole run with shared checks (``remembering``): what it remembers from one
generation must never let a tampered later generation through. Each tampering is put on top of
a real run and checked twice: by the gate over the whole run (everything remembered from the
good generations) and by ``verify`` alone on that commit (nothing remembered); both must name
the same problems."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pygit2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mindgit.evolve.run import start_run
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID
from mindgit.store.generation import (
    GENERATION_FILE,
    MODULE_FILE,
    RUN_FILE,
    STATES,
    THOUGHTS,
    GenerationRecord,
    Individual,
    RunInfo,
    RunParams,
)
from mindgit.store.generation_check import (
    _MEMO_ENTRIES,
    _MEMO_RECORDS,
    _Memo,
    check_generation_tree,
    remembering,
)
from mindgit.store.repository import Store
from mindgit.store.verify import Problem, verify_commits
from mindgit.sync.gate import _HARMLESS_NAME, check_commits, name_problem
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store

BLOB = pygit2.enums.FileMode.BLOB
TREE = pygit2.enums.FileMode.TREE

Edit = Callable[[pygit2.Repository, pygit2.TreeBuilder, pygit2.Tree], None]


@pytest.fixture(scope="module")
def run_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, str]:
    store = new_store(tmp_path_factory.mktemp("g") / "s", float_genes(4))
    r = start_run(store, str(RASTRIGIN), RunParams(population=8, generations=4, seed=3))
    return store, r.tip


def _commit(repo: pygit2.Repository, oid: str) -> pygit2.Commit:
    commit = repo[oid].peel(pygit2.Commit)
    return commit


def _json(repo: pygit2.Repository, tree: pygit2.Tree, name: str) -> dict[str, Any]:
    node = dagjson.decode(repo[tree[name].id].read_raw())
    assert isinstance(node, dict)
    return node


def _tree(repo: pygit2.Repository, oid: pygit2.Oid) -> pygit2.Tree:
    tree = repo[oid]
    assert isinstance(tree, pygit2.Tree)
    return tree


def child(store: Store, tip: str, edit: Edit) -> str:
    """A signed commit on top of ``tip`` holding ``tip``'s tree changed by ``edit``."""
    repo = store.repo
    commit = repo[tip].peel(pygit2.Commit)
    tb = repo.TreeBuilder(commit.tree)
    edit(repo, tb, commit.tree)
    return store.write_commit(tb.write(), [tip], "tampered")


def both(store: Store, commit: str) -> tuple[list[Problem], list[Problem]]:
    """The gate's problems over the whole run, and verify's of the commit alone."""
    gate = check_commits(store.repo, store.trust, [commit])
    parents = [str(p) for p in _commit(store.repo, commit).parent_ids]
    alone = verify_commits(store.repo, store.trust, [commit], parents)
    return gate, alone.problems


def _states(repo: pygit2.Repository, tree: pygit2.Tree) -> pygit2.Tree:
    return _tree(repo, tree[STATES].id)


def swap_two_states(repo: pygit2.Repository, tb: pygit2.TreeBuilder, tree: pygit2.Tree) -> None:
    # Both manifests were checked (and remembered) in this very generation: under each
    # other's name, each must now fail its CID.
    states = _states(repo, tree)
    a, b = sorted(states, key=lambda e: e.name or "")[:2]
    sub = repo.TreeBuilder(states)
    sub.insert(a.name or "", b.id, BLOB)
    sub.insert(b.name or "", a.id, BLOB)
    tb.insert(STATES, sub.write(), TREE)


def new_module(repo: pygit2.Repository, tb: pygit2.TreeBuilder, tree: pygit2.Tree) -> None:
    tb.insert(MODULE_FILE, repo.create_blob(b"\0asm\x01\0\0\0"), BLOB)


def drop_thoughts(repo: pygit2.Repository, tb: pygit2.TreeBuilder, tree: pygit2.Tree) -> None:
    tb.remove(THOUGHTS)


def stray_thought(repo: pygit2.Repository, tb: pygit2.TreeBuilder, tree: pygit2.Tree) -> None:
    sub = repo.TreeBuilder(_tree(repo, tree[THOUGHTS].id))
    sub.insert(str(CID.of(b"{}")), repo.create_blob(b"{}"), BLOB)
    tb.insert(THOUGHTS, sub.write(), TREE)


def thoughts_as_file(repo: pygit2.Repository, tb: pygit2.TreeBuilder, tree: pygit2.Tree) -> None:
    tb.insert(THOUGHTS, repo.create_blob(b"{}"), BLOB)


def same_record_bigger_run(
    repo: pygit2.Repository, tb: pygit2.TreeBuilder, tree: pygit2.Tree
) -> None:
    # The same generation.json blob, remembered as valid, read under another run.json: a run
    # of a larger population, so the record no longer lists enough individuals.
    info = RunInfo.decode(repo[tree[RUN_FILE].id].read_raw())
    bigger = RunInfo(
        replace(info.params, population=9),
        info.module,
        info.entry,
        info.limits,
        info.start_commit,
        info.start_state,
    )
    tb.insert(RUN_FILE, repo.create_blob(bigger.encode()), BLOB)


def respelled_state(repo: pygit2.Repository, tb: pygit2.TreeBuilder, tree: pygit2.Tree) -> None:
    # A manifest the remembered shape does not match (a non-canonical spelling), linked properly:
    # the full parse must still see it.
    states = _states(repo, tree)
    first = sorted(states, key=lambda e: e.name or "")[0]
    name = first.name or ""
    data = repo[first.id].read_raw().replace(b'"schema":1', b'"schema":1.0')
    new = CID.of(data)
    sub = repo.TreeBuilder(states)
    sub.remove(name)
    sub.insert(str(new), repo.create_blob(data), BLOB)
    tb.insert(STATES, sub.write(), TREE)
    node = _json(repo, tree, GENERATION_FILE)
    for ind in node["individuals"]:
        if str(ind["state"]) == name:
            ind["state"] = new
    tb.insert(GENERATION_FILE, repo.create_blob(dagjson.encode(node)), BLOB)


def thoughtless_states(repo: pygit2.Repository, tb: pygit2.TreeBuilder, tree: pygit2.Tree) -> None:
    # The thoughts directory checked clean in every earlier generation, unchanged, but now no
    # state links its thoughts: each is an unlinked entry.
    data = b'{"genome":{},"schema":1,"thoughts":[]}'
    cid = CID.of(data)
    info = RunInfo.decode(repo[tree[RUN_FILE].id].read_raw())
    old = _json(repo, tree, GENERATION_FILE)
    n = info.params.population
    record = GenerationRecord(
        old["generation"], tuple(Individual(cid, 0.0, (0,)) for _ in range(n)), 0
    )
    sub = repo.TreeBuilder()
    sub.insert(str(cid), repo.create_blob(data), BLOB)
    tb.insert(STATES, sub.write(), TREE)
    tb.insert(GENERATION_FILE, repo.create_blob(record.encode()), BLOB)


CASES: dict[str, tuple[Edit, str]] = {
    "states that link no thoughts": (thoughtless_states, "not linked from any state"),
    "two states swapped": (swap_two_states, "not to their name"),
    "another module": (new_module, "not to run.json's"),
    "thoughts dropped": (drop_thoughts, "linked from a state but missing"),
    "a stray thought": (stray_thought, "not linked from any state"),
    "thoughts as a file": (thoughts_as_file, "is not a directory"),
    "record under a bigger run": (same_record_bigger_run, "must list exactly 9 individuals"),
    "a non-canonical state": (respelled_state, "canonical"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_tampered_generation_after_good_ones_is_refused(
    run_store: tuple[Store, str], case: str
) -> None:
    store, tip = run_store
    edit, reason = CASES[case]
    bad = child(store, tip, edit)
    gate, alone = both(store, bad)
    assert any(reason in p.reason for p in gate), gate
    assert {(p.commit, p.object, p.reason) for p in gate} == {
        (p.commit, p.object, p.reason) for p in alone
    }


def test_the_whole_run_passes_and_each_generation_alone_too(run_store: tuple[Store, str]) -> None:
    store, tip = run_store
    assert check_commits(store.repo, store.trust, [tip]) == []
    assert verify_commits(store.repo, store.trust, [tip]).ok


def test_remembering_holds_only_for_its_repository_and_its_block(
    run_store: tuple[Store, str],
) -> None:
    store, tip = run_store
    repo = store.repo
    bad = child(store, tip, swap_two_states)
    good_tree = _tree(repo, _commit(repo, tip).tree_id)
    bad_tree = _tree(repo, _commit(repo, bad).tree_id)
    no_blobs = lambda oid, cid, opaque: None  # noqa: E731 -- blocks are not what is tested here
    with remembering(repo):
        assert list(check_generation_tree(repo, good_tree, no_blobs)) == []
        inside = list(check_generation_tree(repo, bad_tree, no_blobs))
    # Another Repository object of the same store shares nothing with the block above.
    other = pygit2.Repository(repo.path)
    with remembering(repo):
        assert list(check_generation_tree(other, bad_tree, no_blobs)) == inside
    assert list(check_generation_tree(repo, bad_tree, no_blobs)) == inside
    assert len([r for _, r in inside if "not to their name" in r]) == 2


def test_a_shared_link_memo_reads_records_as_a_fresh_one_does(
    run_store: tuple[Store, str],
) -> None:
    store, tip = run_store
    repo = store.repo
    cids: dict[str, CID] = {}
    commit = repo[tip].peel(pygit2.Commit)
    while True:
        tree = commit.tree
        if GENERATION_FILE not in tree:
            break
        info = RunInfo.decode(repo[tree[RUN_FILE].id].read_raw())
        data = repo[tree[GENERATION_FILE].id].read_raw()
        assert GenerationRecord.decode(data, info.params, cids) == GenerationRecord.decode(
            data, info.params
        )
        commit = commit.parents[0]
    assert cids and all(str(c) == text for text, c in cids.items())


NAME_BYTES = st.binary(max_size=8) | st.sampled_from(
    [b".git", b".GIT", b"git~1", b"GIT~1", b".git.", b".git ", b"..", b".", b"a/b", b"a\\b"]
).flatmap(lambda s: st.tuples(st.just(s), st.binary(max_size=2)).map(lambda p: p[0] + p[1]))


@given(NAME_BYTES)
def test_a_name_the_scanner_waves_through_is_one_name_problem_passes(name: bytes) -> None:
    if _HARMLESS_NAME.fullmatch(name) is not None:
        assert name_problem(name) is None, name


def test_the_memo_forgets_what_grows_with_history() -> None:
    memo = _Memo()
    cid = CID.of(b"{}")
    memo.cids.update((str(i), cid) for i in range(_MEMO_ENTRIES))
    memo.trim()
    assert len(memo.cids) == _MEMO_ENTRIES  # at the bound: kept
    memo.cids["one more"] = cid
    memo.records.update(
        ((pygit2.Oid(raw=bytes([i]) * 20), pygit2.Oid(raw=bytes(20))), "x")
        for i in range(_MEMO_RECORDS + 1)
    )
    memo.trim()
    assert memo.cids == {} and memo.records == {}
