"""A key rotation beside a writer: nothing is signed with the retired key that the rotation's
heads do not cover (verify and every peer would refuse it for good).

1. A writer that signed under its ref's lock just before the rotation saved its pending key set
   its ref after the rotation had read its heads.
2. A store that had read its key before a rotation finished (a pull merging, an import, a
   merge) signed with the retired key after it.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pygit2

from mindgit.store.refs import locked_ref, read_ref
from mindgit.store.repository import Store
from tests.conftest import ROOT, fsck


def _mindgit(store: Store, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mindgit", "--store", str(store.path), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def _verify(store: Store) -> tuple[int, str]:
    p = _mindgit(store, "verify", "--all")
    out, err = p.communicate()
    return p.returncode, out + err


def test_a_commit_signed_before_the_rotation_started_is_in_its_heads(store: Store) -> None:
    repo = store.repo
    head = read_ref(repo, "refs/heads/main")
    assert head is not None
    with locked_ref(repo, "refs/heads/main") as held:
        commit = store.write_commit(
            str(repo[head].peel(pygit2.Commit).tree_id), [head], "think: racing"
        )
        rotation = _mindgit(store, "keys", "rotate")
        deadline = time.monotonic() + 60
        while not store.pending_key_path.exists():
            assert rotation.poll() is None and time.monotonic() < deadline, rotation.communicate()
            time.sleep(0.01)
        # Unfixed, the rotation reads its heads and announces them without waiting for this
        # writer; fixed, it waits for this lock (up to its 10 s), and announces nothing yet.
        announced = store.path / "refs" / "keys" / "announce"
        waited = time.monotonic() + 3
        while not announced.exists() and time.monotonic() < waited:
            time.sleep(0.01)
        held.set(commit, message="think", committer="t <t>")
    _, err = rotation.communicate()
    assert rotation.returncode == 0, err
    code, text = _verify(store)
    assert code == 0, text
    fsck(store.path)


def test_a_store_that_read_its_key_before_a_rotation_signs_with_the_new_one(
    store: Store,
) -> None:
    old = store.signing_key.public  # a long command has read its key
    rotation = _mindgit(store, "keys", "rotate")
    _, err = rotation.communicate()
    assert rotation.returncode == 0, err
    store.think("after the rotation")
    assert store.signing_key.public != old
    code, text = _verify(store)
    assert code == 0, text
