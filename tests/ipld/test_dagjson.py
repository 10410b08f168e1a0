from __future__ import annotations

import json
import math
import struct
from collections import OrderedDict
from enum import Enum, IntEnum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID
from mindgit.ipld.dagjson import (
    MAX_DEPTH,
    AmbiguousKeyOrder,
    DagJsonDecodeError,
    DagJsonEncodeError,
    NonCanonical,
    ReservedForm,
    decode,
    encode,
    float_text,
)

from .strategies import HARD_FLOATS, encodable, finite_floats, nodes, normalised

LINK = CID.of(b"null")


@given(nodes())
def test_round_trip(value: dagjson.Node) -> None:
    data = encodable(value)
    decoded = decode(data)
    assert decoded == normalised(value)
    assert encode(decoded) == data


plain_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(dagjson.MIN_INT, dagjson.MAX_INT)
    | finite_floats()
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=30,
)


@given(plain_json)
def test_any_json_reader_sees_the_same_value(value: dagjson.Node) -> None:
    data = encodable(value)
    assert json.loads(data) == normalised(value)


@given(st.binary(max_size=200))
def test_decode_accepts_only_what_encode_writes_random_bytes(data: bytes) -> None:
    try:
        value = decode(data)
    except DagJsonDecodeError:
        return
    assert encode(value) == data


json_texts = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=12,
)


@given(
    json_texts,
    st.sampled_from([(",", ":"), (", ", ": "), (",", ": ")]),
    st.booleans(),
    st.booleans(),
)
def test_decode_accepts_only_what_encode_writes_json_variants(
    value: Any, separators: tuple[str, str], sort_keys: bool, ensure_ascii: bool
) -> None:
    text = json.dumps(value, separators=separators, sort_keys=sort_keys, ensure_ascii=ensure_ascii)
    data = text.encode("utf-8")
    try:
        decoded = decode(data)
    except DagJsonDecodeError:
        return
    assert encode(decoded) == data


@given(nodes(), st.data())
def test_a_one_byte_change_is_refused_or_still_canonical(
    value: dagjson.Node, data: st.DataObject
) -> None:
    raw = bytearray(encodable(value))
    index = data.draw(st.integers(0, len(raw) - 1))
    raw[index] = data.draw(st.integers(0, 255))
    try:
        decoded = decode(bytes(raw))
    except DagJsonDecodeError:
        return
    assert encode(decoded) == bytes(raw)


# --- numbers -------------------------------------------------------------------------------


# Expected spellings, as JavaScript's String(number) and @ipld/dag-json write them.
@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0"), (2.0, "2"), (-2.0, "-2"), (0.1, "0.1"), (0.5, "0.5"), (-0.5, "-0.5"),
        (1e-4, "0.0001"), (1e-5, "0.00001"), (1e-6, "0.000001"), (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"), (1e15, "1000000000000000"), (1e16, "10000000000000000.0"),
        (1e20, "100000000000000000000.0"), (1e21, "1e+21"), (1.5e21, "1.5e+21"),
        (2.0**53 - 1, "9007199254740991"), (2.0**53, "9007199254740992.0"),
        (-(2.0**53), "-9007199254740992.0"), (123456789012345680000.0, "123456789012345680000.0"),
        (5e-324, "5e-324"), (-1e-323, "-1e-323"), (1.7976931348623157e308, "1.7976931348623157e+308"),
        (-8.940696716308594e-8, "-8.940696716308594e-8"), (82497.63712086187, "82497.63712086187"),
        (1 / 3, "0.3333333333333333"), (123e-20, "1.23e-18"), (1e100, "1e+100"),
    ],
)  # fmt: skip
def test_float_spelling(value: float, text: str) -> None:
    assert float_text(value) == text
    assert encode(value) == text.encode()
    decoded = decode(text.encode())
    assert decoded == value
    assert isinstance(decoded, int) == (value.is_integer() and abs(value) < 2**53)


@given(finite_floats())
def test_every_float_round_trips_exactly(value: float) -> None:
    decoded = decode(encode(value))
    assert decoded == value
    if isinstance(decoded, float):
        assert struct.pack(">d", decoded) == struct.pack(">d", value)
    else:
        assert value.is_integer() and abs(value) <= dagjson.MAX_SAFE_INTEGER


@given(finite_floats())
def test_float_spelling_is_shortest_and_well_formed(value: float) -> None:
    text = float_text(value)
    assert float(text) == value
    # Same significant digits as Python's shortest repr (both are shortest round-trip).
    digits = text.lstrip("-").split("e")[0].replace(".", "").strip("0")
    python_digits = repr(value).lstrip("-").split("e")[0].replace(".", "").strip("0")
    assert digits == python_digits
    if "e" in text:
        exponent = text.split("e")[1]
        assert exponent[0] in "+-" and exponent[1:].isdigit() and exponent[1] != "0"
        assert not (1e-6 <= abs(value) < 1e21)
    else:
        assert value == 0 or 1e-6 <= abs(value) < 1e21


@pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, -math.inf, -0.0, [1, -0.0], {"x": math.nan}],
)
def test_encode_refuses_floats_outside_the_data_model(value: Any) -> None:
    with pytest.raises(DagJsonEncodeError):
        encode(value)


def test_float_text_refuses_too() -> None:
    with pytest.raises(DagJsonEncodeError):
        float_text(math.nan)


@pytest.mark.parametrize("value", [dagjson.MIN_INT, dagjson.MAX_INT, 0, -1, 2**63, -(2**63) - 1])
def test_integers_in_the_64_bit_range(value: int) -> None:
    assert encode(value) == str(value).encode()
    assert decode(str(value).encode()) == value


@pytest.mark.parametrize("value", [dagjson.MIN_INT - 1, dagjson.MAX_INT + 1, 10**30])
def test_integers_beyond_64_bits_are_refused(value: int) -> None:
    with pytest.raises(DagJsonEncodeError, match="outside"):
        encode(value)
    with pytest.raises(DagJsonDecodeError, match="outside"):
        decode(str(value).encode())


def test_integral_floats_decode_as_int_and_callers_coerce() -> None:
    data = encode({"rate": 2.0, "big": 2.0**60})
    assert data == b'{"big":1152921504606847000.0,"rate":2}'
    assert decode(data) == {"big": 2.0**60, "rate": 2}
    node = decode(data)
    assert isinstance(node, dict) and isinstance(node["rate"], int)


# --- strings, maps, links, bytes ------------------------------------------------------------


def test_string_escapes_match_json_stringify() -> None:
    controls = "".join(chr(c) for c in range(0x20))
    assert encode(controls) == (
        b'"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r'
        b"\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019"
        b'\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f"'
    )
    assert encode('a"b\\c/\x7f') == b'"a\\"b\\\\c/\x7f"'
    assert encode("\u2028\u00e9\u6c34\U00010151") == '"\u2028\u00e9\u6c34\U00010151"'.encode()


@given(st.text())
def test_strings_round_trip(text: str) -> None:
    assert decode(encode(text)) == text


def test_keys_sort_by_utf8_bytes() -> None:
    value = {"b": 1, "a": 2, "aa": 3, "B": 4, "\u00e9": 5, "": 6, "z": 7}
    assert encode(value) == '{"":6,"B":4,"a":2,"aa":3,"b":1,"z":7,"\u00e9":5}'.encode()
    assert encode(OrderedDict(reversed(list(value.items())))) == encode(value)


def test_keys_whose_utf8_and_utf16_orders_differ_are_refused() -> None:
    value = {"\uffff": 1, "\U00010000": 2}
    with pytest.raises(AmbiguousKeyOrder):
        encode(value)
    utf8_sorted = '{"\uffff":1,"\U00010000":2}'.encode()
    with pytest.raises(DagJsonDecodeError, match="UTF-16"):
        decode(utf8_sorted)
    # Either kind alone is fine: their relative order is the same in both.
    assert decode(encode({"\uffff": 1, "a": 2})) == {"\uffff": 1, "a": 2}
    assert decode(encode({"\U00010000": 1, "a": 2})) == {"\U00010000": 1, "a": 2}


def test_links_and_bytes() -> None:
    value: dict[str, Any] = {
        "link": LINK,
        "bytes": b"\x00\xff",
        "empty": b"",
        "v0": CID.parse("QmQg1v4o9xdT3Q14wh4S7dxZkDjyZ9ssFzFzyep1YrVJBY"),
    }
    data = encode(value)
    assert data == (
        b'{"bytes":{"/":{"bytes":"AP8"}},"empty":{"/":{"bytes":""}},'
        b'"link":{"/":"' + str(LINK).encode() + b'"},'
        b'"v0":{"/":"QmQg1v4o9xdT3Q14wh4S7dxZkDjyZ9ssFzFzyep1YrVJBY"}}'
    )
    assert decode(data) == value
    assert encode(bytearray(b"\x01")) == encode(memoryview(b"\x01")) == b'{"/":{"bytes":"AQ"}}'


@pytest.mark.parametrize(
    "value",
    [
        {"/": "bafkqabiaaebagba"},
        {"/": "anything", "z": 1},
        {"/": {"bytes": "AQ"}},
        {"/": {"bytes": "AQ", "c": 1}},
        {"/": {"bytes": "AQ"}, "z": 1},
        [{"a": {"/": "x"}}],
    ],
)
def test_maps_in_the_reserved_namespace_are_refused(value: Any) -> None:
    with pytest.raises(ReservedForm):
        encode(value)


@pytest.mark.parametrize(
    ("value", "data"),
    [
        ({"/": 1}, b'{"/":1}'),
        ({"/": {"bytes": 1}}, b'{"/":{"bytes":1}}'),
        ({"/": {"a": "x", "bytes": "y"}}, b'{"/":{"a":"x","bytes":"y"}}'),
        ({"": "x", "/": "y"}, b'{"":"x","/":"y"}'),
        ({"/": {}}, b'{"/":{}}'),
        ({"/": b"\x01"}, b'{"/":{"/":{"bytes":"AQ"}}}'),
        ({"/": LINK}, b'{"/":{"/":"' + str(LINK).encode() + b'"}}'),
        ({"/": [LINK]}, b'{"/":[{"/":"' + str(LINK).encode() + b'"}]}'),
    ],
)
def test_maps_with_a_slash_key_outside_the_reserved_forms_are_fine(
    value: dagjson.Encodable, data: bytes
) -> None:
    assert encode(value) == data
    assert decode(data) == value


class Level(IntEnum):
    HIGH = 3


def test_subclasses_and_tuples_encode_as_their_kind() -> None:
    assert encode((1, (2,), True)) == b"[1,[2],true]"
    assert encode(Level.HIGH) == b"3"
    assert encode({"k": Level.HIGH}) == b'{"k":3}'


class Colour(str, Enum):  # noqa: UP042 - the mixin, not StrEnum, whose str() is its value
    RED = "red"


class Shouting(str):
    def __str__(self) -> str:
        return self.upper()


def test_a_str_subclass_encodes_as_its_characters_not_its_str() -> None:
    # A (str, Enum) member was written as str() spells it, "Colour.RED", as a value (but "red"
    # as a map key): a string subclass is its characters, as an IntEnum is its number.
    assert encode(Colour.RED) == b'"red"'
    assert encode({"k": Colour.RED, Colour.RED: [Colour.RED]}) == b'{"k":"red","red":["red"]}'
    assert encode(Shouting("quiet")) == b'"quiet"'


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ({1: "a"}, "keys are strings"),
        ({None: 1}, "keys are strings"),
        ({"a", "b"}, "set is not"),
        (object(), "object is not"),
        ({"a": [1, {"b": 1j}]}, "complex is not"),
        ("\ud800", "lone surrogate"),
        ({"\udfff": 1}, "lone surrogate"),
        (range(3), "range is not"),
    ],
)
def test_encode_refuses_values_outside_the_data_model(value: Any, match: str) -> None:
    with pytest.raises(DagJsonEncodeError, match=match):
        encode(value)


def test_encode_errors_name_the_path() -> None:
    with pytest.raises(DagJsonEncodeError) as info:
        encode({"genome": {"rates": [0.1, math.nan]}})
    assert info.value.path == "$['genome']['rates'][1]"
    assert "$['genome']['rates'][1]" in str(info.value)


def test_depth_limit() -> None:
    ok: Any = []
    for _ in range(MAX_DEPTH - 1):
        ok = [ok]
    assert decode(encode(ok)) == ok
    too_deep = [ok]
    with pytest.raises(DagJsonEncodeError, match="nested deeper"):
        encode(too_deep)
    with pytest.raises(DagJsonDecodeError, match="nested deeper"):
        decode(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1))
    with pytest.raises(DagJsonDecodeError):
        decode(b"[" * 100_000 + b"]" * 100_000)


# --- strict decoding ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b" 1", b"1 ", b"[1, 2]", b'{"a": 1}', b"\n[]", b"2.0", b"-0", b"0.0", b"1E5",
        b"1e21", b"1e+021", b"1.0e+21", b"0.10", b"1e-07", b"1e-6", b"0.0000001",
        b'{"b":1,"a":2}', b'"\\u0041"', b'"\\/"', b'"\\u001F"', b'"\\u00e9"', b'"\\ud83d\\ude00"',
        b'{"/":{"bytes":"oQ=="}}', b'{"/":{"bytes":"oR"}}',
        b'{"/":"zdj7Wd8AMwqnhJGQCbFxBVodGSBG84TM7Hs1rcJuQMwTyfEDS"}',
        b'{"/":"BAFKQABIAAEBAGBA"}',
    ],
)  # fmt: skip
def test_non_canonical_spellings_are_refused(data: bytes) -> None:
    with pytest.raises(NonCanonical) as info:
        decode(data)
    assert info.value.offset is not None and info.value.found != info.value.expected


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "Expecting value"),
        (b"[1,", "Expecting value"),
        (b"[1,]", "Expecting value"),
        (b"{'a':1}", "property name"),
        (b"tru", "Expecting value"),
        (b"01", "Extra data"),
        (b"1 2", "Extra data"),
        (b'"a\nb"', "control character"),
        (b'"\\x"', "escape"),
        (b"\xff", "UTF-8"),
        (b'"\xed\xa0\x80"', "UTF-8"),  # an encoded surrogate
        (b"\xef\xbb\xbf1", "BOM|Expecting|Unexpected"),
        (b"NaN", "NaN"),
        (b"-Infinity", "Infinity"),
        (b"1e400", "inf"),
        (b"-0.0", "-0.0"),
        (b'"\\ud800"', "lone surrogate"),
        (b'{"foo":1,"foo":2}', "repeated map key 'foo'"),
        (b'{"/":"x"}', "link 'x'"),
        (b'{"/":"bafkqabiaaebagba","a":1}', "may not have other keys"),
        (b'{"/":{"bytes":"AQ","c":1}}', "may not have other keys"),
        (b'{"/":{"bytes":"AQ"},"z":1}', "may not have other keys"),
        (b'{"/":{"bytes":"A"}}', "base64"),
        (b'{"/":{"bytes":"-_8"}}', "base64"),
        (b'{"/":{"bytes":"A Q"}}', "base64"),
        (b"1" * 5000, "digits"),
    ],
)
def test_malformed_input_is_refused(data: bytes, match: str) -> None:
    with pytest.raises(DagJsonDecodeError, match=match) as info:
        decode(data)
    assert not isinstance(info.value, NonCanonical)


@settings(max_examples=50)
@given(st.sampled_from(HARD_FLOATS), st.sampled_from(["{:.17g}", "{:.16e}", "{!r}", "{:.20f}"]))
def test_other_float_spellings_of_the_same_value_are_refused(value: float, pattern: str) -> None:
    text = pattern.format(value)
    if text == float_text(value):
        assert decode(text.encode()) == value
        return
    if text.lstrip("-").isdigit():
        assert decode(text.encode()) == int(text)  # an integer token: a different, valid value
        return
    with pytest.raises(DagJsonDecodeError):
        decode(text.encode())


def test_an_integer_too_long_for_python_is_refused_in_our_words() -> None:
    # Python's message told the reader to call sys.set_int_max_str_digits().
    with pytest.raises(DagJsonDecodeError, match="thousands of digits") as info:
        decode(b"1" * 5000)
    assert "sys." not in str(info.value)
