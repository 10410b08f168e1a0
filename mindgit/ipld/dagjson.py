"""Canonical DAG-JSON: the one byte string per value, the same the JavaScript IPLD stack writes.

A block's CID is the hash of its bytes, so every implementation must spell a value identically.
``encode`` writes, and ``decode`` accepts, exactly one form, checked against the official IPLD
fixtures and against ``@ipld/dag-json`` (see ``docs/ipld.md``):

* no whitespace; map keys sorted by their UTF-8 bytes (the DAG-JSON spec);
* strings escaped as ``JSON.stringify`` does: ``\\"`` ``\\\\`` ``\\b`` ``\\f`` ``\\n`` ``\\r``
  ``\\t``, other control characters as lowercase ``\\u00XX``, everything else as raw UTF-8;
* integers in decimal, limited to -2**64 .. 2**64-1 (what DAG-CBOR can carry too);
* floats in the ECMAScript shortest round-trip form (``1e-7``, ``1.5e+21``, ``0.1``,
  ``-8.940696716308594e-8``), because that is what ``@ipld/dag-json`` writes;
* links as ``{"/":"<cid>"}`` (CIDv1 in base32, CIDv0 in base58btc), bytes as
  ``{"/":{"bytes":"<base64, standard alphabet, no padding>"}}``.

Floats and integers: JavaScript has one number type, so an integral float in the safe range
(``2.0``, ``-3.0``, up to 2**53-1) is written as the integer ``2``, ``-3``; an integral float
beyond it keeps a marker (``9007199254740992.0``, ``1e+21``). ``decode`` therefore returns an
``int`` for a float that happened to be integral. Callers coerce by their own declared types
(a genome knows which genes are floats); the spelling never decides it.

Refused by ``encode`` (``DagJsonEncodeError``): NaN, ±Infinity, -0.0, non-string map keys,
integers outside the 64-bit range, strings with lone surrogates, maps in the DAG-JSON reserved
namespace (a ``"/"`` first key holding a string, or ``{"bytes": <string>, ...}``), nesting deeper
than ``MAX_DEPTH``, and maps whose keys sort differently by UTF-8 bytes (the spec) and by UTF-16
code units (``@ipld/dag-json``): no byte string has the same CID in both, so we make none.

``decode`` is strict: it succeeds only on bytes that ``encode`` would write for the value it
returns (``encode(decode(b)) == b``); anything else raises ``DagJsonDecodeError``, or its
subclass ``NonCanonical`` when the bytes are valid JSON spelled differently.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from json.encoder import encode_basestring
from typing import Any, TypeAlias

from mindgit.errors import MindgitError
from mindgit.ipld.cid import CID, InvalidCID

Node: TypeAlias = bool | int | float | str | bytes | list["Node"] | dict[str, "Node"] | CID | None
"""A value of the IPLD data model as ``decode`` returns it."""

Encodable: TypeAlias = (
    bool
    | int
    | float
    | str
    | bytes
    | Sequence["Encodable"]
    | Mapping[str, "Encodable"]
    | CID
    | None
)
"""What ``encode`` accepts: a ``Node``, with tuples and any mappings allowed too."""

MAX_DEPTH = 256
"""Deepest nesting of lists and maps ``encode`` and ``decode`` accept."""

MIN_INT = -(2**64)
MAX_INT = 2**64 - 1
MAX_SAFE_INTEGER = 2**53 - 1
"""JavaScript's ``Number.MAX_SAFE_INTEGER``: integral floats up to here are written as integers."""


class DagJsonError(MindgitError):
    """Base of the DAG-JSON codec errors."""


class DagJsonEncodeError(DagJsonError):
    """A value has no canonical DAG-JSON form."""

    def __init__(self, reason: str, *, path: str = "$") -> None:
        self.reason = reason
        self.path = path
        super().__init__(
            f"cannot encode DAG-JSON at {path}: {reason}",
            hint="change the value so that the IPLD data model can hold it",
        )


class ReservedForm(DagJsonEncodeError):
    """A map in the DAG-JSON reserved namespace: it would read back as a link or as bytes."""


class AmbiguousKeyOrder(DagJsonEncodeError):
    """Map keys that sort differently by UTF-8 (the spec) and UTF-16 (``@ipld/dag-json``)."""


class DagJsonDecodeError(DagJsonError):
    """Bytes that are not canonical DAG-JSON (malformed, or outside the data model)."""

    def __init__(self, reason: str, *, offset: int | None = None) -> None:
        self.reason = reason
        self.offset = offset
        where = "" if offset is None else f" at byte {offset}"
        super().__init__(
            f"invalid DAG-JSON{where}: {reason}",
            hint="the block is corrupt or was written by a non-conforming encoder",
        )


class NonCanonical(DagJsonDecodeError):
    """Valid JSON for an IPLD value, but not spelled the one canonical way."""

    def __init__(self, offset: int, found: bytes, expected: bytes) -> None:
        self.found = found
        self.expected = expected
        super().__init__(
            f"not in canonical form: found {found!r} where the canonical encoding has {expected!r}",
            offset=offset,
        )


class _Refused(Exception):
    """Raised deep inside the encoder; the path is filled in while it unwinds."""

    def __init__(self, reason: str, kind: type[DagJsonEncodeError] = DagJsonEncodeError) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.path: list[str | int] = []


def _path_text(path: list[str | int]) -> str:
    parts = ["$"]
    steps = path[::-1]
    if len(steps) > 12:
        # A path through hundreds of levels says nothing more than its last few steps.
        parts.append(f"...({len(steps) - 10} levels)...")
        steps = steps[-10:]
    for step in steps:
        parts.append(f"[{step}]" if isinstance(step, int) else f"[{step!r}]")
    return "".join(parts)


def float_text(value: float) -> str:
    """The canonical DAG-JSON spelling of a finite float (ECMAScript ``Number#toString`` form).

    >>> [float_text(x) for x in (2.0, 0.1, 1e-7, 1.5e21, 2.0**53)]
    ['2', '0.1', '1e-7', '1.5e+21', '9007199254740992.0']
    """
    try:
        return _float_text(value)
    except _Refused as refused:
        raise refused.kind(refused.reason) from None


def _float_text(value: float) -> str:
    text = float.__repr__(value)
    if "e" not in text:
        # Python and ECMAScript agree on plain notation for 1e-4 <= |x| < 1e16, except that
        # ECMAScript drops ".0" from integers; @ipld/dag-json restores it beyond 2**53-1.
        if text[-1] > "9":  # 'nan', 'inf', '-inf': the only reprs not ending in a digit
            raise _Refused(f"{text} is not in the IPLD data model")
        if text[-2:] == ".0":
            if text == "-0.0":
                raise _Refused("-0.0 is not in the IPLD data model; write 0.0")
            if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
                return text[:-2]
        return text
    mantissa, exponent = text.split("e")
    sign = ""
    if mantissa[0] == "-":
        sign = "-"
        mantissa = mantissa[1:]
    digits = mantissa.replace(".", "").rstrip("0")
    k = len(digits)
    n = int(exponent) + 1  # value = 0.<digits> * 10**n
    if k <= n <= 21:
        body = digits + "0" * (n - k)
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return sign + body
        return sign + body + ".0"
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    e = n - 1
    e_text = f"e+{e}" if e >= 0 else f"e-{-e}"
    if k == 1:
        return sign + digits + e_text
    return sign + digits[0] + "." + digits[1:] + e_text


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def _check_map_keys(keys: list[str]) -> None:
    # Code point order equals UTF-8 byte order; JavaScript sorts by UTF-16 code units. They
    # differ only between U+E000..U+FFFF and astral characters, so only non-ASCII maps can clash.
    if not "".join(keys).isascii() and sorted(keys, key=_utf16_key) != keys:
        utf16 = sorted(keys, key=_utf16_key)
        first = next(i for i, (a, b) in enumerate(zip(keys, utf16, strict=True)) if a != b)
        raise _Refused(
            f"keys {keys[first]!r} and {utf16[first]!r} sort differently in UTF-8 (DAG-JSON spec) "
            "and UTF-16 (@ipld/dag-json), so no encoding has one CID everywhere; rename one",
            AmbiguousKeyOrder,
        )


def _check_reserved(value: object) -> None:
    # The DAG-JSON spec reserves maps whose first key is "/" holding a string (a link) or a map
    # whose first key is "bytes" holding a string (bytes); a plain map of that shape would decode
    # as something else, so it cannot be written at all.
    if isinstance(value, str):
        raise _Refused(
            'a map whose first key is "/" with a string value is the DAG-JSON link form',
            ReservedForm,
        )
    if isinstance(value, Mapping) and isinstance(value.get("bytes"), str):
        inner = [k for k in value if isinstance(k, str)]
        if len(inner) == len(value) and min(inner) == "bytes":
            raise _Refused(
                'a map {"/": {"bytes": <string>, ...}} is the DAG-JSON bytes form; use bytes',
                ReservedForm,
            )


def _int_shown(value: int) -> str:
    # A decoded block may hold an integer of 4,300 digits: quoted whole, it made one refusal
    # line (a hook's, verify's) that long.
    text = int.__repr__(value)
    return text if len(text) <= 40 else f"{text[:20]}... ({len(text.lstrip('-'))} digits)"


def _encode_into(value: Any, out: list[str], depth: int) -> None:
    kind = type(value)
    if kind is str:
        out.append(encode_basestring(value))
    elif kind is int:
        if not MIN_INT <= value <= MAX_INT:
            raise _Refused(f"integer {_int_shown(value)} is outside -2**64..2**64-1")
        out.append(int.__repr__(value))
    elif kind is float:
        out.append(_float_text(value))
    elif value is None:
        out.append("null")
    elif kind is bool:
        out.append("true" if value else "false")
    elif kind is dict or isinstance(value, Mapping):
        _encode_map(value, out, depth)
    elif kind is list or kind is tuple:
        _encode_list(value, out, depth)
    elif kind is CID or isinstance(value, CID):
        out.append('{"/":"')
        out.append(str(value))
        out.append('"}')
    elif kind is bytes or isinstance(value, bytes | bytearray | memoryview):
        out.append('{"/":{"bytes":"')
        out.append(base64.b64encode(value).decode("ascii").rstrip("="))
        out.append('"}}')
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        _encode_into(int(value), out, depth)
    elif isinstance(value, float):
        out.append(_float_text(float(value)))
    elif isinstance(value, str):
        # Its characters, not its str(): a (str, Enum) member's str() is "Colour.RED".
        out.append(encode_basestring(str.__str__(value)))
    elif isinstance(value, list | tuple):
        _encode_list(value, out, depth)
    else:
        raise _Refused(f"{kind.__name__} is not an IPLD data model kind")


# The list and map loops spell the common scalar kinds inline: a call per item is most of the cost.


def _encode_list(items: Sequence[Any], out: list[str], depth: int) -> None:
    if depth >= MAX_DEPTH:
        raise _Refused(f"nested deeper than {MAX_DEPTH} lists and maps")
    append = out.append
    separator = "["
    for index, item in enumerate(items):
        append(separator)
        separator = ","
        kind = type(item)
        try:
            if kind is float:
                append(_float_text(item))
            elif kind is str:
                append(encode_basestring(item))
            elif kind is int and MIN_INT <= item <= MAX_INT:
                append(int.__repr__(item))
            else:
                _encode_into(item, out, depth + 1)
        except _Refused as refused:
            refused.path.append(index)
            raise
    append("[]" if separator == "[" else "]")


def _encode_map(mapping: Mapping[Any, Any], out: list[str], depth: int) -> None:
    if depth >= MAX_DEPTH:
        raise _Refused(f"nested deeper than {MAX_DEPTH} lists and maps")
    str_keys: list[str] = list(mapping)
    if not all([type(key) is str for key in str_keys]):
        for key in str_keys:
            if not isinstance(key, str):
                raise _Refused(
                    f"map key {key!r} is a {type(key).__name__}; DAG-JSON keys are strings"
                )
    str_keys.sort()
    if not str_keys:
        out.append("{}")
        return
    _check_map_keys(str_keys)
    if "/" in mapping and "bytes" in mapping:
        # @ipld/dag-json reads a map holding both "/" and "bytes" as a broken bytes form and fails
        # on it (wherever "/" sorts); no CID for such a map would be read back there.
        raise _Refused(
            'a map with both a "/" and a "bytes" key is too close to the DAG-JSON bytes form',
            ReservedForm,
        )
    if str_keys[0] == "/":
        try:
            _check_reserved(mapping["/"])
        except _Refused as refused:
            refused.path.append("/")
            raise
    append = out.append
    separator = "{"
    for key in str_keys:
        append(separator)
        separator = ","
        append(encode_basestring(key))
        append(":")
        value = mapping[key]
        kind = type(value)
        try:
            if kind is str:
                append(encode_basestring(value))
            elif kind is float:
                append(_float_text(value))
            elif kind is int and MIN_INT <= value <= MAX_INT:
                append(int.__repr__(value))
            else:
                _encode_into(value, out, depth + 1)
        except _Refused as refused:
            refused.path.append(key)
            raise
    append("}")


def encode(value: Encodable) -> bytes:
    """Encode ``value`` as canonical DAG-JSON bytes.

    >>> encode({"b": [1, 2.5, None], "a": b"\\x01", "link": CID.of(b"null")})
    b'{"a":{"/":{"bytes":"AQ"}},"b":[1,2.5,null],"link":{"/":"baguqeeraoqru5gfp45ey7no26hzwvqwxrlgdhfde7fihao4magmjf6mcxefq"}}'
    """
    out: list[str] = []
    try:
        _encode_into(value, out, 0)
    except _Refused as refused:
        raise refused.kind(refused.reason, path=_path_text(refused.path)) from None
    except RecursionError:
        raise DagJsonEncodeError("nested too deeply for this Python stack") from None
    text = "".join(out)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        bad = error.object[error.start]
        raise DagJsonEncodeError(
            f"string holds the lone surrogate U+{ord(bad):04X}, which UTF-8 cannot carry"
        ) from None


def _decode_base64(text: str) -> bytes:
    if len(text) % 4 == 1:
        raise DagJsonDecodeError(f"bytes {text[:40]!r} are not valid unpadded base64")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):  # ValueError: text that is not ASCII
        raise DagJsonDecodeError(f"bytes {text[:40]!r} are not valid unpadded base64") from None


# Successive states of a mind link mostly the same blocks; parsing each link once per process
# keeps decoding a manifest of thousands of links cheap. CIDs are immutable, so sharing is safe.
_LINK_CACHE_SIZE = 1 << 16
_link_cache: dict[str, CID] = {}


def _object_hook(pairs: list[tuple[str, object]]) -> object:
    first_key, first_value = pairs[0] if pairs else ("", None)
    if first_key == "/":
        if isinstance(first_value, str):
            if len(pairs) != 1:
                raise DagJsonDecodeError('a link {"/": "<cid>"} may not have other keys')
            cached = _link_cache.get(first_value)
            if cached is not None:
                return cached
            try:
                cid = CID.parse(first_value)
            except InvalidCID as error:
                raise DagJsonDecodeError(f"link {first_value[:80]!r}: {error.reason}") from None
            if len(_link_cache) >= _LINK_CACHE_SIZE:
                _link_cache.clear()
            _link_cache[first_value] = cid
            return cid
        if (
            isinstance(first_value, dict)
            and first_value
            and next(iter(first_value)) == "bytes"
            and isinstance(first_value["bytes"], str)
        ):
            if len(pairs) != 1 or len(first_value) != 1:
                raise DagJsonDecodeError(
                    'a bytes form {"/": {"bytes": ...}} may not have other keys'
                )
            return _decode_base64(first_value["bytes"])
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise DagJsonDecodeError(f"repeated map key {duplicate!r}")
    return result


def _refuse_constant(name: str) -> object:
    raise DagJsonDecodeError(f"{name} is not in the IPLD data model")


_decoder = json.JSONDecoder(object_pairs_hook=_object_hook, parse_constant=_refuse_constant)


class _Fallback(Exception):
    """The fast check cannot vouch for these bytes; the exact path decides."""


def _fast_float(text: str) -> float:
    value = float(text)
    try:
        spelled = _float_text(value)
    except _Refused:  # -0.0: the exact path names it
        raise _Fallback from None
    if spelled != text:
        raise _Fallback
    return value


def _fast_int(text: str) -> int:
    value = int(text)
    if not MIN_INT <= value <= MAX_INT:
        raise _Fallback
    return value


def _fast_constant(name: str) -> object:
    raise _Fallback


def _fast_resolve(value: Any, depth: int) -> Any:
    # Turns the link and bytes forms into CIDs and bytes, exactly as _object_hook would; any
    # other map holding a "/" key is left to the exact path, which knows every rule for them.
    if depth >= MAX_DEPTH:
        raise _Fallback
    if type(value) is dict:
        if "/" in value:
            if len(value) != 1:
                raise _Fallback
            inner = value["/"]
            if type(inner) is str:
                cid = _link_cache.get(inner)
                if cid is None:
                    try:
                        cid = CID.parse(inner)
                    except InvalidCID:
                        raise _Fallback from None
                    if len(_link_cache) >= _LINK_CACHE_SIZE:
                        _link_cache.clear()
                    _link_cache[inner] = cid
                if str(cid) != inner:  # the encoder would spell this link otherwise
                    raise _Fallback
                return cid
            if type(inner) is dict and len(inner) == 1 and type(inner.get("bytes")) is str:
                text = inner["bytes"]
                try:
                    raw = _decode_base64(text)
                except DagJsonDecodeError:
                    raise _Fallback from None
                if base64.b64encode(raw).decode("ascii").rstrip("=") != text:
                    raise _Fallback
                return raw
            raise _Fallback
        for key, item in value.items():
            if type(item) is dict or type(item) is list:
                value[key] = _fast_resolve(item, depth + 1)
    else:
        for index, item in enumerate(value):
            if type(item) is dict or type(item) is list:
                value[index] = _fast_resolve(item, depth + 1)
    return value


_fast_decoder = json.JSONDecoder(
    parse_float=_fast_float, parse_int=_fast_int, parse_constant=_fast_constant
)
# The C encoder, set to spell strings, separators and key order as ``encode`` does.
_fast_encoder = json.JSONEncoder(
    ensure_ascii=False, check_circular=False, allow_nan=False, sort_keys=True, separators=(",", ":")
)
# UTF-8 lead bytes of U+E000..U+FFFF and of astral characters: the only ones for which UTF-8 and
# UTF-16 key orders can differ (AmbiguousKeyOrder), so bytes holding one take the exact path.
_ORDER_SENSITIVE = re.compile(rb"[\xee-\xff]")


def _fast_decode(data: bytes) -> Any:
    """The value of ``data`` if the C JSON codec proves it canonical, else raise ``_Fallback``.

    Sound because canonical form is checked by spelling the parsed value again with the C
    encoder, which escapes strings with the very function ``encode`` uses, sorts keys by code
    point and writes ints as ``int.__repr__``; floats are accepted only where Python's repr, the
    text read and ``float_text`` all agree. Everything ``encode`` would refuse (ints beyond 64
    bits, -0.0, lone surrogates, deep nesting, reserved "/" maps, ambiguous key order) and every
    mismatch falls back, so a block is never accepted here that the exact path refuses.
    """
    if _ORDER_SENSITIVE.search(data) is not None:
        raise _Fallback
    try:
        value = _fast_decoder.decode(data.decode("utf-8"))
        if _fast_encoder.encode(value).encode("utf-8") != data:
            raise _Fallback
    except (ValueError, RecursionError, UnicodeError, _Refused):
        raise _Fallback from None
    if type(value) is dict or type(value) is list:
        return _fast_resolve(value, 0)
    return value


def decode(data: bytes) -> Node:
    """Decode canonical DAG-JSON bytes; raise on anything else (see the module docstring).

    >>> decode(b'{"a":[1,2.5,null],"b":{"/":{"bytes":"AQ"}}}')
    {'a': [1, 2.5, None], 'b': b'\\x01'}
    """
    data = bytes(data)
    try:
        return _fast_decode(data)  # type: ignore[no-any-return]
    except _Fallback:
        pass
    return _exact_decode(data)


def _exact_decode(data: bytes) -> Node:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DagJsonDecodeError("not valid UTF-8", offset=error.start) from None
    try:
        value = _decoder.decode(text)
    except json.JSONDecodeError as error:
        raise DagJsonDecodeError(error.msg, offset=len(text[: error.pos].encode("utf-8"))) from None
    except RecursionError:
        raise DagJsonDecodeError("nested too deeply for this Python stack") from None
    except ValueError as error:  # e.g. an integer with more digits than Python will convert
        reason = str(error)
        if "integer string conversion" in reason:
            # Python's own words tell the reader to change an interpreter setting.
            reason = "an integer of thousands of digits, far past the 64-bit range of DAG-JSON"
        raise DagJsonDecodeError(reason) from None
    # Canonical means: exactly what encode writes for this value, so compare with that.
    try:
        canonical = encode(value)
    except DagJsonEncodeError as error:
        raise DagJsonDecodeError(f"{error.reason} (at {error.path})") from None
    if canonical != data:
        offset = next(
            (i for i, (a, b) in enumerate(zip(canonical, data, strict=False)) if a != b),
            min(len(canonical), len(data)),
        )
        raise NonCanonical(
            offset, bytes(data[offset : offset + 16]), canonical[offset : offset + 16]
        )
    return value  # type: ignore[no-any-return]
