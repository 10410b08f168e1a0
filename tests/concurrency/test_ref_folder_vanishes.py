"""A ref's folder removed by git while mindgit is about to lock a ref in it.

git removes a ref's folder once no ref is left in it: ``git gc`` packs the refs and prunes
the loose ones (``pack-refs --prune``), ``update-ref -d`` deletes one. A mindgit writer that had
made (or found) the folder and then created its lock there failed with "cannot write
refs/peers/beta/heads/x (...x.lock: No such file or directory) ... check that the store is
writable by this user and the disk has room": 8 ref writes in 3,000 beside a loop of
``git pack-refs --all --prune`` (a pull marking what it saw from a peer while cron runs
``git gc``). git's own writer makes the folder again; so does mindgit's now.

The interleaving is forced, not timed: the writer waits on a lock git would hold, each of its
tries leaves a trace (its token file, made and removed under ``mindgit/``, changes the folder's
time), and only once it has tried is the lock gone and its folder removed, as git does.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from mindgit.store.refs import read_ref, update_ref
from mindgit.store.repository import Store
from tests.conftest import fsck, git


def _stamp(folder: Path) -> int:
    return folder.stat().st_mtime_ns


def test_a_lock_whose_folder_git_removed_is_taken_in_the_folder_made_again(store: Store) -> None:
    repo = store.repo
    gitdir = Path(repo.path)
    head = read_ref(repo, "refs/heads/main")
    assert head is not None
    ref = "refs/peers/beta/heads/x"
    folder = gitdir / "refs" / "peers" / "beta" / "heads"
    folder.mkdir(parents=True)
    lock = folder / "x.lock"
    lock.write_bytes(b"")  # git's own lock: waited for, never broken
    spares = gitdir / "mindgit"
    before = _stamp(spares)
    outcome: list[object] = []

    def write() -> None:
        try:
            outcome.append(update_ref(repo, ref, head, None, message="seen", committer="t <t>"))
        except Exception as e:  # handed to the test's thread
            outcome.append(e)

    writer = threading.Thread(target=write)
    writer.start()
    deadline = time.monotonic() + 30
    while _stamp(spares) == before:  # not tried the lock yet
        assert time.monotonic() < deadline and writer.is_alive(), outcome
        time.sleep(0.01)
    # git lets its lock go, and its pack-refs --prune removes the folders it emptied: both at
    # once here (the folders moved out of the store in one rename, the lock with them), or the
    # writer could take the lock between the two.
    gone = gitdir.parent / "gone"
    (gitdir / "refs" / "peers" / "beta").rename(gone)
    assert sorted(p.name for p in gone.rglob("*")) == ["heads", "x.lock"]
    writer.join(30)
    assert not writer.is_alive()
    assert len(outcome) == 1 and not isinstance(outcome[0], Exception), outcome
    assert read_ref(repo, ref) == head
    assert git("--git-dir", str(gitdir), "rev-parse", ref).strip() == head
    assert not lock.exists()
    fsck(gitdir)
