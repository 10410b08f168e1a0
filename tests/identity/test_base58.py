"""base58btc: our fast codec against the multiformats library."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multiformats import multibase

from mindgit.identity import _base58


@given(st.binary(max_size=80))
def test_round_trip(data: bytes) -> None:
    assert _base58.decode(_base58.encode(data)) == data


@given(st.binary(max_size=80))
def test_agrees_with_multiformats(data: bytes) -> None:
    ours = _base58.encode(data)
    assert "z" + ours == multibase.encode(data, "base58btc")
    assert multibase.decode("z" + ours) == data


def test_leading_zero_bytes_become_ones() -> None:
    assert _base58.encode(b"\0\0\x01") == "112"
    assert _base58.decode("112") == b"\0\0\x01"
    assert _base58.encode(b"") == ""


@pytest.mark.parametrize("text", ["0", "O", "I", "l", "abc+", "z z", "é"])
def test_refuses_characters_outside_the_alphabet(text: str) -> None:
    with pytest.raises(_base58.Base58Error):
        _base58.decode(text)
