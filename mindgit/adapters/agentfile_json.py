"""Any JSON value in and out of canonical DAG-JSON, exactly; and agent-file text in and out.

DAG-JSON cannot hold every JSON value as written: it spells an integral float as an integer (so
``1.0`` reads back as ``1``) and it refuses ``-0.0``, integers beyond 64 bits, strings with lone
surrogates, the map key ``"/"``, maps whose keys sort differently in UTF-8 and in UTF-16, and
nesting beyond 256 levels. :func:`to_node` turns a JSON value into a node the DAG-JSON encoder
takes plus a *fix record* (checked by :func:`mindgit.store.agent_schema.check_fix`):

* ``"floats"``: paths of integral floats, so they come back as floats;
* ``"raw"``: paths of values kept as their JSON text (lone surrogates, huge integers, ``-0.0``,
  nesting deeper than :data:`MAX_NEST`);
* ``"keys"``: ``[path, text]``: entries of the map at ``path`` kept as the JSON text of an object,
  because DAG-JSON cannot hold their keys (``"/"``, lone surrogates, keys at or above U+E000 in a
  map whose UTF-8 and UTF-16 orders differ, and any ``reserved`` key the caller names).

:func:`from_node` applies the record and gives back a value equal to the original, with the same
JSON types. Key order is not kept per map (DAG-JSON sorts keys); :func:`key_orders` collects each
distinct order once, and :func:`ordered` puts maps back in the order first seen for their keys.

The file layer (:func:`parse_document`, :func:`render_document`) reads UTF-8 JSON, unwraps a
document that is itself a JSON string ("double-encoded"), and remembers how each layer was
written (indent, separators, ASCII escaping, final newline) to write it back the same way.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mindgit.errors import MindgitError
from mindgit.ipld import dagjson
from mindgit.store.agent_schema import check_fix
from mindgit.store.state import SchemaError

Json = Any  # None | bool | int | float | str | list[Json] | dict[str, Json]
Path = list[str | int]

MAX_NEST = 200
"""Deeper lists and maps are kept as JSON text: stored blocks add a few levels of their own."""
MAX_DEPTH = 500
"""Documents nested deeper than this are refused: no agent file is, and Python's stack is finite."""
MAX_LAYERS = 3
"""A document may be a JSON string holding JSON this many times, no more."""

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_MIN_INT = dagjson.MIN_INT
_MAX_INT = dagjson.MAX_INT


class AgentFileError(MindgitError):
    """An agent file (or a stored agent) that mindgit cannot read; nothing was changed."""

    def __init__(self, source: str, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"{source}: {problem}; nothing was imported", hint=hint)
        self.source = source
        self.problem = problem


class NotJson(AgentFileError):
    """The bytes are not UTF-8 JSON (or use NaN/Infinity, numbers out of range, deep nesting)."""

    def __init__(self, source: str, reason: str, *, hint: str | None = None) -> None:
        super().__init__(source, f"not JSON ({reason})", hint=hint or "is this really a .af file?")
        self.reason = reason


class CorruptAgentState(MindgitError):
    """A stored agent block does not decode the way the agent-file adapter wrote it."""

    def __init__(self, what: str, problem: str) -> None:
        super().__init__(
            f"{what}: {problem}",
            hint="run `mindgit verify`; the block was not written by this mindgit",
        )
        self.what = what
        self.problem = problem


# -- JSON value <-> DAG-JSON node ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stored:
    """A JSON value as a DAG-JSON node plus the fix record (None when nothing needs fixing)."""

    node: Any
    fix: dict[str, Any] | None


def to_node(value: Json, *, reserved: Iterable[str] = ()) -> Stored:
    """``value`` as a node that ``dagjson.encode`` takes, and how to undo the differences.

    ``reserved`` names top-level keys the caller needs for itself; a value holding them keeps
    them in the fix record instead.
    """
    fix: dict[str, list[Any]] = {"floats": [], "raw": [], "keys": []}
    node = _to_node(value, [], fix, frozenset(reserved), 0)
    record = {k: v for k, v in fix.items() if v}
    return Stored(node, record or None)


def _utf8_ok(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _to_node(
    value: Json, path: Path, fix: dict[str, list[Any]], reserved: frozenset[str], depth: int
) -> Any:
    kind = type(value)
    if kind is str:
        if _utf8_ok(value):
            return value
        fix["raw"].append(list(path))
        return json.dumps(value)
    if kind is dict:
        if depth >= MAX_NEST:
            fix["raw"].append(list(path))
            return json.dumps(value)
        keys = list(value)
        away = set(k for k in keys if k == "/" or not _utf8_ok(k) or (not path and k in reserved))
        rest = [k for k in keys if k not in away]
        if not "".join(rest).isascii():
            by_code = sorted(rest)
            if by_code != sorted(rest, key=_utf16):
                # Only keys at or above U+E000 sort differently in UTF-16; without them the
                # two orders agree.
                away.update(k for k in rest if any(ord(c) >= 0xE000 for c in k))
        out: dict[str, Any] = {}
        for k in keys:
            if k not in away:
                out[k] = _to_node(value[k], [*path, k], fix, reserved, depth + 1)
        if away:
            moved = {k: value[k] for k in keys if k in away}
            fix["keys"].append([list(path), json.dumps(moved)])
        return out
    if kind is list:
        if depth >= MAX_NEST:
            fix["raw"].append(list(path))
            return json.dumps(value)
        return [_to_node(v, [*path, i], fix, reserved, depth + 1) for i, v in enumerate(value)]
    if kind is float:
        if value == 0 and math.copysign(1.0, value) < 0:
            fix["raw"].append(list(path))
            return "-0.0"
        if value.is_integer():
            fix["floats"].append(list(path))
        return value
    if kind is int:
        if _MIN_INT <= value <= _MAX_INT:
            return value
        fix["raw"].append(list(path))
        return str(value)
    if value is None or kind is bool:
        return value
    raise TypeError(f"{kind.__name__} is not a JSON value")


def _utf16(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def from_node(node: Any, fix: object, what: str) -> Json:
    """The exact JSON value that :func:`to_node` was given; ``what`` names it in errors.

    ``node`` is a freshly decoded node: it is changed in place.
    """
    _check_json(node, what, 0)
    if fix is None:
        return node
    try:
        check_fix(what, fix)
    except SchemaError as e:
        raise CorruptAgentState(what, e.problem) from None
    assert isinstance(fix, dict)
    root = [node]
    for path in fix.get("raw", []):
        text = _get(root, path, what)
        if not isinstance(text, str):
            raise CorruptAgentState(what, f"raw value at {path} is not text")
        _set(root, path, _loads(text, what), what)
    for path in fix.get("floats", []):
        number = _get(root, path, what)
        if type(number) not in (int, float):
            raise CorruptAgentState(what, f"float at {path} is not a number")
        _set(root, path, float(number), what)
    for path, text in fix.get("keys", []):
        target = _get(root, path, what)
        extra = _loads(text, what)
        if not isinstance(target, dict) or not isinstance(extra, dict):
            raise CorruptAgentState(what, f"kept keys at {path} do not fit a map")
        target.update(extra)
    return root[0]


def _check_json(node: Any, what: str, depth: int) -> None:
    if isinstance(node, dict):
        for v in node.values():
            _check_json(v, what, depth + 1)
    elif isinstance(node, list):
        for v in node:
            _check_json(v, what, depth + 1)
    elif not (node is None or isinstance(node, bool | int | float | str)):
        raise CorruptAgentState(what, f"holds a {type(node).__name__}, which JSON cannot")


def _loads(text: str, what: str) -> Json:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise CorruptAgentState(what, "kept JSON text does not parse") from None


def _step(container: Any, step: str | int, what: str) -> Any:
    if isinstance(container, dict) and isinstance(step, str) and step in container:
        return container[step]
    if isinstance(container, list) and isinstance(step, int) and 0 <= step < len(container):
        return container[step]
    raise CorruptAgentState(what, f"fix path step {step!r} leads nowhere")


def _get(root: list[Any], path: list[Any], what: str) -> Any:
    at: Any = root[0]
    for step in path:
        at = _step(at, step, what)
    return at


def _set(root: list[Any], path: list[Any], value: Any, what: str) -> None:
    if not path:
        root[0] = value
        return
    parent = _get(root, path[:-1], what)
    _step(parent, path[-1], what)
    parent[path[-1]] = value


def drop_fixes_under(fix: dict[str, Any] | None, prefix: list[str | int]) -> dict[str, Any] | None:
    """``fix`` without the entries at or below ``prefix`` (after that part of the value changed)."""
    if fix is None:
        return None
    n = len(prefix)
    out: dict[str, Any] = {}
    for name in ("floats", "raw"):
        kept = [p for p in fix.get(name, []) if p[:n] != prefix]
        if kept:
            out[name] = kept
    kept_keys = [e for e in fix.get("keys", []) if e[0][:n] != prefix]
    if kept_keys:
        out["keys"] = kept_keys
    return out or None


# -- key order ------------------------------------------------------------------------------------


def key_orders(value: Json, into: dict[tuple[str, ...], list[str]]) -> None:
    """Record, for each set of keys, the order first seen, when that order is not sorted."""
    # A set first seen sorted is not recorded (export sorts what it has no order for), but it
    # is seen: a later map with the same keys in another order must not win.
    seen: set[tuple[str, ...]] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            keys = list(item)
            if len(keys) > 1:
                canon = tuple(sorted(keys))
                if canon not in seen and canon not in into and tuple(keys) != canon:
                    into[canon] = keys
                seen.add(canon)
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))


def ordered(value: Json, orders: Mapping[tuple[str, ...], list[str]]) -> Json:
    """``value`` with each map's keys in its recorded order, else sorted."""
    # Without recursion: import takes documents nested up to MAX_DEPTH, and two Python frames
    # a level (the call and its comprehension) passed the interpreter's limit near 500 levels,
    # so an agent that imported could never be exported.

    def start(item: Json) -> tuple[Json, Iterator[tuple[str | int, Json]] | None]:
        if isinstance(item, dict):
            canon = tuple(sorted(item))
            return {}, ((k, item[k]) for k in orders.get(canon, canon))
        if isinstance(item, list):
            return [], enumerate(item)
        return item, None

    root, children = start(value)
    stack = [] if children is None else [(root, children)]
    while stack:
        target, pending = stack[-1]
        for key, child in pending:
            built, more = start(child)
            if isinstance(target, dict):
                target[key] = built
            else:
                target.append(built)
            if more is not None:
                stack.append((built, more))
                break
        else:
            stack.pop()
    return root


# -- documents ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Layer:
    """How one JSON text was written, so that the same value is written back the same way."""

    indent: int | str | None = 2
    item_separator: str = ","
    key_separator: str = ": "
    ascii: bool = False
    newline: bool = False
    crlf: bool = False  # every line ends "\r\n" (a file checked out on Windows)

    def to_node(self) -> dict[str, Any]:
        node: dict[str, Any] = {
            "ascii": self.ascii,
            "indent": self.indent,
            "item_separator": self.item_separator,
            "key_separator": self.key_separator,
            "newline": self.newline,
        }
        if self.crlf:
            # Only when set, so that a file with "\n" lines is stored as it was before.
            node["crlf"] = True
        return node

    @classmethod
    def from_node(cls, node: object, what: str) -> Layer:
        if not isinstance(node, dict):
            raise CorruptAgentState(what, "a text layer is a map")
        indent = node.get("indent")
        seps = node.get("item_separator"), node.get("key_separator")
        if not (
            indent is None
            or (type(indent) is int and 0 <= indent <= 16)
            or (isinstance(indent, str) and indent.strip(" \t") == "" and len(indent) <= 16)
        ) or seps not in ((",", ": "), (", ", ": "), (",", ":"), (", ", ":")):
            raise CorruptAgentState(what, "a text layer's indent or separators are not JSON's")
        return cls(
            indent,
            str(seps[0]),
            str(seps[1]),
            node.get("ascii") is True,
            node.get("newline") is True,
            node.get("crlf") is True,
        )


@dataclass(frozen=True, slots=True)
class Style:
    """How a document was written: its layers, outermost first (two when double-encoded)."""

    layers: tuple[Layer, ...] = (Layer(),)
    bom: bool = False

    def to_node(self) -> dict[str, Any]:
        return {"bom": self.bom, "layers": [layer.to_node() for layer in self.layers]}

    @classmethod
    def from_node(cls, node: object, what: str) -> Style:
        if not isinstance(node, dict) or not isinstance(node.get("layers"), list):
            raise CorruptAgentState(what, "a text style is a map with 'layers'")
        layers = tuple(Layer.from_node(n, what) for n in node["layers"])
        if not 1 <= len(layers) <= MAX_LAYERS:
            raise CorruptAgentState(what, f"a document has 1 to {MAX_LAYERS} text layers")
        return cls(layers, node.get("bom") is True)


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _parse(text: str, source: str) -> Json:
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise NotJson(source, "nested too deeply") from None
    except ValueError as e:  # JSONDecodeError, and integers too long for int()
        reason = str(e).split("\n")[0]
        if "integer string conversion" in reason:
            # Python's own words name a function of its runtime, which a user cannot call.
            reason = f"an integer has more than {sys.get_int_max_str_digits()} digits"
        raise NotJson(source, reason) from None
    if _depth(value) > MAX_DEPTH:
        raise NotJson(source, f"nested deeper than {MAX_DEPTH} levels")
    return value


def _depth(value: Json) -> int:
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def _separators(body: str, indented: bool) -> tuple[str, str]:
    """The item and key separators of a JSON text: what follows its first ',' and ':'."""
    item = key = None
    in_string = escaped = False
    for i, ch in enumerate(body[:65536]):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "," and item is None:
            item = ", " if body[i + 1 : i + 2] == " " else ","
        elif ch == ":" and key is None:
            key = ": " if body[i + 1 : i + 2] == " " else ":"
        if item is not None and key is not None:
            break
    key = key or ": "
    return item or ("," if indented or key == ":" else ", "), key


def _layer_of(text: str) -> Layer:
    # JSON strings cannot hold a raw line break, so every "\r\n" is layout.
    lines = text.count("\n")
    crlf = lines > 0 and text.count("\r\n") == lines
    if crlf:
        text = text.replace("\r\n", "\n")
    body = text.strip()
    indent: int | str | None = None
    if len(body) > 1 and body[0] in "{[" and body[1] == "\n":
        end = body.find("\n", 2)
        line = body[2 : end if end >= 0 else len(body)]
        lead = line[: len(line) - len(line.lstrip(" \t"))]
        indent = len(lead) if set(lead) <= {" "} else lead
    item_sep, key_sep = _separators(body, indent is not None)
    # An ASCII-only writer escapes DEL too (json.dumps does); a raw one means it escapes nothing.
    ascii_only = text.isascii() and "\x7f" not in text
    return Layer(indent, item_sep, key_sep, ascii_only, text.endswith("\n"), crlf)


_CAR_HEADER = b"\xa2eroots"  # DAG-CBOR: a map of two, then the text key "roots"
_CAR_HINT = "this is a CAR file, not an agent file; `mindgit import FILE --as NAME` imports one"


def parse_document(data: bytes, source: str) -> tuple[Json, Style]:
    """The JSON value of an agent file's bytes, unwrapping double encoding, and how it was written."""
    bom = data.startswith(b"\xef\xbb\xbf")
    if bom:
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        # A CAR opens with its header's length and the DAG-CBOR map {"roots": ..., ...}: given
        # for an agent file (a state exported with `export --car`), it is said to be one.
        car = _CAR_HEADER in data[:12]
        raise NotJson(
            source, f"not UTF-8 at byte {e.start}", hint=_CAR_HINT if car else None
        ) from None
    layers = [_layer_of(text)]
    value = _parse(text, source)
    while isinstance(value, str) and len(layers) < MAX_LAYERS:
        inner = value
        stripped = inner.strip()
        # A string of JSON again ('"{...}"') is unwrapped too: a file wrapped twice (docs:
        # "up to twice") stopped at its first string and was "a string, not an object".
        if not stripped or stripped[0] not in '{["':
            break
        layers.append(_layer_of(inner))
        value = _parse(inner, source)
    return value, Style(tuple(layers), bom)


def render_document(value: Json, style: Style) -> bytes:
    """The bytes of ``value`` written in ``style``."""
    current: Json = value
    for layer in reversed(style.layers):
        current = _dumps(current, layer)
    text: str = current
    data = text.encode("utf-8")
    return b"\xef\xbb\xbf" + data if style.bom else data


def _dumps(value: Json, layer: Layer) -> str:
    text = json.dumps(
        value,
        indent=layer.indent,
        separators=(layer.item_separator, layer.key_separator),
        ensure_ascii=layer.ascii,
    )
    if not layer.ascii and not _utf8_ok(text):
        # A lone surrogate can only have come in escaped; write it the same way, and only it
        # (the rest of the text keeps its characters unescaped, as it was read).
        text = _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    if layer.newline:
        text += "\n"
    # json.dumps writes "\n" only between lines (a string holds it escaped).
    return text.replace("\n", "\r\n") if layer.crlf else text
