"""Unsigned LEB128 varints as multiformats and CAR use them.

The multiformats unsigned-varint spec is stricter than plain LEB128: at most 9 bytes (so at most
2**63 - 1) and minimal, i.e. no trailing ``0x80 0x00`` padding. Readers here refuse anything else,
because a second spelling of the same number would give the same CID or CAR section two
encodings.
"""

from __future__ import annotations

from typing import BinaryIO

from mindgit.errors import MindgitError

MAX_UVARINT = (1 << 63) - 1
"""Largest value the multiformats unsigned-varint spec allows (9 bytes)."""

MAX_UVARINT_BYTES = 9


class VarintError(MindgitError):
    """A varint is overlong, non-minimal, larger than 2**63 - 1, or cut off."""

    def __init__(self, reason: str, *, offset: int | None = None) -> None:
        self.reason = reason
        self.offset = offset
        where = "" if offset is None else f" at byte {offset}"
        super().__init__(
            f"invalid varint{where}: {reason}",
            hint="the data is corrupt or was not written by a multiformats encoder",
        )


class VarintTruncated(VarintError):
    """The input ended in the middle of a varint."""


def encode_uvarint(n: int) -> bytes:
    """Encode ``0 <= n <= 2**63 - 1`` as a minimal unsigned varint.

    >>> encode_uvarint(300)
    b'\\xac\\x02'
    """
    if n < 0 or n > MAX_UVARINT:
        raise VarintError(f"{n} is outside 0..2**63-1")
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _check_end(value: int, count: int, last: int, offset: int | None) -> None:
    # A final 0x00 byte after at least one continuation byte adds nothing but a second spelling.
    if count > 1 and last == 0:
        raise VarintError("not minimally encoded", offset=offset)
    if value > MAX_UVARINT:
        raise VarintError("value exceeds 2**63-1", offset=offset)


def decode_uvarint(data: bytes | bytearray | memoryview, offset: int = 0) -> tuple[int, int]:
    """Decode one varint from ``data`` at ``offset``; return ``(value, offset_after)``."""
    value = 0
    shift = 0
    pos = offset
    end = len(data)
    while True:
        if pos >= end:
            raise VarintTruncated("input ends inside a varint", offset=offset)
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            _check_end(value, pos - offset, byte, offset)
            return value, pos
        shift += 7
        if pos - offset >= MAX_UVARINT_BYTES:
            raise VarintError(f"longer than {MAX_UVARINT_BYTES} bytes", offset=offset)


def read_uvarint(stream: BinaryIO, max_bytes: int = MAX_UVARINT_BYTES) -> int | None:
    """Read one varint from ``stream``; ``None`` if the stream is at a clean end.

    Raises ``VarintTruncated`` if the stream ends inside the varint and ``VarintError`` if it is
    longer than ``max_bytes``, non-minimal or larger than 2**63 - 1.
    """
    value = 0
    shift = 0
    count = 0
    while True:
        chunk = stream.read(1)
        if not chunk:
            if count == 0:
                return None
            raise VarintTruncated("input ends inside a varint")
        byte = chunk[0]
        count += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            _check_end(value, count, byte, None)
            return value
        shift += 7
        if count >= max_bytes:
            raise VarintError(f"longer than {max_bytes} bytes")
