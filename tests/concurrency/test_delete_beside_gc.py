"""A ref deleted while `git gc` packs the refs.

git's ``update-ref -d`` takes ``packed-refs.lock`` for every deletion (the ref's line may be
there), and gives up on it after ``core.packedRefsTimeout``, one second by default, while the
ref's own lock was waited for as long as mindgit waits (10 s). So ``experiments --delete``,
``runs --delete`` and an evolve moving its run back failed with git's "Unable to create
'.../packed-refs.lock': File exists" whenever ``git gc`` (cron's, or the one a command leaves in
the background) was packing refs at that moment. The lock is now waited for as long.

Forced, not timed: the lock is held until git's deletion has been running for three seconds
(it is found in /proc), three times git's own default.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from mindgit.store.refs import delete_ref, read_ref, update_ref
from mindgit.store.repository import Store
from tests.conftest import fsck


def _git_deleting(gitdir: Path) -> bool:
    """Whether a `git update-ref -d` of this store is running."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        store = str(gitdir).encode()
        if b"update-ref" in argv and b"-d" in argv and any(a.rstrip(b"/") == store for a in argv):
            return True
    return False


def test_a_deletion_waits_for_the_packed_refs_lock_git_gc_holds(store: Store) -> None:
    repo = store.repo
    gitdir = Path(repo.path)
    head = read_ref(repo, "refs/heads/main")
    assert head is not None
    ref = "refs/heads/gone"
    update_ref(repo, ref, head, None, message="t", committer="t <t>")
    packed_lock = gitdir / "packed-refs.lock"
    packed_lock.write_bytes(b"")  # git gc's pack-refs at work
    outcome: list[object] = []

    def delete() -> None:
        try:
            outcome.append(delete_ref(repo, ref, head, wait=30))
        except Exception as e:  # handed to the test's thread
            outcome.append(e)

    deleter = threading.Thread(target=delete)
    deleter.start()
    deadline = time.monotonic() + 30
    while not _git_deleting(gitdir):
        assert time.monotonic() < deadline and deleter.is_alive(), outcome
        time.sleep(0.01)
    time.sleep(3)  # git's own default gave up after one second
    assert deleter.is_alive(), outcome
    packed_lock.unlink()
    deleter.join(30)
    assert not deleter.is_alive()
    assert outcome == [None]
    assert read_ref(repo, ref) is None
    fsck(gitdir)
