"""Selection and variation: tournament selection with elitism, uniform crossover, typed mutation.

Everything random comes from one :class:`~mindgit.evolve.prng.Stream` per generation, consumed
in a fixed order, and every float operation is an IEEE-exact ``+ - * /`` or ``sqrt``, so a
generation is a pure function of (previous population, scores, parameters, seed, generation).

Mutation, per gene kind (``sigma`` is the gene's ``scale`` if it declares one, else
``mutation_scale`` times its range, or ``mutation_scale`` itself when unbounded):

* float: add ``sigma * N(0, 1)``, reflect off a bound it crosses, then clamp;
* int: add a non-zero step ``round(sigma * N(0, 1))`` (at least 1), reflect, clamp;
* bool: flip;  choice: another of its choices, uniformly;
* floats: each element like a float gene, each chosen independently.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from operator import getitem

from mindgit.evolve.genes import BOOL, CHOICE, FLOAT, INT, GenomeCodec, Slot, Values, float_text
from mindgit.evolve.prng import Stream
from mindgit.store.generation import RunParams

# Generation 0 is the start state and mutants of it with each gene changed with this chance:
# enough spread to select from (a random bit string for bool genomes).
INITIAL_RATE = 0.5
_NEG_INF = -math.inf
_TWO_M53 = 2.0**-53
_BITS = bytes.maketrans(b"01", b"\0\1")


# How a child was made, for a writer that keeps the last generation's slot texts: parents a
# and b, the crossover's genes-from-a mask (None: a copy of a), and each mutated slot's new
# text (``GenomeCodec.spell``). A plain tuple: a generation's 200 of them cross a pipe.
Recipe = tuple[int, int, bytes | None, tuple[tuple[int, str], ...]]


@dataclass(frozen=True, slots=True)
class Variation:
    """The resolved breeding settings of a run."""

    population: int
    mutation_rate: float
    crossover_rate: float
    elite: int
    tournament: int
    minimize: bool

    @classmethod
    def of(cls, params: RunParams) -> Variation:
        assert params.mutation_rate is not None
        return cls(
            params.population,
            params.mutation_rate,
            params.crossover_rate,
            params.elite,
            params.tournament,
            params.minimize,
        )


def default_mutation_rate(codec: GenomeCodec) -> float:
    """One mutated gene per child on average: 1 / the number of evolvable slots."""
    return 1.0 / len(codec.evolvable)


def fitness_keys(scores: Sequence[float | None], minimize: bool) -> list[float]:
    """Scores as keys where larger is fitter; a failed individual is the least fit."""
    if minimize:
        return [_NEG_INF if s is None else -s for s in scores]
    return [_NEG_INF if s is None else s for s in scores]


class Mutator:
    """Mutates slot values in place: each evolvable slot with probability ``rate``.

    Which slots mutate is drawn as geometric gaps between mutated slots (one draw per mutation,
    not one per gene), by comparing a uniform draw with the exact powers ``(1 - rate) ** k``.
    """

    __slots__ = ("_codec", "_gaps", "_n", "rate")

    def __init__(self, codec: GenomeCodec, rate: float) -> None:
        self._codec = codec
        self.rate = rate
        self._n = len(codec.evolvable)
        keep = 1.0 - rate
        gaps: list[float] = []
        p = 1.0
        for _ in range(self._n):
            p = p * keep
            gaps.append(-p)
        self._gaps = gaps  # increasing: -(1-r)^1, -(1-r)^2, ...

    @property
    def gaps(self) -> tuple[float, ...]:
        """The thresholds a uniform draw is bisected against to find the next mutated slot."""
        return tuple(self._gaps)

    def __call__(
        self, values: Values, stream: Stream, changed: list[tuple[int, str]] | None = None
    ) -> None:
        """Mutate ``values`` in place; each slot mutated is appended to ``changed`` if given, as
        (index, new text): a slot at most once (its value may happen to stay the same)."""
        rate = self.rate
        if rate <= 0.0:
            return
        codec = self._codec
        ev = codec.evolvable
        slots = codec.slots
        n = self._n
        if rate >= 1.0:
            for i in ev:
                _mutate_slot(slots[i].kind, slots[i], values, i, stream)
                if changed is not None:
                    changed.append((i, codec.spell(i, values[i])))
            return
        gaps = self._gaps
        word = stream.word
        # A gap of k slots has probability (1-r)^k * r: u in (0, 1] below (1-r)^k for k of them.
        pos = bisect_right(gaps, -((word() >> 11) + 1) * _TWO_M53)
        while pos < n:
            i = ev[pos]
            slot = slots[i]
            k = slot.kind
            if k == FLOAT:
                v = values[i]
                x = v + slot.sigma * stream.gaussian()
                hi = slot.hi
                lo = slot.lo
                if x > hi:
                    x = hi - (x - hi)
                if x < lo:
                    x = lo + (lo - x)
                if x > hi:
                    x = hi
                if x - x != 0.0:  # overflowed to an infinity: keep the old value
                    x = v
                x += 0.0  # -0.0 is not a DAG-JSON number
                values[i] = x
                if changed is not None:
                    changed.append((i, float_text(x)))
            else:
                _mutate_slot(k, slot, values, i, stream)
                if changed is not None:
                    changed.append((i, codec.spell(i, values[i])))
            pos += 1 + bisect_right(gaps, -((word() >> 11) + 1) * _TWO_M53)


def _mutate_slot(kind: int, slot: Slot, values: Values, i: int, stream: Stream) -> None:
    if kind == FLOAT:
        v = values[i]
        x = v + slot.sigma * stream.gaussian()
        if x > slot.hi:
            x = slot.hi - (x - slot.hi)
        if x < slot.lo:
            x = slot.lo + (slot.lo - x)
        if x > slot.hi:
            x = slot.hi
        if x - x != 0.0:
            x = v
        values[i] = x + 0.0
    elif kind == INT:
        z = stream.gaussian()
        s = slot.sigma * z
        if s - s != 0.0:
            # The step overflowed (a huge --mutation-scale or gene scale): round() cannot take
            # it. Any finite step this large reflects off both bounds and is clamped to hi,
            # so hi is also what an infinite one gives.
            values[i] = int(slot.hi)
            return
        step = round(s)
        if step == 0:
            step = 1 if z >= 0.0 else -1
        x = values[i] + step
        lo, hi = slot.lo, slot.hi
        if x > hi:
            x = 2 * int(hi) - x
        if x < lo:
            x = 2 * int(lo) - x
        values[i] = int(min(max(x, lo), hi))
    elif kind == BOOL:
        values[i] = not values[i]
    elif kind == CHOICE:
        k = len(slot.choices)
        values[i] = (values[i] + 1 + stream.below(k - 1)) % k


def initial_population(
    codec: GenomeCodec, size: int, stream: Stream
) -> tuple[list[Values], list[tuple[int, ...]]]:
    """Generation 0: the start state, then ``size - 1`` mutants of it. No parents in the run."""
    start = codec.start_values
    pop = [list(start)]
    mutate = Mutator(codec, INITIAL_RATE)
    for _ in range(size - 1):
        child = list(start)
        mutate(child, stream)
        pop.append(child)
    return pop, [() for _ in range(size)]


class Breeder:
    """Breeds generation after generation of one run (settings and tables computed once)."""

    __slots__ = ("_codec", "_mutate", "_var")

    def __init__(self, codec: GenomeCodec, var: Variation) -> None:
        self._codec = codec
        self._var = var
        self._mutate = Mutator(codec, var.mutation_rate)

    def breed(
        self,
        population: Sequence[Values],
        scores: Sequence[float | None],
        stream: Stream,
        recipes: list[Recipe] | None = None,
    ) -> tuple[list[Values], list[tuple[int, ...]]]:
        """The next generation and, for each child, the indices of its parents.

        The ``elite`` fittest (successfully scored) individuals come first, unchanged. Every
        other child is a tournament winner, crossed (with probability ``crossover_rate``,
        uniformly, gene by gene) with a second winner, then mutated. If ``recipes`` is given,
        each child's :data:`Recipe` is appended to it.
        """
        var = self._var
        codec = self._codec
        mutate = self._mutate
        n = len(population)
        keys = fitness_keys(scores, var.minimize)
        ranked = sorted((i for i in range(n) if keys[i] != _NEG_INF), key=lambda i: (-keys[i], i))
        elites = ranked[: var.elite]
        children: list[Values] = [list(population[i]) for i in elites]
        parents: list[tuple[int, ...]] = [(i,) for i in elites]
        if recipes is not None:
            recipes.extend((i, i, None, ()) for i in elites)
        changed: list[tuple[int, str]]
        t = var.tournament
        cx_threshold = int(var.crossover_rate * 2.0**53)
        dim = codec.dim
        mask_words = (dim + 63) // 64
        width = mask_words * 64
        # Each child takes the same number of words, used or not, so the stream stays simple:
        # t for each tournament, one for the crossover coin, then the crossover mask.
        per_child = 2 * t + 1 + mask_words
        while len(children) < var.population:
            w = stream.words(per_child)
            a = (w[0] * n) >> 64
            for x in w[1:t]:
                j = (x * n) >> 64
                if keys[j] > keys[a]:
                    a = j
            if (w[t] >> 11) < cx_threshold:
                b = (w[t + 1] * n) >> 64
                for x in w[t + 2 : 2 * t + 1]:
                    j = (x * n) >> 64
                    if keys[j] > keys[b]:
                        b = j
                mask = 0
                for x in w[2 * t + 1 :]:
                    mask = (mask << 64) | x
                # A 1 bit takes the gene from a, a 0 from b: the bit string as bytes 1/0
                # indexes the (b, a) pairs, all in C.
                take_a = format(mask, f"0{width}b")[-dim:].encode().translate(_BITS)
                child = list(map(getitem, zip(population[b], population[a], strict=True), take_a))
                parents.append((a,) if a == b else (a, b))
            else:
                b = a
                take_a = None
                child = list(population[a])
                parents.append((a,))
            if recipes is None:
                mutate(child, stream)
            else:
                changed = []
                mutate(child, stream, changed)
                recipes.append((a, b, take_a, tuple(changed) if changed else ()))
            children.append(child)
        return children, parents
