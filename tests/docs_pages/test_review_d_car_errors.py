"""docs/ipld.md's list of what `CarReader` refuses names the error each case raises (review D):
the page put an oversized header and a missing one under `CarHeaderError`, where the reader raises
`CarBlockTooLarge` and `CarTruncated`."""

from __future__ import annotations

import io
import re

import pytest

from mindgit.ipld.car import CarError, CarReader
from mindgit.ipld.varint import encode_uvarint
from tests.conftest import ROOT

PAGE = " ".join((ROOT / "docs" / "ipld.md").read_text().split())
[REFUSES] = re.findall(
    r"- It refuses, with a `CarError` subclass carrying the byte `offset`: (.*?)\. With", PAGE
)
# Each "...(`Class`)" stretch of the sentence: what it lists, and the class it names for that.
GROUPS: list[tuple[str, str]] = re.findall(r"(.*?)\(`(\w+)`\);?", REFUSES)


def named_for(phrase: str) -> str:
    [name] = [cls for text, cls in GROUPS if phrase in text]
    return name


@pytest.mark.parametrize(
    ("phrase", "data", "limits"),
    [
        ("an empty one (no header at all)", b"", {}),
        ("a zero-length", b"\x00", {}),
        ("non-DAG-CBOR", encode_uvarint(3) + b"xyz", {}),
        ("its length not minimally encoded", b"\x85\x00", {}),
        ("a stream that ends inside anything", b"\x05abc", {}),
        (
            "a header over `max_header_size`",
            encode_uvarint(20) + b"x" * 20,
            {"max_header_size": 10},
        ),
        ("a header over `max_header_size`", encode_uvarint(20) + b"x" * 20, {"max_block_size": 10}),
    ],
)
def test_each_refusal_raises_the_class_the_page_names(
    phrase: str, data: bytes, limits: dict[str, int]
) -> None:
    with pytest.raises(CarError) as caught:
        CarReader(io.BytesIO(data), **limits)  # type: ignore[arg-type]
    assert type(caught.value).__name__ == named_for(phrase)
    assert isinstance(caught.value.offset, int)
