"""A run's current population and how the next one is bred from it.

Two implementations of one interface: :class:`KernelBreeding` (``mindgit.evolve.kernel``), which
breeds in mindgit's wasm kernel and keeps the population as packed genome vectors, and
:class:`ListBreeding`, which keeps it as Python lists and breeds with
:class:`~mindgit.evolve.operators.Breeder`, the reference. Both give the same generations bit
for bit. ``evolve`` uses the kernel; ``MINDGIT_EVOLVE_KERNEL=0`` selects the reference.
"""

from __future__ import annotations

import array
import itertools
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from mindgit.evolve.genes import GenomeCodec, Values
from mindgit.evolve.operators import Breeder, Recipe, Variation
from mindgit.evolve.prng import Stream


class Breeding(Protocol):
    """A population, bred generation after generation."""

    @property
    def size(self) -> int: ...

    def load(self, population: Sequence[Values]) -> None:
        """Make ``population`` (slot values) the current population."""

    def breed(
        self, scores: Sequence[float | None], key: bytes, recipes: list[Recipe] | None = None
    ) -> list[tuple[int, ...]]:
        """Breed the next generation with the stream keyed ``key`` (``Breeder.breed``); it
        becomes the current one. Returns each child's parents; appends each child's recipe."""
        ...

    def vectors(self) -> bytes:
        """The current population as packed little-endian f64 genome vectors."""
        ...

    def population(self) -> list[Values]:
        """Every individual's slot values."""
        ...

    def individual(self, index: int) -> Values:
        """One individual's slot values."""
        ...


class ListBreeding:
    """The population as lists of slot values, bred by the reference ``Breeder``."""

    def __init__(self, codec: GenomeCodec, var: Variation) -> None:
        self._breeder = Breeder(codec, var)
        self._population: list[Values] = []

    @property
    def size(self) -> int:
        return len(self._population)

    def load(self, population: Sequence[Values]) -> None:
        self._population = [list(values) for values in population]

    def breed(
        self, scores: Sequence[float | None], key: bytes, recipes: list[Recipe] | None = None
    ) -> list[tuple[int, ...]]:
        self._population, parents = self._breeder.breed(
            self._population, scores, Stream(key), recipes
        )
        return parents

    def vectors(self) -> bytes:
        packed = array.array("d", itertools.chain.from_iterable(self._population))
        if sys.byteorder != "little":
            packed.byteswap()
        return packed.tobytes()

    def population(self) -> list[Values]:
        return [list(values) for values in self._population]

    def individual(self, index: int) -> Values:
        return list(self._population[index])


def use_kernel() -> bool:
    """Whether runs breed in the wasm kernel (``MINDGIT_EVOLVE_KERNEL=0``: the reference)."""
    return os.environ.get("MINDGIT_EVOLVE_KERNEL", "1") != "0"


def make_breeding(codec: GenomeCodec, var: Variation, cache_dir: Path | None = None) -> Breeding:
    """The kernel's breeding; the reference's where ``use_kernel`` says not to, or where a
    generation would not fit the kernel's 4 GiB memory."""
    if not use_kernel():
        return ListBreeding(codec, var)
    # wasmtime is imported only here, when a run starts (see mindgit.sandbox.engine).
    from mindgit.evolve.kernel import KernelBreeding, TooLargeForKernel

    try:
        return KernelBreeding(codec, var, cache_dir)
    except TooLargeForKernel:
        return ListBreeding(codec, var)
