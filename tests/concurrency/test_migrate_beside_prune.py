"""A pull's verified objects moved into the store while `git gc` prunes.

``git prune`` (which ``git gc`` runs) removes every empty loose-object folder
(``objects/xx``). A pull moving a loose object (a fetch of under 100 objects is stored loose)
made the folder, then renamed the object into it: a prune in between made the pull fail with
"No such file or directory" (and ``mkdir`` itself, racing the same removal, with "File exists"),
after the objects before it had moved and before any ref did: 3 moves in 20,000 beside a loop
of ``git prune``. The folder is made again, as git does.

The prune is put exactly between the two steps by an audit hook (Python raises an "os.rename"
event before each rename): the first rename into the store's new folder finds it removed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mindgit.store.repository import Store
from mindgit.sync.quarantine import Quarantine
from tests.conftest import ROOT, fsck, git

# In a process of its own: an audit hook cannot be removed once added.
MOVE = r"""
import os, sys
from pathlib import Path
from mindgit.store.repository import Store
from mindgit.sync.quarantine import Quarantine

store = Store(sys.argv[1])
folder = Path(sys.argv[2])
pruned = []

def prune(event, args):
    # git prune's rmdir of the empty folder, between its making and the object's rename.
    if event == "os.rename" and not pruned and Path(os.fsdecode(args[1])).parent == folder:
        pruned.append(folder)
        os.rmdir(folder)

sys.addaudithook(prune)
Quarantine(store, "beta").migrate()
print("pruned" if pruned else "not pruned")
"""


def test_a_loose_object_moves_in_though_its_folder_is_pruned_meanwhile(store: Store) -> None:
    q = Quarantine(store, "beta")
    q.reset()
    objects = store.path / "objects"
    # A blob whose loose-object folder the store does not have yet.
    n = 0
    while True:
        data = f"thought {n}\n".encode()
        oid = git("--git-dir", str(q.path), "hash-object", "--stdin", input=data).strip()
        if not (objects / oid[:2]).exists():
            break
        n += 1
    git("--git-dir", str(q.path), "hash-object", "-w", "--stdin", input=data)
    assert (q.objects / oid[:2] / oid[2:]).is_file()
    moved = subprocess.run(
        [sys.executable, "-c", MOVE, str(store.path), str(objects / oid[:2])],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.strip() == "pruned"
    assert Path(objects / oid[:2] / oid[2:]).is_file()
    assert git("--git-dir", str(store.path), "cat-file", "-p", oid).encode() == data
    fsck(store.path)
