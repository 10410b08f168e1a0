"""Builders for merge tests: stores with two experiments that diverge, genes, blocks, the CLI."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pytest

from mindgit.evolve.fitness import add_fitness
from mindgit.ipld.cid import CID
from mindgit.store.genome import Gene
from mindgit.store.repository import Commit, Store
from mindgit.store.state import Block, State
from tests.conftest import FIXTURES

FITNESS = FIXTURES / "fitness"
RASTRIGIN = FITNESS / "rastrigin.wat"
ONEMAX = FITNESS / "onemax.wat"
HOSTILE = FITNESS / "hostile"


def x(name: str, value: float) -> Gene:
    """A Rastrigin gene."""
    return Gene.make(name, "float", value, min=-5.12, max=5.12)


def block(value: str) -> Block:
    """An opaque memory/data block."""
    return Block.encode({"value": value})


def set_memories(
    store: Store, memories: Mapping[str, Block], *, experiment: str | None = None
) -> Commit:
    def change(state: State) -> tuple[State, Mapping[CID, bytes]]:
        return (
            state.with_memories({k: b.cid for k, b in memories.items()}),
            {b.cid: b.data for b in memories.values()},
        )

    return store.update(change, "memories", experiment=experiment)


def set_data(store: Store, data: Mapping[str, Block], *, experiment: str | None = None) -> Commit:
    def change(state: State) -> tuple[State, Mapping[CID, bytes]]:
        return (
            state.with_data({k: b.cid for k, b in data.items()}),
            {b.cid: b.data for b in data.values()},
        )

    return store.update(change, "data", experiment=experiment)


def diverge(
    store: Store,
    ours: Iterable[Gene],
    theirs: Iterable[Gene],
    *,
    start: Iterable[Gene] = (),
    name: str = "dreamer",
) -> None:
    """``main`` gets ``start``, then forks ``name``; each side then sets its own genes."""
    start = tuple(start)
    if start:
        store.set_genes(start)
    store.fork(name, switch=False)
    theirs = tuple(theirs)
    if theirs:
        store.set_genes(theirs, experiment=name)
    ours = tuple(ours)
    if ours:
        store.set_genes(ours, experiment="main")


@pytest.fixture
def rastrigin(store: Store) -> Store:
    """The alpha store with the Rastrigin module stored as ``rastrigin``."""
    add_fitness(store, RASTRIGIN)
    return store
