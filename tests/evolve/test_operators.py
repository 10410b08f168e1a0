"""Selection and variation: bounds, kinds, elitism, failures, determinism."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mindgit.evolve.genes import GenomeCodec
from mindgit.evolve.operators import (
    INITIAL_RATE,
    Breeder,
    Mutator,
    Variation,
    default_mutation_rate,
    fitness_keys,
    initial_population,
)
from mindgit.evolve.prng import Stream
from mindgit.store.genome import Gene, Genome
from mindgit.store.state import State


def codec(*genes: Gene, scale: float = 0.1) -> GenomeCodec:
    return GenomeCodec(State(Genome(genes)), scale)


MIXED = codec(
    Gene.make("a", "float", 0.5, min=-1, max=1),
    Gene.make("b", "int", 3, min=0, max=5),
    Gene.make("c", "bool", False),
    Gene.make("d", "choice", "x", choices=["x", "y", "z"]),
    Gene.make("e", "floats", [0.0, 0.25, 0.5], min=0, max=1),
    Gene.make("f", "float", 7.0),
    Gene.make("g", "int", -4),
    Gene.make("h", "str", "fixed"),
)


@given(st.integers(0, 2**40), st.floats(0.05, 1.0), st.floats(0.01, 50.0))
def test_mutation_keeps_kinds_and_bounds(seed: int, rate: float, scale: float) -> None:
    c = GenomeCodec(MIXED.state, scale)
    values = list(c.start_values)
    mutate = Mutator(c, rate)
    stream = Stream.for_generation(seed, 1)
    for _ in range(20):
        mutate(values, stream)
        a, b, cc, d, e0, e1, e2, f, g = values
        assert isinstance(a, float) and -1 <= a <= 1
        assert type(b) is int and 0 <= b <= 5
        assert isinstance(cc, bool)
        assert type(d) is int and 0 <= d < 3
        assert all(isinstance(x, float) and 0 <= x <= 1 for x in (e0, e1, e2))
        assert isinstance(f, float) and type(g) is int
        # Every value must still be a valid gene value (Gene.make checks).
        c.to_genome(values)


def test_rate_one_changes_every_evolvable_gene() -> None:
    values = list(MIXED.start_values)
    Mutator(MIXED, 1.0)(values, Stream(b"all"))
    assert all(v != s for v, s in zip(values, MIXED.start_values, strict=True))


def test_rate_zero_changes_nothing() -> None:
    values = list(MIXED.start_values)
    Mutator(MIXED, 0.0)(values, Stream(b"none"))
    assert values == MIXED.start_values


def test_mutation_frequency_follows_the_rate() -> None:
    c = codec(*(Gene.make(f"x{i:02d}", "bool", False) for i in range(50)))
    stream = Stream(b"freq")
    mutate = Mutator(c, 0.1)
    changed = 0
    for _ in range(400):
        values = list(c.start_values)
        mutate(values, stream)
        changed += sum(values)
    assert changed / (400 * 50) == pytest.approx(0.1, rel=0.08)


def test_unchanging_genes_are_never_touched() -> None:
    c = codec(
        Gene.make("fixed", "float", 2.0, min=2, max=2), Gene.make("x", "float", 0.0, min=-1, max=1)
    )
    values = list(c.start_values)
    for _ in range(50):
        Mutator(c, 1.0)(values, Stream(b"fixed"))
        assert values[0] == 2.0


def test_default_rate_is_one_gene_per_child() -> None:
    assert default_mutation_rate(MIXED) == 1 / 9


def test_initial_population_starts_with_the_start_state() -> None:
    pop, parents = initial_population(MIXED, 10, Stream.for_generation(3, 0))
    assert pop[0] == MIXED.start_values
    assert len(pop) == 10 and parents == [()] * 10
    assert len({tuple(v) for v in pop}) > 5
    assert 0 < INITIAL_RATE < 1


def var(
    *,
    mutation_rate: float = 0.2,
    crossover_rate: float = 0.5,
    elite: int = 2,
    minimize: bool = False,
) -> Variation:
    return Variation(
        population=12,
        mutation_rate=mutation_rate,
        crossover_rate=crossover_rate,
        elite=elite,
        tournament=3,
        minimize=minimize,
    )


FLOATS = codec(*(Gene.make(f"x{i}", "float", 0.0, min=-10, max=10) for i in range(6)))


def population(n: int) -> list[list[float]]:
    return [[float(i + j) for j in range(6)] for i in range(n)]


def test_elites_come_first_unchanged_and_children_have_valid_parents() -> None:
    pop = population(12)
    scores: list[float | None] = [float(i) for i in range(12)]
    children, parents = Breeder(FLOATS, var()).breed(pop, scores, Stream(b"b"))
    assert len(children) == 12
    assert children[:2] == [pop[11], pop[10]] and parents[:2] == [(11,), (10,)]
    assert all(1 <= len(p) <= 2 and all(0 <= i < 12 for i in p) for p in parents[2:])


def test_without_mutation_children_take_each_gene_from_a_parent() -> None:
    pop = population(12)
    scores: list[float | None] = [float(i) for i in range(12)]
    children, parents = Breeder(FLOATS, var(mutation_rate=0.0, crossover_rate=1.0)).breed(
        pop, scores, Stream(b"x")
    )
    crossed = 0
    for child, ps in zip(children[2:], parents[2:], strict=True):
        for j, v in enumerate(child):
            assert v in [pop[p][j] for p in ps]
        crossed += len(ps) == 2
    assert crossed > 5


def test_selection_prefers_the_fitter_and_minimize_reverses_it() -> None:
    pop = population(12)
    scores: list[float | None] = [float(i) for i in range(12)]
    for minimize, good in ((False, range(6, 12)), (True, range(0, 6))):
        _, parents = Breeder(FLOATS, var(minimize=minimize, elite=0)).breed(
            pop, scores, Stream(b"s")
        )
        picks = [p for ps in parents for p in ps]
        assert sum(1 for p in picks if p in good) > 0.7 * len(picks)


def test_failed_individuals_are_never_elite_and_rarely_parents() -> None:
    pop = population(12)
    scores: list[float | None] = [None] * 10 + [1.0, 2.0]
    children, parents = Breeder(FLOATS, var(elite=4)).breed(pop, scores, Stream(b"f"))
    assert parents[:2] == [(11,), (10,)]  # only the two that scored can be elite
    assert len(children) == 12
    assert fitness_keys([None, 1.0], True) == [float("-inf"), -1.0]


def test_an_all_failed_generation_still_breeds() -> None:
    children, parents = Breeder(FLOATS, var()).breed(population(12), [None] * 12, Stream(b"n"))
    assert len(children) == 12 and all(parents)


def test_breeding_is_a_pure_function_of_its_inputs() -> None:
    pop = population(12)
    scores: list[float | None] = [float((i * 7) % 5) for i in range(12)]
    b = Breeder(FLOATS, var())
    one = b.breed(pop, scores, Stream.for_generation(9, 4))
    two = Breeder(FLOATS, var()).breed(pop, scores, Stream.for_generation(9, 4))
    assert one == two
    assert one != b.breed(pop, scores, Stream.for_generation(9, 5))
    assert pop == population(12)  # parents are never modified in place
