"""The writer's fast paths agree with the definitions: float texts with the DAG-JSON encoder,
and the generation a ``Namer`` and a ``RecordMaker`` rebuild from breeding recipes (manifests,
CIDs, blob ids, ``generation.json``), sent between them as the writer process receives it, with
those of the population itself."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mindgit.evolve.genes import GenomeCodec, float_text
from mindgit.evolve.operators import Breeder, Recipe, Variation, initial_population
from mindgit.evolve.persist import (
    Job,
    Namer,
    RecordMaker,
    named_frame,
    named_of,
    take_message,
)
from mindgit.evolve.prng import Stream
from mindgit.evolve.writer import StagedGeneration
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID
from mindgit.sandbox import FitnessFailure
from mindgit.store.generation import (
    Failure,
    GenerationRecord,
    Individual,
    RunFormatError,
    best_index,
)
from mindgit.store.genome import Gene, Genome
from mindgit.store.packs import OBJ_BLOB, git_oid
from mindgit.store.state import State
from tests.evolve.test_genes import codec_of, states

ODD_SCORES = [0.0, -0.0, 2.0, -3.0, 1e-7, 1.5e21, 2.0**53, 2.0**53 + 2, 5e-324, 0.1]


@given(st.floats())
def test_float_text_is_the_dag_json_spelling(x: float) -> None:
    try:
        expected = dagjson.float_text(x)
    except dagjson.DagJsonError as refused:
        with pytest.raises(type(refused)):
            float_text(x)
        return
    assert float_text(x) == expected


scores = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(ODD_SCORES),
    st.builds(
        FitnessFailure,
        st.sampled_from(["fuel", "trap", "invalid"]),
        st.text(max_size=12),
    ),
)


class Maker:
    """Both halves of the writer, with the message between them."""

    def __init__(self, codec: GenomeCodec, minimize: bool) -> None:
        self.names = Namer(codec)
        self.records = RecordMaker(minimize)

    def __call__(self, job: Job, *, cids: bool = False) -> StagedGeneration:
        # cids: the breeding process spells the CIDs (a writer behind), else the writer does.
        buf = bytearray(b"".join(named_frame(self.names(job, cids=cids))))
        message = take_message(buf)
        assert message is not None and not buf
        return self.records(named_of(message))


def expected_record(
    codec: GenomeCodec,
    generation: int,
    population: list[list[object]],
    parents: list[tuple[int, ...]],
    results: list[float | FitnessFailure],
    minimize: bool,
) -> GenerationRecord:
    individuals = []
    for values, ps, r in zip(population, parents, results, strict=True):
        cid = CID.of(codec.encode(values))
        if isinstance(r, FitnessFailure):
            individuals.append(Individual(cid, None, ps, Failure(r.reason, r.error)))
        else:
            individuals.append(Individual(cid, r, ps))
    best = best_index([i.score for i in individuals], minimize)
    return GenerationRecord(generation, tuple(individuals), best)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    states(),
    st.integers(1, 7),
    st.integers(0, 2**32),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
    st.integers(0, 3),
    st.booleans(),
    st.data(),
)
def test_recipes_rebuild_every_generation_exactly(
    state: State,
    size: int,
    seed: int,
    mutation_rate: float,
    crossover_rate: float,
    elite: int,
    minimize: bool,
    data: st.DataObject,
) -> None:
    codec = codec_of(state)
    var = Variation(size, mutation_rate, crossover_rate, elite, 2, minimize)
    breeder = Breeder(codec, var)
    maker = Maker(codec, minimize)
    population, parents = initial_population(codec, size, Stream.for_generation(seed, 0))
    recipes: list[Recipe] | None = None
    for generation in range(4):
        results = data.draw(st.lists(scores, min_size=size, max_size=size))
        # As the run submits it: whole the first time, then as recipes.
        job = (generation, parents, results, recipes, None if recipes else population)
        staged = maker(job, cids=data.draw(st.booleans()))
        record = expected_record(codec, generation, population, parents, results, minimize)
        assert staged.record == record.encode()
        assert staged.generation == generation
        best = record.best
        assert staged.best_score == (None if best is None else record.individuals[best].score)
        manifests = {str(CID.of(codec.encode(v))): codec.encode(v) for v in population}
        assert staged.states == {n: git_oid(OBJ_BLOB, m) for n, m in manifests.items()}
        assert {oid: m for oid, m in staged.new} == {
            oid: manifests[n] for n, oid in staged.states.items() if oid in dict(staged.new)
        }
        if generation == 0:
            assert len(dict(staged.new)) == len(manifests)
        scored = [None if isinstance(r, FitnessFailure) else r for r in results]
        recipes = []
        population, parents = breeder.breed(
            population, scored, Stream.for_generation(seed, generation + 1), recipes
        )


def test_unchanged_copies_are_not_hashed_again() -> None:
    genes = [Gene.make(f"x{i}", "float", 0.5, min=-1, max=1) for i in range(4)]
    codec = GenomeCodec(State(Genome(tuple(genes))), 0.1)
    maker = Maker(codec, False)
    pop = [[0.5, 0.5, 0.5, 0.5], [0.25, 0.5, 0.5, 0.5]]
    first = maker((0, [(), ()], [1.0, 2.0], None, pop))
    assert len(first.new) == 2
    recipes: list[Recipe] = [(1, 1, None, ()), (0, 1, b"\x01\x00\x00\x00", ((3, "0.75"),))]
    second = maker((1, [(1,), (0, 1)], [2.0, 3.0], recipes, None))
    (only,) = second.new
    assert only[1] == codec.encode([0.5, 0.5, 0.5, 0.75])
    assert second.best_score == 3.0


def test_a_score_that_is_not_finite_is_refused() -> None:
    codec = GenomeCodec(State(Genome((Gene.make("x", "float", 0.5),))), 0.1)
    with pytest.raises(RunFormatError):
        Maker(codec, False)((0, [()], [float("inf")], None, [[0.5]]))
