from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mindgit.errors import MindgitError
from mindgit.ipld import dagcbor, dagjson
from mindgit.ipld.car import (
    DEFAULT_MAX_BLOCK_SIZE,
    CarBlockTooLarge,
    CarError,
    CarHeaderError,
    CarReader,
    CarReaderExhausted,
    CarSectionError,
    CarTruncated,
    write_car,
)
from mindgit.ipld.cid import CID, DAG_PB, RAW, SHA2_256, CIDMismatch, UnsupportedHash
from mindgit.ipld.varint import encode_uvarint

from .strategies import cids


def block(value: dagjson.Encodable) -> tuple[CID, bytes]:
    data = dagjson.encode(value)
    return CID.of(data), data


def car_bytes(roots: list[CID], blocks: list[tuple[CID, bytes]]) -> bytes:
    out = io.BytesIO()
    written = write_car(out, roots, blocks)
    assert written == len(out.getvalue())
    return out.getvalue()


def read_all(
    data: bytes, *, max_block_size: int = DEFAULT_MAX_BLOCK_SIZE, verify: bool = True
) -> tuple[tuple[CID, ...], list[tuple[CID, bytes]]]:
    reader = CarReader(io.BytesIO(data), max_block_size=max_block_size, verify=verify)
    return reader.roots, list(reader)


def header(value: Any) -> bytes:
    raw = dagcbor.encode(value)
    return encode_uvarint(len(raw)) + raw


def section(cid_bytes: bytes, data: bytes, length: int | None = None) -> bytes:
    size = len(cid_bytes) + len(data) if length is None else length
    return encode_uvarint(size) + cid_bytes + data


LEAF = (CID.of(b"leaf", RAW), b"leaf")
GOOD = block({"name": "root", "leaf": LEAF[0]})
GOOD_HEADER = header({"roots": [GOOD[0]], "version": 1})


blocks_strategy = st.lists(
    st.one_of(
        st.binary(max_size=300).map(lambda d: (CID.of(d, RAW), d)),
        # Keys without "/" or astral characters: every map here is encodable.
        st.dictionaries(
            st.text("abc\u00e9\u6c34", max_size=5),
            st.integers(-(2**63), 2**63) | st.text(),
            max_size=4,
        ).map(block),
    ),
    max_size=12,
)


@given(blocks_strategy, st.lists(cids(), min_size=1, max_size=3))
def test_round_trip(blocks: list[tuple[CID, bytes]], roots: list[CID]) -> None:
    data = car_bytes(roots, blocks)
    got_roots, got_blocks = read_all(data)
    assert got_roots == tuple(roots)
    assert got_blocks == blocks


def test_layout_is_exactly_the_spec() -> None:
    data = car_bytes([GOOD[0]], [GOOD, LEAF])
    raw_header = dagcbor.encode({"roots": [GOOD[0]], "version": 1})
    expected = encode_uvarint(len(raw_header)) + raw_header
    for cid, payload in (GOOD, LEAF):
        expected += encode_uvarint(len(cid.to_bytes()) + len(payload)) + cid.to_bytes() + payload
    assert data == expected


def test_write_car_streams_an_iterator() -> None:
    def generate() -> Iterator[tuple[CID, bytes]]:
        for i in range(100):
            yield block({"i": i})

    data = car_bytes([block({"i": 0})[0]], list(generate()))
    out = io.BytesIO()
    assert write_car(out, [block({"i": 0})[0]], generate()) == len(data)
    assert out.getvalue() == data


def test_cidv0_blocks_and_empty_blocks() -> None:
    payload = b"\x0a\x02\x08\x01"  # bytes, hashed as a dag-pb block would be
    v0 = CID(0, DAG_PB, SHA2_256, CID.of(payload).digest)
    empty = (CID.of(b"", RAW), b"")
    roots, blocks = read_all(car_bytes([v0], [(v0, payload), empty]))
    assert roots == (v0,) and blocks == [(v0, payload), empty]


def test_write_car_refuses_no_roots_and_non_cids() -> None:
    with pytest.raises(CarError, match="at least one root"):
        write_car(io.BytesIO(), [], [])
    with pytest.raises(CarError, match="not a CID"):
        write_car(io.BytesIO(), ["bafy"], [])  # type: ignore[list-item]


def test_reader_accepts_empty_roots_as_javascript_does() -> None:
    roots, blocks = read_all(
        header({"roots": [], "version": 1}) + section(LEAF[0].to_bytes(), LEAF[1])
    )
    assert roots == () and blocks == [LEAF]


def test_a_reader_iterates_once() -> None:
    reader = CarReader(io.BytesIO(car_bytes([GOOD[0]], [GOOD])))
    assert list(reader) == [GOOD]
    with pytest.raises(CarReaderExhausted):
        iter(reader)


# --- the header -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        (b"", CarTruncated, "empty stream"),
        (b"\x00", CarHeaderError, "zero-length"),
        (b"\x80\x00", CarHeaderError, "not minimally"),
        (b"\xff" * 10, CarHeaderError, "longer than 9"),
        (b"\x80", CarTruncated, "inside the header length"),
        (b"\x0a\xa2", CarTruncated, "inside the header"),
        (header({"roots": [], "version": 2}), CarHeaderError, "version 2"),
        (header({"version": 2}), CarHeaderError, "version 2"),
        (header({"roots": [], "version": True}), CarHeaderError, "version True"),
        (header({"roots": []}), CarHeaderError, "version None"),
        (header({"version": 1}), CarHeaderError, "no roots list"),
        (header({"roots": "x", "version": 1}), CarHeaderError, "no roots list"),
        (header({"roots": [1], "version": 1}), CarHeaderError, "not a CID"),
        (header({"roots": [], "version": 1, "x": 0}), CarHeaderError, "unknown header keys"),
        (header([1]), CarHeaderError, "not a map"),
        (b"\x03\xa1\x01\x01", CarHeaderError, "not DAG-CBOR"),
        (b"\x02\x18\x01", CarHeaderError, "not DAG-CBOR"),
    ],
)
def test_bad_headers(data: bytes, error: type[CarError], match: str) -> None:
    with pytest.raises(error, match=match):
        CarReader(io.BytesIO(data))


def test_header_larger_than_the_limit_is_not_read() -> None:
    data = encode_uvarint(10_000) + b"\xa2"
    with pytest.raises(CarBlockTooLarge) as info:
        CarReader(io.BytesIO(data), max_block_size=1024)
    assert info.value.cid is None and info.value.size == 10_000


# --- sections -------------------------------------------------------------------------------


GOOD_CID = GOOD[0].to_bytes()


@pytest.mark.parametrize(
    ("body", "error", "match"),
    [
        (b"\x00", CarSectionError, "zero-length section"),
        (b"\x80\x00", CarSectionError, "not minimally"),
        (b"\xff" * 10, CarSectionError, "longer than 9"),
        (b"\x80", CarTruncated, "inside a section length"),
        (section(GOOD_CID, GOOD[1])[:-1], CarTruncated, "inside block"),
        (section(GOOD_CID, GOOD[1])[:10], CarTruncated, "inside a section's CID"),
        (encode_uvarint(40) + b"\x01\x71", CarTruncated, "CID, before its hash function"),
        (section(b"\x02" + GOOD_CID[1:], GOOD[1]), CarSectionError, "version byte 0x2"),
        (section(b"\x00" + GOOD_CID[1:], GOOD[1]), CarSectionError, "version byte 0x0"),
        (section(b"\x12\x21" + bytes(33), b""), CarSectionError, "not 32 bytes"),
        (section(b"\x12\x20" + bytes(32), b"", length=20), CarSectionError, "too short for its CIDv0"),
        (section(GOOD_CID, b"", length=10), CarSectionError, "longer than its section"),
        (encode_uvarint(10) + b"\x01\x71\x12" + encode_uvarint(2**62), CarSectionError, "longer than its section"),
        (encode_uvarint(50) + b"\x01\x80\x00", CarSectionError, "codec: not minimally"),
    ],
)  # fmt: skip
def test_bad_sections(body: bytes, error: type[CarError], match: str) -> None:
    reader = CarReader(io.BytesIO(GOOD_HEADER + body))
    with pytest.raises(error, match=match):
        list(reader)


class NoReadsPast(io.BytesIO):
    """A stream that fails the test if anyone reads beyond ``limit`` bytes."""

    def __init__(self, data: bytes, limit: int) -> None:
        super().__init__(data)
        self.limit = limit

    def read(self, size: int | None = -1) -> bytes:
        assert size is not None and size >= 0 and self.tell() + size <= self.limit, "read too far"
        return super().read(size)


def test_a_block_larger_than_the_limit_is_refused_before_it_is_read() -> None:
    claimed = len(GOOD_CID) + (1 << 40)
    prefix = GOOD_HEADER + encode_uvarint(claimed) + GOOD_CID
    stream = NoReadsPast(prefix + b"x" * 100, limit=len(prefix))
    reader = CarReader(stream, max_block_size=1 << 20)
    with pytest.raises(CarBlockTooLarge) as info:
        list(reader)
    assert info.value.cid == GOOD[0] and info.value.size == 1 << 40
    assert info.value.limit == 1 << 20


def test_max_block_size_is_inclusive() -> None:
    data = car_bytes([GOOD[0]], [GOOD])
    assert read_all(data, max_block_size=len(GOOD[1]))[1] == [GOOD]
    with pytest.raises(CarBlockTooLarge):
        read_all(data, max_block_size=len(GOOD[1]) - 1)


def test_a_block_that_does_not_match_its_cid() -> None:
    data = GOOD_HEADER + section(GOOD_CID, GOOD[1].replace(b"root", b"toor"))
    with pytest.raises(CIDMismatch) as info:
        read_all(data)
    assert info.value.cid == GOOD[0]
    assert read_all(data, verify=False)[1][0][0] == GOOD[0]


def test_other_hashes_need_verify_false() -> None:
    inline = CID.parse("bafkqabiaaebagba")  # identity multihash
    sha512 = CID(1, RAW, 0x13, bytes(64))
    data = GOOD_HEADER + section(inline.to_bytes(), b"") + section(sha512.to_bytes(), b"x")
    with pytest.raises(UnsupportedHash):
        read_all(data)
    assert [cid for cid, _ in read_all(data, verify=False)[1]] == [inline, sha512]


def test_blocks_are_yielded_before_a_later_error() -> None:
    data = GOOD_HEADER + section(GOOD_CID, GOOD[1]) + b"\x00"
    reader = CarReader(io.BytesIO(data))
    iterator = iter(reader)
    assert next(iterator) == GOOD
    with pytest.raises(CarSectionError):
        next(iterator)


# --- fuzzing --------------------------------------------------------------------------------


def consume(data: bytes, verify: bool) -> None:
    try:
        reader = CarReader(io.BytesIO(data), max_block_size=4096, verify=verify)
        for _ in reader:
            pass
    except MindgitError:
        pass


@given(st.binary(max_size=400), st.booleans())
def test_random_bytes_raise_only_mindgit_errors(data: bytes, verify: bool) -> None:
    consume(data, verify)
    consume(GOOD_HEADER + data, verify)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(blocks_strategy, st.data(), st.booleans())
def test_mutated_cars_raise_only_mindgit_errors(
    blocks: list[tuple[CID, bytes]], data: st.DataObject, verify: bool
) -> None:
    raw = bytearray(car_bytes([GOOD[0]], blocks))
    for _ in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = data.draw(st.integers(0, len(raw)))
        if action == "flip" and at < len(raw):
            raw[at] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "cut":
            del raw[at:]
        elif action == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=9))
        elif action == "delete" and at < len(raw):
            del raw[at : at + data.draw(st.integers(1, 9))]
    consume(bytes(raw), verify)


@pytest.mark.parametrize("digest_length", [2**50, DEFAULT_MAX_BLOCK_SIZE + 1])
def test_a_huge_cid_digest_in_a_real_file_is_refused_before_it_is_read(
    tmp_path: Path, digest_length: int
) -> None:
    # A buffered file's read(n) allocates n bytes up front: a declared 2**50-byte digest was a
    # MemoryError (exit 3), not a CarError.
    path = tmp_path / "huge-digest.car"
    cid_start = b"\x01\x71\x12" + encode_uvarint(digest_length)
    path.write_bytes(GOOD_HEADER + encode_uvarint(2**62) + cid_start + b"x" * 10)
    with path.open("rb") as stream, pytest.raises(CarSectionError, match="digest is"):
        list(CarReader(stream))


def test_a_long_declared_length_is_read_in_bounded_pieces() -> None:
    sizes: list[int] = []

    class Recording(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            assert size is not None
            sizes.append(size)
            return super().read(size)

    claimed = len(GOOD_CID) + DEFAULT_MAX_BLOCK_SIZE
    stream = Recording(GOOD_HEADER + encode_uvarint(claimed) + GOOD_CID + b"x" * 100)
    with pytest.raises(CarTruncated, match="inside block"):
        list(CarReader(stream))
    assert max(sizes) <= 1 << 20
