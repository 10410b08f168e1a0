"""Fitness decides conflicts: candidate states are scored and the fittest is kept.

A candidate takes each conflicting pattern from ours or from theirs; candidate ``mask`` takes
conflict ``i`` from theirs when bit ``i`` is set. Conflicts are in pattern order (genes, then
memories, then data, each by name).

- Up to :data:`EXHAUSTIVE_LIMIT` conflicts (4,096 candidates) every candidate is scored, in one
  batch.
- Beyond that, a greedy coordinate ascent: score all-ours and all-theirs and start from the
  fitter (ours on a tie); then, each round, score every candidate that flips one pattern of the
  current one (one batch) and move to the best of them if it is strictly fitter. Stop when no
  flip is fitter, or after :data:`MAX_ROUNDS` rounds.
- **Ties** go to the candidate that takes fewer patterns from theirs; among those, to the one
  whose first differing pattern (in pattern order) is ours. So equal scores keep what the
  experiment being merged into already has.
- A candidate whose evaluation fails (trap, fuel, NaN...) is disqualified. If every candidate
  scored fails, :class:`FitnessFailedEverywhere`.
- Higher is fitter, unless the scorer minimises.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, overload

from mindgit.errors import MindgitError, listed
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID
from mindgit.merge.core import KINDS, Conflict, Decision, Side, ThreeWay
from mindgit.sandbox import FitnessFailure, FitnessModule
from mindgit.sandbox.abi import gene_values
from mindgit.sandbox.errors import EvaluationError, check_score
from mindgit.store.genome import Gene, Genome
from mindgit.store.state import State

EXHAUSTIVE_LIMIT = 12
MAX_ROUNDS = 64
ENTRY_BATCH = "fitness_batch"
ENTRY_FITNESS = "fitness"

Result = float | FitnessFailure


# Conflicting patterns an error names, at most (--json's "conflicts" has them all): 3,000
# conflicting genes made one line of 87 KB.
LISTED_PATTERNS = 12
CHOOSE_A_MODULE = (
    "pass --fitness NAME|CID|PATH, or set a default: `mindgit config set fitness NAME` "
    "in a store, `git config mindgit.fitness NAME` in a clone (a run picks the module "
    "only if this node signed it)"
)


class MergeConflict(MindgitError):
    """Both sides changed patterns differently and no fitness module is configured to decide."""

    def __init__(self, patterns: Sequence[str]) -> None:
        super().__init__(
            f"both sides changed {len(patterns)} pattern(s) differently "
            f"({listed(patterns, LISTED_PATTERNS)}) and no fitness module decides; nothing was "
            "changed",
            hint=CHOOSE_A_MODULE,
        )
        self.patterns = tuple(patterns)


class FitnessFailedEverywhere(MindgitError):
    """Every candidate merge scored failed in the sandbox."""

    def __init__(self, module: CID | None, count: int, failure: FitnessFailure | None) -> None:
        why = f": {failure.reason}: {failure.error}" if failure is not None else ""
        name = f"fitness module {module}" if module is not None else "the fitness function"
        super().__init__(
            f"{name} failed on all {count} candidate merge(s){why}; nothing was changed",
            hint="fix the module, raise its limits (mindgit config set fuel N), or merge with "
            "another module (--fitness)",
        )
        self.module = module
        self.count = count
        self.failure = failure


class Candidates:
    """The candidate states of a three-way merge, built on demand from a mask."""

    def __init__(self, merge: ThreeWay) -> None:
        self.merge = merge
        self.conflicts: tuple[Conflict, ...] = merge.conflicts
        self.size = len(self.conflicts)
        self._vectors = self._vector_parts()
        self._template = self._manifest_template()

    def sides(self, mask: int) -> tuple[Side, ...]:
        return tuple("theirs" if mask >> i & 1 else "ours" for i in range(self.size))

    def state(self, mask: int) -> State:
        return self.merge.state(self.sides(mask))

    def manifest(self, mask: int) -> bytes:
        """The candidate's canonical manifest bytes (what ``fitness`` scores)."""
        if self._template is None:
            return self.state(mask).manifest().data
        pieces, values = self._template
        out = [pieces[0]]
        for (ours, theirs, bit), piece in zip(values, pieces[1:], strict=True):
            out.append(theirs if mask >> bit & 1 else ours)
            out.append(piece)
        return b"".join(out)

    @property
    def batchable(self) -> bool:
        """Whether every candidate has a genome vector, all of one non-zero length."""
        return self._vectors is not None

    def vectors(self, masks: Sequence[int]) -> tuple[bytes, int]:
        """The candidates' genome vectors, packed little-endian f64, and their length."""
        if self._vectors is None:
            raise ValueError("these candidates have no genome vectors")
        parts, dim = self._vectors
        if not masks:
            return b"", dim
        # The first candidate's vector is built whole; each other one is a copy of it with the
        # conflicts where the two differ written over (one or two, for the flips of the greedy
        # ascent). Building each whole, part by part, took 2.8 s a round for 2,000 conflicts.
        first = masks[0]
        reference = b"".join(t if bit >= 0 and first >> bit & 1 else o for o, t, bit in parts)
        slots = self._slots(parts)
        size = len(reference)
        out = bytearray(reference * len(masks))
        for row, mask in enumerate(masks):
            start = row * size
            differ = mask ^ first
            while differ:
                lowest = differ & -differ
                at, ours, theirs = slots[lowest.bit_length() - 1]
                value = theirs if mask & lowest else ours
                out[start + at : start + at + len(value)] = value
                differ ^= lowest
        return bytes(out), dim

    @staticmethod
    def _slots(parts: Sequence[tuple[bytes, bytes, int]]) -> dict[int, tuple[int, bytes, bytes]]:
        """Where each conflict's values sit in a vector: index -> (offset, ours, theirs)."""
        slots: dict[int, tuple[int, bytes, bytes]] = {}
        at = 0
        for ours, theirs, bit in parts:
            if bit >= 0:
                slots[bit] = (at, ours, theirs)
            at += len(ours)
        return slots

    def _vector_parts(self) -> tuple[list[tuple[bytes, bytes, int]], int] | None:
        # A genome vector is each gene's values in gene-name order (docs/fitness-abi.md), so a
        # candidate's vector is fixed runs with the conflicting genes' values between them:
        # parts of packed (ours, theirs, conflict index), index -1 for a fixed run. Only when
        # every conflict is a gene present on both sides with values of one length do all
        # candidates share one layout; otherwise they are scored as manifests.
        if any(c.kind != "gene" or c.ours is None or c.theirs is None for c in self.conflicts):
            return None
        at = {c.name: i for i, c in enumerate(self.conflicts)}
        fixed = {g.name: g for g in self.merge.genome}
        parts: list[tuple[bytes, bytes, int]] = []
        run: list[float] = []
        dim = 0
        for name in sorted(set(fixed) | set(at)):
            if name in at:
                c = self.conflicts[at[name]]
                assert isinstance(c.ours, Gene) and isinstance(c.theirs, Gene)
                ours, theirs = _values(c.ours), _values(c.theirs)
                if ours is None or theirs is None or len(ours) != len(theirs):
                    return None
                if run:
                    parts.append((_pack(run), _pack(run), -1))
                    run = []
                parts.append((_pack(ours), _pack(theirs), at[name]))
                dim += len(ours)
            else:
                values = _values(fixed[name])
                if values is None:
                    return None
                run.extend(values)
                dim += len(values)
        if run:
            parts.append((_pack(run), _pack(run), -1))
        return (parts, dim) if dim > 0 else None

    def _manifest_template(self) -> tuple[list[bytes], list[tuple[bytes, bytes, int]]] | None:
        # Canonical DAG-JSON writes a map value the same wherever it sits, so a candidate's
        # manifest is the manifest of a stand-in state, each conflict's value replaced by a
        # unique placeholder, with each placeholder's text swapped for the chosen side's. This
        # keeps the encoding of the settled part (thoughts above all) out of the per-candidate
        # cost. A conflict where one side removed the pattern changes the keys: no template.
        if any(c.ours is None or c.theirs is None for c in self.conflicts):
            return None
        genes = {g.name: g for g in self.merge.genome}
        tables: dict[str, dict[str, CID]] = {
            "memory": dict(self.merge.memories),
            "data": dict(self.merge.data),
        }
        marks: list[tuple[bytes, bytes, bytes, int]] = []
        for i, c in enumerate(self.conflicts):
            sentinel = f"\x00mindgit-merge-candidate-{i}\x00"
            if c.kind == "gene":
                assert isinstance(c.ours, Gene) and isinstance(c.theirs, Gene)
                stand_in = Gene.make(c.name, "str", sentinel)
                genes[c.name] = stand_in
                mark = dagjson.encode(stand_in.to_node())
                ours, theirs = dagjson.encode(c.ours.to_node()), dagjson.encode(c.theirs.to_node())
            else:
                assert isinstance(c.ours, CID) and isinstance(c.theirs, CID)
                link = CID.of(sentinel.encode())
                tables[c.kind][c.name] = link
                mark = dagjson.encode(link)
                ours, theirs = dagjson.encode(c.ours), dagjson.encode(c.theirs)
            marks.append((mark, ours, theirs, i))
        text = (
            State(
                Genome(tuple(genes[n] for n in sorted(genes))),
                self.merge.thoughts,
                tuple(tables["memory"].items()),
                tuple(tables["data"].items()),
            )
            .manifest()
            .data
        )
        if any(text.count(mark) != 1 for mark, *_ in marks):
            return None  # a placeholder's text also occurs elsewhere: build each state instead
        marks.sort(key=lambda m: text.index(m[0]))
        pieces: list[bytes] = []
        at = 0
        for mark, *_ in marks:
            where = text.index(mark)
            pieces.append(text[at:where])
            at = where + len(mark)
        pieces.append(text[at:])
        return pieces, [(ours, theirs, i) for _, ours, theirs, i in marks]


def _pack(values: Sequence[float]) -> bytes:
    return struct.pack(f"<{len(values)}d", *values)


def _values(gene: Gene) -> list[float] | None:
    return gene_values(gene.to_node())


class Scorer(Protocol):
    """Scores candidate merges; failures are values, not exceptions."""

    @property
    def minimize(self) -> bool: ...

    @property
    def module(self) -> CID | None: ...

    def entry(self, candidates: Candidates) -> str:
        """The entry point scores come from (``fitness_batch`` or ``fitness``)."""
        ...

    def score(self, candidates: Candidates, masks: Sequence[int]) -> Sequence[Result]: ...


@dataclass(frozen=True)
class ModuleScorer:
    """Scores candidates with a sandboxed fitness module: genome vectors through
    ``fitness_batch`` when the module has it and the candidates have them, else each
    candidate's manifest through ``fitness``."""

    fitness: FitnessModule
    module: CID | None
    minimize: bool = False

    def entry(self, candidates: Candidates) -> str:
        return ENTRY_BATCH if self.fitness.has_batch and candidates.batchable else ENTRY_FITNESS

    def score(self, candidates: Candidates, masks: Sequence[int]) -> Sequence[Result]:
        if not masks:
            return []
        if self.entry(candidates) == ENTRY_BATCH:
            packed, dim = candidates.vectors(masks)
            return self.fitness.score_batch(packed, dim)
        return self.fitness.score_many(_Manifests(candidates, masks))


class _Manifests(Sequence[bytes]):
    """The candidates' manifests, each built when the scorer reaches it: a list of all of them
    held every manifest at once, 4,096 copies of the state's (~1.2 GB for a state of 4,000
    thoughts, and growing with every thought)."""

    def __init__(self, candidates: Candidates, masks: Sequence[int]) -> None:
        self._candidates = candidates
        self._masks = masks

    def __len__(self) -> int:
        return len(self._masks)

    @overload
    def __getitem__(self, index: int) -> bytes: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[bytes]: ...

    def __getitem__(self, index: int | slice) -> bytes | Sequence[bytes]:
        if isinstance(index, slice):
            return _Manifests(self._candidates, self._masks[index])
        return self._candidates.manifest(self._masks[index])


@dataclass(frozen=True)
class StateScorer:
    """Scores each candidate state with a Python function (tests, and callers with their own
    fitness); an ``EvaluationError`` it raises, or a NaN or infinite score, disqualifies that
    candidate."""

    function: Callable[[State], float]
    minimize: bool = False
    module: CID | None = None

    def entry(self, candidates: Candidates) -> str:
        return ENTRY_FITNESS

    def score(self, candidates: Candidates, masks: Sequence[int]) -> Sequence[Result]:
        out: list[Result] = []
        for mask in masks:
            try:
                # NaN compares false with everything, so a NaN that came first was never beaten
                # and won the merge; the sandbox refuses it (and infinities) the same way.
                out.append(check_score(float(self.function(candidates.state(mask)))))
            except EvaluationError as e:
                out.append(FitnessFailure.from_error(e))
        return out


@dataclass(frozen=True, slots=True)
class Choice:
    """The search's answer: the chosen mask and every score it computed."""

    mask: int
    scores: dict[int, Result]
    exhaustive: bool

    @property
    def scored(self) -> int:
        return len(self.scores)


class _Search:
    def __init__(self, candidates: Candidates, scorer: Scorer) -> None:
        self.candidates = candidates
        self.scorer = scorer
        self.scores: dict[int, Result] = {}

    def run(self, masks: Sequence[int]) -> None:
        todo = [m for m in dict.fromkeys(masks) if m not in self.scores]
        if todo:
            results = self.scorer.score(self.candidates, todo)
            if len(results) != len(todo):
                raise MindgitError(f"the scorer returned {len(results)} results for {len(todo)}")
            self.scores.update(zip(todo, results, strict=True))

    def value(self, mask: int) -> float | None:
        r = self.scores.get(mask)
        if r is None or isinstance(r, FitnessFailure):
            return None
        return -r if self.scorer.minimize else r

    def best(self, masks: Sequence[int]) -> int | None:
        """The fittest scored mask of ``masks`` (ties broken as documented), or None."""
        best: int | None = None
        best_value = 0.0
        for mask in masks:
            v = self.value(mask)
            if v is None:
                continue
            if best is None or v > best_value or (v == best_value and self.prefer(mask, best)):
                best, best_value = mask, v
        return best

    def prefer(self, a: int, b: int) -> bool:
        """Whether ``a`` wins a tie against ``b``: fewer patterns from theirs, then ours first."""
        ca, cb = a.bit_count(), b.bit_count()
        if ca != cb:
            return ca < cb
        differ = a ^ b
        if not differ:
            return False
        lowest = differ & -differ  # the first pattern where they differ
        return not a & lowest


def choose(candidates: Candidates, scorer: Scorer) -> Choice:
    """Score candidates and choose the fittest (see the module docstring for the rule)."""
    n = candidates.size
    search = _Search(candidates, scorer)
    if n <= EXHAUSTIVE_LIMIT:
        everything = range(1 << n)
        search.run(everything)
        best = search.best(everything)
        exhaustive = True
    else:
        ours, theirs = 0, (1 << n) - 1
        search.run([ours, theirs])
        current = search.best([ours, theirs])
        if current is None:
            current = ours
        for _ in range(MAX_ROUNDS):
            flips = [current ^ (1 << i) for i in range(n)]
            search.run(flips)
            step = search.best(flips)
            if step is None:
                break
            now, then = search.value(current), search.value(step)
            assert then is not None
            if now is not None and then <= now:
                break
            current = step
        # The decisions report each pattern's flip of the final choice.
        search.run([current ^ (1 << i) for i in range(n)])
        best = current if search.value(current) is not None else None
        exhaustive = False
    if best is None:
        failure = next((r for r in search.scores.values() if isinstance(r, FitnessFailure)), None)
        raise FitnessFailedEverywhere(scorer.module, len(search.scores), failure)
    return Choice(best, search.scores, exhaustive)


def decisions(candidates: Candidates, choice: Choice) -> tuple[Decision, ...]:
    """One decision per conflict: each side's score with every other pattern as chosen."""
    out = []
    for i, conflict in enumerate(candidates.conflicts):
        bit = 1 << i
        with_ours, with_theirs = choice.mask & ~bit, choice.mask | bit
        out.append(
            Decision(
                conflict.pattern,
                conflict.kind,
                conflict.ours,
                conflict.theirs,
                {"ours": _score(choice, with_ours), "theirs": _score(choice, with_theirs)},
                "theirs" if choice.mask & bit else "ours",
            )
        )
    return tuple(out)


def _score(choice: Choice, mask: int) -> float | None:
    r = choice.scores.get(mask)
    return None if r is None or isinstance(r, FitnessFailure) else r


@dataclass(frozen=True, slots=True)
class Resolution:
    """A merged state and how it was reached."""

    state: State
    decisions: tuple[Decision, ...]
    candidates_scored: int
    entry: str | None  # the entry point that scored the candidates; None when none were
    exhaustive: bool


def resolve(merge: ThreeWay, scorer: Scorer | None) -> Resolution:
    """Settle ``merge``'s conflicts by fitness (``MergeConflict`` if any and no scorer)."""
    if not merge.conflicts:
        return Resolution(merge.state(), _ordered(merge.settled), 0, None, True)
    if scorer is None:
        raise MergeConflict([c.pattern for c in merge.conflicts])
    candidates = Candidates(merge)
    choice = choose(candidates, scorer)
    return Resolution(
        candidates.state(choice.mask),
        _ordered((*merge.settled, *decisions(candidates, choice))),
        choice.scored,
        scorer.entry(candidates),
        choice.exhaustive,
    )


def _ordered(decisions: Sequence[Decision]) -> tuple[Decision, ...]:
    return tuple(sorted(decisions, key=lambda d: (KINDS.index(d.kind), d.pattern)))
