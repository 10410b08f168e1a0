from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mindgit.ipld import dagcbor
from mindgit.ipld.cid import CID
from mindgit.ipld.dagcbor import DagCborError

from .strategies import cids

LINK = CID.of(b"null")

cbor_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64), 2**64 - 1) | st.text() | st.binary() | cids(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=6), children, max_size=5)
    ),
    max_leaves=30,
)


@given(cbor_values)
def test_round_trip(value: dagcbor.CborValue) -> None:
    data = dagcbor.encode(value)
    assert dagcbor.decode(data) == value
    assert dagcbor.encode(dagcbor.decode(data)) == data


@given(st.binary(max_size=100))
def test_decode_raises_only_dag_cbor_error_and_is_canonical(data: bytes) -> None:
    try:
        value = dagcbor.decode(data)
    except DagCborError:
        return
    assert dagcbor.encode(value) == data


def test_car_header_bytes() -> None:
    header = {"roots": [LINK], "version": 1}
    data = dagcbor.encode(header)
    raw_cid = b"\x00" + LINK.to_bytes()
    expected = (
        b"\xa2\x65roots\x81\xd8\x2a\x58" + bytes([len(raw_cid)]) + raw_cid + b"\x67version\x01"
    )
    assert data == expected
    assert dagcbor.decode(data) == header


@pytest.mark.parametrize(
    ("value", "data"),
    [
        (0, b"\x00"), (23, b"\x17"), (24, b"\x18\x18"), (255, b"\x18\xff"), (256, b"\x19\x01\x00"),
        (2**32, b"\x1b\x00\x00\x00\x01\x00\x00\x00\x00"), (-1, b"\x20"), (-(2**64), b"\x3b" + b"\xff" * 8),
        ("a", b"\x61a"), (b"\x01", b"\x41\x01"), ([], b"\x80"), ({}, b"\xa0"),
        (True, b"\xf5"), (False, b"\xf4"), (None, b"\xf6"),
        ({"b": 1, "aa": 2}, b"\xa2\x61b\x01\x62aa\x02"),  # length first, then bytes
    ],
)  # fmt: skip
def test_known_encodings(value: dagcbor.CborValue, data: bytes) -> None:
    assert dagcbor.encode(value) == data
    assert dagcbor.decode(data) == value


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "needs 1 more"),
        (b"\x18\x05", "not minimally"),
        (b"\x19\x00\xff", "not minimally"),
        (b"\x1a\x00\x00\xff\xff", "not minimally"),
        (b"\x1b\x00\x00\x00\x00\xff\xff\xff\xff", "not minimally"),
        (b"\x5f\x41\x01\xff", "indefinite"),
        (b"\x9f\xff", "indefinite"),
        (b"\x1c", "indefinite lengths and reserved"),
        (b"\xa2\x62aa\x01\x61b\x02", "out of canonical order"),
        (b"\xa2\x61a\x01\x61a\x02", "repeated"),
        (b"\xa1\x01\x02", "keys must be text"),
        (b"\xc1\x00", "tag 1"),
        (b"\xd8\x2a\x41\x01", "starting with 0x00"),
        (b"\xd8\x2a\x01", "starting with 0x00"),
        (b"\xd8\x2a\x42\x00\x01", "holds no CID"),
        (b"\xf9\x3c\x00", "floats"),
        (b"\xfb\x3f\xf0\x00\x00\x00\x00\x00\x00", "floats"),
        (b"\xf7", "simple value 23"),
        (b"\x00\x00", "1 bytes after"),
        (b"\x62a", "needs 2 more"),
        (b"\x62\xff\xfe", "UTF-8"),
        (b"\x9b\x00\x00\x00\x01\x00\x00\x00\x00", "cannot fit"),
        (b"\xbb\x00\x00\x00\x01\x00\x00\x00\x00", "cannot fit"),
        (b"\x81" * 100 + b"\x00", "nested deeper"),
    ],
)
def test_decode_refuses(data: bytes, match: str) -> None:
    with pytest.raises(DagCborError, match=match):
        dagcbor.decode(data)


@pytest.mark.parametrize(
    ("value", "match"),
    [(1.5, "float is not supported"), ({1: 2}, "keys must be strings"), (2**64, "64 bits"),
     (-(2**64) - 1, "64 bits"), ("\ud800", "lone surrogate"), (object(), "object is not")],
)  # fmt: skip
def test_encode_refuses(value: Any, match: str) -> None:
    with pytest.raises(DagCborError, match=match):
        dagcbor.encode(value)


def test_encode_refuses_deep_nesting() -> None:
    value: Any = []
    for _ in range(100):
        value = [value]
    with pytest.raises(DagCborError, match="nested deeper"):
        dagcbor.encode(value)
