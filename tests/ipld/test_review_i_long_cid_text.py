"""Review I: CID text in a rarely used multibase is decoded in quadratic time, so its length is
bounded before it is decoded (as base58's already was): a link of 200 KB in a CAR's manifest kept
an import busy for 14 s of CPU only to refuse it, and 16 MB would have taken a day."""

from __future__ import annotations

import pytest
from multiformats import multibase

from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID, InvalidCID

LONG = 50_000  # ~1.5 s to decode as base16 without the bound, ~0 with it


@pytest.mark.parametrize("prefix", ["f", "F", "k", "K", "9", "t", "M", "m", "u", "U"])
def test_a_long_multibase_text_is_refused_before_it_is_decoded(prefix: str) -> None:
    text = prefix + "2" * LONG
    with pytest.raises(InvalidCID, match="multibase text longer than 2048 characters"):
        CID.parse(text)


def test_a_block_linking_a_long_multibase_text_is_refused_for_its_length() -> None:
    block = b'{"genome":{},"schema":1,"thoughts":[{"/":"f' + b"2" * LONG + b'"}]}'
    with pytest.raises(dagjson.DagJsonDecodeError, match="longer than 2048 characters"):
        dagjson.decode(block)


@pytest.mark.parametrize("base", ["base16", "base36", "base64", "base2", "base32upper"])
def test_real_cids_in_other_bases_still_parse(base: str) -> None:
    cid = CID.of(b"null")
    # The longest of these, base2, spells a sha2-256 CIDv1 in 289 characters.
    text = multibase.encode(cid.to_bytes(), base)
    assert len(text) <= 2048
    assert CID.parse(text) == cid
