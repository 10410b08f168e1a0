"""Where a pull's objects wait until they are verified: a repository of their own.

A pull fetches into ``<store>/mindgit/quarantine/<peer>``, a bare repository whose
``objects/info/alternates`` names the store's object directory. git negotiates against
everything the store has (the refs of an alternate count as "haves"), so only new objects
travel, and they land in the quarantine, never in the store. The store reads them for
verification through an in-process alternate (:meth:`Quarantine.show_to`), which changes
nothing on disk. Once everything is accepted, :meth:`Quarantine.migrate` moves the packs and
loose objects into the store (a pack's index last: it is what makes a pack visible). However a
pull ends, the quarantine is emptied: a refused pull leaves the store's objects exactly as they
were, and git's temporary files (``tmp_pack_*`` of a fetch that fsck refused) go with it.

This is git's own receive quarantine (``GIT_QUARANTINE_PATH``) done for a fetch: git has none.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pygit2

from mindgit.store.refs import read_ref
from mindgit.store.repository import MINDGIT_DIR, Store
from mindgit.store.settings import read_size

QUARANTINE_DIR = "quarantine"
# The most one pull may bring, as git stores it (packs, compressed): a generous bound on a
# population's worth of runs that still keeps a hostile peer from filling the disk.
DEFAULT_MAX_FETCH = 1 << 30
# A pack's files in the order that keeps a half-moved pack invisible: the index last.
_PACK_SUFFIXES = (".pack", ".rev", ".bitmap", ".idx")
_CONFIG = "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n"


def max_fetch(store: Store) -> int:
    """The largest pull this store accepts, in bytes (config ``mindgit.maxfetch``)."""
    size = read_size(store.config_get, "maxfetch")
    return DEFAULT_MAX_FETCH if size is None else size


class Quarantine:
    """One peer's quarantine repository (see the module docstring)."""

    def __init__(self, store: Store, peer: str) -> None:
        self.path = store.path / MINDGIT_DIR / QUARANTINE_DIR / peer
        self.objects = self.path / "objects"
        self.store_objects = Path(store.repo.path) / "objects"

    def reset(self) -> None:
        """Empty the quarantine: no refs, no objects, only the link to the store's objects."""
        alternates = self.objects / "info" / "alternates"
        link = f"{self.store_objects.resolve()}\n"
        if not (self.path / "HEAD").is_file() or not alternates.is_file():
            shutil.rmtree(self.path, ignore_errors=True)
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # The few files git needs of a bare repository; `git init` would copy its
            # templates (sample hooks) too, ten times the work, each first pull.
            (self.path / "refs" / "heads").mkdir(parents=True)
            (self.path / "refs" / "tags").mkdir()
            (self.objects / "pack").mkdir(parents=True)
            (self.objects / "info").mkdir()
            (self.path / "config").write_text(_CONFIG)
            alternates.write_text(link)
            (self.path / "HEAD").write_text("ref: refs/heads/main\n")  # last: marks it whole
            return
        # Emptied in place (cheaper than a new repository, and the directories stay).
        for name in ("packed-refs", "FETCH_HEAD", "shallow"):
            (self.path / name).unlink(missing_ok=True)
        shutil.rmtree(self.path / "refs", ignore_errors=True)
        (self.path / "refs" / "heads").mkdir(parents=True)
        (self.path / "refs" / "tags").mkdir()
        for child in self.objects.iterdir():
            if child.name == "pack":
                for f in child.iterdir():
                    _remove(f)
            elif child.name != "info":
                _remove(child)
        if alternates.read_text() != link:
            alternates.write_text(link)

    def show_to(self, repo: pygit2.Repository) -> None:
        """Let ``repo`` (this process only) read the quarantined objects, to verify them.

        The directory outlives every pull (emptied, never removed): a ``repo`` given the
        alternate outside :func:`quarantined` keeps it for its life and would fail to list
        objects without it.
        """
        repo.odb.add_disk_alternate(str(self.objects.resolve()))

    def refs(self, prefix: str) -> dict[str, str]:
        """The fetched refs under ``prefix`` (name -> commit)."""
        repo = pygit2.Repository(str(self.path))
        out = {}
        for ref in repo.references:
            if ref.startswith(prefix):
                oid = read_ref(repo, ref)
                if oid is not None:
                    out[ref] = oid
        return out

    def size(self) -> int:
        """Bytes the quarantined objects take (temporary files of a fetch under way included)."""
        total = 0
        for root, _, files in os.walk(self.objects):
            for name in files:
                with contextlib.suppress(FileNotFoundError):
                    total += os.lstat(os.path.join(root, name)).st_size
        return total

    def migrate(self) -> None:
        """Move every quarantined object into the store (verified: nothing else calls this)."""
        packs = self.objects / "pack"
        for pack in sorted(packs.glob("pack-*.pack")):
            for suffix in _PACK_SUFFIXES:
                part = pack.with_suffix(suffix)
                if part.exists():
                    _move(part, self.store_objects / "pack" / part.name)
        for sub in sorted(self.objects.iterdir()):
            if len(sub.name) == 2 and sub.is_dir():
                for obj in sorted(sub.iterdir()):
                    if not obj.name.startswith("tmp"):
                        _move(obj, self.store_objects / sub.name / obj.name)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


# How often a loose object's folder may vanish under one move before the move gives up.
_MOVE_ATTEMPTS = 100


def _move(src: Path, dst: Path) -> None:
    # Same name, same content (a pack's name and a loose object's path are hashes of it): an
    # object the store already has is left as it is.
    if dst.exists():
        return
    for attempt in range(_MOVE_ATTEMPTS):
        try:
            os.replace(src, dst)
            return
        except FileNotFoundError:
            if not os.path.lexists(src) or attempt == _MOVE_ATTEMPTS - 1:
                raise
        # The object's folder (objects/xx) is not there, or went since it was made: git prune,
        # which git gc runs, removes every empty one. Made (again), as git does when it writes.
        with contextlib.suppress(FileExistsError):
            os.mkdir(dst.parent)


@contextlib.contextmanager
def quarantined(store: Store, peer: str) -> Iterator[Quarantine]:
    """A fresh quarantine for one pull from ``peer``, emptied when the block ends."""
    q = Quarantine(store, peer)
    q.reset()  # whatever a killed pull left is never trusted
    try:
        q.show_to(store.repo)
        yield q
    finally:
        q.reset()
        # The store's repository still had the quarantine as an alternate, and libgit2 keeps
        # a deleted pack mapped: this process would go on reading a refused pull's objects
        # (and could point a ref at one). Freeing drops the object database and its caches;
        # the next read opens them afresh from disk, where only accepted objects are.
        store.repo.free()
