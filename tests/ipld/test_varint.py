from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multiformats import varint as mf_varint

from mindgit.ipld.varint import (
    MAX_UVARINT,
    VarintError,
    VarintTruncated,
    decode_uvarint,
    encode_uvarint,
    read_uvarint,
)


@given(st.integers(0, MAX_UVARINT))
def test_encode_matches_multiformats_and_round_trips(n: int) -> None:
    raw = encode_uvarint(n)
    assert raw == mf_varint.encode(n)
    assert decode_uvarint(raw) == (n, len(raw))
    stream = io.BytesIO(raw + b"\x05")
    assert read_uvarint(stream) == n
    assert stream.read() == b"\x05"


@given(st.lists(st.integers(0, MAX_UVARINT), max_size=20))
def test_a_stream_of_varints_reads_back_then_ends_cleanly(values: list[int]) -> None:
    stream = io.BytesIO(b"".join(encode_uvarint(v) for v in values))
    assert [read_uvarint(stream) for _ in values] == values
    assert read_uvarint(stream) is None


@pytest.mark.parametrize(
    ("n", "raw"),
    [(0, b"\x00"), (1, b"\x01"), (127, b"\x7f"), (128, b"\x80\x01"), (300, b"\xac\x02"),
     (16384, b"\x80\x80\x01"), (MAX_UVARINT, b"\xff" * 8 + b"\x7f")],
)  # fmt: skip
def test_known_encodings(n: int, raw: bytes) -> None:
    assert encode_uvarint(n) == raw
    assert decode_uvarint(raw) == (n, len(raw))


@pytest.mark.parametrize("n", [-1, MAX_UVARINT + 1, 2**64])
def test_encode_refuses_out_of_range(n: int) -> None:
    with pytest.raises(VarintError):
        encode_uvarint(n)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"\x80\x00", "not minimally encoded"),
        (b"\x81\x00", "not minimally encoded"),
        (b"\xff\x80\x00", "not minimally encoded"),
        (b"\xff" * 9 + b"\x01", "longer than 9 bytes"),
        (b"\x80" * 9 + b"\x00", "longer than 9 bytes"),
    ],
)
def test_decode_refuses_non_minimal_and_overlong(raw: bytes, error: str) -> None:
    with pytest.raises(VarintError, match=error) as info:
        decode_uvarint(raw)
    assert not isinstance(info.value, VarintTruncated)
    with pytest.raises(VarintError, match=error):
        read_uvarint(io.BytesIO(raw))


@pytest.mark.parametrize("raw", [b"\x80", b"\xff\xff", b"\x80" * 8])
def test_truncated_varints(raw: bytes) -> None:
    with pytest.raises(VarintTruncated):
        decode_uvarint(raw)
    with pytest.raises(VarintTruncated):
        read_uvarint(io.BytesIO(raw))


def test_empty_input() -> None:
    assert read_uvarint(io.BytesIO(b"")) is None
    with pytest.raises(VarintTruncated):
        decode_uvarint(b"")


def test_values_beyond_63_bits_are_refused_even_with_a_larger_byte_limit() -> None:
    raw = b"\x80" * 9 + b"\x01"  # 2**63: needs a tenth byte
    with pytest.raises(VarintError, match="exceeds"):
        read_uvarint(io.BytesIO(raw), max_bytes=10)


def test_decode_at_an_offset() -> None:
    raw = b"\x01\xac\x02\x7f"
    assert decode_uvarint(raw, 1) == (300, 3)
    assert decode_uvarint(raw, 3) == (127, 4)
