"""A CIDv0 is only ever its 46 base58btc characters ('Qm...'), with no multibase prefix (the
CID spec's decoding rule: multibase text whose first decoded byte is 0x12 is an error).
CID.parse read 'b' + base32 of a CIDv0's bytes, and every other multibase of them, as that
CIDv0: a second spelling of one CID."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multiformats import multibase

from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID, DAG_PB, SHA2_256, InvalidCID, base32

from .strategies import cids

V0_TEXT = "QmQg1v4o9xdT3Q14wh4S7dxZkDjyZ9ssFzFzyep1YrVJBY"
BASES = ["base32", "base32upper", "base58btc", "base64", "base64url", "base16", "base36", "base2"]


@pytest.mark.parametrize("base", BASES)
def test_a_multibase_cidv0_is_refused_naming_its_one_spelling(base: str) -> None:
    raw = CID.parse(V0_TEXT).to_bytes()
    text = multibase.encode(raw, base)
    with pytest.raises(InvalidCID) as info:
        CID.parse(text)
    assert info.value.value == text
    assert "never multibase-encoded" in info.value.reason
    assert V0_TEXT in info.value.reason


def test_our_own_base32_spelling_of_a_cidv0_is_refused() -> None:
    text = "b" + base32(CID.parse(V0_TEXT).to_bytes())
    assert text.startswith("bciq")
    with pytest.raises(InvalidCID, match="never multibase-encoded"):
        CID.parse(text)


def test_a_multibase_text_starting_0x12_that_is_no_cidv0_says_so() -> None:
    text = "f1220" + "00" * 31  # a sha2-256 multihash one byte short
    with pytest.raises(InvalidCID, match="0x12 is no CID version"):
        CID.parse(text)


def test_a_dagjson_link_in_multibase_cidv0_is_refused() -> None:
    text = "b" + base32(CID.parse(V0_TEXT).to_bytes())
    with pytest.raises(dagjson.DagJsonError):
        dagjson.decode(b'{"/":"' + text.encode() + b'"}')


def test_the_binary_cidv0_and_its_bare_text_still_read() -> None:
    cid = CID.parse(V0_TEXT)
    assert cid.version == 0 and str(cid) == V0_TEXT
    assert CID.parse(cid.to_bytes()) == cid


@given(cids(), st.sampled_from(BASES))
def test_every_cid_reads_back_from_its_own_spelling_and_v1_from_any_base(
    cid: CID, base: str
) -> None:
    assert CID.parse(str(cid)) == cid
    assert CID.parse(cid.to_bytes()) == cid
    text = multibase.encode(cid.to_bytes(), base)
    if cid.version == 0:
        with pytest.raises(InvalidCID, match="never multibase-encoded"):
            CID.parse(text)
    else:
        assert CID.parse(text) == cid


@given(st.binary(min_size=32, max_size=32))
def test_a_cidv0_reads_only_from_qm(digest: bytes) -> None:
    cid = CID(0, DAG_PB, SHA2_256, digest)
    assert CID.parse(str(cid)) == cid
    with pytest.raises(InvalidCID):
        CID.parse("z" + str(cid))
