"""A ref's reflog folder removed by git just as mindgit appends to the reflog.

``git update-ref -d`` removes the reflog of the ref it deletes and the folders that leaves
empty (``logs/refs/heads/team/`` once ``team/a`` goes): a mindgit writer of ``team/b`` that had
made that folder and then opened its reflog in it failed with "cannot write refs/heads/team/b
(...: No such file or directory); refs/heads/team/b was not moved ... check that the store is
writable". The folder is made again, as git does.

The removal is put exactly between the two steps by an audit hook (Python raises an "open"
event before it opens a file): the first open of the reflog finds its folder removed.
"""

from __future__ import annotations

import subprocess
import sys

from mindgit.store.refs import read_ref
from mindgit.store.repository import Store
from tests.conftest import ROOT, fsck, git

# In a process of its own: an audit hook cannot be removed once added.
WRITE = r"""
import os, sys
from pathlib import Path
import pygit2
from mindgit.store.refs import update_ref

repo = pygit2.Repository(sys.argv[1])
log = Path(sys.argv[1]) / "logs" / "refs" / "heads" / "team" / "b"
removed = []

def delete(event, args):
    # git's deletion of team/a's reflog, and of the folder it leaves empty, just now.
    if event == "open" and not removed and Path(os.fsdecode(args[0])) == log:
        removed.append(log.parent)
        os.rmdir(log.parent)

sys.addaudithook(delete)
update_ref(repo, "refs/heads/team/b", sys.argv[2], None, message="fork", committer="t <t>")
print("removed" if removed else "not removed")
"""


def test_a_reflog_whose_folder_git_removed_is_written_in_the_folder_made_again(
    store: Store,
) -> None:
    head = read_ref(store.repo, "refs/heads/main")
    assert head is not None
    assert not (store.path / "logs" / "refs" / "heads" / "team").exists()
    wrote = subprocess.run(
        [sys.executable, "-c", WRITE, str(store.path), head],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert wrote.returncode == 0, wrote.stderr
    assert wrote.stdout.strip() == "removed"
    assert read_ref(store.repo, "refs/heads/team/b") == head
    assert git("--git-dir", str(store.path), "reflog", "show", "refs/heads/team/b").strip()
    fsck(store.path)
