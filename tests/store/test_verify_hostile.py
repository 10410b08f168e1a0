"""Hostile inputs aimed at the verifier's shortcuts: each verdict must be the one a verifier that
has seen nothing (in a process that has seen nothing) gives."""

from __future__ import annotations

import shutil
from pathlib import Path

import pygit2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.store import verify as verify_module
from mindgit.store.generation_check import in_git_order
from mindgit.store.layout import BLOB, TREE
from mindgit.store.repository import Store
from mindgit.store.verify import Verifier, verify_commits, walk
from tests.conftest import git

TREE_KIND = pygit2.enums.ObjectType.TREE


def _commit(store: Store, oid: str) -> pygit2.Commit:
    return store.repo[oid].peel(pygit2.Commit)


def _fresh(store: Store, oid: str) -> list[str]:
    """A verdict from nothing remembered."""
    return [p.reason for p in Verifier(store.repo, store.trust).check_commit(oid).problems]


def _entry(mode: bytes, name: bytes, oid: pygit2.Oid) -> bytes:
    return mode + b" " + name + b"\0" + oid.raw


def test_a_thoughts_entry_filed_as_a_file_is_refused_after_the_same_tree_was_checked(
    store: Store,
) -> None:
    """The memo of clean directories is keyed by object id: the entry's mode must still be
    that of a directory (a blob entry naming a tree object is not one)."""
    store.think("a thought")
    head = store.head()
    commit = _commit(store, head)
    raw = _state_tree(
        store,
        [
            _entry(b"100644", b"manifest.json", commit.tree["manifest.json"].id),
            _entry(b"100644", b"thoughts", commit.tree["thoughts"].id),
        ],
    )
    oid = store.write_commit(raw, [head], "thoughts as a file")
    assert _fresh(store, oid) == ["is not a directory"]
    report = verify_commits(store.repo, store.trust, [oid])
    assert len(report.results) == 3
    assert [p.reason for p in report.problems] == ["is not a directory"]


def test_a_tree_missing_from_a_second_repository_is_named_there(
    store: Store, tmp_path: Path
) -> None:
    """Tree parses remembered for one repository must not stand in for objects another lacks."""
    store.think("a thought")
    copy = tmp_path / "copy"
    shutil.copytree(store.path, copy)
    thoughts = _commit(store, store.head()).tree["thoughts"].id
    hexid = str(thoughts)
    assert verify_commits(store.repo, store.trust, [store.head()]).ok
    (copy / "objects" / hexid[:2] / hexid[2:]).unlink()
    other = Store(copy)
    report = verify_commits(other.repo, other.trust, [other.head()])
    assert not report.ok
    assert _fresh(other, other.head()) == [p.reason for p in report.results[-1].problems]


def _state_tree(store: Store, entries: list[bytes]) -> pygit2.Oid:
    return store.repo.write(TREE_KIND, b"".join(entries))


def test_a_state_tree_naming_its_manifest_twice_is_refused(store: Store) -> None:
    """git stores one entry per name: a tree naming one twice reads differently to different
    readers (libgit2 finds one by binary search, a dict keeps the last)."""
    store.think("a thought")
    head = store.head()
    tree = _commit(store, head).tree
    good = tree["manifest.json"].id
    junk = store.repo.create_blob(b'{"not":"a manifest"}')
    raw = _state_tree(
        store,
        [
            _entry(b"100644", b"manifest.json", junk),
            _entry(b"100644", b"manifest.json", junk),
            _entry(b"100644", b"manifest.json", good),
            _entry(b"40000", b"thoughts", tree["thoughts"].id),
        ],
    )
    oid = store.write_commit(raw, [head], "two manifests")
    problems = _fresh(store, oid)
    assert problems == [f"tree {raw} is not a well-formed tree"]


def test_a_state_tree_out_of_git_order_is_refused(store: Store) -> None:
    """An entry out of order is one that libgit2's lookups (what every reader uses) miss."""
    store.think("a thought")
    head = store.head()
    tree = _commit(store, head).tree
    raw = _state_tree(
        store,
        [
            _entry(b"40000", b"thoughts", tree["thoughts"].id),
            _entry(b"100644", b"manifest.json", tree["manifest.json"].id),
        ],
    )
    assert "thoughts" not in store.repo[raw].peel(pygit2.Tree)
    oid = store.write_commit(raw, [head], "unsorted")
    assert _fresh(store, oid) == [f"tree {raw} is not a well-formed tree"]


def test_a_directory_sorts_as_if_its_name_ended_in_a_slash(store: Store) -> None:
    """git's order: "a.b" (a file) sorts before "a" (a tree, compared as "a/")."""
    blob = store.repo.create_blob(b"x")
    sub = store.repo.TreeBuilder()
    sub.insert("f", blob, BLOB)
    builder = store.repo.TreeBuilder()
    builder.insert("a", sub.write(), TREE)
    builder.insert("a.b", blob, BLOB)
    _, raw = store.repo.odb.read(builder.write())
    assert raw.index(b"a.b") < raw.index(b"40000 a\0")
    entries = verify_module._tree_entries(raw)
    assert entries is not None and sorted(entries) == ["a", "a.b"]


_names = st.lists(
    st.tuples(
        st.text(alphabet="ab.-_", min_size=1, max_size=3).filter(lambda n: n not in (".", "..")),
        st.booleans(),
    ),
    max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(_names)
def test_a_tree_is_well_formed_exactly_when_it_is_as_git_writes_it(
    tmp_path_factory: pytest.TempPathFactory, entries: list[tuple[str, bool]]
) -> None:
    """Oracle: libgit2's tree builder, which writes each name once in git's order. Both the
    verifier's raw reader and the run checker's entry check accept a tree exactly when its
    bytes are what the builder writes for the same entries."""
    repo = _repo(tmp_path_factory)
    blob, empty = repo.create_blob(b"x"), repo.TreeBuilder().write()
    raw = b"".join(
        (b"40000 " if is_dir else b"100644 ")
        + name.encode()
        + b"\0"
        + (empty if is_dir else blob).raw
        for name, is_dir in entries
    )
    builder = repo.TreeBuilder()
    for name, is_dir in entries:
        builder.insert(name, empty if is_dir else blob, TREE if is_dir else BLOB)
    as_git_writes = repo.odb.read(builder.write())[1] == raw
    tree = repo[repo.write(TREE_KIND, raw)].peel(pygit2.Tree)
    assert (verify_module._tree_entries(raw) is not None) == as_git_writes
    assert in_git_order(list(tree)) == as_git_writes


_repos: dict[str, pygit2.Repository] = {}


def _repo(factory: pytest.TempPathFactory) -> pygit2.Repository:
    if "r" not in _repos:
        _repos["r"] = pygit2.init_repository(str(factory.mktemp("trees") / "r"), bare=True)
    return _repos["r"]


def test_a_worktree_of_a_grafted_store_is_left_to_libgit2(store: Store, tmp_path: Path) -> None:
    """A linked worktree keeps its own git directory; grafts live in the common one, and
    libgit2 applies them there too, so the single-tip walk must see them from either."""
    store.think("a thought")
    head = store.head()
    git("--git-dir", str(store.path), "worktree", "add", "-q", str(tmp_path / "wt"), head)
    (store.path / "info").mkdir(exist_ok=True)
    (store.path / "info" / "grafts").write_text(f"{head}\n")
    linked = pygit2.Repository(str(tmp_path / "wt"))
    assert linked.path != str(store.path) + "/" and len(list(walk(linked, [head]))) == 1
    assert Verifier(linked, store.trust).linear_history([head]) is None
    report = verify_commits(linked, store.trust, [head])
    assert [r.commit for r in report.results] == [head]


def test_an_oversized_manifest_is_named_not_read(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A manifest is sized from its object header before it is inflated (limit lowered here so
    the test need not write 16 MiB)."""
    store.think("a thought")
    head = store.head()
    monkeypatch.setattr(verify_module, "MAX_BLOB_BYTES", 64)
    problems = Verifier(store.repo, store.trust).check_commit(head).problems
    assert [(p.object, p.reason.endswith("over the 64-byte limit")) for p in problems] == [
        ("manifest.json", True)
    ]
    monkeypatch.undo()
    assert _fresh(store, head) == []
