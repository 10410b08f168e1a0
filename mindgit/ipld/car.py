"""CAR v1 (Content Addressable aRchive) files, streamed both ways.

Layout, per the IPLD CARv1 spec::

    varint(len(header)) header                       header = DAG-CBOR {"roots": [CID...], "version": 1}
    varint(len(cid) + len(block)) cid block          one section per block, repeated to the end

The reader holds at most one block in memory, checks every size before reading what it sizes,
and (by default) verifies every block against its CID, so a CAR from an untrusted peer can be fed
to it directly. Everything it refuses raises a ``CarError`` subclass, or ``CIDMismatch`` /
``UnsupportedHash`` from block verification.
"""

from __future__ import annotations

import select
from collections.abc import Iterable, Iterator, Sequence
from typing import BinaryIO

from mindgit.errors import MindgitError
from mindgit.ipld import dagcbor
from mindgit.ipld.cid import CID, DAG_PB, SHA2_256, InvalidCID, shown_cid
from mindgit.ipld.varint import VarintError, VarintTruncated, encode_uvarint, read_uvarint

CAR_VERSION = 1
DEFAULT_MAX_BLOCK_SIZE = 8 << 20
_CIDV0_LENGTH = 34
# A buffered file's read(n) allocates n bytes before it reads one, so a length the stream
# declares is read in pieces of at most this: memory then follows the bytes that really arrive.
_READ_CHUNK = 1 << 20


class CarError(MindgitError):
    """A CAR file that cannot be read or written; ``offset`` is where the problem was found."""

    def __init__(self, reason: str, *, offset: int | None = None, hint: str | None = None) -> None:
        self.reason = reason
        self.offset = offset
        where = "" if offset is None else f" at byte {offset}"
        super().__init__(
            f"bad CAR file{where}: {reason}",
            hint=hint or "the file is corrupt, truncated, or not a CARv1 file",
        )


class CarHeaderError(CarError):
    """The header is missing, malformed, of another version, or has no valid roots."""


class CarTruncated(CarError):
    """The stream ended inside the header or a section."""


class CarSectionError(CarError):
    """A section is malformed: bad length varint, zero length, or a CID that does not parse."""


class CarBlockTooLarge(CarError):
    """A block is larger than the reader's limit; it was not read."""

    def __init__(
        self, cid: CID | None, size: int, limit: int, *, offset: int, hint: str | None = None
    ) -> None:
        self.cid = cid
        self.size = size
        self.limit = limit
        what = "the header" if cid is None else f"block {shown_cid(cid)}"
        if hint is None:
            hint = (
                "raise max_block_size if the file is trusted"
                if cid is not None
                else "a CAR header holds only the roots; this one names far more than a DAG needs"
            )
        super().__init__(
            f"{what} is {size} bytes, more than the {limit}-byte limit", offset=offset, hint=hint
        )


class CarReaderExhausted(CarError):
    """A ``CarReader`` streams its blocks once; iterate it a single time."""


class CarStreamUnusable(CarError):
    """The stream handed to ``CarReader`` gives no bytes to read: it gives text (a file opened
    without ``'b'``), or it is non-blocking (``read`` returned None) and has no file descriptor
    to wait on. Not the CAR's fault, so not said as a bad CAR file."""

    def __init__(self, reason: str, *, offset: int | None = None, hint: str | None = None) -> None:
        self.reason = reason
        self.offset = offset
        MindgitError.__init__(
            self,
            f"cannot read a CAR from this stream: {reason}",
            hint=hint or "hand CarReader a binary stream (a file opened 'rb', a BytesIO)",
        )


class BlockingReads:
    """``stream``'s reads, waiting where a non-blocking stream has nothing yet.

    A non-blocking file or pipe (node leaves a shared standard input so) answers ``read(n)``
    with None while its writer has not caught up: read as the end of the stream, the CAR
    seemed to end there (``empty stream: no CAR header``, or its blocks cut short without a
    word), and code that sliced what was read met a TypeError. Here the read waits (poll) for
    the descriptor to be readable and is tried again, as a blocking read would have waited.
    A stream that has no descriptor to wait on, or gives text, is ``CarStreamUnusable``.
    ``CarReader`` reads through this; a caller that reads the stream before handing it over
    may wrap it too.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def read(self, size: int = -1) -> bytes:
        try:
            data: bytes | str | None = self.stream.read(size)
        except BlockingIOError:
            data = None
        if type(data) is bytes:  # the common case, once per varint byte: kept short
            return data
        while data is None:
            self._wait()
            try:
                data = self.stream.read(size)
            except BlockingIOError:
                data = None
        if isinstance(data, str):
            raise CarStreamUnusable(
                "it gives text (str), not bytes",
                hint="open the file in binary mode ('rb'), or pass sys.stdin.buffer",
            )
        return data

    def fileno(self) -> int:
        return self.stream.fileno()

    def _wait(self) -> None:
        try:
            fd = self.stream.fileno()
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
            raise CarStreamUnusable(
                "its read() returned None (a non-blocking stream with nothing to read yet) and "
                "it has no file descriptor to wait on",
                hint="hand CarReader a blocking stream, or one whose fileno() can be polled",
            ) from None
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        # POLLHUP and POLLERR end the wait too: the read then sees the end or the error.
        for _, events in poller.poll():
            if events & select.POLLNVAL:
                raise CarStreamUnusable(
                    f"its read() returned None and its file descriptor {fd} is not open"
                )


def _header_bytes(roots: Sequence[CID]) -> bytes:
    return dagcbor.encode({"roots": list(roots), "version": CAR_VERSION})


def write_car(out: BinaryIO, roots: Sequence[CID], blocks: Iterable[tuple[CID, bytes]]) -> int:
    """Write a CAR v1 stream of ``blocks`` under ``roots``; return the number of bytes written.

    Blocks are written in the order given, as they come, without being held or re-hashed: the
    caller vouches that each CID names its bytes (``CarReader`` checks that on the other side).
    At least one root is required, as the spec says and go-car enforces.
    """
    roots = tuple(roots)
    if not roots:
        raise CarError(
            "a CAR needs at least one root CID", hint="pass the CID of the DAG's top block"
        )
    for root in roots:
        if not isinstance(root, CID):
            raise CarError(f"root {root!r} is not a CID", hint="pass mindgit.ipld.cid.CID values")
    header = _header_bytes(roots)
    written = out.write(encode_uvarint(len(header)) + header)
    for cid, data in blocks:
        raw_cid = cid.to_bytes()
        prefix = encode_uvarint(len(raw_cid) + len(data)) + raw_cid
        written += out.write(prefix)
        written += out.write(data)
    return written


class CarReader:
    """Read a CAR v1 stream: ``roots`` at once, then ``(cid, block)`` pairs by iterating.

    >>> import io
    >>> buf = io.BytesIO()
    >>> cid = CID.of(b"null")
    >>> _ = write_car(buf, [cid], [(cid, b"null")])
    >>> reader = CarReader(io.BytesIO(buf.getvalue()))
    >>> reader.roots == (cid,), list(reader) == [(cid, b"null")]
    (True, True)
    """

    roots: tuple[CID, ...]

    def __init__(
        self,
        stream: BinaryIO,
        *,
        max_block_size: int = DEFAULT_MAX_BLOCK_SIZE,
        verify: bool = True,
        max_header_size: int | None = None,
    ) -> None:
        self._stream = BlockingReads(stream)
        self._offset = 0
        self._started = False
        self.max_block_size = max_block_size
        # A header is only the roots, but it is decoded whole: ~15 times its size in objects.
        self.max_header_size = max_block_size if max_header_size is None else max_header_size
        self.verify = verify
        self.roots = self._read_header()

    def _read_exact(self, n: int, what: str, error: type[CarError] = CarTruncated) -> bytes:
        chunks: list[bytes] = []
        missing = n
        while missing:
            chunk = self._stream.read(min(missing, _READ_CHUNK))
            if not chunk:
                got = n - missing
                raise error(f"stream ends inside {what}: {got} of {n} bytes", offset=self._offset)
            chunks.append(chunk)
            missing -= len(chunk)
            self._offset += len(chunk)
        return b"".join(chunks)

    def _read_varint(self, what: str, error: type[CarError]) -> int | None:
        start = self._offset
        try:
            value = read_uvarint(self._stream)  # type: ignore[arg-type]  # read() is all it needs
        except VarintTruncated:
            raise CarTruncated(f"stream ends inside {what}", offset=start) from None
        except VarintError as failure:
            raise error(f"{what}: {failure.reason}", offset=start) from None
        if value is not None:
            # Minimal varints only, so the encoded length is the number of bytes just read.
            self._offset += len(encode_uvarint(value))
        return value

    def _read_header(self) -> tuple[CID, ...]:
        length = self._read_varint("the header length", CarHeaderError)
        if length is None:
            raise CarTruncated("empty stream: no CAR header", offset=0)
        if length == 0:
            raise CarHeaderError("zero-length header", offset=0)
        if length > self.max_header_size:
            raise CarBlockTooLarge(None, length, self.max_header_size, offset=0)
        start = self._offset
        raw = self._read_exact(length, "the header")
        try:
            header = dagcbor.decode(raw)
        except dagcbor.DagCborError as error:
            raise CarHeaderError(f"header is not DAG-CBOR: {error.reason}", offset=start) from None
        if not isinstance(header, dict):
            raise CarHeaderError("header is not a map", offset=start)
        version = header.get("version")
        if version != CAR_VERSION or type(version) is not int:
            # Kubo reads CARv2 and `ipfs dag export` writes CARv1: the one way round it is sure of.
            hint = "mindgit reads CARv1 only; `ipfs dag import` the file, then `ipfs dag export`"
            what = "a CARv2 file" if version == 2 and type(version) is int else "not CARv1"
            raise CarHeaderError(
                f"CAR version {version!r} is not 1 ({what})", offset=start, hint=hint
            )
        extra = sorted(set(header) - {"roots", "version"})
        if extra:
            raise CarHeaderError(f"unknown header keys {extra}", offset=start)
        roots = header.get("roots")
        if not isinstance(roots, list):
            raise CarHeaderError("header has no roots list", offset=start)
        if not all(isinstance(root, CID) for root in roots):
            raise CarHeaderError("a root is not a CID", offset=start)
        return tuple(root for root in roots if isinstance(root, CID))

    def _read_cid(self, section_length: int, section_start: int) -> CID:
        first = self._read_exact(1, "a section's CID")[0]
        if first == 0x12:
            # CIDv0 has no version byte: it is a bare sha2-256 multihash.
            if section_length < _CIDV0_LENGTH:
                raise CarSectionError("section too short for its CIDv0", offset=section_start)
            rest = self._read_exact(_CIDV0_LENGTH - 1, "a section's CID")
            if rest[0] != 0x20:
                raise CarSectionError("CIDv0 multihash is not 32 bytes", offset=section_start)
            return CID(0, DAG_PB, SHA2_256, rest[1:])
        if first != 1:
            raise CarSectionError(f"CID version byte {first:#x} is not 1", offset=section_start)
        used = 1
        fields: list[int] = []
        for name in ("codec", "hash function", "digest length"):
            value = self._read_varint(f"the CID's {name}", CarSectionError)
            if value is None:
                raise CarTruncated(
                    f"stream ends inside a section's CID, before its {name}", offset=self._offset
                )
            used += len(encode_uvarint(value))
            fields.append(value)
        codec, hash_code, digest_length = fields
        used += digest_length
        if used > section_length:
            raise CarSectionError(
                f"the CID ({used} bytes) is longer than its section ({section_length} bytes)",
                offset=section_start,
            )
        if digest_length > self.max_block_size:
            raise CarSectionError(
                f"the CID's digest is {digest_length} bytes, more than the "
                f"{self.max_block_size}-byte block limit",
                offset=section_start,
            )
        digest = self._read_exact(digest_length, "a section's CID")
        try:
            return CID(1, codec, hash_code, digest)
        except InvalidCID as error:
            raise CarSectionError(f"bad CID: {error.reason}", offset=section_start) from None

    def __iter__(self) -> Iterator[tuple[CID, bytes]]:
        if self._started:
            raise CarReaderExhausted("this CarReader was already iterated; open the file again")
        self._started = True
        return self._sections()

    def _sections(self) -> Iterator[tuple[CID, bytes]]:
        while True:
            start = self._offset
            length = self._read_varint("a section length", CarSectionError)
            if length is None:
                return
            if length == 0:
                raise CarSectionError("zero-length section", offset=start)
            # The CID is small and bounded by the section length, so it is safe to read first.
            cid = self._read_cid(length, start)
            size = length - len(cid.to_bytes())
            if size > self.max_block_size:
                raise CarBlockTooLarge(cid, size, self.max_block_size, offset=start)
            data = self._read_exact(size, f"block {shown_cid(cid)}")
            if self.verify:
                cid.verify(data)
            yield cid, data
