"""Builders shared by the agent-file tests: strict JSON equality, store fingerprints, Hypothesis
strategies for JSON values and for whole agent files in both layouts.

No tests here; the other ``test_agentfile*`` modules import these.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import strategies as st

from mindgit.adapters.agentfile_format import AGENT_SECRET_FIELDS, SECRET_NAMES
from mindgit.adapters.agentfile_json import Layer, Style, render_document
from mindgit.store.refs import read_ref
from mindgit.store.repository import Store
from tests.conftest import FIXTURES

AGENT_FILES = FIXTURES / "agent-files"
REAL_FILES = sorted(AGENT_FILES.glob("*.af"))


def same(a: Any, b: Any) -> bool:
    """Equal as JSON *and* of the same JSON types: ``1`` is not ``1.0``, ``True`` is not ``1``."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return a == b and str(a) == str(b)  # tells -0.0 from 0.0
    return bool(a == b)


def first_seen_orders(value: Any, into: dict[frozenset[str], list[str]]) -> None:
    """The key order each set of keys is first seen in, in document order."""
    if isinstance(value, dict):
        into.setdefault(frozenset(value), list(value))
        for v in value.values():
            first_seen_orders(v, into)
    elif isinstance(value, list):
        for v in value:
            first_seen_orders(v, into)


def in_orders(value: Any, orders: dict[frozenset[str], list[str]]) -> Any:
    """``value`` with each map's keys in ``orders`` (a map whose set is not there keeps its own)."""
    if isinstance(value, dict):
        return {k: in_orders(value[k], orders) for k in orders.get(frozenset(value), list(value))}
    if isinstance(value, list):
        return [in_orders(v, orders) for v in value]
    return value


def as_exported(value: Any, style: Style, orders_from: Any = None) -> bytes:
    """The bytes export promises for ``value`` read in ``style``: the one normalisation is that
    every map with a set of keys takes the order that set was first seen in (in ``orders_from``,
    the document as imported, when the value was edited since)."""
    orders: dict[frozenset[str], list[str]] = {}
    first_seen_orders(value if orders_from is None else orders_from, orders)
    return render_document(in_orders(value, orders), style)


def load_json(data: bytes) -> Any:
    """An agent file's JSON, unwrapping double encoding."""
    value = json.loads(data)
    while isinstance(value, str):
        value = json.loads(value)
    return value


def fingerprint(store: Store) -> tuple[dict[str, str | None], frozenset[str]]:
    """Every ref and every object file of the store: equal fingerprints mean nothing was written."""
    refs = {name: read_ref(store.repo, name) for name in store.repo.references}
    objects = store.path / "objects"
    files = frozenset(
        str(Path(root, f).relative_to(objects))
        for root, _, names in os.walk(objects)
        for f in names
    )
    return refs, files


# -- strategies -----------------------------------------------------------------------------------

# Text that exercises the codec: astral and high-BMP characters (their UTF-8 and UTF-16 orders
# differ), lone surrogates, controls, quotes.
odd_chars = st.sampled_from(["\ud800", "\udfff", "\ue000", "\uffff", "😀", "\x00", '"', "\\", "/"])
text = (
    st.lists(st.one_of(st.characters(codec="utf-8"), odd_chars), max_size=12)
    .map("".join)
    .map(lambda t: json.loads(json.dumps(t)))  # as JSON parsing gives it: pairs joined
)
keys = st.one_of(text, st.sampled_from(["/", "bytes", "mindgit:fix", "", "\ue000", "😀", "a"]))
floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1.0, -3.0, 2.0**53, 2.0**60, 1e21, 1e-7, 0.1, 1.5]),
)
integers = st.one_of(
    st.integers(-(2**70), 2**70), st.sampled_from([0, 2**53, 2**64 - 1, 2**64, -(2**64) - 1])
)
scalars = st.one_of(st.none(), st.booleans(), integers, floats, text)


_J = TypeVar("_J")


def as_parsed(value: _J) -> _J:
    """``value`` as JSON parsing gives it (a surrogate pair in a string becomes one character)."""
    # A JSON round trip keeps the shape (dicts, lists, scalars), so the type is the input's.
    parsed: _J = json.loads(json.dumps(value))
    return parsed


json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=20,
).map(as_parsed)

_RESERVED_TOP = {"version", "schema_version", "format_version"}


def harmless(key: str) -> bool:
    """Extra keys a generated file may carry without changing what the file means."""
    norm = key.lower().replace("-", "_")
    return norm not in SECRET_NAMES and key not in AGENT_SECRET_FIELDS and key not in _RESERVED_TOP


def _scrubbed(value: Any) -> Any:
    """``value`` without credential-named keys holding strings (those are dropped on import)."""
    if isinstance(value, dict):
        return {k: _scrubbed(v) for k, v in value.items() if harmless(k)}
    if isinstance(value, list):
        return [_scrubbed(v) for v in value]
    return value


extras = st.dictionaries(keys.filter(harmless), json_values, max_size=3).map(_scrubbed)


def _with(base: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in more.items():
        out.setdefault(k, v)
    return out


labels = st.one_of(
    st.sampled_from(["human", "persona", "system/human/family", "/note_directory", "a b", "ü"]),
    text.filter(bool),
)


@st.composite
def block(draw: st.DrawFn, label: str, ident: str | None) -> dict[str, Any]:
    b: dict[str, Any] = {
        "label": label,
        "value": draw(text),
        "description": draw(st.one_of(st.none(), text)),
        "limit": draw(st.one_of(st.integers(0, 10**6), floats)),
        "metadata": draw(st.one_of(st.none(), st.dictionaries(keys.filter(harmless), scalars))),
    }
    if ident is not None:
        b["id"] = ident
    return _with(b, draw(extras))


@st.composite
def message(draw: st.DrawFn) -> dict[str, Any]:
    m = {
        "role": draw(st.sampled_from(["system", "user", "assistant", "tool"])),
        "content": [{"type": "text", "text": draw(text)}],
        "created_at": "2025-10-31T22:56:56.459100+00:00",
        "tool_calls": draw(st.one_of(st.none(), st.lists(json_values, max_size=2))),
    }
    return _with(m, draw(extras))


llm_configs = st.fixed_dictionaries(
    {
        "model": st.just("gpt-4o-mini"),
        "context_window": st.integers(1, 200_000),
        "temperature": st.one_of(st.none(), floats, st.integers(-5, 5)),
        "max_tokens": st.one_of(st.none(), st.integers(1, 10**6), floats),
        "top_p": st.one_of(st.none(), floats),
        "reasoning_effort": st.one_of(st.none(), st.sampled_from(["low", "high", "odd"])),
    }
)


@st.composite
def agent_file_v2(draw: st.DrawFn) -> dict[str, Any]:
    """A v2 (AgentFileSchema) file: 1-3 agents, blocks shared or not, orphans, random extras."""
    n_agents = draw(st.integers(1, 3))
    blocks: list[dict[str, Any]] = []
    agents = []
    tools = [
        _with({"id": f"tool-{n}", "name": draw(text), "source_code": draw(text)}, draw(extras))
        for n in range(draw(st.integers(0, 3)))
    ]
    for a in range(n_agents):
        own = draw(st.lists(labels, max_size=3, unique=True))
        ids = []
        for label in own:
            ident = f"block-{len(blocks)}"
            blocks.append(draw(block(label, ident)))
            ids.append(ident)
        share: bool = draw(st.booleans())
        if blocks and share:
            # A block shared with an earlier agent, when its label is free here.
            shared = draw(st.sampled_from(blocks))
            if shared["label"] not in own and shared["id"] not in ids:
                ids.append(shared["id"])
        agent = {
            "id": f"agent-{a}",
            "name": draw(st.one_of(st.none(), text)),
            "block_ids": ids,
            "tool_ids": draw(st.lists(st.sampled_from([t["id"] for t in tools]), unique=True))
            if tools
            else [],
            "messages": draw(st.lists(message(), max_size=3)),
            "tool_rules": draw(json_values),
            "llm_config": draw(llm_configs),
            "tool_exec_environment_variables": {"TAVILY_API_KEY": ""},
            "secrets": None,
        }
        agents.append(_with(agent, draw(extras)))
    if draw(st.booleans()):
        blocks.append(draw(block("orphan", f"block-{len(blocks)}")))
    top = {
        "agents": agents,
        "groups": [],
        "blocks": draw(st.permutations(blocks)),
        "files": [],
        "sources": [],
        "tools": tools,
        "mcp_servers": [],
        "metadata": {"revision_id": "f6cd5a1e519d"},
        "created_at": draw(st.one_of(st.none(), text)),
    }
    return as_parsed(_with(top, draw(extras)))


@st.composite
def agent_file_v1(draw: st.DrawFn) -> dict[str, Any]:
    """A Letta 0.x single-agent file."""
    own = draw(st.lists(labels, max_size=3, unique=True))
    agent = {
        "version": draw(st.sampled_from(["0.6.47", "0.7.10", "0.8.0rc1"])),
        "name": draw(st.one_of(st.none(), text)),
        "core_memory": [draw(block(label, None)) for label in own],
        "messages": draw(st.lists(message(), max_size=3)),
        "in_context_message_indices": [0, 1],
        "tools": [
            _with({"name": draw(text)}, draw(extras)) for _ in range(draw(st.integers(0, 2)))
        ],
        "tool_rules": draw(st.lists(json_values, max_size=2)),
        "llm_config": draw(llm_configs),
        "tool_exec_environment_variables": [{"key": "K", "value": ""}],
    }
    return as_parsed(_with(agent, draw(extras)))


layers = st.builds(
    Layer,
    indent=st.sampled_from([None, 0, 2, 4, "\t"]),
    item_separator=st.sampled_from([",", ", "]),
    key_separator=st.sampled_from([":", ": "]),
    ascii=st.booleans(),
    newline=st.booleans(),
    crlf=st.booleans(),
)
styles = st.builds(
    Style,
    layers=st.lists(layers, min_size=1, max_size=2).map(tuple),
    bom=st.booleans(),
)


def write_af(path: Path, value: Any, style: Style | None = None) -> bytes:
    """Write ``value`` as an agent file (indent 2 unless a style is given); return its bytes."""
    data = render_document(value, style or Style())
    path.write_bytes(data)
    return data
