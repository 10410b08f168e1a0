"""A genome as a flat list of slots, and the fast path from slot values to manifest bytes.

Evolution changes gene values only: names, types, bounds and thoughts stay those of the start
state. So a population is a list of value lists (one value per slot: a float or int gene is one
slot, a ``floats`` gene one slot per element, a bool a bool, a choice the index of its value),
and a manifest is a fixed template with the values spelled into it. The template is made by the
DAG-JSON encoder itself, and the result is checked against ``State.manifest()`` (the test suite
does so for random genomes), so both always give the same bytes and the same CID.

Slot order is gene-name order, the order of the canonical manifest and of the fitness ABI's
genome vector.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from mindgit.errors import MindgitError
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID
from mindgit.store.generation_check import ManifestShape
from mindgit.store.genome import Gene, Genome
from mindgit.store.state import State

FLOAT, INT, BOOL, CHOICE = 0, 1, 2, 3
MAX_SAFE_INT = 2**53 - 1
_FLOAT_CACHE = 1 << 16

Value = float | int | bool
Values = list[Any]
Texts = list[str]


def float_text(value: float) -> str:
    """``dagjson.float_text``, by ``repr`` where that is already the canonical text.

    ``repr`` and ECMAScript print the same shortest digits, and place them alike unless the
    text has an exponent, ends in ".0" (integral, or -0.0) or is not a number; those take the
    full rules. The test suite checks that the two agree on every float.
    """
    t = float.__repr__(value)
    if "e" in t or t[-2:] == ".0" or t[-1] > "9":
        return dagjson.float_text(value)
    return t


def float_texts(values: Sequence[float]) -> list[str]:
    """``float_text`` of each value, by ``repr`` in one C-level pass where that is the spelling."""
    texts = list(map(float.__repr__, values))
    # float_text differs from repr only for texts with an exponent, ending in ".0", or not a
    # number ("inf", "nan"): one search of the joined texts rules all of them out at once.
    joined = "|".join(texts) + "|"
    if "e" in joined or ".0|" in joined or "n|" in joined or "f|" in joined:
        texts = list(map(float_text, values))
    return texts


def _bool_text(value: Any) -> str:
    return "true" if value else "false"


def _call(spell: Callable[[Any], str], value: Any) -> str:
    return spell(value)


class NoEvolvableGenes(MindgitError):
    """The start state has nothing evolution could change."""

    def __init__(self) -> None:
        super().__init__(
            "the state has no evolvable genes; nothing to evolve",
            hint="set some, e.g. `mindgit genome set x0=0.5 x1=-1 --min -5.12 --max 5.12`",
        )


class GenomeMismatch(MindgitError):
    """A stored state does not have the genome layout of its run."""

    def __init__(self, cid: CID, problem: str) -> None:
        super().__init__(f"state {cid} does not fit its run: {problem}")
        self.cid = cid
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Slot:
    """One evolvable position: its kind, bounds, mutation step and (for choices) options."""

    gene: str
    kind: int
    lo: float
    hi: float
    sigma: float
    choices: tuple[str, ...] = ()
    evolvable: bool = True


def _sigma(gene: Gene, mutation_scale: float) -> float:
    # A gene's own scale is its step; otherwise a fraction of its range, or of 1 if unbounded.
    if gene.scale is not None:
        return gene.scale
    if gene.min is not None and gene.max is not None:
        return mutation_scale * (gene.max - gene.min)
    return mutation_scale


class GenomeCodec:
    """Slot values <-> genome, manifest bytes and fitness vector, for one start state."""

    def __init__(self, state: State, mutation_scale: float) -> None:
        self.state = state
        self.genome = state.genome
        self.shape = ManifestShape(state)
        slots: list[Slot] = []
        self._genes: list[tuple[Gene, int]] = []  # (gene, number of slots)
        for gene in state.genome.genes:
            lo = -math.inf if gene.min is None else gene.min
            hi = math.inf if gene.max is None else gene.max
            ev = gene.evolvable
            sigma = _sigma(gene, mutation_scale)
            if gene.kind == "str":
                self._genes.append((gene, 0))
            elif gene.kind == "floats":
                n = len(gene.value)  # type: ignore[arg-type]
                slots.extend(Slot(gene.name, FLOAT, lo, hi, sigma, (), ev) for _ in range(n))
                self._genes.append((gene, n))
            else:
                if gene.kind == "float":
                    slot = Slot(gene.name, FLOAT, lo, hi, sigma, (), ev)
                elif gene.kind == "int":
                    lo = max(lo, -MAX_SAFE_INT)
                    hi = min(hi, MAX_SAFE_INT)
                    slot = Slot(gene.name, INT, lo, hi, sigma, (), ev)
                elif gene.kind == "bool":
                    slot = Slot(gene.name, BOOL, 0.0, 1.0, 0.0, (), ev)
                else:
                    assert gene.choices is not None
                    slot = Slot(gene.name, CHOICE, 0.0, 0.0, 0.0, gene.choices, ev)
                slots.append(slot)
                self._genes.append((gene, 1))
        self.slots: tuple[Slot, ...] = tuple(slots)
        self.evolvable: tuple[int, ...] = tuple(i for i, s in enumerate(slots) if s.evolvable)
        if not self.evolvable:
            raise NoEvolvableGenes()
        self.all_float = all(s.kind == FLOAT for s in slots)
        # A str gene has no number in the fitness ABI's genome vector.
        self.batchable = all(g.kind != "str" for g, _ in self._genes)
        self._float_texts: dict[float, str] = {}
        self._spellers: tuple[Callable[[Any], str], ...] = tuple(map(_speller, slots))
        # The manifest's literal text at even positions, slot texts to go between: joining
        # this is ~4x faster than %-formatting a template of a few KiB.
        self._parts: list[str] = []
        for piece in self.shape.pieces:
            self._parts += (piece, "")
        self._parts.pop()
        self.start_values = self.values(state.genome)
        if self.encode(self.start_values) != state.manifest().data:
            raise MindgitError("internal error: the manifest template does not match the encoder")

    @property
    def dim(self) -> int:
        return len(self.slots)

    def values(self, genome: Genome) -> Values:
        """The slot values of a genome with this codec's layout."""
        out: Values = []
        for gene, n in self._genes:
            try:
                g = genome[gene.name]
            except KeyError:
                raise MindgitError(f"gene {gene.name!r} is missing") from None
            if (g.kind, g.min, g.max, g.scale, g.choices) != (
                gene.kind,
                gene.min,
                gene.max,
                gene.scale,
                gene.choices,
            ):
                raise MindgitError(f"gene {gene.name!r} differs in type or bounds")
            if n == 0:
                if g.value != gene.value:
                    raise MindgitError(f"fixed gene {gene.name!r} changed")
            elif g.kind == "floats":
                if len(g.value) != n:  # type: ignore[arg-type]
                    raise MindgitError(f"gene {gene.name!r} has another length")
                out.extend(g.value)  # type: ignore[arg-type]
            elif g.kind == "choice":
                assert g.choices is not None
                out.append(g.choices.index(g.value))
            else:
                out.append(g.value)
        if len(genome) != len(self._genes):
            raise MindgitError("the genome has other genes")
        return out

    def values_of_manifest(self, cid: CID, data: bytes) -> Values:
        """The slot values of a stored manifest, which must have exactly this layout."""
        texts = self.shape.match(data)
        if texts is None:
            raise GenomeMismatch(cid, "its genes, bounds or thoughts are not those of the run")
        out: Values = []
        for slot, t in zip(self.slots, texts, strict=True):
            k = slot.kind
            if k == FLOAT:
                out.append(float(t))
            elif k == INT:
                out.append(int(t))
            elif k == BOOL:
                out.append(t == "true")
            else:
                out.append(slot.choices.index(json.loads(t)))
        return out

    def encode(self, values: Sequence[Any]) -> bytes:
        """The canonical manifest bytes of the state with these slot values."""
        if self.all_float:
            # Spelling a float costs ~1 us; a state shares all but a gene or two with states
            # encoded just before it, so recent spellings are remembered.
            cache = self._float_texts
            texts = list(map(cache.get, values))
            if None in texts:
                if len(cache) > _FLOAT_CACHE:
                    cache.clear()
                # Usually one or two misses: find them with list.index (C) rather than a loop.
                index = texts.index
                i = index(None)
                while True:
                    v = values[i]
                    texts[i] = cache[v] = float_text(v)
                    try:
                        i = index(None, i + 1)
                    except ValueError:
                        break
            return self.join(texts)  # type: ignore[arg-type]  # no None is left
        return self.join(self.texts(values))

    def texts(self, values: Sequence[Any]) -> Texts:
        """The DAG-JSON text of each slot value, as the manifest spells it."""
        return list(map(_call, self._spellers, values))

    def spell(self, slot: int, value: Any) -> str:
        """The DAG-JSON text of one slot's value."""
        return self._spellers[slot](value)

    def parts(self, texts: Sequence[str]) -> Texts:
        """The manifest's literal text at even positions and ``texts`` between: joined, the
        manifest (``join``). Slot i's text is part 2i + 1."""
        parts = self._parts.copy()
        parts[1::2] = texts
        return parts

    def join(self, texts: Sequence[str]) -> bytes:
        """The canonical manifest bytes of a state whose slot texts are ``texts``.

        Breeding carries each individual's texts with its values, so a child re-spells only
        the genes it mutated and its manifest is one join (~1.5 us instead of ~8).
        """
        parts = self._parts.copy()
        parts[1::2] = texts
        return "".join(parts).encode("utf-8")

    def vector(self, values: Sequence[Any]) -> list[float]:
        """The fitness ABI genome vector of these values (bool 0/1, choice its index)."""
        return list(map(float, values))

    def to_genome(self, values: Sequence[Any]) -> Genome:
        """The genome with these slot values (checked by ``Gene.make``)."""
        genes: list[Gene] = []
        i = 0
        for gene, n in self._genes:
            if n == 0:
                genes.append(gene)
                continue
            if gene.kind == "floats":
                genes.append(gene.with_value(list(values[i : i + n])))
            elif gene.kind == "choice":
                assert gene.choices is not None
                genes.append(gene.with_value(gene.choices[values[i]]))
            else:
                genes.append(gene.with_value(values[i]))
            i += n
        return Genome(tuple(genes))

    def to_state(self, values: Sequence[Any]) -> State:
        return self.state.with_genome(self.to_genome(values))


def _speller(slot: Slot) -> Callable[[Any], str]:
    """How one slot's value is spelled in a manifest."""
    if slot.kind == FLOAT:
        return float_text
    if slot.kind == INT:
        return int.__repr__
    if slot.kind == BOOL:
        return _bool_text
    return tuple(encode_basestring(c) for c in slot.choices).__getitem__
