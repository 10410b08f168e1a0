"""The three-way rule for mind states, as pure functions over :class:`State` values.

From a merge base (or none, for unrelated histories) and two sides:

- **thoughts** are a set keyed by CID: a thought is kept if both sides have it or one side added
  it; one removed on one side and untouched on the other stays removed. A thought is never
  read, so a sealed (private) thought merges like any other, unopened.
- **patterns** are genes (by name), named memories (``memory:<name>``) and data blocks
  (``data:<name>``). A pattern that only one side changed (added, edited or removed) takes that
  side; one both sides changed the same way takes that; one both sides changed differently is a
  :class:`Conflict`, which fitness decides (``mindgit.merge.search``).

Gene names never hold a ``:``, so a pattern's name says its kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from mindgit.ipld.cid import CID
from mindgit.store.genome import Gene, Genome
from mindgit.store.state import State

PatternKind = Literal["gene", "memory", "data"]
Side = Literal["ours", "theirs"]
Value = Gene | CID | None
KINDS: tuple[PatternKind, ...] = ("gene", "memory", "data")

# Why a pattern took the side it took.
BY_FITNESS = "fitness"
OURS_ONLY = "ours-only"
THEIRS_ONLY = "theirs-only"

V = TypeVar("V", Gene, CID)


def pattern_name(kind: PatternKind, name: str) -> str:
    """How a pattern is named in decisions, trailers and messages: ``x0``, ``memory:human``."""
    return name if kind == "gene" else f"{kind}:{name}"


@dataclass(frozen=True, slots=True)
class Conflict:
    """A pattern both sides changed differently: what each side holds (None: removed/absent)."""

    kind: PatternKind
    name: str
    ours: Value
    theirs: Value

    @property
    def pattern(self) -> str:
        return pattern_name(self.kind, self.name)


@dataclass(frozen=True, slots=True)
class Decision:
    """Which side a pattern was taken from, and why.

    ``scores`` holds, for a conflict, the fitness of the chosen state with this pattern taken
    from each side (every other pattern as chosen); None where that candidate failed or was not
    scored. A pattern only one side changed has ``reason`` ``ours-only`` or ``theirs-only`` and
    no scores.
    """

    pattern: str
    kind: str
    ours: Value
    theirs: Value
    scores: Mapping[str, float | None]
    winner: Side
    reason: str = BY_FITNESS


@dataclass(frozen=True, slots=True)
class ThreeWay:
    """Everything the three-way rule settles, and the conflicts it leaves to fitness.

    ``genome``, ``memories`` and ``data`` hold the settled patterns only; a conflicting
    pattern is absent from them until :meth:`state` picks a side for it.
    """

    thoughts: frozenset[CID]
    genome: tuple[Gene, ...]
    memories: tuple[tuple[str, CID], ...]
    data: tuple[tuple[str, CID], ...]
    conflicts: tuple[Conflict, ...]
    settled: tuple[Decision, ...] = field(default=())

    def state(self, sides: Sequence[Side] = ()) -> State:
        """The merged state with conflict ``i`` taken from ``sides[i]`` (default: all ours)."""
        if sides and len(sides) != len(self.conflicts):
            raise ValueError(f"{len(sides)} sides for {len(self.conflicts)} conflicts")
        genes = {g.name: g for g in self.genome}
        tables: dict[str, dict[str, CID]] = {"memory": dict(self.memories), "data": dict(self.data)}
        for i, conflict in enumerate(self.conflicts):
            side = sides[i] if sides else "ours"
            value = conflict.ours if side == "ours" else conflict.theirs
            if value is None:
                continue
            if conflict.kind == "gene":
                assert isinstance(value, Gene)
                genes[conflict.name] = value
            else:
                assert isinstance(value, CID)
                tables[conflict.kind][conflict.name] = value
        return State(
            Genome(tuple(genes[n] for n in sorted(genes))),
            self.thoughts,
            tuple(tables["memory"].items()),
            tuple(tables["data"].items()),
        )


def merge_thoughts(
    base: frozenset[CID] | None, ours: frozenset[CID], theirs: frozenset[CID]
) -> frozenset[CID]:
    """Kept if in both, or added on one side; removed on one side and untouched stays removed."""
    old = base if base is not None else frozenset()
    return (ours & theirs) | (ours - old) | (theirs - old)


def _merge_table(
    kind: PatternKind,
    base: Mapping[str, V] | None,
    ours: Mapping[str, V],
    theirs: Mapping[str, V],
) -> tuple[dict[str, V], list[Conflict], list[Decision]]:
    settled: dict[str, V] = {}
    conflicts: list[Conflict] = []
    decisions: list[Decision] = []
    old: Mapping[str, V] = base if base is not None else {}
    for name in sorted(set(old) | set(ours) | set(theirs)):
        b, o, t = old.get(name), ours.get(name), theirs.get(name)
        if o == t:
            if o is not None:
                settled[name] = o
            continue
        if o == b or t == b:
            winner: Side = "theirs" if o == b else "ours"
            value = t if winner == "theirs" else o
            if value is not None:
                settled[name] = value
            decisions.append(
                Decision(
                    pattern_name(kind, name),
                    kind,
                    o,
                    t,
                    {"ours": None, "theirs": None},
                    winner,
                    THEIRS_ONLY if winner == "theirs" else OURS_ONLY,
                )
            )
            continue
        conflicts.append(Conflict(kind, name, o, t))
    return settled, conflicts, decisions


def three_way(base: State | None, ours: State, theirs: State) -> ThreeWay:
    """Apply the three-way rule; ``base`` None means the histories share no commit."""
    genes, gene_conflicts, gene_decisions = _merge_table(
        "gene",
        None if base is None else dict(_genes(base.genome)),
        dict(_genes(ours.genome)),
        dict(_genes(theirs.genome)),
    )
    memories, memory_conflicts, memory_decisions = _merge_table(
        "memory",
        None if base is None else dict(base.memories),
        dict(ours.memories),
        dict(theirs.memories),
    )
    data, data_conflicts, data_decisions = _merge_table(
        "data",
        None if base is None else dict(base.data),
        dict(ours.data),
        dict(theirs.data),
    )
    return ThreeWay(
        merge_thoughts(None if base is None else base.thoughts, ours.thoughts, theirs.thoughts),
        tuple(genes[n] for n in sorted(genes)),
        tuple(sorted(memories.items())),
        tuple(sorted(data.items())),
        (*gene_conflicts, *memory_conflicts, *data_conflicts),
        (*gene_decisions, *memory_decisions, *data_decisions),
    )


def _genes(genome: Genome) -> Iterable[tuple[str, Gene]]:
    return ((g.name, g) for g in genome.genes)
