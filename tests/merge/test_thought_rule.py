"""The pure three-way rule for thoughts, with private thoughts shared (Hypothesis).

Each example draws a few private thoughts (each a family of envelopes holding one message, as
``mindgit share`` makes them), a few plain notes, and which of them the base and each side
hold; ``thought_merge`` is checked against what docs/merge.md promises.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.ipld.cid import CID
from mindgit.merge import merge_states
from mindgit.merge.core import (
    FORGOTTEN,
    SHARED_ON_BOTH_SIDES,
    Envelope,
    merge_thoughts,
    thought_merge,
)
from mindgit.store.state import State

NODES = ("did:key:a", "did:key:b", "did:key:c")


@dataclass(frozen=True)
class Case:
    base: frozenset[CID] | None
    ours: frozenset[CID]
    theirs: frozenset[CID]
    envelopes: dict[CID, Envelope]
    families: tuple[frozenset[CID], ...]  # every thought, as its envelopes (a note: one CID)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    envelopes: dict[CID, Envelope] = {}
    families: list[frozenset[CID]] = []
    for f in range(draw(st.integers(0, 3))):
        message = f"message {f}".encode()
        members = []
        for e in range(draw(st.integers(1, 4))):
            cid = CID.of(f"envelope {f}.{e}".encode())
            to = draw(st.sets(st.sampled_from(NODES), min_size=1))
            envelopes[cid] = Envelope(message, frozenset(to))
            members.append(cid)
        families.append(frozenset(members))
    for n in range(draw(st.integers(0, 3))):
        families.append(frozenset({CID.of(f"note {n}".encode())}))

    def side() -> frozenset[CID]:
        held: set[CID] = set()
        for family in families:
            # Mostly one envelope of a thought or none; now and then two (an old merge's).
            k = draw(st.sampled_from((0, 1, 1, 1, 2)))
            held |= set(draw(st.permutations(sorted(family, key=str)))[:k])
        return frozenset(held)

    base = None if draw(st.integers(0, 9)) == 0 else side()
    return Case(base, side(), side(), envelopes, tuple(families))


@settings(max_examples=200, deadline=None)
@given(cases())
def test_a_thought_removed_on_one_side_never_comes_back(case: Case) -> None:
    merged = merge_thoughts(case.base, case.ours, case.theirs, case.envelopes)
    base = case.base or frozenset()
    for family in case.families:
        if base & family and not (case.ours & family and case.theirs & family):
            assert not merged & family


@settings(max_examples=200, deadline=None)
@given(cases())
def test_each_thought_is_taken_whole_from_one_side(case: Case) -> None:
    result = thought_merge(case.base, case.ours, case.theirs, case.envelopes)
    base = case.base or frozenset()
    unchanged = base & case.ours & case.theirs
    assert result.thoughts <= case.ours | case.theirs
    assert unchanged <= result.thoughts
    for family in case.families:
        b, o, t = (s & family - unchanged for s in (base, case.ours, case.theirs))
        got = result.thoughts & family - unchanged
        assert got in (o, t, frozenset())
        if o == b:  # only theirs changed it (or nobody): theirs, as before
            assert got == t
        if t == b:
            assert got == o
    decided = {d.base + d.ours + d.theirs for d in result.decisions}
    assert len(decided) == len(result.decisions)
    for d in result.decisions:
        if d.reason == FORGOTTEN:
            removed = d.ours if d.winner == "ours" else d.theirs
            assert not removed
        else:
            assert d.reason == SHARED_ON_BOTH_SIDES and d.ours and d.theirs


@settings(max_examples=200, deadline=None)
@given(cases())
def test_without_envelopes_it_is_the_set_rule(case: Case) -> None:
    old = case.base or frozenset()
    result = thought_merge(case.base, case.ours, case.theirs)
    expected = (case.ours & case.theirs) | (case.ours - old) | (case.theirs - old)
    assert result.thoughts == expected and result.decisions == ()


@settings(max_examples=200, deadline=None)
@given(cases())
def test_the_sides_are_symmetric_but_for_a_tie(case: Case) -> None:
    one = thought_merge(case.base, case.ours, case.theirs, case.envelopes)
    other = thought_merge(case.base, case.theirs, case.ours, case.envelopes)
    ties = [d for d in one.decisions if d.reason == SHARED_ON_BOTH_SIDES and d.winner == "ours"]
    if not ties:
        assert one.thoughts == other.thoughts


def test_a_share_forgotten_elsewhere_is_a_decision() -> None:
    c1, c2 = CID.of(b"c1"), CID.of(b"c2")
    envelopes = {
        c1: Envelope(b"m", frozenset({"did:key:a"})),
        c2: Envelope(b"m", frozenset({"did:key:a", "did:key:b"})),
    }
    result = thought_merge(frozenset({c1}), frozenset(), frozenset({c2}), envelopes)
    assert result.thoughts == frozenset()
    (d,) = result.decisions
    assert (d.base, d.ours, d.theirs, d.winner, d.reason) == ((c1,), (), (c2,), "ours", FORGOTTEN)
    # As a set of CIDs (no envelopes known), the share was a new thought and came back.
    assert merge_thoughts(frozenset({c1}), frozenset(), frozenset({c2})) == {c2}


def test_merge_states_takes_the_envelopes() -> None:
    c1, c2 = CID.of(b"c1"), CID.of(b"c2")
    envelopes = {c1: Envelope(b"m", frozenset({"a"})), c2: Envelope(b"m", frozenset({"a", "b"}))}
    base = State().with_thoughts(frozenset({c1}))
    merged, _ = merge_states(
        base, State(), State().with_thoughts(frozenset({c2})), envelopes=envelopes
    )
    assert merged.thoughts == frozenset()
