"""Review I: a CID may be long (an identity multihash carries its bytes inline, and a CAR section
or a typed CID may name one of megabytes). ``str(cid)`` spread the whole digest at once, which
costs the square of its length (64 KB: 9 s; a 64 KB CAR kept `mindgit import` busy 13 s to
refuse it, 16 MB would take days); and the errors naming such a CID were lines as long."""

from __future__ import annotations

import base64
import io
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.ipld.car import CarBlockTooLarge, CarReader, CarTruncated, write_car
from mindgit.ipld.cid import (
    CID,
    CID_SHOWN_MAX,
    DAG_JSON,
    IDENTITY,
    UnsupportedHash,
    base32,
    shown_cid,
)
from mindgit.ipld.varint import encode_uvarint
from tests.conftest import ROOT

HUGE = CID(1, DAG_JSON, IDENTITY, b"n" * 100_000)


def reference(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").lower().rstrip("=")


@settings(max_examples=60)
@given(st.binary(min_size=2000, max_size=9000))
def test_long_input_is_base32_as_rfc_4648_spells_it(raw: bytes) -> None:
    assert base32(raw) == reference(raw)


@pytest.mark.parametrize("size", [2559, 2560, 2561, 5120, 5121, 7679])
def test_base32_around_the_piece_size(size: int) -> None:
    raw = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert base32(raw) == reference(raw)


def test_a_megabyte_digest_is_spelled_in_linear_time() -> None:
    # In a child with a deadline: without the fix it ran for about 40 minutes.
    code = (
        "from mindgit.ipld.cid import CID, DAG_JSON, IDENTITY\n"
        "cid = CID(1, DAG_JSON, IDENTITY, bytes(range(256)) * 4096)\n"
        "assert CID.parse(str(cid)) == cid\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_a_long_cid_is_shown_cut_with_its_length() -> None:
    text = shown_cid(HUGE)
    assert len(text) <= CID_SHOWN_MAX and text.startswith(str(HUGE)[:100])
    assert text.endswith(f"... ({len(str(HUGE))} characters)")
    short = CID.of(b"null")
    assert shown_cid(short) == str(short)


def test_errors_naming_a_long_cid_stay_short() -> None:
    with pytest.raises(UnsupportedHash) as caught:
        HUGE.verify(b"")
    assert len(str(caught.value)) < 400

    good = CID.of(b"null")
    body = HUGE.to_bytes() + b"x" * (len(HUGE.digest) + 10)
    car = io.BytesIO()
    write_car(car, [good], [])
    car.write(encode_uvarint(len(body)) + body)
    with pytest.raises(CarBlockTooLarge) as too_large:
        list(CarReader(io.BytesIO(car.getvalue()), max_block_size=len(HUGE.digest) + 1))
    assert len(str(too_large.value)) < 400

    cut = car.getvalue()[:-5]
    with pytest.raises(CarTruncated) as truncated:
        list(CarReader(io.BytesIO(cut), max_block_size=1 << 20, verify=False))
    assert len(str(truncated.value)) < 400
