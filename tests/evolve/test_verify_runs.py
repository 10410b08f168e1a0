"""check_generation_tree: a real run's trees pass; every kind of tampering is named."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pygit2
import pytest

from mindgit.evolve.run import start_run
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID
from mindgit.store.generation import (
    GENERATION_FILE,
    MODULE_FILE,
    RUN_FILE,
    STATES,
    THOUGHTS,
    RunParams,
)
from mindgit.store.repository import Store
from mindgit.store.verify import verify_commits
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store

BLOB = pygit2.enums.FileMode.BLOB
TREE = pygit2.enums.FileMode.TREE


@pytest.fixture(scope="module")
def run_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, str]:
    store = new_store(tmp_path_factory.mktemp("v") / "s", float_genes(4))
    r = start_run(store, str(RASTRIGIN), RunParams(population=6, generations=3, seed=5))
    return store, r.tip


def problems(store: Store, tree: pygit2.Tree) -> list[tuple[str | None, str]]:
    """What `mindgit verify` says of a signed commit holding ``tree``."""
    commit = store.write_commit(tree.id, [], "tampered")
    report = verify_commits(store.repo, store.trust, [commit])
    return [(p.object, p.reason) for p in report.problems]


Edit = Callable[[pygit2.Repository, pygit2.TreeBuilder, pygit2.Tree], None]


def edited(store: Store, tip: str, edit: Edit) -> pygit2.Tree:
    repo = store.repo
    commit = repo[tip].peel(pygit2.Commit)
    tb = repo.TreeBuilder(commit.tree)
    edit(repo, tb, commit.tree)
    tree = repo[tb.write()]
    assert isinstance(tree, pygit2.Tree)
    return tree


def test_a_real_run_verifies(run_store: tuple[Store, str]) -> None:
    store, tip = run_store
    commit = store.repo[tip].peel(pygit2.Commit)
    assert problems(store, commit.tree) == []
    assert verify_commits(store.repo, store.trust, [tip]).ok


def _json(repo: pygit2.Repository, tree: pygit2.Tree, name: str) -> dict[str, Any]:
    node = dagjson.decode(repo[tree[name].id].read_raw())
    assert isinstance(node, dict)
    return node


def set_blob(name: str, data: bytes) -> Edit:
    return lambda repo, tb, tree: tb.insert(name, repo.create_blob(data), BLOB)


def edit_json(name: str, change: Callable[[dict[str, Any]], None]) -> Edit:
    def edit(repo: pygit2.Repository, tb: pygit2.TreeBuilder, tree: pygit2.Tree) -> None:
        node = _json(repo, tree, name)
        change(node)
        tb.insert(name, repo.create_blob(dagjson.encode(node)), BLOB)

    return edit


def edit_states(
    change: Callable[[pygit2.Repository, pygit2.TreeBuilder, pygit2.Tree], None],
) -> Edit:
    def edit(repo: pygit2.Repository, tb: pygit2.TreeBuilder, tree: pygit2.Tree) -> None:
        states = repo[tree[STATES].id]
        assert isinstance(states, pygit2.Tree)
        sub = repo.TreeBuilder(states)
        change(repo, sub, states)
        tb.insert(STATES, sub.write(), TREE)

    return edit


def first_state(states: pygit2.Tree) -> str:
    return next(iter(states)).name or ""


CASES: dict[str, tuple[Edit, str]] = {
    "extra entry": (set_blob("notes.txt", b"x"), "unexpected entry"),
    "module bytes": (set_blob(MODULE_FILE, b"\0asm\x01\0\0\0"), "hash to"),
    "score": (
        edit_json(GENERATION_FILE, lambda n: n["individuals"][-1].update(score=1e9)),
        "best is",
    ),
    "run params": (edit_json(RUN_FILE, lambda n: n["params"].update(seed=99)), "not the hash"),
    "run.json form": (set_blob(RUN_FILE, b'{"run":"x"}'), "must be a map"),
    "generation.json bytes": (set_blob(GENERATION_FILE, b"{ }"), "must be a map"),
    "generation.json not json": (set_blob(GENERATION_FILE, b'{"best"'), "not JSON"),
    "missing state": (
        edit_states(lambda repo, sub, states: sub.remove(first_state(states))),
        "missing",
    ),
    "stray state": (
        edit_states(
            lambda repo, sub, states: sub.insert(str(CID.of(b"{}")), repo.create_blob(b"{}"), BLOB)
        ),
        "not linked",
    ),
    "swapped state bytes": (
        edit_states(
            lambda repo, sub, states: sub.insert(
                first_state(states),
                repo.create_blob(b'{"genome":{},"schema":1,"thoughts":[]}'),
                BLOB,
            )
        ),
        "hash to",
    ),
    "missing thoughts": (lambda repo, tb, tree: tb.remove(THOUGHTS), "missing"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tampering_is_named(run_store: tuple[Store, str], case: str) -> None:
    store, tip = run_store
    edit, reason = CASES[case]
    found = problems(store, edited(store, tip, edit))
    assert found, case
    assert any(reason in r for _, r in found), found


def test_a_non_canonical_state_is_found(run_store: tuple[Store, str]) -> None:
    store, tip = run_store

    def respell(repo: pygit2.Repository, tb: pygit2.TreeBuilder, tree: pygit2.Tree) -> None:
        states = repo[tree[STATES].id]
        assert isinstance(states, pygit2.Tree)
        name = first_state(states)
        data = repo[states[name].id].read_raw().replace(b'"schema":1', b'"schema":1.0')
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

    found = problems(store, edited(store, tip, respell))
    assert any("canonical" in reason for _, reason in found), found


def _raw_states(order: Callable[[list[bytes]], list[bytes]], junk: bool) -> Edit:
    """The states directory written as raw entries: ``order`` arranges them; with ``junk``, the
    first state's name is also filed (first, in place) for other bytes."""

    def edit(repo: pygit2.Repository, tb: pygit2.TreeBuilder, tree: pygit2.Tree) -> None:
        states = repo[tree[STATES].id].peel(pygit2.Tree)
        entries = [b"100644 " + (e.raw_name or b"") + b"\0" + e.id.raw for e in states]
        if junk:
            first = next(iter(states))
            other = repo.create_blob(b'{"genome":{},"schema":1,"thoughts":[]}')
            entries.insert(0, b"100644 " + (first.raw_name or b"") + b"\0" + other.raw)
        raw = repo.write(pygit2.enums.ObjectType.TREE, b"".join(order(entries)))
        tb.insert(STATES, raw, TREE)

    return edit


@pytest.mark.parametrize(
    ("junk", "order"),
    [(True, lambda es: es), (False, lambda es: es[::-1])],
    ids=["a state filed twice", "states out of git's order"],
)
def test_a_states_directory_readers_would_read_otherwise_is_refused(
    run_store: tuple[Store, str], junk: bool, order: Callable[[list[bytes]], list[bytes]]
) -> None:
    """read_manifest finds a state by libgit2's binary search, which assumes each name once
    and git's order: in any other directory it may find other bytes than those checked."""
    store, tip = run_store
    found = problems(store, edited(store, tip, _raw_states(order, junk)))
    assert (STATES, "is not a well-formed tree") in found


@pytest.mark.parametrize("name", [STATES, THOUGHTS])
def test_a_directory_filed_as_a_file_is_refused_also_after_it_was_checked(
    run_store: tuple[Store, str], name: str
) -> None:
    """As in a state tree: an entry with a file's mode is not a directory, whatever its id
    names, and a directory checked clean under that id earlier does not make it one."""
    store, tip = run_store
    commit = store.repo[tip].peel(pygit2.Commit)
    raw = b"".join(
        (b"100644" if e.name == name or e.filemode != TREE else b"40000")
        + b" "
        + (e.raw_name or b"")
        + b"\0"
        + e.id.raw
        for e in commit.tree
    )
    tree = store.repo[store.repo.write(pygit2.enums.ObjectType.TREE, raw)].peel(pygit2.Tree)
    bad = store.write_commit(tree.id, [tip], "a directory filed as a file")
    report = verify_commits(store.repo, store.trust, [bad])
    assert report.results[-1].commit == bad
    assert (name, "is not a directory") in [
        (p.object, p.reason) for p in report.results[-1].problems
    ]


def _absent(n: int) -> pygit2.Oid:
    return pygit2.Oid(raw=bytes([n]) * 20)


def _tree_with(
    repo: pygit2.Repository, tree: pygit2.Tree, name: str, oid: pygit2.Oid, mode: int = BLOB
) -> pygit2.Oid:
    """``tree`` with the entry ``name`` pointing at ``oid``, written raw: libgit2 will not
    build a tree naming an object the store does not hold."""
    entries = sorted(
        [(e.name or "", e.filemode, e.id) for e in tree if e.name != name] + [(name, mode, oid)],
        key=lambda e: e[0] + ("/" if e[1] == TREE else ""),
    )
    raw = b"".join(f"{mode:o} {n}".encode() + b"\0" + i.raw for n, mode, i in entries)
    return repo.odb.write(pygit2.enums.ObjectType.TREE, raw)


@pytest.mark.parametrize("name", [RUN_FILE, GENERATION_FILE, "state"])
def test_a_lost_blob_is_named_by_its_id(run_store: tuple[Store, str], name: str) -> None:
    """As verify names a lost manifest or thought: "blob missing" said neither which blob
    (for `git fsck`) nor that it could be in a pack cut short."""
    store, tip = run_store
    repo = store.repo
    root = repo[tip].peel(pygit2.Commit).tree
    lost = _absent(7)
    if name == "state":
        states = repo[root[STATES].id]
        assert isinstance(states, pygit2.Tree)
        where = f"state {first_state(states)}"
        new_states = _tree_with(repo, states, first_state(states), lost)
        tree = repo[_tree_with(repo, root, STATES, new_states, TREE)]
    else:
        where = name
        tree = repo[_tree_with(repo, root, name, lost)]
    assert isinstance(tree, pygit2.Tree)
    assert (where, f"blob {lost} is missing or cannot be read") in problems(store, tree)
