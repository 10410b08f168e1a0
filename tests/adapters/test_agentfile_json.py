"""Any JSON value through canonical DAG-JSON and back, exactly; agent-file text in and out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.adapters.agentfile_json import (
    MAX_NEST,
    CorruptAgentState,
    Layer,
    NotJson,
    Style,
    drop_fixes_under,
    from_node,
    key_orders,
    ordered,
    parse_document,
    render_document,
    to_node,
)
from mindgit.ipld import dagjson
from mindgit.store.agent_schema import check_fix
from tests.adapters.test_agentfile_builders import as_parsed, json_values, keys, same, styles


def through_dagjson(value: Any, reserved: tuple[str, ...] = ()) -> Any:
    stored = to_node(value, reserved=reserved)
    data = dagjson.encode({"fix": stored.fix, "json": stored.node})
    node: Any = dagjson.decode(data)
    assert dagjson.encode(node) == data  # canonical: one CID on every node
    return from_node(node["json"], node["fix"], "test")


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_every_json_value_comes_back_with_its_types(value: Any) -> None:
    assert same(through_dagjson(value), value)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(keys, json_values, max_size=6).map(as_parsed))
def test_reserved_top_level_keys_are_kept_aside(value: dict[str, Any]) -> None:
    stored = to_node(value, reserved=("mindgit:fix",))
    assert "mindgit:fix" not in stored.node
    assert same(through_dagjson(value, ("mindgit:fix",)), value)


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"t": 1.0}, "floats"),
        ({"t": -0.0}, "raw"),
        ({"n": 2**64}, "raw"),
        ({"s": "a\ud800b"}, "raw"),
        ({"/": "bafy"}, "keys"),
        ({"\ue000": 1, "😀": 2}, "keys"),
    ],
)
def test_what_dagjson_cannot_hold_is_recorded(value: dict[str, Any], field: str) -> None:
    stored = to_node(value)
    assert stored.fix is not None and field in stored.fix
    check_fix("test", stored.fix)
    assert same(through_dagjson(value), value)


def test_plain_json_needs_no_fix() -> None:
    value = {"a": [1, 0.5, None, True, "x"], "b": {"c": "ü"}}
    stored = to_node(value)
    assert stored.fix is None and stored.node == value


def test_deep_nesting_is_kept_as_text() -> None:
    deep: Any = 1.0
    for _ in range(MAX_NEST + 50):
        deep = [deep]
    stored = to_node({"d": deep})
    assert stored.fix is not None and stored.fix["raw"]
    assert same(through_dagjson({"d": deep}), {"d": deep})


@pytest.mark.parametrize(
    ("node", "fix", "problem"),
    [
        ({"a": 1}, {"floats": [["b"]]}, "leads nowhere"),
        ({"a": "x"}, {"floats": [["a"]]}, "not a number"),
        ({"a": 1}, {"raw": [["a"]]}, "not text"),
        ({"a": "{"}, {"raw": [["a"]]}, "does not parse"),
        ({"a": 1}, {"keys": [[["a"], "{}"]]}, "do not fit"),
        ({"a": 1}, {"bogus": []}, "fix record"),
        ({"a": b"x"}, None, "bytes"),
    ],
)
def test_corrupt_records_are_refused_by_name(node: Any, fix: Any, problem: str) -> None:
    with pytest.raises(CorruptAgentState, match=problem):
        from_node(node, fix, "block")


def test_dropping_fixes_under_a_path() -> None:
    fix = {"floats": [["value"], ["limit"]], "raw": [["value", 0]], "keys": [[["value"], "{}"]]}
    assert drop_fixes_under(fix, ["value"]) == {"floats": [["limit"]]}
    assert drop_fixes_under({"raw": [["value"]]}, ["value"]) is None
    assert drop_fixes_under(None, ["value"]) is None


def _distinct_key_sets(value: Any, seen: set[frozenset[str]]) -> bool:
    if isinstance(value, dict):
        ks = frozenset(value)
        if ks in seen:
            return False
        seen.add(ks)
        return all(_distinct_key_sets(v, seen) for v in value.values())
    if isinstance(value, list):
        return all(_distinct_key_sets(v, seen) for v in value)
    return True


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_key_order_comes_back_when_each_key_set_has_one_order(value: Any) -> None:
    if not _distinct_key_sets(value, set()):
        return
    orders: dict[tuple[str, ...], list[str]] = {}
    key_orders(value, orders)
    back = ordered(through_dagjson(value), orders)
    assert json.dumps(back) == json.dumps(value)


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.dictionaries(keys, json_values), st.lists(json_values)).map(as_parsed), styles)
def test_documents_are_written_back_as_they_were_read(value: Any, style: Style) -> None:
    data = render_document(value, style)
    parsed, seen = parse_document(data, "x.af")
    assert same(parsed, value)
    assert seen.bom == style.bom and len(seen.layers) == len(style.layers)
    assert render_document(parsed, seen) == data
    assert Style.from_node(dagjson.decode(dagjson.encode(seen.to_node())), "x") == seen


@pytest.mark.parametrize("ascii_only", [False, True])
def test_a_raw_or_escaped_del_comes_back_as_it_was(ascii_only: bool) -> None:
    data = json.dumps({"\x7f": "a\x7fb"}, ensure_ascii=ascii_only).encode()
    value, style = parse_document(data, "x.af")
    assert render_document(value, style) == data


def test_double_encoded_documents_are_unwrapped() -> None:
    inner = json.dumps({"agents": [{"name": "a"}]}, indent=2)
    value, style = parse_document(json.dumps(inner).encode(), "x.af")
    assert value == {"agents": [{"name": "a"}]}
    assert len(style.layers) == 2 and style.layers[1].indent == 2
    assert render_document(value, style) == json.dumps(inner).encode()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"hello", "Expecting value"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"a": NaN}', "NaN"),
        (b'{"a": 1e400}', "out of range"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"[" * 600 + b"]" * 600, "nested deeper than 500 levels"),
        (b'{"a": ' + b"9" * 5000 + b"}", "digits"),
        (json.dumps('{"half": ').encode(), "Expecting value"),
    ],
)
def test_not_json_is_refused_by_name(data: bytes, reason: str) -> None:
    with pytest.raises(NotJson, match=reason) as e:
        parse_document(data, "bad.af")
    assert str(e.value).startswith("bad.af: not JSON")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    "node",
    [
        {"layers": []},
        {"layers": [{"indent": 99, "item_separator": ",", "key_separator": ": "}]},
        {"layers": [{"indent": 2, "item_separator": ";", "key_separator": ": "}]},
        {"layers": "x"},
    ],
)
def test_bad_styles_are_refused(node: Any) -> None:
    with pytest.raises(CorruptAgentState):
        Style.from_node(node, "style")


def test_layer_defaults_are_lettas() -> None:
    assert Layer() == Layer(2, ",", ": ", False, False)


def test_the_order_first_seen_wins_even_when_it_is_sorted() -> None:
    value = {"x": {"a": 1, "b": 2}, "y": {"b": 3, "a": 4}, "z": {"d": 1, "c": 2}}
    orders: dict[tuple[str, ...], list[str]] = {}
    key_orders(value, orders)
    assert orders == {("c", "d"): ["d", "c"]}
    back = ordered(through_dagjson(value), orders)
    assert json.dumps(back) == json.dumps({**value, "y": {"a": 4, "b": 3}})


@pytest.mark.parametrize("wrapped", [False, True], ids=["plain", "double-encoded"])
def test_windows_line_ends_are_kept(wrapped: bool) -> None:
    text = json.dumps({"agents": [{"name": "a", "v": "x\r\ny"}]}, indent=2) + "\n"
    if wrapped:
        text = json.dumps(text.replace("\n", "\r\n")) + "\n"
    data = text.replace("\n", "\r\n").encode()
    value, style = parse_document(data, "x.af")
    assert style.layers[-1].crlf and style.layers[-1].indent == 2
    assert value == {"agents": [{"name": "a", "v": "x\r\ny"}]}
    assert render_document(value, style) == data
    assert Style.from_node(dagjson.decode(dagjson.encode(style.to_node())), "x") == style


def test_mixed_line_ends_are_not_windows_ones() -> None:
    data = b'{\n  "a": 1,\r\n  "b": 2\n}'
    _, style = parse_document(data, "x.af")
    assert not style.layers[0].crlf and "crlf" not in style.layers[0].to_node()


def test_a_lone_surrogate_is_escaped_alone() -> None:
    data = '{"v": "\\ud800 é \\u00e9 ü"}'.encode()
    value, style = parse_document(data, "x.af")
    assert value == {"v": "\ud800 é é ü"} and not style.layers[0].ascii
    assert render_document(value, style) == '{"v": "\\ud800 é é ü"}'.encode()


def test_an_integer_too_long_is_named_in_the_users_words() -> None:
    with pytest.raises(NotJson) as e:
        parse_document(b'{"a": ' + b"9" * 5000 + b"}", "bad.af")
    assert str(e.value).startswith("bad.af: not JSON (an integer has more than 4300 digits)")
    assert "sys." not in str(e.value)
