"""Breeding generation after generation in mindgit's own wasm kernel (``wasm/breed.c``).

:class:`~mindgit.evolve.operators.Breeder` is the definition of a generation; the kernel computes
the same generation bit for bit (the test suite compares them on random genomes, settings and
seeds, and whole runs made both ways), about ten times faster: breeding in Python was half of
a long run's time. The population stays in the kernel's memory between generations, as the
packed f64 genome vectors the fitness ABI scores, so scoring it takes one copy and no Python
list is built per individual. The stream's words are made here (SHAKE-256 blocks, as
:class:`~mindgit.evolve.prng.Stream` makes them) and written into the kernel's memory.

A generation the kernel cannot compute exactly (an int gene's mutation step of 2**52 or more)
is bred by the Python ``Breeder`` instead, from and into the same population.
"""

from __future__ import annotations

import array
import ctypes
import hashlib
import struct
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import wasmtime

from mindgit.errors import MindgitError
from mindgit.evolve.genes import (
    BOOL,
    CHOICE,
    FLOAT,
    INT,
    GenomeCodec,
    Values,
    float_text,
    float_texts,
)
from mindgit.evolve.operators import Breeder, Mutator, Recipe, Variation
from mindgit.evolve.prng import BLOCK_WORDS, Stream, block_bytes
from mindgit.sandbox import Limits
from mindgit.sandbox.engine import engine
from mindgit.sandbox.limits import MAX_FUEL
from mindgit.sandbox.runner import compile_module

_WASM = "breed.wasm"
# The kernel's Job struct (breed.c): 28 u32 fields, then the crossover threshold and the rate.
_JOB = struct.Struct("<28IQd")
_OK, _NEED_WORDS, _UNSUPPORTED = 0, 1, 2
_ELITE, _COPY, _CROSS = 0, 1, 2
_PAGE = 65536
# Words a generation is first given beyond its children's fixed draws: this many per expected
# mutation (a Gaussian takes ~2.5 words, a gap draw one), and a few spare. Too few only costs a
# second run of the generation with twice as many.
_WORDS_PER_MUTATION = 4
_SPARE_WORDS = 64
# A wasm32 memory's largest size: 65,536 pages.
_MAX_MEMORY = 1 << 32
_LITTLE_ENDIAN = sys.byteorder == "little"


class KernelError(MindgitError):
    """The breeding kernel could not be loaded or run (an installation problem)."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"the breeding kernel failed: {problem}")


class TooLargeForKernel(KernelError):
    """The population would not fit a wasm32 memory; the reference ``Breeder`` breeds it."""

    def __init__(self, needed: int) -> None:
        super().__init__(f"a generation needs {needed:,} bytes, over a wasm32 memory's 4 GiB")
        self.needed = needed


def kernel_wasm() -> bytes:
    """The shipped kernel module."""
    return resources.files("mindgit.evolve").joinpath("wasm", _WASM).read_bytes()


def _unpack(code: str, data: bytes) -> list[Any]:
    """The kernel's little-endian array of ``code`` items (``array`` type codes) as a list."""
    packed = array.array(code, data)
    if not _LITTLE_ENDIAN:
        packed.byteswap()
    return packed.tolist()


def _align(n: int) -> int:
    return (n + 7) & ~7


class KernelBreeding:
    """A run's population and its breeding, in the kernel's memory.

    ``load`` a population (generation 0, or the one a resumed run stored), then ``breed`` one
    generation after the other; ``vectors`` is the current population for ``score_batch``,
    ``individual`` and ``population`` its slot values.
    """

    def __init__(self, codec: GenomeCodec, var: Variation, cache_dir: Path | None = None) -> None:
        self._codec = codec
        self._var = var
        self._python = Breeder(codec, var)
        mutator = Mutator(codec, var.mutation_rate)
        wasm = kernel_wasm()
        limits = Limits()
        module = compile_module(wasm, hashlib.sha256(wasm).digest(), limits, cache_dir)
        self._store = wasmtime.Store(engine(limits.stack_bytes))
        instance = wasmtime.Instance(self._store, module, [])
        exports = instance.exports(self._store)
        memory, breed, heap_base = exports["memory"], exports["breed"], exports["__heap_base"]
        if not (
            isinstance(memory, wasmtime.Memory)
            and isinstance(breed, wasmtime.Func)
            and isinstance(heap_base, wasmtime.Global)
        ):
            raise KernelError(f"{_WASM} lacks its exports")
        self._memory = memory
        self._breed = breed
        slots = codec.slots
        dim = codec.dim
        n = max(var.population, 1)
        n_ev = len(codec.evolvable)
        self._dim = dim
        self._kinds = tuple(s.kind for s in slots)
        self._all_float = codec.all_float
        self._n_ev = n_ev
        # The layout: tables, then two population buffers (bred from one into the other), the
        # per-child results, and the stream's words last (they grow when a generation needs more).
        at = _align(int(heap_base.value(self._store)))
        regions: dict[str, int] = {}
        for name, size in (
            ("job", _JOB.size),
            ("kinds", dim),
            ("lo", 8 * dim),
            ("hi", 8 * dim),
            ("sigma", 8 * dim),
            ("choices", 4 * dim),
            ("ev", 4 * n_ev),
            ("gaps", 8 * n_ev),
            ("keys", 8 * n),
            ("pop0", 8 * n * dim),
            ("pop1", 8 * n * dim),
            ("parents", 8 * n),
            ("flags", n),
            ("take", n * dim),
            ("counts", 4 * n),
            ("muts", 4 * n * max(n_ev, 1)),
            ("mut_values", 8 * n * max(n_ev, 1)),
            ("words", 0),
        ):
            regions[name] = at
            at = _align(at + size)
        self._at = regions
        self._capacity = n  # individuals each buffer holds
        needed = at + 8 * self._words_wanted(var)
        if needed > _MAX_MEMORY:
            raise TooLargeForKernel(needed)
        self._ensure(at)
        self._write("kinds", bytes(self._kinds))
        self._write("lo", struct.pack(f"<{dim}d", *(s.lo for s in slots)))
        self._write("hi", struct.pack(f"<{dim}d", *(s.hi for s in slots)))
        self._write("sigma", struct.pack(f"<{dim}d", *(s.sigma for s in slots)))
        self._write("choices", struct.pack(f"<{dim}I", *(len(s.choices) for s in slots)))
        self._write("ev", struct.pack(f"<{n_ev}I", *codec.evolvable))
        self._write("gaps", struct.pack(f"<{n_ev}d", *mutator.gaps))
        self._current = "pop0"
        self._count = 0

    # -- memory ---------------------------------------------------------------------------

    def _ensure(self, end: int) -> None:
        have = self._memory.data_len(self._store)
        if end > have:
            if end > _MAX_MEMORY:
                raise TooLargeForKernel(end)
            try:
                self._memory.grow(self._store, (end - have + _PAGE - 1) // _PAGE)
            except wasmtime.WasmtimeError as exc:
                raise KernelError(f"its memory cannot grow to {end:,} bytes ({exc})") from None
        # The kernel never grows its memory, so its base moves only here.
        pointer = self._memory.data_ptr(self._store)
        self._address = ctypes.cast(pointer, ctypes.c_void_p).value or 0

    def _write(self, region: str, data: bytes) -> None:
        if data:
            ctypes.memmove(self._address + self._at[region], data, len(data))

    def _read(self, region: str, size: int) -> bytes:
        return ctypes.string_at(self._address + self._at[region], size)

    # -- the population -------------------------------------------------------------------

    @property
    def size(self) -> int:
        """How many individuals the current population has."""
        return self._count

    def load(self, population: Sequence[Values]) -> None:
        """Make ``population`` (slot values) the current population."""
        self._check_fits(len(population))
        packed = array.array("d", [float(v) for values in population for v in values])
        if not _LITTLE_ENDIAN:
            packed.byteswap()
        self._write(self._current, packed.tobytes())
        self._count = len(population)

    def vectors(self) -> bytes:
        """The current population as packed little-endian f64 genome vectors."""
        return self._read(self._current, 8 * self._count * self._dim)

    def population(self) -> list[Values]:
        """Every individual's slot values."""
        flat = _unpack("d", self.vectors())
        dim = self._dim
        return [self._typed(flat[k * dim : (k + 1) * dim]) for k in range(self._count)]

    def individual(self, index: int) -> Values:
        """One individual's slot values."""
        if not 0 <= index < self._count:
            raise IndexError(index)
        dim = self._dim
        at = self._at[self._current] + 8 * index * dim
        flat = _unpack("d", ctypes.string_at(self._address + at, 8 * dim))
        return self._typed(flat)

    def _typed(self, flat: list[float]) -> Values:
        """f64 vector values as the slot values ``Breeder`` works with."""
        out: Values = flat
        for i, kind in enumerate(self._kinds):
            if kind in (INT, CHOICE):
                out[i] = int(flat[i])
            elif kind == BOOL:
                out[i] = flat[i] != 0.0
        return out

    def _check_fits(self, count: int) -> None:
        if count > self._capacity:
            raise KernelError(f"a population of {count} does not fit buffers for {self._capacity}")

    # -- breeding -------------------------------------------------------------------------

    def breed(
        self, scores: Sequence[float | None], key: bytes, recipes: list[Recipe] | None = None
    ) -> list[tuple[int, ...]]:
        """Breed the next generation from the current one (see ``Breeder.breed``); it becomes
        the current population. Returns each child's parents; appends each child's recipe."""
        var = self._var
        n = self._count
        if len(scores) != n:
            raise ValueError(f"{len(scores)} scores for {n} individuals")
        neg_inf = float("-inf")
        if var.minimize:
            keys = [neg_inf if s is None else -s for s in scores]
        else:
            keys = [neg_inf if s is None else s for s in scores]
        self._write("keys", struct.pack(f"<{n}d", *keys))
        blocks = max(1, -(-self._words_wanted(var) // BLOCK_WORDS))
        target = "pop1" if self._current == "pop0" else "pop0"
        while True:
            self._fill_words(key, blocks)
            status, job = self._run(n, target, blocks * BLOCK_WORDS)
            if status != _NEED_WORDS:
                break
            blocks *= 2
        if status == _UNSUPPORTED:
            return self._breed_in_python(scores, key, recipes)
        if status != _OK:
            raise KernelError(f"breed returned {status}")
        children, muts_used = job[25], job[27]
        if not (0 < children <= self._capacity and muts_used <= children * self._n_ev):
            # Reading past the regions would read the kernel's memory as results, or crash.
            raise KernelError(f"breed reported {children} children, {muts_used} mutations")
        self._current = target
        self._count = children
        return self._results(children, muts_used, recipes)

    def _words_wanted(self, var: Variation) -> int:
        """The stream words a generation is first given: every child's fixed draws, and enough
        for its expected mutations several times over (a shortfall only costs a re-run)."""
        per_child = 2 * var.tournament + 1 + (self._dim + 63) // 64
        mutations = max(1.0, var.mutation_rate * self._n_ev)
        return int(var.population * (per_child + _WORDS_PER_MUTATION * mutations)) + _SPARE_WORDS

    def _fill_words(self, key: bytes, blocks: int) -> None:
        self._ensure(self._at["words"] + 8 * BLOCK_WORDS * blocks)
        self._write("words", b"".join(block_bytes(key, b) for b in range(blocks)))

    def _run(self, n: int, target: str, n_words: int) -> tuple[int, tuple[Any, ...]]:
        var = self._var
        at = self._at
        job = (
            n,
            var.population,
            self._dim,
            self._n_ev,
            var.elite,
            var.tournament,
            (self._dim + 63) // 64,  # crossover mask words
            n_words,
            at["kinds"],
            at["lo"],
            at["hi"],
            at["sigma"],
            at["choices"],
            at["ev"],
            at["gaps"],
            at["keys"],
            at[self._current],
            at[target],
            at["words"],
            at["parents"],
            at["flags"],
            at["take"],
            at["counts"],
            at["muts"],
            at["mut_values"],
            0,
            0,
            0,
            int(var.crossover_rate * 2.0**53),
            var.mutation_rate,
        )
        self._write("job", _JOB.pack(*job))
        self._store.set_fuel(MAX_FUEL)
        try:
            status = self._breed(self._store, at["job"])
        except wasmtime.Trap as exc:
            raise KernelError(str(exc).splitlines()[0]) from exc
        if not isinstance(status, int):
            raise KernelError(f"breed returned {status!r}")
        return status, _JOB.unpack(self._read("job", _JOB.size))

    def _results(
        self, children: int, muts_used: int, recipes: list[Recipe] | None
    ) -> list[tuple[int, ...]]:
        pairs = _unpack("I", self._read("parents", 8 * children))
        flags = self._read("flags", children)
        firsts = pairs[0::2]
        seconds = pairs[1::2]
        parents: list[tuple[int, ...]] = [
            (a, b) if f == _CROSS and a != b else (a,)
            for a, b, f in zip(firsts, seconds, flags, strict=True)
        ]
        if recipes is None:
            return parents
        dim = self._dim
        take = self._read("take", children * dim)
        masks = [
            take[k * dim : (k + 1) * dim] if f == _CROSS else None for k, f in enumerate(flags)
        ]
        counts = _unpack("I", self._read("counts", 4 * children))
        slots = _unpack("I", self._read("muts", 4 * muts_used))
        values = _unpack("d", self._read("mut_values", 8 * muts_used))
        texts = float_texts(values) if self._all_float else list(map(self._text, slots, values))
        pairs_ = list(zip(slots, texts, strict=True))
        changed: list[tuple[tuple[int, str], ...]] = []
        at = 0
        for c in counts:
            if c:
                changed.append(tuple(pairs_[at : at + c]))
                at += c
            else:
                changed.append(())
        recipes.extend(zip(firsts, seconds, masks, changed, strict=True))
        return parents

    def _text(self, slot: int, value: float) -> str:
        """A mutated slot's manifest text, from its f64 value."""
        kind = self._kinds[slot]
        if kind == FLOAT:
            return float_text(value)
        if kind == BOOL:
            return self._codec.spell(slot, value != 0.0)
        return self._codec.spell(slot, int(value))

    def _breed_in_python(
        self, scores: Sequence[float | None], key: bytes, recipes: list[Recipe] | None
    ) -> list[tuple[int, ...]]:
        children, parents = self._python.breed(self.population(), scores, Stream(key), recipes)
        self.load(children)
        return parents
