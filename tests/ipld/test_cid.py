from __future__ import annotations

import base64
import hashlib
import pickle
import subprocess
import sys

import multiformats
import pytest
from hypothesis import given
from hypothesis import strategies as st
from multiformats import multibase, multihash

from mindgit.ipld.cid import (
    CID,
    DAG_CBOR,
    DAG_JSON,
    DAG_PB,
    IDENTITY,
    RAW,
    SHA2_256,
    CIDMismatch,
    InvalidCID,
    UnsupportedHash,
    base32,
    base32_digests,
)

from .strategies import CODECS, cids

V0_TEXT = "QmQg1v4o9xdT3Q14wh4S7dxZkDjyZ9ssFzFzyep1YrVJBY"


def reference(data: bytes, codec: int) -> multiformats.CID:
    digest = multihash.wrap(hashlib.sha256(data).digest(), "sha2-256")
    return multiformats.CID("base32", 1, codec, digest)


@given(st.binary(max_size=2048), st.sampled_from(CODECS))
def test_fast_path_equals_multiformats(data: bytes, codec: int) -> None:
    ours = CID.of(data, codec)
    ref = reference(data, codec)
    assert str(ours) == str(ref)
    assert ours.to_bytes() == bytes(ref)
    assert (ours.version, ours.codec, ours.hash_code, ours.digest) == (
        ref.version,
        ref.codec.code,
        ref.hashfun.code,
        bytes(ref.raw_digest),
    )
    assert CID.parse(str(ref)) == ours
    assert CID.parse(bytes(ref)) == ours


@given(cids())
def test_any_cid_round_trips_through_text_and_bytes(cid: CID) -> None:
    assert CID.parse(str(cid)) == cid
    assert CID.parse(cid.to_bytes()) == cid
    assert str(CID.parse(str(cid))) == str(cid)


@given(st.binary(min_size=32, max_size=32))
def test_cidv0_text_equals_multiformats(digest: bytes) -> None:
    cid = CID(0, DAG_PB, SHA2_256, digest)
    ref = multiformats.CID("base58btc", 0, "dag-pb", multihash.wrap(digest, "sha2-256"))
    assert str(cid) == str(ref)
    assert CID.parse(str(ref)) == cid


@given(
    st.binary(max_size=64),
    st.sampled_from(
        ["base32upper", "base58btc", "base64", "base64url", "base16", "base36", "base2"]
    ),
)
def test_parse_reads_any_multibase(data: bytes, base: str) -> None:
    cid = CID.of(data, RAW)
    text = multibase.encode(cid.to_bytes(), base)
    assert CID.parse(text) == cid


def test_known_values() -> None:
    assert str(CID.of(b"null")) == "baguqeeraoqru5gfp45ey7no26hzwvqwxrlgdhfde7fihao4magmjf6mcxefq"
    inline = CID.parse("bafkqabiaaebagba")
    assert (inline.version, inline.codec, inline.hash_code, inline.digest) == (
        1,
        RAW,
        IDENTITY,
        bytes([0, 1, 2, 3, 4]),
    )
    v0 = CID.parse(V0_TEXT)
    assert v0.version == 0 and str(v0) == V0_TEXT
    assert v0.to_bytes()[:2] == b"\x12\x20"
    # The same multihash as CIDv1 is a different CID, written in base32.
    assert str(CID(1, DAG_PB, SHA2_256, v0.digest)).startswith("bafybei")


def test_value_semantics() -> None:
    a = CID.of(b"x")
    b = CID.parse(str(a))
    assert a == b and hash(a) == hash(b) and {a: 1}[b] == 1
    assert CID.of(b"x", RAW) != a
    assert repr(a) == f"CID({str(a)!r})"
    assert pickle.loads(pickle.dumps(a)) == a
    with pytest.raises(AttributeError):
        a.codec = RAW  # type: ignore[misc]
    assert CID(1, DAG_JSON, SHA2_256, bytearray(a.digest)) == a  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "bafy",  # impossible base32 length
        "b" + "a" * 58,  # decodes, but the version byte is 0
        "bafkqabiaaebagbA",  # uppercase inside the 'b' base
        "bafkqabiaaebagbb",  # non-zero padding bits
        "bafkqabiaaebagba=",
        "bafkqabiaaebag",  # digest shorter than its length says
        "bafkqabiaaebagbaaa",  # bytes after the digest
        "QmQg1v4o9xdT3Q14wh4S7dxZkDjyZ9ssFzFzyep1YrVJB0",  # '0' is not base58
        "QmQg1v4o9xdT3Q14wh4S7dxZkDjyZ9ssFzFzyep1YrVJBYx",
        "z1",
        "!notabase",
        "mAXESIBUq",  # base64 CIDv1 header with a cut digest
        "f0212" + "00" * 32,  # version 2
        "f01" + "80" + "00" + "1220" + "00" * 32,  # non-minimal varint codec
        "Qm" + "1" * 44,
    ],
)
def test_parse_refuses_bad_text(text: str) -> None:
    with pytest.raises(InvalidCID) as info:
        CID.parse(text)
    assert info.value.value == text
    assert "not a CID" in str(info.value)


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00", b"\x01", b"\x02\x71\x12\x20" + bytes(32), b"\x01\x71\x12\x20" + bytes(31),
     b"\x01\x71\x12\x20" + bytes(33), b"\x12\x20" + bytes(31), b"\x01\x80\x00\x12\x00"],
)  # fmt: skip
def test_parse_refuses_bad_binary(raw: bytes) -> None:
    with pytest.raises(InvalidCID):
        CID.parse(raw)


def test_parse_refuses_other_types() -> None:
    with pytest.raises(InvalidCID, match="expected str or bytes"):
        CID.parse(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("version", "codec", "hash_code", "digest"),
    [(2, DAG_JSON, SHA2_256, bytes(32)), (0, DAG_CBOR, SHA2_256, bytes(32)),
     (0, DAG_PB, IDENTITY, bytes(32)), (0, DAG_PB, SHA2_256, bytes(31)),
     (1, -1, SHA2_256, b""), (1, DAG_JSON, 2**63, b""), (1, DAG_JSON, SHA2_256, "nope")],
)  # fmt: skip
def test_constructor_refuses_impossible_cids(
    version: int, codec: int, hash_code: int, digest: bytes
) -> None:
    with pytest.raises(InvalidCID):
        CID(version, codec, hash_code, digest)


@given(st.text(max_size=120) | st.binary(max_size=120).map(base64.b32encode).map(bytes.decode))
def test_parse_raises_only_invalid_cid_on_garbage_text(text: str) -> None:
    try:
        cid = CID.parse(text)
    except InvalidCID:
        return
    assert CID.parse(cid.to_bytes()) == cid


@given(st.binary(max_size=80))
def test_parse_raises_only_invalid_cid_on_garbage_bytes(raw: bytes) -> None:
    try:
        cid = CID.parse(raw)
    except InvalidCID:
        return
    assert cid.to_bytes() == raw


@given(st.binary(max_size=512))
def test_verify_accepts_the_right_bytes_and_names_the_wrong_ones(data: bytes) -> None:
    cid = CID.of(data)
    cid.verify(data)
    with pytest.raises(CIDMismatch) as info:
        cid.verify(data + b"!")
    assert info.value.cid == cid
    assert info.value.actual == CID.of(data + b"!")
    assert str(cid) in str(info.value)


@pytest.mark.parametrize(
    "cid",
    [
        CID.parse("bafkqabiaaebagba"),  # identity
        CID(1, RAW, 0x13, bytes(64)),  # sha2-512
        CID(1, RAW, SHA2_256, bytes(20)),  # truncated sha2-256
    ],
)
def test_verify_refuses_other_hashes(cid: CID) -> None:
    with pytest.raises(UnsupportedHash) as info:
        cid.verify(b"")
    assert info.value.cid == cid and info.value.hash_code == cid.hash_code


def test_str_is_cached_and_stable() -> None:
    cid = CID.of(b"cache me")
    first = str(cid)
    assert str(cid) is first


def test_importing_the_ipld_layer_does_not_import_multiformats() -> None:
    # multiformats takes ~100 ms to import; short CLI runs must not pay for it.
    code = (
        "import sys, mindgit.ipld.cid, mindgit.ipld.dagjson, mindgit.ipld.car;"
        "from mindgit.ipld.cid import CID; str(CID.parse(str(CID.of(b'x'))));"
        "print('multiformats' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@given(st.lists(st.binary(min_size=32, max_size=32), max_size=70))
def test_base32_digests_is_base32_of_each(digests: list[bytes]) -> None:
    assert base32_digests(digests) == [base32(d) for d in digests]


def test_base32_digests_takes_only_32_byte_digests() -> None:
    with pytest.raises(ValueError, match="32-byte digests"):
        base32_digests([bytes(32), bytes(31)])


def test_a_version_byte_0_is_refused_without_contradicting_itself() -> None:
    # It said "CID version 0 is not supported (only 0 and 1)".
    with pytest.raises(InvalidCID) as info:
        CID.parse(b"\x00\x70\x12\x20" + bytes(32))
    assert "only 0 and 1" not in str(info.value)
    assert info.value.reason.startswith("a version byte 0 is no CID")
    with pytest.raises(InvalidCID, match="version 2 is not supported"):
        CID.parse(b"\x02\x70\x12\x20" + bytes(32))
