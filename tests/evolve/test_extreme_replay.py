"""A child's manifest spelled from its mutated slots' texts (as the writer replays a recipe) is
the canonical manifest of its state, also at the edges of the number formats."""

from __future__ import annotations

import pytest

from mindgit.evolve.genes import GenomeCodec
from mindgit.evolve.operators import Mutator
from mindgit.evolve.prng import Stream
from mindgit.store.genome import Gene, Genome
from mindgit.store.state import State, parse_manifest

EDGES = [
    [Gene.make("i", "int", 2**53 - 1), Gene.make("f", "float", 1.7e308)],
    [Gene.make("i", "int", -(2**53 - 1), max=0), Gene.make("f", "float", -1.7e308, max=0.0)],
    [Gene.make("f", "float", 5e-324), Gene.make("g", "floats", [1e21, -1e-7, 2.0**53 + 2])],
    [
        Gene.make("b", "bool", True),
        Gene.make("c", "choice", "\u2028x", choices=["\u2028x", '"q\\', "\U0001f600"]),
        Gene.make("s", "str", "%s%%"),
    ],
]


@pytest.mark.parametrize("genes", EDGES)
def test_replayed_texts_spell_the_canonical_manifest(genes: list[Gene]) -> None:
    codec = GenomeCodec(State(Genome(tuple(genes))), 0.5)
    for seed in range(100):
        values = list(codec.start_values)
        changed: list[tuple[int, str]] = []
        Mutator(codec, 1.0)(values, Stream.for_generation(seed, 0), changed)
        texts = codec.texts(codec.start_values)
        for i, text in changed:
            texts[i] = text
        data = codec.join(texts)
        assert data == codec.to_state(values).manifest().data == codec.encode(values)
        assert parse_manifest(data).manifest().data == data
