"""The fast CID text used by the generation writer agrees with the ``multiformats`` library."""

from __future__ import annotations

import base64
import hashlib

import multiformats
from hypothesis import given
from hypothesis import strategies as st
from multiformats import multihash

from mindgit.ipld.cid import CID, DAG_JSON, RAW, base32


@given(st.binary(max_size=80))
def test_b32_is_rfc4648_lowercase_unpadded(raw: bytes) -> None:
    assert base32(raw) == base64.b32encode(raw).decode().lower().rstrip("=")


@given(st.binary(max_size=64), st.sampled_from([DAG_JSON, RAW, 0x71, 0x70]))
def test_cid_text_equals_multiformats(data: bytes, codec: int) -> None:
    # dag-json over sha2-256 takes the aligned-prefix path, raw does not; both must agree.
    digest = multihash.wrap(hashlib.sha256(data).digest(), "sha2-256")
    ref = multiformats.CID("base32", 1, codec, digest)
    assert str(CID.of(data, codec)) == str(ref)


@given(st.binary(min_size=0, max_size=40))
def test_cid_text_of_any_digest_length_equals_multiformats(digest: bytes) -> None:
    ref = multiformats.CID("base32", 1, DAG_JSON, multihash.wrap(digest, "identity"))
    assert str(CID(1, DAG_JSON, 0x00, digest)) == str(ref)
    assert CID.parse(str(ref)) == CID(1, DAG_JSON, 0x00, digest)
