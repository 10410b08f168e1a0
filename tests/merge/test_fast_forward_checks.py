"""`mindgit merge` of a history that only adds to ours (a fast-forward) moved the experiment
onto theirs without the checks a merge makes of what it takes from theirs: a thought whose
bytes do not hash to its name, an envelope verify refuses, a memory block that is not canonical
DAG-JSON went onto the experiment unchecked (a branch fetched by hand with git, never gated),
and the node's next commit on it signed them. A fast-forward now checks every thought and block
theirs links that ours does not hold as the same file, as a merge does, and refuses as it does:
exit 1, nothing changed. Found by review (H5)."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from mindgit.errors import MindgitError
from mindgit.ipld.cid import CID
from mindgit.merge import merge
from mindgit.store import layout
from mindgit.store.refs import update_ref
from mindgit.store.repository import HEADS, Store, init_store
from mindgit.store.state import Block, make_thought
from tests.conftest import Mg


def peer_commit(store: Store, experiment: str, tree: pygit2.Oid, manifest: CID) -> str:
    """A signed commit of ``tree`` on ``experiment`` that no check has seen (a peer's)."""
    head = store.head(experiment)
    commit = store.write_commit(tree, [head], "a peer's commit", manifest)
    update_ref(store.repo, HEADS + experiment, commit, head, message="peer", committer="p <p@p>")
    return commit


def with_file(store: Store, experiment: str, dirname: str, name: str, data: bytes) -> str:
    """A commit on ``experiment`` whose ``dirname`` holds ``data`` under ``name``, its
    manifest unchanged."""
    snap = store.snapshot(store.head(experiment))
    repo = store.repo
    sub = repo[snap.tree[dirname].id]
    assert isinstance(sub, pygit2.Tree)
    files = repo.TreeBuilder(sub)
    files.insert(name, repo.create_blob(data), pygit2.GIT_FILEMODE_BLOB)
    root = repo.TreeBuilder(snap.tree)
    root.insert(dirname, files.write(), pygit2.GIT_FILEMODE_TREE)
    return peer_commit(store, experiment, root.write(), snap.manifest.cid)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = init_store(tmp_path / "s", "alpha")
    s.think("a public note")
    s.fork("other", switch=False)
    return s


def refused(store: Store, mg: Mg, words: str) -> None:
    head = store.head("main")
    for dry in (("--dry-run",), ()):
        r = mg("--store", str(store.path), "merge", "other", *dry)
        assert r.code == 1, r.out + r.err
        assert words in r.err and len(r.err.strip().splitlines()) == 1, r.err
        assert "Traceback" not in r.err
        assert store.head("main") == head
    with pytest.raises(MindgitError):
        merge(store, "other")
    assert store.head("main") == head


def test_a_new_thought_whose_bytes_are_junk_is_refused(store: Store, mg: Mg) -> None:
    store.think("theirs", experiment="other")
    (cid,) = (
        store.snapshot(store.head("other")).state.thoughts
        - store.snapshot(store.head("main")).state.thoughts
    )
    with_file(store, "other", layout.THOUGHTS, str(cid), b"junk")
    refused(store, mg, f"block does not match its CID {cid}")


def test_junk_under_the_name_of_a_thought_ours_holds_is_refused(store: Store, mg: Mg) -> None:
    # Both hold the thought; theirs' file under its name is another's bytes.
    (cid,) = store.snapshot(store.head("main")).state.thoughts
    with_file(store, "other", layout.THOUGHTS, str(cid), make_thought("other", []).data)
    refused(store, mg, f"block does not match its CID {cid}")


def test_a_memory_block_verify_refuses_is_refused(store: Store, mg: Mg) -> None:
    spaced = Block(CID.of(b'{"value": 1}'), b'{"value": 1}')
    snap = store.snapshot(store.head("other"))
    state = snap.state.with_memories({"human": spaced.cid})
    tree, manifest = layout.write_state(store.repo, state, {spaced.cid: spaced.data}, snap.tree)
    peer_commit(store, "other", tree, manifest.cid)
    refused(store, mg, "is not a valid block (not canonical DAG-JSON")


def test_a_sound_fast_forward_still_moves_the_ref(store: Store, mg: Mg) -> None:
    store.think("theirs", experiment="other")
    r = mg("--store", str(store.path), "merge", "other")
    assert r.code == 0, r.err
    assert store.head("main") == store.head("other")
    r = mg("--store", str(store.path), "verify")
    assert r.code == 0, r.err
