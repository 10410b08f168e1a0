"""Writing many git objects as one pack file, streamed, instead of one loose file each.

pygit2 writes every blob as a loose object (about a thousand a second here), so a CAR or an
agent file with 100,000 blocks would take minutes to import that way. This writes the blobs and
trees of an import into a single pack (v2) with its index (v2), as ``git index-pack`` would,
holding only 20 bytes of object id, a CRC and an offset per object in memory; the bytes go
straight to disk. (A run's generations are packed by ``mindgit.evolve.writer``, whose whole
pack is in memory at once and tuned for that.)

The pack becomes visible to git only when its ``.idx`` is renamed into place, after the pack
itself, so a crash leaves at most a stray ``tmp_pack_*`` file (``git gc`` removes it), never a
torn pack. Object ids are SHA-1, as in every repository mindgit creates.
"""

from __future__ import annotations

import functools
import hashlib
import os
import struct
import tempfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from mindgit.errors import MindgitError

OBJ_COMMIT = 1
OBJ_TREE = 2
OBJ_BLOB = 3
_TYPE_NAMES = {OBJ_COMMIT: b"commit", OBJ_TREE: b"tree", OBJ_BLOB: b"blob"}
BLOB_MODE = b"100644"
TREE_MODE = b"40000"
_HEADER = struct.Struct(">4sII")
_LARGE_OFFSET = 0x80000000
_COPY_CHUNK = 1 << 20
_SMALL = 4096
_RECORD = 32
_RECORD_TAIL = struct.Struct(">IQ")
_OFFSET = struct.Struct(">Q")


class PackWriteError(MindgitError):
    """The pack could not be written (or was used after it was finished)."""


def git_oid(kind: int, data: bytes | bytearray) -> bytes:
    """The raw SHA-1 object id git gives ``data`` as an object of ``kind``."""
    h = hashlib.sha1(_TYPE_NAMES[kind] + b" %d\0" % len(data))
    h.update(data)
    return h.digest()


def tree_bytes(entries: Iterable[tuple[str, bool, bytes]]) -> bytes:
    """A git tree object's content from ``(name, is_tree, raw oid)`` entries, in git's order.

    git sorts entries by name bytes, comparing a subtree as if its name ended in ``/``; a tree in
    any other order is one ``git fsck`` rejects.
    """
    keyed = []
    for name, is_tree, oid in entries:
        raw = name.encode()
        keyed.append((raw + b"/" if is_tree else raw, raw, is_tree, oid))
    keyed.sort()
    return b"".join(
        (TREE_MODE if is_tree else BLOB_MODE) + b" " + raw + b"\0" + oid
        for _, raw, is_tree, oid in keyed
    )


def blob_tree(entries: Iterable[tuple[str, bytes]]) -> bytes:
    """A git tree of blobs (mode 100644) from ``(name, raw oid)`` entries given in git's order,
    which for blobs alone is name bytes order (a state's CID-named thoughts and blocks)."""
    return b"".join(BLOB_MODE + b" " + name.encode() + b"\0" + oid for name, oid in entries)


@functools.lru_cache(maxsize=4096)
def object_header(kind: int, size: int) -> bytes:
    """A pack entry's header: the object's kind and inflated size."""
    out = bytearray([(kind << 4) | (size & 0x0F)])
    size >>= 4
    while size:
        out[-1] |= 0x80
        out.append(size & 0x7F)
        size >>= 7
    return bytes(out)


class PackWriter:
    """Append objects to a new pack in ``objects_dir/pack``; ``finish`` publishes it.

    Use as a context manager: leaving the block by an exception removes the unfinished file.
    Objects added twice are written once.

    >>> import tempfile, pathlib
    >>> objects = pathlib.Path(tempfile.mkdtemp())
    >>> with PackWriter(objects, fsync=False) as pack:
    ...     oid = pack.add(OBJ_BLOB, b"hello")
    ...     path = pack.finish()
    >>> oid.hex(), path.suffix
    ('b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0', '.pack')
    """

    def __init__(self, objects_dir: Path, *, fsync: bool = True) -> None:
        self._dir = Path(objects_dir) / "pack"
        self._dir.mkdir(parents=True, exist_ok=True)
        self._fsync = fsync
        fd, tmp = tempfile.mkstemp(prefix="tmp_pack_", dir=self._dir)
        self._tmp = Path(tmp)
        self._file: BinaryIO | None = os.fdopen(fd, "w+b", buffering=_COPY_CHUNK)
        self._file.write(_HEADER.pack(b"PACK", 2, 0))
        self._offset = _HEADER.size
        # One 32-byte record per object: oid (20), CRC-32 (4), offset (8), big-endian, so that
        # sorting the records sorts by oid; a tuple per object would cost six times as much.
        self._records = bytearray()
        self._seen: set[bytes] = set()
        self.bytes_written = 0

    def __len__(self) -> int:
        return len(self._seen)

    def __contains__(self, oid: bytes) -> bool:
        return oid in self._seen

    def add(self, kind: int, data: bytes | bytearray, oid: bytes | None = None) -> bytes:
        """Write one object (unless already written); return its raw object id."""
        if self._file is None:
            raise PackWriteError("this pack is already finished or aborted; start a new one")
        if oid is None:
            oid = git_oid(kind, data)
        if oid in self._seen:
            return oid
        # Level 1: import speed matters more here than the last few per cent of size (`git gc`
        # repacks tighter later). Most blocks are small JSON, for which zlib's default 32 KiB
        # window and 64 KiB hash table cost more to set up than to use.
        if len(data) <= _SMALL:
            z = zlib.compressobj(1, zlib.DEFLATED, 12, 4)
            parts = [object_header(kind, len(data)) + z.compress(data) + z.flush()]
        else:
            # Big objects (a state's thoughts tree) go out in pieces, not copied into one buffer.
            z = zlib.compressobj(1)
            parts = [object_header(kind, len(data)), z.compress(data), z.flush()]
        crc = 0
        size = 0
        for part in parts:
            self._file.write(part)
            crc = zlib.crc32(part, crc)
            size += len(part)
        self._records += oid + _RECORD_TAIL.pack(crc, self._offset)
        self._seen.add(oid)
        self._offset += size
        return oid

    def finish(self) -> Path | None:
        """Seal the pack, write its index, and make both visible; None if nothing was added."""
        file = self._file
        if file is None:
            raise PackWriteError("this pack is already finished or aborted; start a new one")
        if not self._seen:
            self.abort()
            return None
        # The object count sits in the header, before the objects: patch it, then hash the
        # whole file once more (from the page cache) for the trailing checksum.
        file.seek(8)
        file.write(struct.pack(">I", len(self._seen)))
        file.flush()
        file.seek(0)
        digest = hashlib.sha1()
        while chunk := file.read(_COPY_CHUNK):
            digest.update(chunk)
        pack_sum = digest.digest()
        file.seek(0, os.SEEK_END)
        file.write(pack_sum)
        file.flush()
        if self._fsync:
            os.fsync(file.fileno())
        file.close()
        self._file = None
        self.bytes_written = self._offset + len(pack_sum)
        name = "pack-" + pack_sum.hex()
        pack_path = self._dir / (name + ".pack")
        os.chmod(self._tmp, 0o444)
        os.replace(self._tmp, pack_path)
        self._write_index(self._dir / (name + ".idx"), pack_sum)
        return pack_path

    def _write_index(self, path: Path, pack_sum: bytes) -> None:
        records = self._records
        entries = sorted(bytes(records[i : i + _RECORD]) for i in range(0, len(records), _RECORD))
        fanout = [0] * 256
        for record in entries:
            fanout[record[0]] += 1
        total = 0
        for i in range(256):
            total += fanout[i]
            fanout[i] = total
        crcs = bytearray()
        small = bytearray()
        large = bytearray()
        for record in entries:
            crcs += record[20:24]
            (offset,) = _OFFSET.unpack_from(record, 24)
            if offset < _LARGE_OFFSET:
                small += struct.pack(">I", offset)
            else:
                small += struct.pack(">I", _LARGE_OFFSET | (len(large) // 8))
                large += record[24:32]
        body = b"".join(
            (
                b"\xfftOc" + struct.pack(">I", 2),
                struct.pack(">256I", *fanout),
                b"".join(record[:20] for record in entries),
                crcs,
                small,
                large,
                pack_sum,
            )
        )
        body += hashlib.sha1(body).digest()
        fd, tmp = tempfile.mkstemp(prefix="tmp_idx_", dir=self._dir)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(body)
                if self._fsync:
                    os.fsync(f.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def abort(self) -> None:
        """Drop the unfinished pack file."""
        if self._file is not None:
            self._file.close()
            self._file = None
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> PackWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.abort()
