"""The three-way rule for mind states, as pure functions over :class:`State` values.

From a merge base (or none, for unrelated histories) and two sides:

- **thoughts** are a set keyed by CID: a thought is kept if both sides have it or one side added
  it; one removed on one side and untouched on the other stays removed. A private (sealed)
  thought is never opened, but ``mindgit share`` replaces its envelope by another one holding
  the same message (nonce, ciphertext, commitment: :class:`Envelope`), so envelopes of one
  message are one thought, and a share is a change of it, not a new thought: removed on one
  side and shared on the other, it stays removed (a forget wins, :data:`FORGOTTEN`); shared
  differently on both sides, one side's envelope is kept (:data:`SHARED_ON_BOTH_SIDES`).
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
# Why a private thought took the side it took (see ThoughtDecision).
FORGOTTEN = "forgotten"
SHARED_ON_BOTH_SIDES = "shared-on-both-sides"

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
class Envelope:
    """What a merge knows of a private thought without opening it.

    ``message`` names the sealed message (its nonce, ciphertext, key commitment and version):
    ``share`` keeps it and only adds a wrapped key, and sealing draws a fresh key and nonce, so
    two envelopes with one ``message`` hold one thought, read the same by every recipient.
    ``recipients`` are the did:keys it is wrapped for.
    """

    message: bytes
    recipients: frozenset[str]


@dataclass(frozen=True, slots=True)
class ThoughtDecision:
    """A private thought both sides changed differently, and what the merge kept of it.

    ``base``, ``ours`` and ``theirs`` are the envelopes of that one thought each state holds
    (usually one or none). ``reason`` :data:`FORGOTTEN`: one side removed it and the other
    shared it; it stays removed, and ``winner`` is the side that removed it.
    :data:`SHARED_ON_BOTH_SIDES`: each side shared it its own way; ``winner``'s envelope is
    kept, and ``dropped`` names the recipients (did:keys) only the other side's had, who lose
    it in the merged state (share it with them again to give it back).
    """

    base: tuple[CID, ...]
    ours: tuple[CID, ...]
    theirs: tuple[CID, ...]
    winner: Side
    reason: str
    dropped: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ThoughtMerge:
    """The merged thoughts, and the decisions made about private thoughts on the way."""

    thoughts: frozenset[CID]
    decisions: tuple[ThoughtDecision, ...] = ()


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
    thought_decisions: tuple[ThoughtDecision, ...] = field(default=())

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
    base: frozenset[CID] | None,
    ours: frozenset[CID],
    theirs: frozenset[CID],
    envelopes: Mapping[CID, Envelope] | None = None,
) -> frozenset[CID]:
    """The merged thoughts (see :func:`thought_merge`, which also says what it decided)."""
    return thought_merge(base, ours, theirs, envelopes).thoughts


def thought_merge(
    base: frozenset[CID] | None,
    ours: frozenset[CID],
    theirs: frozenset[CID],
    envelopes: Mapping[CID, Envelope] | None = None,
) -> ThoughtMerge:
    """The three-way rule for thoughts.

    A thought all three states hold is kept. The others are grouped into one thought per
    sealed message (``envelopes`` holds what is known of the private ones among them; every
    other CID is a thought of its own), and each thought is merged as a value, the set of its
    envelopes: kept as both sides have it, or as the side that changed it from the base has it.
    When both changed it differently: removed on one side (a forget), it stays removed; shared
    on both, the side whose recipients include all of the other's is kept, else ours.
    """
    old = base if base is not None else frozenset()
    known = envelopes if envelopes is not None else {}
    unchanged = old & ours & theirs
    families: dict[tuple[str, bytes | str], set[CID]] = {}
    for cid in (old | ours | theirs) - unchanged:
        envelope = known.get(cid)
        key = ("sealed", envelope.message) if envelope is not None else ("cid", str(cid))
        families.setdefault(key, set()).add(cid)
    merged = set(unchanged)
    decisions: list[ThoughtDecision] = []
    for _, members in sorted(families.items()):
        b, o, t = (frozenset(members & side) for side in (old, ours, theirs))
        if o == t or t == b:
            merged |= o
            continue
        if o == b:
            merged |= t
            continue
        if not o or not t:
            # One side forgot it, the other shared it: a forget is a deliberate removal of
            # private content, and a share is no reason to bring it back.
            decisions.append(
                ThoughtDecision(
                    _ordered(b), _ordered(o), _ordered(t), "ours" if not o else "theirs", FORGOTTEN
                )
            )
            continue
        # Shared differently on both sides. The union of the recipients is one envelope of
        # both sides' wrapped keys, which no side signed: keep one side's, and say who loses.
        ours_to, theirs_to = _recipients(o, known), _recipients(t, known)
        winner: Side = "theirs" if theirs_to > ours_to else "ours"
        kept_to = theirs_to if winner == "theirs" else ours_to
        merged |= t if winner == "theirs" else o
        decisions.append(
            ThoughtDecision(
                _ordered(b),
                _ordered(o),
                _ordered(t),
                winner,
                SHARED_ON_BOTH_SIDES,
                tuple(sorted((ours_to | theirs_to) - kept_to)),
            )
        )
    return ThoughtMerge(frozenset(merged), tuple(decisions))


def _ordered(cids: frozenset[CID]) -> tuple[CID, ...]:
    return tuple(sorted(cids, key=str))


def _recipients(cids: frozenset[CID], envelopes: Mapping[CID, Envelope]) -> frozenset[str]:
    return frozenset(did for cid in cids for did in envelopes[cid].recipients)


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


def three_way(
    base: State | None,
    ours: State,
    theirs: State,
    envelopes: Mapping[CID, Envelope] | None = None,
) -> ThreeWay:
    """Apply the three-way rule; ``base`` None means the histories share no commit.

    ``envelopes``: what is known of the private thoughts that are not in all three states (see
    :func:`thought_merge`; without it every envelope is a thought of its own).
    """
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
    thoughts = thought_merge(
        None if base is None else base.thoughts, ours.thoughts, theirs.thoughts, envelopes
    )
    return ThreeWay(
        thoughts.thoughts,
        tuple(genes[n] for n in sorted(genes)),
        tuple(sorted(memories.items())),
        tuple(sorted(data.items())),
        (*gene_conflicts, *memory_conflicts, *data_conflicts),
        (*gene_decisions, *memory_decisions, *data_decisions),
        thoughts.decisions,
    )


def _genes(genome: Genome) -> Iterable[tuple[str, Gene]]:
    return ((g.name, g) for g in genome.genes)
