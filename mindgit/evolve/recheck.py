"""Re-checking a run instead of believing it: re-score every individual and re-breed every
generation from the one before, then compare bit for bit with what the run recorded.

This is what a peer can do with a run it fetched: the run carries its module, its parameters,
its seed and its start state, and evolution is deterministic, so every recorded score, state and
parent index can be reproduced exactly.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

import pygit2

from mindgit.evolve.fitness import load_fitness
from mindgit.evolve.genes import GenomeCodec, Values
from mindgit.evolve.operators import Breeder, Variation, initial_population
from mindgit.evolve.prng import Stream
from mindgit.evolve.runs import get_run, run_generations
from mindgit.ipld.cid import CID, RAW
from mindgit.sandbox import FitnessFailure, Limits
from mindgit.store.generation import (
    MODULE_FILE,
    GenerationRecord,
    RunFormatError,
    RunTip,
)
from mindgit.store.generation_check import read_manifest
from mindgit.store.repository import Store

_F64 = struct.Struct("<d")


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """One recorded fact that re-running the run did not reproduce."""

    generation: int
    index: int
    what: str  # "score", "state" or "parents"
    recorded: str
    actual: str

    def __str__(self) -> str:
        return (
            f"generation {self.generation} individual {self.index}: {self.what} recorded as "
            f"{self.recorded}, re-run gives {self.actual}"
        )


@dataclass(frozen=True, slots=True)
class RecheckReport:
    run_id: str
    generations: int
    individuals: int
    discrepancies: tuple[Discrepancy, ...]

    @property
    def ok(self) -> bool:
        return not self.discrepancies


def _bits(x: float) -> str:
    return f"{x!r} (0x{_F64.pack(x).hex()})"


def _result_text(r: float | FitnessFailure | None, failure: str | None = None) -> str:
    if isinstance(r, FitnessFailure):
        return f"failure {r.reason}"
    if r is None:
        return f"failure {failure}"
    return _bits(r)


def recheck(
    store: Store, run_id: str, *, on_generation: Callable[[int, int], None] | None = None
) -> RecheckReport:
    """Re-score and re-breed every generation of a run; report what does not match."""
    tip = get_run(store, run_id)
    info = tip.info
    start = store.snapshot(info.start_commit)
    codec = GenomeCodec(start.state, info.params.mutation_scale)
    wasm = _module_bytes(store, tip)
    limits = info.limits
    module = load_fitness(
        store,
        wasm,
        Limits(
            fuel=limits.fuel,
            memory_bytes=limits.memory,
            stack_bytes=limits.stack,
            table_elements=limits.table,
        ),
    )
    breeder = Breeder(codec, Variation.of(info.params))
    # The whole history is read and checked first: a generation missing in the middle or
    # another run's generation spliced in is named, not re-bred from the wrong generation.
    generations = list(run_generations(store, tip))[::-1]
    found: list[Discrepancy] = []
    previous: tuple[list[Values], list[float | None]] | None = None
    checked = 0
    for commit, record in generations:
        g = record.generation
        tree = commit.tree
        population = [
            codec.values_of_manifest(ind.state, read_manifest(store.repo, tree, ind.state))
            for ind in record.individuals
        ]
        stream = Stream.for_generation(info.params.seed, g)
        if previous is None:
            bred, parents = initial_population(codec, info.params.population, stream)
        else:
            bred, parents = breeder.breed(previous[0], previous[1], stream)
        _compare_breeding(codec, record, bred, parents, found)
        if info.entry == "fitness_batch":
            results = module.score_batch(population, codec.dim)
        else:
            results = module.score_many([codec.encode(v) for v in population])
        for i, (ind, r) in enumerate(zip(record.individuals, results, strict=True)):
            failure = ind.failure.reason if ind.failure is not None else None
            same = (
                failure == r.reason
                if isinstance(r, FitnessFailure)
                else ind.score is not None and _F64.pack(ind.score) == _F64.pack(r + 0.0)
            )
            if not same:
                found.append(
                    Discrepancy(g, i, "score", _result_text(ind.score, failure), _result_text(r))
                )
        previous = (population, [ind.score for ind in record.individuals])
        checked += len(population)
        if on_generation is not None:
            on_generation(g, len(generations))
    return RecheckReport(run_id, len(generations), checked, tuple(found))


def _module_bytes(store: Store, tip: RunTip) -> bytes:
    """The run's own module.wasm, which must be there and be the module run.json names."""
    where = f"commit {tip.commit[:12]} of run {tip.run_id}"
    try:
        blob = store.repo.get(tip.tree[MODULE_FILE].id)
    except KeyError:
        blob = None
    if not isinstance(blob, pygit2.Blob):
        raise RunFormatError(where, f"holds no {MODULE_FILE} (missing from this store)")
    wasm = blob.read_raw()
    if CID.of(wasm, RAW) != tip.info.module:
        raise RunFormatError(where, f"{MODULE_FILE} is not the module {tip.info.module}")
    return wasm


def _compare_breeding(
    codec: GenomeCodec,
    record: GenerationRecord,
    bred: list[Values],
    parents: list[tuple[int, ...]],
    found: list[Discrepancy],
) -> None:
    g = record.generation
    for i, (ind, values, ps) in enumerate(zip(record.individuals, bred, parents, strict=True)):
        state = CID.of(codec.encode(values))
        if state != ind.state:
            found.append(Discrepancy(g, i, "state", str(ind.state), str(state)))
        if ps != ind.parents:
            found.append(Discrepancy(g, i, "parents", str(list(ind.parents)), str(list(ps))))
