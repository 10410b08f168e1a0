"""The C-codec fast path of ``decode`` never accepts what the exact path refuses, nor reads a
block differently: it either gives the exact path's value or steps aside (``_Fallback``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID
from mindgit.ipld.dagjson import _exact_decode, _Fallback, _fast_decode

from .conftest import CODEC_FIXTURES
from .strategies import encodable_or_none, finite_floats, nodes

DAG_JSON_FILES = sorted((CODEC_FIXTURES / "fixtures").glob("*/*.dag-json"))
NEGATIVE = [
    bytes.fromhex(case["hex"])
    for path in sorted((CODEC_FIXTURES / "negative-fixtures" / "dag-json").glob("*/*.json"))
    for case in json.loads(path.read_text())
]


def same(a: object, b: object) -> bool:
    """Equal values of the same kinds all the way down (so 1 is not 1.0 and True is not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def exact_outcome(data: bytes) -> object:
    try:
        return _exact_decode(data)
    except dagjson.DagJsonDecodeError as error:
        return type(error)


def assert_agrees(data: bytes) -> bool:
    """The fast path agrees with the exact one on ``data``; True if it did not step aside."""
    try:
        fast = _fast_decode(data)
    except _Fallback:
        return False
    exact = exact_outcome(data)
    assert not isinstance(exact, type), f"fast path accepted {data!r}, exact path raised {exact}"
    assert same(fast, exact), (data, fast, exact)
    outcome = dagjson.decode(data)
    assert same(outcome, exact)
    return True


@settings(max_examples=500)
@given(nodes())
def test_canonical_blocks_read_the_same_both_ways(value: dagjson.Node) -> None:
    data = encodable_or_none(value)
    if data is not None:
        assert_agrees(data)


# Edits that keep valid JSON but may break canonical form, or break JSON altogether.
EDITS = [
    (b":", b": "),
    (b",", b", "),
    (b"[", b"[ "),
    (b"}", b" }"),
    (b"e-", b"e-0"),
    (b"e+", b"e"),
    (b"e+", b"E+"),
    (b".", b".0"),
    (b"0", b"0.0"),
    (b"1", b"1.0"),
    (b"1", b"01"),
    (b"1", b"-0"),
    (b'"', b'"\\u0041'),
    (b"\\n", b"\\u000a"),
    (b"\\u00", b"\\u00"),
    (b"\\u001f", b"\\u001F"),
    (b'"/"', b'"/","x":1,"y"'),
    (b'{"', b'{"a":1,"'),
    (b"==", b""),
    (b'"}', b'=="}'),
    (b'"b', b'"B'),
    (b'":"b', b'":"B'),
    (b'"/":"', b'"/":"z'),
    (b"true", b"1"),
    (b"null", b"NaN"),
    (b"null", b"Infinity"),
]


@settings(max_examples=1000)
@given(nodes(), st.sampled_from(EDITS), st.integers(0, 5))
def test_edited_blocks_are_never_read_differently(
    value: dagjson.Node, edit: tuple[bytes, bytes], skip: int
) -> None:
    data = encodable_or_none(value)
    if data is None:
        return
    old, new = edit
    at = -1
    for _ in range(skip + 1):
        at = data.find(old, at + 1)
        if at < 0:
            return
    assert_agrees(data[:at] + new + data[at + len(old) :])


@given(st.binary(max_size=60))
def test_arbitrary_bytes_are_never_read_differently(data: bytes) -> None:
    assert_agrees(data)


@given(st.text(max_size=40), st.text(max_size=8))
def test_strings_and_keys_are_never_read_differently(text: str, key: str) -> None:
    for raw in (json.dumps(text), json.dumps(text, ensure_ascii=False)):
        for candidate in (raw, f"{{{json.dumps(key, ensure_ascii=False)}:{raw}}}"):
            try:
                data = candidate.encode("utf-8")
            except UnicodeEncodeError:
                continue
            assert_agrees(data)


@given(finite_floats())
def test_floats_are_never_read_differently(x: float) -> None:
    for spelled in {repr(x), dagjson.float_text(x), json.dumps(x), f"{x:e}", f"{x:.17g}"}:
        assert_agrees(spelled.encode())
        assert_agrees(f"[{spelled}]".encode())


@pytest.mark.parametrize(
    "data",
    [
        b"1e-07",  # Python's repr; canonical is 1e-7
        b"2.0",
        b"-0",
        b"-0.0",
        b"0.10",
        b"18446744073709551616",
        b"-18446744073709551617",
        b'{"a":1,"a":1}',
        b'{"b":1,"a":2}',
        b'"\\u0041"',
        b'"\\ud800"',
        b'"\\ud83d\\ude00"',
        b'"\\u001F"',
        b'"\\/"',
        b' {"a":1}',
        b'{"a":1} ',
        '{"\ue000":1,"\U0001f600":2}'.encode(),
        '{"\U0001f600":2,"\ue000":1}'.encode(),
        b'{"/":"x"}',
        b'{"/":"BAFYREIBZYQUIYCT3OA6VIZVGNQSWFYRJ2WPQGP6VKJVROJ3KIPQ3H7NJUA"}',
        b'{"/":"bafyreibzyquiyct3oa6vizvgnqswfyrj2wpqgp6vkjvroj3kipq3h7njua","x":1}',
        b'{"/":{"bytes":"AQ=="}}',
        b'{"/":{"bytes":"AR"}}',
        b'{"/":{"bytes":"AQ","x":1}}',
        b'{"/":{"bytes":5}}',
        b'{"/":5}',
        b"[" * (dagjson.MAX_DEPTH + 1) + b"]" * (dagjson.MAX_DEPTH + 1),
        b"[" * 100_000,
        b"NaN",
        b"\xff",
        b"\xef\xbb\xbf1",
    ],
)
def test_blocks_the_fast_path_must_leave_to_the_exact_one(data: bytes) -> None:
    with pytest.raises(_Fallback):
        _fast_decode(data)
    assert_agrees(data)


@pytest.mark.parametrize("path", DAG_JSON_FILES, ids=lambda p: p.parent.name)
def test_fixture_blocks_read_the_same_both_ways(path: Path) -> None:
    assert_agrees(path.read_bytes())


def test_negative_fixtures_are_left_to_the_exact_path() -> None:
    for data in NEGATIVE:
        with pytest.raises(_Fallback):
            _fast_decode(data)


def test_the_fast_path_reads_a_typical_manifest() -> None:
    """Otherwise the tests above would pass with a fast path that always steps aside."""
    link = CID.of(b"{}")
    value: dagjson.Node = {
        "data": {"tools": link},
        "genome": {"x": {"max": 5.12, "min": -5.12, "type": "float", "value": 0.125}},
        "schema": 1,
        "thoughts": [link],
        "bytes": b"\x01\x02",
        "text": 'caf\u00e9 "quoted"\n\x01',
        "big": 2**64 - 1,
        "float": 9007199254740992.0,
    }
    assert assert_agrees(dagjson.encode(value))
