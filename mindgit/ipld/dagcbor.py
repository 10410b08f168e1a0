"""A deliberately small, strict DAG-CBOR codec: enough for a CAR v1 header, nothing more.

Supported: unsigned and negative integers (64-bit), text strings, byte strings, arrays, maps with
text keys, ``true``/``false``/``null``, and tag 42 (a link: a byte string holding ``0x00`` and a
binary CID). Floats, other tags, indefinite lengths and any non-canonical spelling are refused.
Canonical means what the DAG-CBOR spec says: shortest integer and length heads, map keys sorted
by length and then bytewise, no duplicate keys. mindgit's blocks are DAG-JSON; this exists only so
that the CAR header (``{"roots": [...], "version": 1}``) is read and written exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

from mindgit.errors import MindgitError
from mindgit.ipld.cid import CID, InvalidCID

CborValue: TypeAlias = (
    bool | int | str | bytes | list["CborValue"] | dict[str, "CborValue"] | CID | None
)

_CID_TAG = 42
_MAX_DEPTH = 64
_MIN_INT = -(2**64)
_MAX_INT = 2**64 - 1


class DagCborError(MindgitError):
    """Bytes or a value outside the small strict DAG-CBOR subset this module handles."""

    def __init__(self, reason: str, *, offset: int | None = None) -> None:
        self.reason = reason
        self.offset = offset
        where = "" if offset is None else f" at byte {offset}"
        super().__init__(
            f"invalid DAG-CBOR{where}: {reason}",
            hint="the data is corrupt or was not written by a DAG-CBOR encoder",
        )


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes(((major << 5) | n,))
    if n < 0x100:
        return bytes(((major << 5) | 24, n))
    if n < 0x10000:
        return bytes(((major << 5) | 25,)) + n.to_bytes(2, "big")
    if n < 0x100000000:
        return bytes(((major << 5) | 26,)) + n.to_bytes(4, "big")
    return bytes(((major << 5) | 27,)) + n.to_bytes(8, "big")


def _key_order(key: str) -> tuple[int, bytes]:
    raw = key.encode("utf-8")
    return (len(raw), raw)


def _encode_into(value: Any, out: bytearray, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise DagCborError(f"nested deeper than {_MAX_DEPTH}")
    if value is None:
        out.append(0xF6)
    elif value is True:
        out.append(0xF5)
    elif value is False:
        out.append(0xF4)
    elif isinstance(value, int):
        if not _MIN_INT <= value <= _MAX_INT:
            raise DagCborError(f"integer {value} does not fit in 64 bits")
        out += _head(0, value) if value >= 0 else _head(1, -1 - value)
    elif isinstance(value, str):
        raw = value.encode("utf-8", "strict")
        out += _head(3, len(raw)) + raw
    elif isinstance(value, bytes | bytearray | memoryview):
        out += _head(2, len(value)) + bytes(value)
    elif isinstance(value, CID):
        raw = b"\0" + value.to_bytes()
        out += _head(6, _CID_TAG) + _head(2, len(raw)) + raw
    elif isinstance(value, list | tuple):
        out += _head(4, len(value))
        for item in value:
            _encode_into(item, out, depth + 1)
    elif isinstance(value, Mapping):
        keys = list(value)
        if not all(isinstance(k, str) for k in keys):
            raise DagCborError("map keys must be strings")
        out += _head(5, len(keys))
        for key in sorted(keys, key=_key_order):
            _encode_into(key, out, depth + 1)
            _encode_into(value[key], out, depth + 1)
    else:
        raise DagCborError(f"{type(value).__name__} is not supported by this DAG-CBOR subset")


def encode(value: CborValue | Sequence[Any] | Mapping[str, Any]) -> bytes:
    """Encode ``value`` as canonical DAG-CBOR (within the subset above)."""
    out = bytearray()
    try:
        _encode_into(value, out, 0)
    except UnicodeEncodeError:
        raise DagCborError("a string holds a lone surrogate") from None
    return bytes(out)


class _Decoder:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise DagCborError(
                f"needs {n} more bytes, {len(self.data) - self.pos} left", offset=self.pos
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def _argument(self, info: int, start: int) -> int:
        if info < 24:
            return info
        if info > 27:
            raise DagCborError(
                "indefinite lengths and reserved heads are not allowed", offset=start
            )
        size = 1 << (info - 24)
        n = int.from_bytes(self._take(size), "big")
        # Shortest form only: a value that fits in a smaller head has exactly one spelling.
        if n < (24 if size == 1 else 1 << (4 * size)):
            raise DagCborError(f"integer or length {n} is not minimally encoded", offset=start)
        return n

    def value(self, depth: int) -> CborValue:
        if depth > _MAX_DEPTH:
            raise DagCborError(f"nested deeper than {_MAX_DEPTH}", offset=self.pos)
        start = self.pos
        initial = self._take(1)[0]
        major, info = initial >> 5, initial & 0x1F
        if major == 7:
            simple: dict[int, CborValue] = {20: False, 21: True, 22: None}
            if info in simple:
                return simple[info]
            if info in (25, 26, 27):
                raise DagCborError("floats are not supported in this DAG-CBOR subset", offset=start)
            raise DagCborError(f"simple value {info} is not in the IPLD data model", offset=start)
        n = self._argument(info, start)
        if major == 0:
            return n
        if major == 1:
            return -1 - n
        if major in (2, 3):
            raw = self._take(n)
            if major == 2:
                return raw
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                raise DagCborError("text string is not valid UTF-8", offset=start) from None
        if major == 4:
            # Every item takes at least one byte, so a count beyond what is left is a lie.
            if n > len(self.data) - self.pos:
                raise DagCborError(f"array of {n} items cannot fit", offset=start)
            return [self.value(depth + 1) for _ in range(n)]
        if major == 5:
            if 2 * n > len(self.data) - self.pos:
                raise DagCborError(f"map of {n} entries cannot fit", offset=start)
            result: dict[str, CborValue] = {}
            previous: tuple[int, bytes] | None = None
            for _ in range(n):
                key_at = self.pos
                key = self.value(depth + 1)
                if not isinstance(key, str):
                    raise DagCborError("map keys must be text strings", offset=key_at)
                order = _key_order(key)
                if previous is not None and order <= previous:
                    what = "repeated" if order == previous else "out of canonical order"
                    raise DagCborError(f"map key {key!r} is {what}", offset=key_at)
                previous = order
                result[key] = self.value(depth + 1)
            return result
        # major == 6: a tag; only 42 (link) is in DAG-CBOR.
        if n != _CID_TAG:
            raise DagCborError(f"tag {n} is not allowed (only 42, a link)", offset=start)
        inner_at = self.pos
        inner = self.value(depth + 1)
        if not isinstance(inner, bytes) or not inner or inner[0] != 0:
            raise DagCborError("tag 42 must hold bytes starting with 0x00", offset=inner_at)
        try:
            return CID.parse(inner[1:])
        except InvalidCID as error:
            raise DagCborError(f"tag 42 holds no CID: {error.reason}", offset=inner_at) from None


def decode(data: bytes) -> CborValue:
    """Decode one canonical DAG-CBOR value that fills ``data`` exactly."""
    decoder = _Decoder(bytes(data))
    value = decoder.value(0)
    if decoder.pos != len(decoder.data):
        raise DagCborError(
            f"{len(decoder.data) - decoder.pos} bytes after the value", offset=decoder.pos
        )
    return value
