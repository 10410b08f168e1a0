"""score_batch: one call for a whole population, exact per-individual failures when it fails,
input checks, and isolation between evaluations."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.sandbox import (
    FitnessFailure,
    FitnessModule,
    InvalidBatch,
    Limits,
    MissingExport,
)
from tests.sandbox import reference
from tests.sandbox.helpers import DEFAULT_LIMITS, HOSTILE, load


def hostile(name: str, limits: Limits = DEFAULT_LIMITS) -> FitnessModule:
    return FitnessModule.load((HOSTILE / name).read_bytes(), limits=limits)


def test_population_of_200_by_32() -> None:
    module = load("rastrigin.wat")
    population = [[(i * 32 + j) % 11 / 2 - 2.5 for j in range(32)] for i in range(200)]
    scores = module.score_batch(population, 32)
    assert scores == [reference.rastrigin_score(v) for v in population]


def test_packed_bytes_equal_sequences() -> None:
    module = load("rastrigin.wat")
    rows = [[0.5, -1.25, 3.0], [0.0, 0.0, 0.0]]
    packed = struct.pack("<6d", *rows[0], *rows[1])
    assert module.score_batch(packed, 3) == module.score_batch(rows, 3)
    assert module.score_batch(bytearray(packed), 3) == module.score_batch(rows, 3)


def test_ints_and_bools_are_numbers() -> None:
    module = load("onemax.wat")
    assert module.score_batch([[True, 1, 0, False]], 4) == [2.0]


def test_empty_population_and_zero_dim() -> None:
    module = load("rastrigin.wat")
    assert module.score_batch([], 5) == []
    assert module.score_batch(b"", 5) == []
    assert module.score_batch(b"", 0) == []
    assert module.score_batch([[], []], 0) == [0.0, 0.0]


@pytest.mark.parametrize(
    ("vectors", "dim"),
    [
        ([[1.0, 2.0], [1.0]], 2),
        ([[1.0, 2.0]], 3),
        ([[1.0, "x"]], 2),
        ([[1.0, None]], 2),
        (b"\0" * 12, 1),
        (b"\0" * 8, 0),
        ([[1.0]], -1),
        ([[1.0]], 1.0),
        ([[1.0]], True),
    ],
)
def test_malformed_batches(vectors: object, dim: object) -> None:
    module = load("rastrigin.wat")
    with pytest.raises(InvalidBatch):
        module.score_batch(vectors, dim)  # type: ignore[arg-type]


def test_module_without_batch_export() -> None:
    module = hostile("inf_score.wat")
    assert not module.has_batch
    with pytest.raises(MissingExport) as info:
        module.score_batch([[1.0]], 1)
    assert info.value.name == "fitness_batch"


def test_failing_individuals_are_found_exactly() -> None:
    module = hostile("selective.wat", Limits(fuel=2_000_000))
    scores = module.score_batch([[5.0], [-1.0], [0.0], [2000.0], [7.0], [3.5]], 1)
    assert scores[0] == 5.0 and scores[4] == 7.0 and scores[5] == 3.5
    assert isinstance(scores[1], FitnessFailure) and scores[1].reason == "trap"
    assert "unreachable" in scores[1].error
    assert isinstance(scores[2], FitnessFailure) and scores[2].reason == "invalid"
    assert isinstance(scores[3], FitnessFailure) and scores[3].reason == "fuel"
    assert "2000000" in scores[3].error


def test_invalid_scores_in_a_successful_batch_need_no_rerun() -> None:
    # The whole batch returns; only the NaN individual is marked.
    module = hostile("selective.wat")
    scores = module.score_batch([[1.0], [0.0], [2.0]], 1)
    assert scores[0] == 1.0 and scores[2] == 2.0
    assert scores[1] == FitnessFailure("invalid", "fitness module returned nan, not a finite score")


def test_every_individual_failing() -> None:
    for name, reason in [
        ("unreachable.wat", "trap"),
        ("recursion.wat", "stack"),
        ("memory_bomb.wat", "memory"),
        ("nan_score.wat", "invalid"),
    ]:
        scores = hostile(name, Limits(memory_bytes=8 << 20)).score_batch([[1.0], [2.0]], 1)
        assert [s.reason for s in scores if isinstance(s, FitnessFailure)] == [reason] * 2


def test_fuel_is_per_individual_times_count() -> None:
    module = hostile("infinite_loop.wat", Limits(fuel=100_000))
    [failure] = module.score_batch([[1.0]], 1)
    assert failure == FitnessFailure(
        "fuel", "fitness module ran out of fuel (100000 units) before returning a score"
    )
    failures = module.score_batch([[1.0]] * 3, 1)
    assert all(isinstance(f, FitnessFailure) and f.reason == "fuel" for f in failures)


def test_each_batch_gets_a_fresh_instance() -> None:
    module = hostile("stateful.wat")
    # One instance per batch: the module's counter runs within a batch, restarts for the next.
    assert module.score_batch([[0.0]] * 3, 1) == [1.0, 2.0, 3.0]
    assert module.score_batch([[0.0]] * 2, 1) == [1.0, 2.0]
    # One instance per state for fitness.
    assert [module.score(b"{}") for _ in range(3)] == [1.0, 1.0, 1.0]
    assert module.score_many([b"{}", b"{}"]) == [1.0, 1.0]


def test_score_many_reports_failures_as_values() -> None:
    module = load("rastrigin.wat")
    results = module.score_many([b'{"genome":{"x":{"type":"float","value":1}}}', b"nonsense"])
    assert results[0] == -1.0
    assert isinstance(results[1], FitnessFailure) and results[1].reason == "trap"


def test_population_too_big_for_memory_is_scored_one_by_one() -> None:
    # 2100 x 8 f64 (+ scores) = 148 KiB, over a 128 KiB cap: the batch cannot be placed, each
    # individual alone can.
    limits = Limits(memory_bytes=128 << 10)
    module = load("rastrigin.wat", limits)
    population = [[float(i % 5)] * 8 for i in range(2100)]
    scores = module.score_batch(population, 8)
    assert scores == [reference.rastrigin_score(v) for v in population]


@given(st.lists(st.lists(st.sampled_from([0.0, 1.0]), min_size=6, max_size=6), max_size=20))
@settings(max_examples=30, deadline=None)
def test_onemax_counts(rows: list[list[float]]) -> None:
    module = load("onemax.wat")
    assert module.score_batch(rows, 6) == [float(sum(row)) for row in rows]
