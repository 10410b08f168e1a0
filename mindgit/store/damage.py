"""Naming damage on disk: an object libgit2 reads as absent that the store may hold after all.

libgit2 leaves a pack file it cannot read (one cut short) out whole, with no error, so every
object in it reads as absent, as if never stored. Before anything is called missing (and a ref to
it offered for deletion), the pack indexes and the loose path are looked at: what holds the object
is named, with ``git fsck`` and the repair docs/store.md gives. verify, the readers of a state,
revisions and log all name damage this way.
"""

from __future__ import annotations

import os
from itertools import pairwise
from pathlib import Path

import pygit2

from mindgit.errors import shell_word

REPAIR = "docs/store.md, 'A store damaged on disk', says how to repair it"

# Pack indexes by path, as read: None for one that cannot be read. One verify run reads each once.
Indexes = dict[Path, bytes | None]


def fsck_hint(store: Path | str, what: str = "damaged") -> str:
    """The next step after naming damage in ``store``: git's fsck, then the repair."""
    return f"`git --git-dir {shell_word(str(store))} fsck` names what is {what}, and {REPAIR}"


def unreadable_cause(
    gitdir: Path, oid: pygit2.Oid | str, indexes: Indexes | None = None
) -> str | None:
    """Why an object libgit2 reads as absent may be in the store after all, damaged: a pack
    index lists it (its pack is then damaged or cut short: libgit2 leaves such a pack out
    whole, with no error), a file is at its loose path, or an index that may list it cannot be
    read. None when nothing on disk holds it: no index lists it and none is unread, and no file
    is at its loose path (it was never stored here, or is gone).

    A ref to such an object is sound, and the store's repair can bring the object back: it must
    not be taken for a ref to delete. Each index is read once into ``indexes``."""
    hexid = str(oid)
    pack, unread = _pack_listing(gitdir, bytes.fromhex(hexid), {} if indexes is None else indexes)
    if pack is not None:
        return (
            f"{pack}, whose index lists it, is damaged or cut short (none of its objects can be "
            "read)"
        )
    loose = Path("objects") / hexid[:2] / hexid[2:]
    if os.path.lexists(gitdir / loose):
        return f"{loose.as_posix()}, its loose file, is there but holds no object git can read"
    return unread


def _pack_listing(gitdir: Path, raw: bytes, indexes: Indexes) -> tuple[str | None, str | None]:
    """The pack file (``objects/pack/<name>.pack``) whose index lists the object ``raw``, or
    None; and, when none does, what could not be read and so may hold it (a pack index, or the
    pack folder), or None."""
    folder = gitdir / "objects" / "pack"
    shown = Path("objects") / "pack"
    try:
        found = sorted(name for name in os.listdir(folder) if name.endswith(".idx"))
    except FileNotFoundError:
        return None, None
    except OSError:
        return None, f"{shown.as_posix()} cannot be read, and a pack in it may hold it"
    unread: str | None = None
    for name in found:
        data = _read_index(folder / name, indexes)
        lists = None if data is None else _index_lists(data, raw)
        if lists:
            return (shown / name).with_suffix(".pack").as_posix(), None
        if lists is None and unread is None:
            unread = f"{(shown / name).as_posix()} cannot be read, and its pack may hold it"
    return None, unread


def listed_by_prefix(gitdir: Path, prefix: str, indexes: Indexes | None = None) -> list[str]:
    """The ids starting with ``prefix`` (hex, as git abbreviates an id) that the pack indexes
    list, sorted: libgit2 looks a short id up only among the objects it can read, so one in a
    pack cut short (which it leaves out whole, with no error) named nothing. Each index is read
    once into ``indexes``; one that cannot be read lists nothing."""
    folder = gitdir / "objects" / "pack"
    try:
        found = sorted(name for name in os.listdir(folder) if name.endswith(".idx"))
    except OSError:
        return []
    if indexes is None:
        indexes = {}
    ids: set[str] = set()
    for name in found:
        data = _read_index(folder / name, indexes)
        if data is not None:
            ids.update(_index_prefixed(data, prefix))
    return sorted(ids)


def _read_index(idx: Path, indexes: Indexes) -> bytes | None:
    """A pack index's bytes, read once into ``indexes``; None if it cannot be read."""
    if idx not in indexes:
        try:
            indexes[idx] = idx.read_bytes()
        except OSError:
            indexes[idx] = None
    return indexes[idx]


_IDX_MAGIC = b"\xfftOc"
_IDX_V2 = _IDX_MAGIC + b"\x00\x00\x00\x02"
_FANOUT_BYTES = 256 * 4
_IDX_TRAILER = 2 * 20  # the pack's checksum, then the index's own


def _index_lists(data: bytes, raw: bytes) -> bool | None:
    """Whether a pack index (``data``: git's version 2, written since git 1.5.2, or version 1)
    lists the object ``raw`` (a SHA-1); None if ``data`` is no such index, or one too short for
    what it claims (cut short, say). Its fan-out table bounds the run of sorted names to
    search."""
    if len(raw) != 20:
        return False
    read = _index_layout(data)
    if read is None:
        return None
    names, step, fan = read
    first = raw[0]
    lo, hi = fan[first - 1] if first else 0, fan[first]
    while lo < hi:
        mid = (lo + hi) // 2
        name = data[names + step * mid : names + step * mid + 20]
        if name < raw:
            lo = mid + 1
        elif name > raw:
            hi = mid
        else:
            return True
    return False


def _index_layout(data: bytes) -> tuple[int, int, list[int]] | None:
    """Where a pack index's sorted names start, the bytes from one to the next, and its fan-out
    table (how many names start with a byte up to each); None if ``data`` is no index git
    writes (version 2 or 1), or one too short for what it claims."""
    if data.startswith(_IDX_V2):
        version, fanout = 2, len(_IDX_V2)
        names, step, per_object = fanout + _FANOUT_BYTES, 20, 20 + 4 + 4  # name, CRC, offset
    elif data.startswith(_IDX_MAGIC):
        return None  # a version git does not write
    else:  # version 1: each entry is a 4-byte offset, then the name
        version, fanout = 1, 0
        names, step, per_object = _FANOUT_BYTES + 4, 24, 24
    if len(data) < fanout + _FANOUT_BYTES:
        return None
    table = data[fanout : fanout + _FANOUT_BYTES]
    fan = [int.from_bytes(table[i : i + 4], "big") for i in range(0, _FANOUT_BYTES, 4)]
    count = fan[-1]
    # Version 2 may hold 8-byte offsets (of a pack over 2 GiB) before its trailer; 1 has none.
    extra = len(data) - (fanout + _FANOUT_BYTES + per_object * count + _IDX_TRAILER)
    if extra < 0 or extra % 8 or (extra and version == 1):
        return None
    if any(a > b for a, b in pairwise(fan)):
        return None
    return names, step, fan


def _index_prefixed(data: bytes, prefix: str) -> list[str]:
    """The ids a pack index (as :func:`_index_lists` reads it) lists that start with
    ``prefix`` (2 to 40 hex digits); none if ``data`` is no such index."""
    read = _index_layout(data)
    if read is None or not 2 <= len(prefix) <= 40:
        return []
    names, step, fan = read
    try:
        low = bytes.fromhex(prefix.ljust(40, "0"))
    except ValueError:
        return []
    first = low[0]
    lo, hi = fan[first - 1] if first else 0, fan[first]
    end = hi
    while lo < hi:  # the first name not below ``low``
        mid = (lo + hi) // 2
        if data[names + step * mid : names + step * mid + 20] < low:
            lo = mid + 1
        else:
            hi = mid
    ids = []
    for at in range(lo, end):
        name = data[names + step * at : names + step * at + 20].hex()
        if not name.startswith(prefix):
            break
        ids.append(name)
    return ids
