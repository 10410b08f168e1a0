"""The gate reads what git hashed as it arrived without libgit2 hashing each object again: its
own checks must still refuse bytes that are not what their name says, and libgit2's check must
be back on once the gate is done, however it ends."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import pygit2
import pytest

from mindgit.store.layout import THOUGHTS
from mindgit.store.repository import Store
from mindgit.sync import gate
from mindgit.sync.gate import check_commits
from tests.sync.conftest import Nodes


def _corrupt_thought(store: Store) -> pygit2.Oid:
    """Replace the head's thought file, a loose object, with other bytes under the same id."""
    tree = store.repo[store.head("main")].peel(pygit2.Tree)
    (entry,) = store.repo[tree[THOUGHTS].id].peel(pygit2.Tree)
    path = Path(store.repo.path) / "objects" / str(entry.id)[:2] / str(entry.id)[2:]
    other = b'{"text":"not what was signed","type":"note"}'
    os.chmod(path, 0o644)
    path.write_bytes(zlib.compress(b"blob %d\0" % len(other) + other))
    return entry.id


@pytest.fixture
def corrupted(nodes: Nodes) -> tuple[Store, pygit2.Oid]:
    store = nodes.make("alpha")
    store.think("what was signed")
    return store, _corrupt_thought(store)


def test_bytes_that_do_not_match_their_name_are_refused_without_libgit2_hashing(
    corrupted: tuple[Store, pygit2.Oid],
) -> None:
    store, _ = corrupted
    problems = check_commits(store.repo, store.trust, [store.head("main")], hashed_on_arrival=True)
    assert any("not to their name" in p.reason for p in problems), problems


def test_libgit2_hashes_what_it_reads_again_once_the_gate_is_done(
    corrupted: tuple[Store, pygit2.Oid], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, blob = corrupted
    check_commits(store.repo, store.trust, [store.head("main")], hashed_on_arrival=True)
    store.repo.free()
    with pytest.raises(pygit2.GitError):
        store.repo.odb.read(blob)

    def fails(*_: object) -> list[object]:
        raise RuntimeError("the check fails")

    monkeypatch.setattr(gate, "_check_commits", fails)
    with pytest.raises(RuntimeError):
        check_commits(store.repo, store.trust, [store.head("main")], hashed_on_arrival=True)
    store.repo.free()
    with pytest.raises(pygit2.GitError):
        store.repo.odb.read(blob)
