"""Known correctness bugs of the store, each pinned by a test that failed before its fix."""

from __future__ import annotations

import subprocess

import pygit2
import pytest

from mindgit.store import layout
from mindgit.store.repository import EmptyCommitMessage, Store
from mindgit.store.state import State
from mindgit.store.verify import STATE_TRAILER, trailer
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
    from mindgit.store.state import make_thought

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
