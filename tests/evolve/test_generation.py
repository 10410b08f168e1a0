"""The on-disk run format: parameters, run.json, generation.json, and their strict readers."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mindgit.errors import UsageError
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID, RAW
from mindgit.store.generation import (
    Failure,
    GenerationRecord,
    Individual,
    InvalidParameter,
    RunFormatError,
    RunInfo,
    RunLimits,
    RunParams,
    best_index,
    check_run_id,
)

STATE = CID.of(b'{"genome":{},"schema":1,"thoughts":[]}')
MODULE = CID.of(b"\0asm\x01\0\0\0", RAW)
LIMITS = RunLimits(1000, 1 << 20, 1 << 16, 100)


def info(*, seed: int = 0, minimize: bool = False) -> RunInfo:
    p = RunParams(mutation_rate=0.25, seed=seed, minimize=minimize)
    return RunInfo(p, MODULE, "fitness_batch", LIMITS, "a" * 40, STATE)


@pytest.mark.parametrize(
    "field, value",
    [
        ("population", 0),
        ("population", 1.5),
        ("generations", 0),
        ("generations", True),
        ("mutation_rate", 1.5),
        ("mutation_rate", -0.1),
        ("mutation_scale", 0.0),
        ("mutation_scale", math.inf),
        ("mutation_scale", "big"),
        ("crossover_rate", 2),
        ("elite", 64),
        ("elite", -1),
        ("tournament", 0),
        ("seed", -1),
        ("seed", 2**53),
        ("minimize", 1),
    ],
)
def test_bad_parameters_are_refused_by_name(field: str, value: object) -> None:
    with pytest.raises(InvalidParameter) as e:
        RunParams(**{field: value})  # type: ignore[arg-type]
    assert e.value.name == field
    assert f"--{field.replace('_', '-')}" in str(e.value)
    assert isinstance(e.value, UsageError)


def test_run_info_round_trips_and_its_id_is_a_hash_of_what_decides_the_run() -> None:
    a = info(seed=7)
    data = a.encode()
    assert RunInfo.decode(data) == a
    node = dagjson.decode(data)
    assert isinstance(node, dict)
    assert node["run"] == a.run_id and len(a.run_id) == 12
    assert info(seed=7).run_id == a.run_id
    assert info(seed=8).run_id != a.run_id
    # Where it started is part of it: two nodes holding one state on commits of their own made
    # one run id with two unrelated histories, which no sync could reconcile.
    assert replace(a, start_commit="b" * 40).run_id != a.run_id
    assert info(seed=7, minimize=True).run_id != a.run_id
    assert RunInfo(a.params, MODULE, "fitness", LIMITS, "a" * 40, STATE).run_id != a.run_id


def test_a_run_named_before_its_id_held_the_start_commit_is_still_read() -> None:
    legacy = replace(info(seed=7), legacy_id=True)
    assert legacy.run_id != info(seed=7).run_id
    # Only the start commit differs between the two ids: the same run elsewhere has the same.
    assert replace(legacy, start_commit="b" * 40).run_id == legacy.run_id
    read = RunInfo.decode(legacy.encode())
    assert read.legacy_id and read.run_id == legacy.run_id and read.encode() == legacy.encode()


def test_run_info_decode_refuses_tampering() -> None:
    node = info().to_node()
    node["run"] = "000000000000"
    with pytest.raises(RunFormatError, match="not the hash"):
        RunInfo.decode(dagjson.encode(node))
    node = info().to_node()
    del node["limits"]
    with pytest.raises(RunFormatError):
        RunInfo.decode(dagjson.encode(node))
    with pytest.raises(RunFormatError):
        RunInfo.decode(b'{"run": 1}')
    node = info().to_node()
    node["params"]["population"] = 0
    with pytest.raises(RunFormatError, match="population"):
        RunInfo.decode(dagjson.encode(node))


def test_params_must_be_resolved_before_recording() -> None:
    with pytest.raises(RunFormatError):
        RunParams().to_node()


@pytest.mark.parametrize("text", ["", "abc", "refs/runs/xyz", "0123456789ABCDEF"])
def test_bad_run_ids_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        check_run_id(text)
    assert check_run_id("refs/runs/0123456789ab") == "0123456789ab"


def test_best_index() -> None:
    assert best_index([1.0, 3.0, 3.0, None], False) == 1
    assert best_index([1.0, 3.0, 0.5, None], True) == 2
    assert best_index([None, None], False) is None
    assert best_index([], True) is None


scores = st.floats(allow_nan=False, allow_infinity=False)
errors = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=20)


@st.composite
def records(draw: st.DrawFn) -> tuple[GenerationRecord, RunParams]:
    population = draw(st.integers(1, 6))
    generation = draw(st.integers(0, 3))
    individuals = []
    for _ in range(population):
        parents: tuple[int, ...] = ()
        if generation:
            parents = tuple(draw(st.lists(st.integers(0, population - 1), min_size=1, max_size=2)))
        state = CID.of(b"%d" % draw(st.integers(0, 3)))
        if draw(st.booleans()):
            individuals.append(Individual(state, draw(scores), parents))
        else:
            failure = Failure(draw(st.sampled_from(["fuel", "trap"])), draw(errors))
            individuals.append(Individual(state, None, parents, failure))
    minimize = draw(st.booleans())
    best = best_index([x.score for x in individuals], minimize)
    params = RunParams(
        population=population,
        generations=4,
        minimize=minimize,
        mutation_rate=0.5,
        elite=min(1, population - 1),
    )
    return GenerationRecord(generation, tuple(individuals), best), params


@given(records())
def test_generation_encoding_is_canonical_dag_json_and_round_trips(
    rp: tuple[GenerationRecord, RunParams],
) -> None:
    record, params = rp
    data = record.encode()
    assert data == dagjson.encode(record.to_node())
    assert GenerationRecord.decode(data, params) == record


def test_generation_decode_refuses_what_does_not_fit_the_run() -> None:
    params = RunParams(population=2, generations=3, mutation_rate=0.5)
    ok = GenerationRecord(1, (Individual(STATE, 1.0, (0,)), Individual(STATE, 2.0, (0, 1))), 1)
    assert GenerationRecord.decode(ok.encode(), params) == ok

    def broken(change: Callable[[dict[str, Any]], object]) -> bytes:
        node = ok.to_node()
        change(node)
        return dagjson.encode(node)

    cases: dict[str, Callable[[dict[str, Any]], object]] = {
        "best": lambda n: n.update(best=0),
        "generation": lambda n: n.update(generation=3),
        "individuals": lambda n: n["individuals"].pop(),
        "parents": lambda n: n["individuals"][0].update(parents=[2]),
        "two parents": lambda n: n["individuals"][0].update(parents=[]),
        "score": lambda n: n["individuals"][0].update(score="1"),
        "both": lambda n: n["individuals"][0].update(failure={"error": "x", "reason": "y"}),
        "schema": lambda n: n.update(schema=2),
        "state": lambda n: n["individuals"][0].update(state=MODULE),
    }
    for what, change in cases.items():
        with pytest.raises(RunFormatError):
            GenerationRecord.decode(broken(change), params)
        del what
    gen0 = GenerationRecord(0, (Individual(STATE, 1.0, (1,)), Individual(STATE, 2.0, ())), 1)
    with pytest.raises(RunFormatError, match="generation 0"):
        GenerationRecord.decode(gen0.encode(), params)
    with pytest.raises(RunFormatError):
        GenerationRecord.decode(b'{"best":null}', params)
    for respelled in (
        ok.encode().replace(b'"best":1', b'"best": 1'),
        ok.encode().replace(b'"score":1', b'"score":1.0'),
        ok.encode().replace(b'"schema":1', b'"schema":1,"schema":1'),
    ):
        with pytest.raises(RunFormatError, match="canonical"):
            GenerationRecord.decode(respelled, params)


def test_an_individual_has_a_score_or_a_failure() -> None:
    with pytest.raises(RunFormatError):
        Individual(STATE, None, ())
    with pytest.raises(RunFormatError):
        Individual(STATE, 1.0, (), Failure("trap", "x"))
    with pytest.raises(RunFormatError):
        Individual(STATE, math.nan, ())
    assert str(Individual(STATE, -0.0, ()).score) == "0.0"


@pytest.mark.parametrize("memo", [False, True], ids=["fresh", "state link known"])
@pytest.mark.parametrize("score", [b"1" + b"0" * 400, b"-" + b"9" * 309, b"NaN", b"-Infinity"])
def test_a_score_no_float_can_hold_is_a_format_error(memo: bool, score: bytes) -> None:
    """json reads a long integer literal exactly; as a score it is refused, not a crash."""
    params = RunParams(population=2, generations=3, mutation_rate=0.5)
    ok = GenerationRecord(1, (Individual(STATE, 1.0, (0,)), Individual(STATE, 2.0, (0, 1))), 1)
    data = ok.encode().replace(b'"score":1,', b'"score":' + score + b",", 1)
    assert data != ok.encode()
    cids = {str(STATE): STATE} if memo else None
    with pytest.raises(RunFormatError, match="score"):
        GenerationRecord.decode(data, params, cids)
