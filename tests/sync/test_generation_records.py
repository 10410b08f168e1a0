"""GenerationRecord.decode reads the common individual by a short path when its state link is
already known (the gate's link memo): with or without the memo, it must accept exactly the same
records, read them the same, and refuse the same ones with the same problem."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.ipld.cid import CID, RAW
from mindgit.store.generation import (
    Failure,
    GenerationRecord,
    Individual,
    RunFormatError,
    RunParams,
    best_index,
)

PARAMS = RunParams(population=4, generations=5, mutation_rate=0.1)
STATES = [CID.of(f'{{"n":{i}}}'.encode()) for i in range(3)]


@st.composite
def records(draw: st.DrawFn) -> GenerationRecord:
    generation = draw(st.integers(0, PARAMS.generations - 1))
    individuals = []
    for _ in range(PARAMS.population):
        state = draw(st.sampled_from(STATES))
        parents: tuple[int, ...] = ()
        if generation > 0:
            parents = tuple(draw(st.lists(st.integers(0, 3), min_size=1, max_size=2)))
        if draw(st.integers(0, 4)) == 0:
            individuals.append(Individual(state, None, parents, Failure("fuel", "out of fuel")))
        else:
            score = draw(st.floats(-1e6, 1e6) | st.integers(-5, 5).map(float))
            individuals.append(Individual(state, score, parents))
    best = best_index([i.score for i in individuals], PARAMS.minimize)
    return GenerationRecord(generation, tuple(individuals), best)


# Ways to spoil one individual of a valid record (as JSON), each one the short path must refuse
# or leave to the full one.
SPOILS = [
    lambda n: n.update(parents=[True]),
    lambda n: n.update(parents=[0, 1, 2]),
    lambda n: n.update(parents=[4]),
    lambda n: n.update(parents=[-1]),
    lambda n: n.update(parents=[0.0]),
    lambda n: n.update(parents=[]),
    lambda n: n.update(parents="0"),
    lambda n: n.update(score="1"),
    lambda n: n.update(score=True),
    lambda n: n.update(score=None),
    lambda n: n.update(state={"/": str(CID.of(b"x", RAW))}),
    lambda n: n.update(state={"/": "bafy-not-a-cid"}),
    lambda n: n.update(state={"/": 7}),
    lambda n: n.update(state={"/": str(STATES[0]), "x": 1}),
    lambda n: n.update(state=str(STATES[0])),
    lambda n: n.update(extra=1),
    lambda n: n.pop("state"),
]


def _decode(data: bytes, memo: bool) -> GenerationRecord | str:
    cids = {str(c): c for c in STATES} if memo else None
    try:
        return GenerationRecord.decode(data, PARAMS, cids)
    except RunFormatError as e:
        return f"{e.what}: {e.problem}"


@settings(max_examples=300)
@given(records(), st.data())
def test_the_memo_changes_nothing_but_the_speed(
    record: GenerationRecord, data: st.DataObject
) -> None:
    raw = record.encode()
    assert _decode(raw, memo=True) == _decode(raw, memo=False) == record
    node = json.loads(raw)
    i = data.draw(st.integers(0, PARAMS.population - 1))
    data.draw(st.sampled_from(SPOILS))(node["individuals"][i])
    spoiled = json.dumps(node, separators=(",", ":"), sort_keys=True).encode()
    with_memo, without = _decode(spoiled, memo=True), _decode(spoiled, memo=False)
    assert with_memo == without
