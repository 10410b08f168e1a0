"""`mindgit cat` of a block whose tree entry is not a regular file: refused as `show` refuses it.

read_thought, read_block and read_state refuse an entry that is a symlink, a gitlink or an
executable; cat found blocks by name and served such an entry's blob all the same (a gitlink's
absent commit was reported as a missing object, pointing at `git fsck`).
"""

from __future__ import annotations

import json

import pygit2
import pytest

from mindgit.ipld.cid import CID
from mindgit.store import layout
from mindgit.store.repository import Store
from mindgit.store.state import Block
from tests.conftest import Mg
from tests.snapshots import changed, snapshot

ODD_MODES = {
    "executable": pygit2.enums.FileMode.BLOB_EXECUTABLE,
    "symlink": pygit2.enums.FileMode.LINK,
    "gitlink": pygit2.enums.FileMode.COMMIT,
}
ABSENT = pygit2.Oid(hex="1" * 40)


def commit_odd_entry(store: Store, path: str, mode: int, oid: pygit2.Oid | None = None) -> str:
    """Make main one commit of no parent holding the head's state with the entry at ``path``
    (``manifest.json`` or ``dirname/cid``) given ``mode``, naming its own blob unless ``oid``
    is given: a hand-made tree. No commit on main then holds a regular copy of it (one would
    be served). Returns the new tree's id."""
    repo = store.repo
    head = store.head()
    tree = repo[head].peel(pygit2.Tree)
    manifest = layout.read_state(repo, tree)[1]
    root = repo.TreeBuilder(tree)
    if "/" in path:
        dirname, name = path.split("/")
        sub = repo[tree[dirname].id].peel(pygit2.Tree)
        tb = repo.TreeBuilder(sub)
        tb.insert(name, oid or sub[name].id, mode)
        root.insert(dirname, tb.write(), layout.TREE)
    else:
        root.insert(path, oid or tree[path].id, mode)
    new_tree = root.write()
    commit = store.write_commit(new_tree, [], "think: odd mode", manifest.cid)
    repo.references["refs/heads/main"].set_target(commit)
    return str(new_tree)


@pytest.fixture
def cli(store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("MINDGIT_STORE", str(store.path))
    return store


@pytest.mark.parametrize("kind", sorted(ODD_MODES))
def test_cat_refuses_a_thought_that_is_not_a_regular_file(cli: Store, mg: Mg, kind: str) -> None:
    store = cli
    _, cid = store.think("the garden is quiet")
    # A gitlink names a commit; one naming the thought's own blob would be served as it.
    oid = ABSENT if kind == "gitlink" else None
    tree = commit_odd_entry(store, f"{layout.THOUGHTS}/{cid}", ODD_MODES[kind], oid)
    before = snapshot(store.path)
    r = mg("cat", str(cid))
    wording = f"thought {cid} in tree {tree} is not a regular file"
    assert (r.code, r.out, r.err) == (1, "", f"mindgit: error: {wording}\n")
    assert mg("cat", "--raw", str(cid)).code == 1
    # As show says it of the same state.
    assert mg("show").err == f"mindgit: error: {wording}\n"
    assert not changed(before, store.path)


def test_cat_refuses_a_gitlink_that_names_the_thoughts_blob(cli: Store, mg: Mg) -> None:
    store = cli
    _, cid = store.think("the garden is quiet")
    thoughts = store.repo[store.repo[store.head()].peel(pygit2.Tree)[layout.THOUGHTS].id]
    assert isinstance(thoughts, pygit2.Tree)
    blob = thoughts[str(cid)].id
    tree = commit_odd_entry(store, f"{layout.THOUGHTS}/{cid}", pygit2.enums.FileMode.COMMIT, blob)
    r = mg("cat", str(cid))
    assert r.code == 1
    assert r.err == f"mindgit: error: thought {cid} in tree {tree} is not a regular file\n"


@pytest.mark.parametrize("kind", sorted(ODD_MODES))
def test_cat_refuses_a_block_that_is_not_a_regular_file(cli: Store, mg: Mg, kind: str) -> None:
    store = cli
    block = Block.encode({"persona": "a gardener"})
    store.update(
        lambda s: (s.with_memories({"persona": block.cid}), {block.cid: block.data}),
        "memory: persona",
    )
    oid = ABSENT if kind == "gitlink" else None
    tree = commit_odd_entry(store, f"{layout.BLOCKS}/{block.cid}", ODD_MODES[kind], oid)
    wording = f"block {block.cid} in tree {tree} is not a regular file"
    r = mg("cat", str(block.cid))
    assert (r.code, r.out, r.err) == (1, "", f"mindgit: error: {wording}\n")
    r = mg("cat", "--json", str(block.cid))
    assert r.code == 1 and json.loads(r.out)["error"] == wording


@pytest.mark.parametrize("kind", ["executable", "symlink"])
def test_cat_refuses_a_manifest_that_is_not_a_regular_file(cli: Store, mg: Mg, kind: str) -> None:
    store = cli
    store.think("the garden is quiet")
    manifest = store.state().manifest().cid
    tree = commit_odd_entry(store, layout.MANIFEST, ODD_MODES[kind])
    r = mg("cat", str(manifest))
    assert r.code == 1
    assert r.err == f"mindgit: error: {layout.MANIFEST} in tree {tree} is not a regular file\n"


def test_a_gitlink_manifest_leaves_other_cats_alone(cli: Store, mg: Mg) -> None:
    store = cli
    _, cid = store.think("the garden is quiet")
    commit_odd_entry(store, layout.MANIFEST, pygit2.enums.FileMode.COMMIT, ABSENT)
    # Its absent commit was read as the manifest: every cat failed as a missing object.
    r = mg("cat", str(cid))
    assert r.code == 0 and '"the garden is quiet"' in r.out
    missing = CID.of(b'{"x":1}')
    r = mg("cat", str(missing))
    assert r.code == 1 and r.err.startswith(f"mindgit: error: block {missing} is not in this")


def test_a_regular_copy_in_another_state_is_served(cli: Store, mg: Mg) -> None:
    store = cli
    _, cid = store.think("the garden is quiet")
    data = store.thought(cid)
    assert mg("fork", "kept").code == 0
    assert mg("switch", "main").code == 0
    commit_odd_entry(store, f"{layout.THOUGHTS}/{cid}", pygit2.enums.FileMode.LINK)
    assert mg("show").code == 1
    # Experiment kept holds it as a regular file: those bytes, which are the CID's, are served.
    r = mg("cat", "--raw", str(cid))
    assert (r.code, r.out.encode()) == (0, data)
