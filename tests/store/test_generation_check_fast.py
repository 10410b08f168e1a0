"""The gate's bulk readings of a generation must answer what the one-by-one readings answer:
``names_digests`` (every state's name against its digest, as one number) what
``names_digest`` says of each pair, and ``canonical_links`` (the record's items found and spelt
again) only what ``GenerationRecord.decode`` accepts, on inputs that leave the bulk path."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.ipld.cid import CID
from mindgit.store.generation import GenerationRecord, Individual, RunFormatError
from mindgit.store.generation_check import names_digest, names_digests
from tests.sync.test_generation_records import PARAMS, STATES
from tests.sync.test_state_listing import OTHER_CIDS, names_near

NAMED = frozenset(str(c) for c in STATES)


@st.composite
def named_states(draw: st.DrawFn) -> tuple[list[str], list[bytes]]:
    """A generation's state names and digests: mostly right, some near misses, and sometimes
    a boundary between two names moved (their text joined is unchanged)."""
    datas = draw(st.lists(st.binary(max_size=40), min_size=1, max_size=8))
    names = []
    for data in datas:
        text = str(CID.of(data))
        name = (
            text
            if draw(st.integers(0, 2))
            else draw(names_near(text) | st.sampled_from(OTHER_CIDS))
        )
        names.append(name)
    if len(names) > 1 and draw(st.booleans()):
        at = draw(st.integers(0, len(names) - 2))
        cut = draw(st.integers(1, 3))
        if draw(st.booleans()):
            names[at], names[at + 1] = names[at][:-cut], names[at][-cut:] + names[at + 1]
        else:
            names[at], names[at + 1] = names[at] + names[at + 1][:cut], names[at + 1][cut:]
    return names, [hashlib.sha256(d).digest() for d in datas]


@settings(max_examples=1500)
@given(named_states())
def test_names_digests_says_what_names_digest_says_of_each(
    case: tuple[list[str], list[bytes]],
) -> None:
    names, digests = case
    expected = [names_digest(n, d) for n, d in zip(names, digests, strict=True)]
    assert names_digests(names, digests) == expected


def test_a_moved_boundary_between_two_right_names_makes_both_wrong() -> None:
    datas = [b"a", b"b", b"c"]
    names = [str(CID.of(d)) for d in datas]
    digests = [hashlib.sha256(d).digest() for d in datas]
    assert names_digests(names, digests) == [True, True, True]
    moved = [names[0][:-1], names[0][-1] + names[1], names[2]]
    assert "".join(moved) == "".join(names)
    assert names_digests(moved, digests) == [False, False, True]
    swapped = [names[1], names[0], names[2]]
    assert names_digests(swapped, digests) == [False, False, True]
    assert names_digests([], []) == []


def _record(generation: int = 1) -> tuple[bytes, tuple[str, ...]]:
    record = GenerationRecord(
        generation,
        tuple(
            Individual(STATES[i % 3], float(i), (i,) if generation else ())
            for i in range(PARAMS.population)
        ),
        PARAMS.population - 1,
    )
    return record.encode(), tuple(str(i.state) for i in record.individuals)


def _decodes(data: bytes) -> bool:
    try:
        GenerationRecord.decode(data, PARAMS)
    except RunFormatError:
        return False
    return True


SPOILS: list[tuple[bytes, bytes]] = [
    (b'},{"parents"', b'}{"parents"'),  # two items unseparated
    (b'},{"parents"', b'},,{"parents"'),  # an empty item
    (b'},{"parents"', b'}, {"parents"'),  # a space between
    (b'"individuals":[', b'"individuals":[,'),  # a leading comma
    (b'],"schema"', b',],"schema"'),  # a trailing comma
    (b'"individuals":[', b'"individuals":[x'),  # text before the first item
    (b'],"schema"', b'0],"schema"'),  # text after the last
]


@pytest.mark.parametrize(("old", "new"), SPOILS)
def test_items_not_joined_by_single_commas_are_left_to_decode(old: bytes, new: bytes) -> None:
    raw, links = _record()
    assert GenerationRecord.canonical_links(raw, PARAMS, NAMED) == links
    spoiled = raw.replace(old, new, 1)
    assert spoiled != raw
    assert GenerationRecord.canonical_links(spoiled, PARAMS, NAMED) is None
    assert not _decodes(spoiled)


def test_items_of_any_length_are_read() -> None:
    raw, links = _record()
    grown = raw.replace(b'"parents":[1]', b'"parents":[1,2]', 1)
    assert _decodes(grown)
    assert GenerationRecord.canonical_links(grown, PARAMS, NAMED) == links


def test_parents_are_checked_for_every_individual_at_once() -> None:
    raw, links = _record()
    assert GenerationRecord.canonical_links(raw, PARAMS, NAMED) == links
    for bad in (b'"parents":[4]', b'"parents":[0,4]', b'"parents":[]', b'"parents":[1000000000]'):
        spoiled = raw.replace(b'"parents":[2]', bad, 1)
        assert GenerationRecord.canonical_links(spoiled, PARAMS, NAMED) is None
        assert not _decodes(spoiled)
    first, links0 = _record(0)
    assert GenerationRecord.canonical_links(first, PARAMS, NAMED) == links0
    spoiled = first.replace(b'"parents":[]', b'"parents":[0]', 1)
    assert GenerationRecord.canonical_links(spoiled, PARAMS, NAMED) is None
    assert not _decodes(spoiled)
