"""Known correctness bugs of the store, each pinned by a test that failed before its fix."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pygit2
import pytest

from mindgit.ipld.cid import CID
from mindgit.store import layout, refs
from mindgit.store.repository import EmptyCommitMessage, Store
from mindgit.store.state import Block, State, make_thought
from mindgit.store.verify import STATE_TRAILER, trailer
from tests.conftest import Mg
from tests.snapshots import changed, snapshot

# -- an empty commit message -----------------------------------------------------------------


def git_trailers(message: str) -> str:
    return subprocess.run(
        ["git", "interpret-trailers", "--parse"],
        input=message,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.mark.parametrize("message", ["", "\n\n", "  ", " \n\t\n"])
def test_write_commit_refuses_a_message_with_no_text(store: Store, message: str) -> None:
    # libgit2 reads a message from its first non-empty line: under an empty one the state
    # trailer was all the message, so no reader (git's or ours) saw it as a trailer.
    tree, manifest = layout.write_state(store.repo, State(), {})
    before = snapshot(store.path)
    with pytest.raises(EmptyCommitMessage, match="needs some text"):
        store.write_commit(tree, [store.head()], message, manifest.cid, {"Run": "1"})
    assert changed(before, store.path) == []


def test_update_refuses_an_empty_message_before_writing_anything(store: Store) -> None:
    block = make_thought("quiet", [])
    before = snapshot(store.path)
    with pytest.raises(EmptyCommitMessage):
        store.update(
            lambda s: (s.with_thoughts(s.thoughts | {block.cid}), {block.cid: block.data}), ""
        )
    assert changed(before, store.path) == []


def test_every_state_commit_has_a_state_trailer_git_reads_too(store: Store) -> None:
    commit, _ = store.think("the garden is quiet")
    message = store.repo[commit.id].peel(pygit2.Commit).message
    assert trailer(message, STATE_TRAILER) == str(commit.manifest)
    assert git_trailers(message) == f"{STATE_TRAILER}: {commit.manifest}\n"
    block = make_thought("and the pond", [])
    commit = store.update(
        lambda s: (s.with_thoughts(s.thoughts | {block.cid}), {block.cid: block.data}),
        "Run: not a trailer, the subject",
        trailers={"Mindgit-Run": "r1"},
    )
    message = store.repo[commit.id].peel(pygit2.Commit).message
    assert trailer(message, STATE_TRAILER) == str(commit.manifest)
    assert git_trailers(message) == f"Mindgit-Run: r1\n{STATE_TRAILER}: {commit.manifest}\n"


# -- a thought or block that is not a regular file -------------------------------------------

ODD_MODES = {
    "executable": pygit2.enums.FileMode.BLOB_EXECUTABLE,
    "symlink": pygit2.enums.FileMode.LINK,
}


def with_entry_mode(store: Store, dirname: str, cid: CID, mode: int) -> pygit2.Tree:
    """Commit the head's state again with ``cid``'s entry under ``dirname`` given ``mode`` (the
    same blob): what `git update-index --chmod=+x` or a hand-made tree leaves."""
    head = store.head()
    tree = store.repo[head].peel(pygit2.Tree)
    sub = store.repo[tree[dirname].id].peel(pygit2.Tree)
    tb = store.repo.TreeBuilder(sub)
    tb.insert(str(cid), sub[str(cid)].id, mode)
    root = store.repo.TreeBuilder(tree)
    root.insert(dirname, tb.write(), layout.TREE)
    manifest = layout.read_state(store.repo, tree)[1]
    oid = store.write_commit(root.write(), [head], "think: odd mode", manifest.cid)
    store.repo.references["refs/heads/main"].set_target(oid)
    return store.repo[oid].peel(pygit2.Tree)


@pytest.mark.parametrize("kind", sorted(ODD_MODES))
def test_reading_a_thought_that_is_not_a_regular_file_is_refused(
    store: Store, mg: Mg, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, cid = store.think("the garden is quiet")
    tree = with_entry_mode(store, layout.THOUGHTS, cid, ODD_MODES[kind])
    # verify refuses it ("not a regular file"); the readers read its blob as the thought.
    wording = f"thought {cid} in tree {tree.id} is not a regular file"
    with pytest.raises(layout.StateNotFound, match=wording):
        layout.read_thought(store.repo, tree, cid)
    with pytest.raises(layout.StateNotFound, match=wording):
        dict(layout.read_thoughts(store.repo, tree, [cid]))
    with pytest.raises(layout.StateNotFound, match=wording):
        store.thought(cid)
    monkeypatch.setenv("MINDGIT_STORE", str(store.path))
    r = mg("verify")
    assert r.code == 1 and f"(thought {cid}): not a regular file" in r.out
    r = mg("show")
    assert r.code == 1 and r.err == f"mindgit: error: {wording}\n", r.err


@pytest.mark.parametrize("kind", sorted(ODD_MODES))
def test_reading_a_block_that_is_not_a_regular_file_is_refused(store: Store, kind: str) -> None:
    block = Block.encode({"persona": "a gardener"})
    store.update(
        lambda s: (s.with_memories({"persona": block.cid}), {block.cid: block.data}),
        "memory: persona",
    )
    tree = with_entry_mode(store, layout.BLOCKS, block.cid, ODD_MODES[kind])
    wording = f"block {block.cid} in tree {tree.id} is not a regular file"
    with pytest.raises(layout.StateNotFound, match=wording):
        layout.read_block(store.repo, tree, block.cid)
    with pytest.raises(layout.StateNotFound, match=wording):
        dict(layout.read_blocks(store.repo, tree, [block.cid]))


# -- what a ref writer killed midway leaves under mindgit/ ------------------------------------


def spare_of(store: Store, pid: int, suffix: str = "0123456789ab") -> Path:
    """The file a writer of pid ``pid`` on this machine names its new value or its lock's holder
    with (refs._spare_name), made by hand as a kill between write and rename leaves it."""
    token = b"%s %d %s\n" % (refs._TOKEN, pid, " ".join(refs._here()).encode())
    name = refs._spare_name(token).rsplit("-", 1)[0] + f"-{suffix}.tmp"
    path = store.path / "mindgit" / name
    path.write_bytes(b"0" * 40 + b"\n")
    return path


def test_the_next_ref_update_removes_what_a_killed_writer_left(store: Store) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    left = spare_of(store, dead.pid)
    alive = spare_of(store, os.getppid())  # a live process's: its update is under way
    foreign_new = store.path / "mindgit" / "ref-7-0123456789abcdef-0123456789ab.tmp"
    foreign_new.write_bytes(b"x")
    foreign_old = store.path / "mindgit" / "ref-8-0123456789abcdef-0123456789ab.tmp"
    foreign_old.write_bytes(b"x")
    old = time.time() - refs.UNCHECKED_SPARE_SECONDS - 60
    os.utime(foreign_old, (old, old))
    other = store.path / "mindgit" / "ref-notes.tmp"  # not a name a writer makes
    other.write_bytes(b"x")
    store.think("the garden is quiet")
    assert not left.exists() and not foreign_old.exists()
    assert alive.exists() and foreign_new.exists() and other.exists()
