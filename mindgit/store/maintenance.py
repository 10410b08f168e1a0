"""Housekeeping after a command that wrote many objects: ``git gc --auto``, as git's porcelain does.

An evolution run stores each generation as a pack of its own, uncompressed whenever the writer
falls behind the breeder (deflating would slow the run): 500 generations of 200 states of 32
genes leave ~100 packs and ~200 MiB, which one compressed pack holds in ~40-55 MiB. A pull adds a
pack per pull. git's answer is the automatic collection every git command that writes ends
with, and mindgit ends ``evolve`` and ``pull`` with the same call: when the store has more packs
than ``gc.autoPackLimit`` (50) or more loose objects than ``gc.auto`` (6700), git repacks them
into one, in the background (``gc.autoDetach``), so the command returns at once. It also expires
unreachable objects after ``gc.pruneExpire`` (two weeks), as git does. Everything is git's own
configuration: ``git config gc.auto 0`` turns it off; ``gc.autoDetach false`` waits for it.
"""

from __future__ import annotations

import subprocess

from mindgit.errors import MindgitError
from mindgit.store.repository import Store

# The check itself is quick (git counts packs and samples one loose-object directory); only a
# collection run in the foreground (gc.autoDetach false) takes long, and is git's to bound.
_GC = ("gc", "--auto", "--quiet")


class MaintenanceFailed(MindgitError):
    """``git gc --auto`` could not run or failed; the store is as git left it."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"git gc --auto failed: {detail}",
            hint="run `git gc` in the store to see why, or turn it off with `git config gc.auto 0`",
        )
        self.detail = detail


def auto_gc(store: Store) -> None:
    """Let git repack the store if its own thresholds say so (see the module docstring)."""
    try:
        proc = subprocess.run(
            ["git", f"--git-dir={store.path}", *_GC],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
    except OSError as e:  # no git on PATH
        raise MaintenanceFailed(str(e)) from None
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise MaintenanceFailed(lines[-1] if lines else f"exit status {proc.returncode}")
