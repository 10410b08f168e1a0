"""GenerationRecord.canonical_links reads a record's state links without decoding it: whatever
text it is given, it must return None or exactly the links of a record that
GenerationRecord.decode accepts; and it must read every canonical record of scored individuals
(else the gate never takes it)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.ipld.cid import CID, RAW
from mindgit.store.generation import (
    GenerationRecord,
    Individual,
    RunFormatError,
    RunParams,
    best_index,
)
from tests.sync.test_generation_records import PARAMS, STATES

NAMED = frozenset(str(c) for c in STATES)

SCORES = [
    "0",
    "-0",
    "0.0",
    "-0.0",
    "1",
    "1.0",
    "2.5",
    "-2.5",
    "2.50",
    "02.5",
    "1e-7",
    "1E-7",
    "1e-07",
    "1.5e+21",
    "1.5e21",
    "1e400",
    "-1e400",
    "9007199254740992",
    "9007199254740993",
    "9007199254740992.0",
    "100000000000000000000",
    "1e+21",
    "0.1",
    "0.10000000000000001",
    "true",
    "null",
    '"1"',
    "1" * 5000,
    "0." + "1" * 5000,
]
PARENTS = ["", "0", "3", "4", "0,1", "1,0", "1,1", "0,1,2", "00", "-1", "0,", "1" * 5000]
LINKS = [*NAMED, str(CID.of(b"x")), str(CID.of(b"x", RAW)), "bafy", "B" + str(STATES[0])[1:]]


def _odd(draw: st.DrawFn, canonical: str, odd: list[str]) -> str:
    """Mostly the canonical piece: an example then differs from a valid record in one or two
    pieces, where a wrong check shows."""
    return draw(st.sampled_from(odd)) if draw(st.integers(0, 7)) == 0 else canonical


@st.composite
def spellings(draw: st.DrawFn) -> bytes:
    """Record texts laid out as encode lays them, each piece canonical or not."""
    record = draw(scored_records())
    count = draw(st.sampled_from([4] * 8 + [3, 5]))
    items = []
    for n in range(count):
        ind = record.individuals[n % len(record.individuals)]
        parents = _odd(draw, ",".join(map(str, ind.parents)), PARENTS)
        score = _odd(draw, _score_text(ind.score or 0.0), SCORES)
        link = _odd(draw, str(ind.state), LINKS)
        if draw(st.integers(0, 9)) == 0:
            items.append(
                f'{{"failure":{{"error":"e","reason":"fuel"}},"parents":[{parents}],'
                f'"state":{{"/":"{link}"}}}}'
            )
        else:
            items.append(f'{{"parents":[{parents}],"score":{score},"state":{{"/":"{link}"}}}}')
    best = _odd(draw, str(record.best), ["null", "0", "1", "2", "3", "4", "00", "true"])
    generation = _odd(draw, str(record.generation), ["0", "1", "4", "5", "01", "-1", "1" * 5000])
    tail = _odd(draw, '],"schema":1}', ['],"schema":2}', "]}", '],"schema":1} '])
    text = f'{{"best":{best},"generation":{generation},"individuals":[' + ",".join(items) + tail
    return text.encode()


def _score_text(x: float) -> str:
    record = GenerationRecord(1, (Individual(STATES[0], x, (0,)),), 0)
    return record.encode().decode().split('"score":')[1].split(",")[0]


def _strict_links(data: bytes) -> tuple[str, ...] | None:
    try:
        record = GenerationRecord.decode(data, PARAMS)
    except RunFormatError:
        return None
    return tuple(str(i.state) for i in record.individuals)


@settings(max_examples=1000)
@given(spellings())
def test_canonical_links_reads_only_what_decode_accepts(data: bytes) -> None:
    links = GenerationRecord.canonical_links(data, PARAMS, NAMED)
    if links is not None:
        assert _strict_links(data) == links


@st.composite
def scored_records(draw: st.DrawFn) -> GenerationRecord:
    generation = draw(st.integers(0, PARAMS.generations - 1))
    individuals = []
    for _ in range(PARAMS.population):
        parents: tuple[int, ...] = ()
        if generation > 0:
            parents = tuple(draw(st.lists(st.integers(0, 3), min_size=1, max_size=2)))
        score = draw(
            st.floats(allow_nan=False, allow_infinity=False) | st.integers(-5, 5).map(float)
        )
        individuals.append(Individual(draw(st.sampled_from(STATES)), score, parents))
    best = best_index([i.score for i in individuals], PARAMS.minimize)
    return GenerationRecord(generation, tuple(individuals), best)


@settings(max_examples=500)
@given(scored_records(), st.data())
def test_every_canonical_record_of_scores_is_read_and_a_changed_byte_agrees(
    record: GenerationRecord, data: st.DataObject
) -> None:
    raw = record.encode()
    links = tuple(str(i.state) for i in record.individuals)
    assert GenerationRecord.canonical_links(raw, PARAMS, NAMED) == links
    assert GenerationRecord.canonical_links(raw, PARAMS, NAMED - {links[0]}) is None
    at = data.draw(st.integers(0, len(raw) - 1))
    byte = data.draw(st.sampled_from(b'0123456789.-+eE,:[]{}"/abnul \xff'))
    cut = data.draw(st.integers(0, 2))
    spoiled = raw[:at] + bytes([byte]) + raw[at + cut :]
    got = GenerationRecord.canonical_links(spoiled, PARAMS, NAMED)
    if got is not None:
        assert _strict_links(spoiled) == got


def test_a_record_with_a_failure_or_an_unknown_link_is_left_to_decode() -> None:
    ok = GenerationRecord(
        1, tuple(Individual(STATES[i % 3], float(i), (i,)) for i in range(4)), 3
    ).encode()
    assert GenerationRecord.canonical_links(ok, PARAMS, NAMED) is not None
    assert GenerationRecord.canonical_links(ok, PARAMS, frozenset()) is None
    assert (
        GenerationRecord.canonical_links(ok.replace(b'"best":3', b'"best":2'), PARAMS, NAMED)
        is None
    )
    assert (
        GenerationRecord.canonical_links(ok.replace(b'"score":3', b'"score":3.0'), PARAMS, NAMED)
        is None
    )
    assert (
        GenerationRecord.canonical_links(
            ok, RunParams(population=4, generations=1, mutation_rate=0.1), NAMED
        )
        is None
    )
