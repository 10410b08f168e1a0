"""The wasm breeding kernel breeds exactly what the reference ``Breeder`` breeds: the same
children, parents and recipes, bit for bit, on random genomes, settings, scores and seeds; and
whole runs bred either way store the same generations."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.evolve import kernel
from mindgit.evolve.breeding import ListBreeding, make_breeding
from mindgit.evolve.genes import GenomeCodec, Values, float_text, float_texts
from mindgit.evolve.kernel import (
    KernelBreeding,
    KernelError,
    TooLargeForKernel,
    kernel_wasm,
)
from mindgit.evolve.operators import Recipe, Variation, initial_population
from mindgit.evolve.prng import Stream, stream_key
from mindgit.evolve.run import start_run
from mindgit.ipld.dagjson import DagJsonError
from mindgit.store.generation import RunParams
from mindgit.store.genome import Gene, Genome
from mindgit.store.state import State
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.evolve.test_genes import codec_of, states
from tests.evolve.test_run import fingerprint

WASM_DIR = Path(kernel.__file__).parent / "wasm"


def typed(population: Sequence[Values]) -> list[list[str]]:
    """Values as type and repr: 1, 1.0 and True must not pass for one another."""
    return [[f"{type(v).__name__}:{v!r}" for v in ind] for ind in population]


def breed_both(
    codec: GenomeCodec,
    var: Variation,
    seed: int,
    scores_by_generation: Sequence[Sequence[float | None]],
) -> None:
    start, _ = initial_population(codec, var.population, Stream.for_generation(seed, 0))
    reference = ListBreeding(codec, var)
    fast = KernelBreeding(codec, var)
    reference.load(start)
    fast.load(start)
    for generation, raw in enumerate(scores_by_generation, start=1):
        scores = [raw[i % len(raw)] for i in range(reference.size)]
        expected_recipes: list[Recipe] = []
        got_recipes: list[Recipe] = []
        key = stream_key(seed, generation)
        expected = reference.breed(scores, key, expected_recipes)
        got = fast.breed(scores, key, got_recipes)
        assert got == expected, generation
        assert got_recipes == expected_recipes, generation
        assert typed(fast.population()) == typed(reference.population()), generation
        assert fast.vectors() == reference.vectors()
        assert typed([fast.individual(0)]) == typed([reference.individual(0)])


score = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False))


@settings(max_examples=120)
@given(
    state=states(),
    scale=st.one_of(st.floats(1e-3, 10.0), st.sampled_from([1e-300, 1e15, 1e300])),
    population=st.integers(1, 24),
    rate=st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 1.0, 1e-9])),
    crossover=st.floats(0.0, 1.0),
    elite=st.integers(0, 5),
    tournament=st.integers(1, 5),
    minimize=st.booleans(),
    seed=st.integers(0, 2**64 - 1),
    scores=st.lists(st.lists(score, min_size=1, max_size=8), min_size=1, max_size=4),
)
def test_the_kernel_breeds_what_the_reference_breeds(
    state: State,
    scale: float,
    population: int,
    rate: float,
    crossover: float,
    elite: int,
    tournament: int,
    minimize: bool,
    seed: int,
    scores: list[list[float | None]],
) -> None:
    codec_of(state)  # skips genomes with nothing to evolve
    codec = GenomeCodec(state, scale)
    var = Variation(population, rate, crossover, elite, tournament, minimize)
    breed_both(codec, var, seed, scores)


def test_a_realistic_generation_matches_over_many_generations() -> None:
    genes = [Gene.make(f"x{i:02d}", "float", 0.1 * i, min=-5.12, max=5.12) for i in range(32)]
    codec = GenomeCodec(State(Genome(tuple(genes))), 0.1)
    var = Variation(200, 1 / 32, 0.5, 1, 3, False)
    scores = [[float((i * 7919) % 211) - 100.0 for i in range(200)]] * 25
    breed_both(codec, var, 7, scores)


def test_wide_genomes_take_several_mask_words() -> None:
    genes = [Gene.make(f"b{i:03d}", "bool", i % 3 == 0) for i in range(150)]
    codec = GenomeCodec(State(Genome(tuple(genes))), 0.1)
    breed_both(codec, Variation(30, 1 / 150, 0.9, 2, 3, False), 3, [[1.0, 2.0, None, 3.0]] * 5)


def test_an_int_step_too_large_for_the_kernel_is_bred_by_the_reference() -> None:
    # sigma = 1e300: round(sigma * z) is an integer far beyond 2**64, which only Python's ints
    # hold; the kernel hands such a generation to the reference Breeder.
    genes = (Gene.make("n", "int", 3), Gene.make("x", "float", 0.5, min=0, max=1))
    codec = GenomeCodec(State(Genome(genes)), 1e300)
    breed_both(codec, Variation(12, 1.0, 0.5, 1, 2, False), 11, [[1.0, 2.0, 3.0]] * 3)


def test_a_stream_shorter_than_a_generation_needs_is_extended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every generation starts with one block of words, too few for 64 children: the kernel says
    # so and is run again with more.
    monkeypatch.setattr(kernel, "_WORDS_PER_MUTATION", 0)
    monkeypatch.setattr(kernel, "_SPARE_WORDS", 0)
    genes = [Gene.make(f"x{i}", "float", 0.0, min=-1, max=1) for i in range(40)]
    codec = GenomeCodec(State(Genome(tuple(genes))), 0.1)
    var = Variation(300, 1.0, 0.5, 1, 3, False)
    breed_both(codec, var, 5, [[float(i) for i in range(300)]] * 2)


def test_the_kernel_refuses_scores_that_do_not_fit_the_population() -> None:
    codec = GenomeCodec(State(Genome((Gene.make("x", "float", 0.5),))), 0.1)
    fast = KernelBreeding(codec, Variation(4, 0.5, 0.5, 1, 2, False))
    fast.load([[0.1], [0.2], [0.3], [0.4]])
    with pytest.raises(ValueError, match="3 scores for 4 individuals"):
        fast.breed([1.0, 2.0, 3.0], stream_key(1, 1))
    with pytest.raises(IndexError):
        fast.individual(4)


def test_runs_bred_by_the_kernel_and_by_the_reference_are_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = RunParams(population=16, generations=6, seed=3, elite=2)
    a = new_store(tmp_path / "a", float_genes(6), name="a")
    b = new_store(tmp_path / "b", float_genes(6), name="b")
    ra = start_run(a, str(RASTRIGIN), params)
    monkeypatch.setenv("MINDGIT_EVOLVE_KERNEL", "0")
    assert isinstance(
        make_breeding(
            GenomeCodec(a.state(), 0.1), Variation.of(RunParams(population=2, mutation_rate=0.5))
        ),
        ListBreeding,
    )
    rb = start_run(b, str(RASTRIGIN), params)
    assert (ra.best_score, ra.best_state) == (rb.best_score, rb.best_state)
    assert fingerprint(a, ra.run_id) == fingerprint(b, rb.run_id)


def test_the_shipped_kernel_is_built_from_its_source(tmp_path: Path) -> None:
    """breed.wasm is what ./build makes of breed.c (with the clang it was built with)."""
    clang = shutil.which("clang")
    if clang is None or shutil.which("wasm-ld") is None:
        pytest.skip("clang and wasm-ld are needed to rebuild the kernel")
    version = subprocess.run([clang, "--version"], capture_output=True, text=True).stdout
    if "clang version 14." not in version:
        pytest.skip(f"breed.wasm was built with clang 14, this is {version.splitlines()[0]}")
    work = tmp_path / "wasm"
    shutil.copytree(WASM_DIR, work, ignore=shutil.ignore_patterns("breed.wasm"))
    subprocess.run([str(work / "build")], check=True)
    assert (work / "breed.wasm").read_bytes() == kernel_wasm()


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=20))
def test_float_texts_spell_as_float_text(values: list[float]) -> None:
    expected = []
    for v in values:
        try:
            expected.append(float_text(v))
        except DagJsonError:
            with pytest.raises(DagJsonError):
                float_texts(values)
            return
    assert float_texts(values) == expected


def test_a_population_over_the_kernels_memory_is_bred_by_the_reference() -> None:
    genes = [Gene.make(f"x{i:04d}", "float", 0.0, min=-1, max=1) for i in range(1000)]
    codec = GenomeCodec(State(Genome(tuple(genes))), 0.1)
    var = Variation(300_000, 0.001, 0.5, 1, 3, False)  # 2 x 2.4 GB of genome vectors
    with pytest.raises(TooLargeForKernel, match="over a wasm32 memory's 4 GiB"):
        KernelBreeding(codec, var)
    assert isinstance(make_breeding(codec, var), ListBreeding)


def test_the_kernel_refuses_more_individuals_than_its_population() -> None:
    codec = GenomeCodec(State(Genome((Gene.make("x", "float", 0.5),))), 0.1)
    fast = KernelBreeding(codec, Variation(2, 0.5, 0.5, 1, 2, False))
    with pytest.raises(KernelError, match="a population of 3 does not fit"):
        fast.load([[0.1], [0.2], [0.3]])
