"""The three-way rule and the fitness search on plain states (no store): examples and properties."""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mindgit.ipld.cid import CID
from mindgit.merge import (
    EXHAUSTIVE_LIMIT,
    Candidates,
    Decision,
    FitnessFailedEverywhere,
    MergeConflict,
    ModuleScorer,
    StateScorer,
    merge_states,
    three_way,
)
from mindgit.sandbox import FitnessModule, Trap, genome_vector
from mindgit.store.genome import Gene, Genome
from mindgit.store.state import Block, State, make_thought
from tests.merge.conftest import RASTRIGIN, x

THOUGHTS = [make_thought(f"thought {i}").cid for i in range(8)]
BLOCKS = [Block.encode({"value": f"block {i}"}).cid for i in range(4)]
NAMES = [f"x{i}" for i in range(5)]
VALUES = [-2.0, -1.0, 0.0, 0.5, 1.0, 2.0]


def state(
    genes: dict[str, float] | None = None,
    thoughts: Sequence[CID] = (),
    memories: dict[str, CID] | None = None,
    data: dict[str, CID] | None = None,
) -> State:
    genome = Genome(tuple(x(n, v) for n, v in sorted((genes or {}).items())))
    return State(
        genome, frozenset(thoughts), tuple((memories or {}).items()), tuple((data or {}).items())
    )


def genes_of(s: State) -> dict[str, float]:
    out: dict[str, float] = {}
    for g in s.genome.genes:
        assert not isinstance(g.value, str | tuple)
        out[g.name] = float(g.value)
    return out


def sphere(target: float = 0.25) -> StateScorer:
    """A smooth fitness with one best value per gene: higher is fitter."""
    return StateScorer(lambda s: -sum((v - target) ** 2 for v in genes_of(s).values()))


# ---- the rule, by example --------------------------------------------------------------------


def test_one_sided_changes_take_that_side_and_thoughts_follow_the_rule() -> None:
    t = THOUGHTS
    base = state({"x0": 1.0, "x1": 1.0, "x2": 1.0}, [t[0], t[1], t[2]])
    ours = state({"x0": 2.0, "x1": 1.0, "x2": 1.0}, [t[0], t[2], t[3]])  # drops t1, adds t3
    theirs = state({"x0": 1.0, "x1": -1.0}, [t[0], t[1], t[4]])  # drops x2 and t2, adds t4
    merged, decisions = merge_states(base, ours, theirs)
    assert genes_of(merged) == {"x0": 2.0, "x1": -1.0}
    assert merged.thoughts == {t[0], t[3], t[4]}
    assert [(d.pattern, d.winner, d.reason) for d in decisions] == [
        ("x0", "ours", "ours-only"),
        ("x1", "theirs", "theirs-only"),
        ("x2", "theirs", "theirs-only"),
    ]
    assert all(d.scores == {"ours": None, "theirs": None} for d in decisions)


def test_conflicts_without_a_scorer_list_every_pattern() -> None:
    base = state({"x0": 1.0, "x1": 1.0}, memories={"human": BLOCKS[0]}, data={"tools": BLOCKS[0]})
    ours = state({"x0": 2.0, "x1": 1.0}, memories={"human": BLOCKS[1]}, data={"tools": BLOCKS[1]})
    theirs = state({"x0": 0.0}, memories={"human": BLOCKS[2]})  # x1 and tools removed
    with pytest.raises(MergeConflict) as e:
        merge_states(base, ours, theirs)
    assert e.value.patterns == ("x0", "memory:human", "data:tools")
    assert "x0, memory:human, data:tools" in str(e.value)


def test_a_gene_removed_on_one_side_and_changed_on_the_other_is_a_conflict() -> None:
    base = state({"x0": 1.0})
    ours = state({})
    theirs = state({"x0": 0.25})
    merge3 = three_way(base, ours, theirs)
    assert [(c.pattern, c.ours, c.theirs) for c in merge3.conflicts] == [
        ("x0", None, x("x0", 0.25))
    ]
    merged, decisions = merge_states(
        base, ours, theirs, scorer=StateScorer(lambda s: len(s.genome))
    )
    assert genes_of(merged) == {"x0": 0.25}
    assert decisions[0].scores == {"ours": 0.0, "theirs": 1.0}


def test_both_sides_making_the_same_change_is_no_conflict() -> None:
    base = state({"x0": 1.0}, memories={"m": BLOCKS[0]})
    same = state({"x0": 2.0, "x9": 1.0}, memories={"m": BLOCKS[1]})
    merged, decisions = merge_states(base, same, same)
    assert merged == same
    assert decisions == ()


def test_unrelated_histories_treat_everything_as_added() -> None:
    ours = state({"x0": 1.0, "x1": 1.0}, [THOUGHTS[0]], memories={"a": BLOCKS[0]})
    theirs = state({"x1": 1.0, "x2": 2.0}, [THOUGHTS[1]], memories={"b": BLOCKS[1]})
    merged, _ = merge_states(None, ours, theirs)
    assert genes_of(merged) == {"x0": 1.0, "x1": 1.0, "x2": 2.0}
    assert merged.thoughts == {THOUGHTS[0], THOUGHTS[1]}
    assert dict(merged.memories) == {"a": BLOCKS[0], "b": BLOCKS[1]}
    with pytest.raises(MergeConflict):
        merge_states(None, state({"x0": 1.0}), state({"x0": 2.0}))


def test_memory_and_data_conflicts_are_patterns_decided_by_fitness() -> None:
    base = state(memories={"human": BLOCKS[0]}, data={"tools": BLOCKS[0]})
    ours = state(memories={"human": BLOCKS[1]}, data={"tools": BLOCKS[3]})
    theirs = state(memories={"human": BLOCKS[2]}, data={"tools": BLOCKS[2]})
    # Prefer block 2 anywhere.
    fit = StateScorer(lambda s: sum(c == BLOCKS[2] for _, c in (*s.memories, *s.data)))
    merged, decisions = merge_states(base, ours, theirs, scorer=fit)
    assert dict(merged.memories) == {"human": BLOCKS[2]}
    assert dict(merged.data) == {"tools": BLOCKS[2]}
    assert [(d.pattern, d.kind, d.winner) for d in decisions] == [
        ("memory:human", "memory", "theirs"),
        ("data:tools", "data", "theirs"),
    ]
    assert decisions[0].scores == {"ours": 1.0, "theirs": 2.0}


def test_ties_keep_ours_then_the_first_pattern_from_ours() -> None:
    base = state({"x0": 0.0, "x1": 0.0})
    ours = state({"x0": 1.0, "x1": 1.0})
    theirs = state({"x0": 2.0, "x1": 2.0})
    merged, _ = merge_states(base, ours, theirs, scorer=StateScorer(lambda s: 7.0))
    assert merged == ours
    # Exactly one pattern from theirs scores 1, the rest 0: x0 stays ours, x1 comes from theirs.
    one = StateScorer(lambda s: float(sum(v == 2.0 for v in genes_of(s).values()) == 1))
    merged, decisions = merge_states(base, ours, theirs, scorer=one)
    assert genes_of(merged) == {"x0": 1.0, "x1": 2.0}
    assert [d.winner for d in decisions] == ["ours", "theirs"]


def test_minimising_keeps_the_lower_score() -> None:
    base = state({"x0": 0.0})
    ours, theirs = state({"x0": 1.0}), state({"x0": 2.0})
    score = StateScorer(lambda s: genes_of(s)["x0"], minimize=True)
    assert genes_of(merge_states(base, ours, theirs, scorer=score)[0]) == {"x0": 1.0}
    score = StateScorer(lambda s: genes_of(s)["x0"])
    assert genes_of(merge_states(base, ours, theirs, scorer=score)[0]) == {"x0": 2.0}


def test_failed_candidates_are_disqualified() -> None:
    base = state({"x0": 0.0, "x1": 0.0})
    ours, theirs = state({"x0": 1.0, "x1": 1.0}), state({"x0": 2.0, "x1": 2.0})

    def picky(s: State) -> float:
        g = genes_of(s)
        if g["x0"] == 2.0:
            raise Trap("wasm `unreachable` instruction executed")
        return sum(g.values())

    merged, decisions = merge_states(base, ours, theirs, scorer=StateScorer(picky))
    assert genes_of(merged) == {"x0": 1.0, "x1": 2.0}
    assert decisions[0].scores == {"ours": 3.0, "theirs": None}


def test_every_candidate_failing_is_an_error() -> None:
    def trap(s: State) -> float:
        raise Trap("wasm `unreachable` instruction executed", "unreachable_code_reached")

    with pytest.raises(FitnessFailedEverywhere) as e:
        merge_states(
            state({"x0": 0.0}), state({"x0": 1.0}), state({"x0": 2.0}), scorer=StateScorer(trap)
        )
    assert e.value.count == 2
    assert e.value.failure is not None and e.value.failure.reason == "trap"


def _wide(n: int) -> tuple[State, State, State]:
    names = [f"g{i:02d}" for i in range(n)]
    base = state(dict.fromkeys(names, 0.0))
    ours = state({k: (1.0 if i % 3 else -1.0) for i, k in enumerate(names)})
    theirs = state({k: (0.25 if i % 2 else 2.0) for i, k in enumerate(names)})
    return base, ours, theirs


def test_up_to_twelve_conflicts_score_every_candidate() -> None:
    base, ours, theirs = _wide(EXHAUSTIVE_LIMIT)
    calls: list[int] = []

    def count(s: State) -> float:
        calls.append(1)
        return -sum((v - 0.25) ** 2 for v in genes_of(s).values())

    merged, decisions = merge_states(base, ours, theirs, scorer=StateScorer(count))
    assert len(calls) == 1 << EXHAUSTIVE_LIMIT
    assert_each_gene_at_its_best_side(merged, ours, theirs, decisions)


def assert_each_gene_at_its_best_side(
    merged: State, ours: State, theirs: State, decisions: Sequence[Decision]
) -> None:
    # A separable fitness: the best candidate has each gene at its own best side.
    for d in decisions:
        o, t = genes_of(ours)[d.pattern], genes_of(theirs)[d.pattern]
        best = o if (o - 0.25) ** 2 <= (t - 0.25) ** 2 else t
        assert genes_of(merged)[d.pattern] == best
        winner = d.scores[d.winner]
        loser = d.scores["theirs" if d.winner == "ours" else "ours"]
        assert winner is not None and loser is not None and winner >= loser


def test_beyond_twelve_conflicts_a_greedy_ascent_from_the_fitter_side() -> None:
    base, ours, theirs = _wide(EXHAUSTIVE_LIMIT + 4)
    calls: list[int] = []

    def count(s: State) -> float:
        calls.append(1)
        return -sum((v - 0.25) ** 2 for v in genes_of(s).values())

    merge3 = three_way(base, ours, theirs)
    merged, decisions = merge_states(base, ours, theirs, scorer=StateScorer(count))
    assert_each_gene_at_its_best_side(merged, ours, theirs, decisions)
    assert len(calls) < 1 << len(merge3.conflicts)


# ---- properties ------------------------------------------------------------------------------

gene_maps = st.dictionaries(st.sampled_from(NAMES), st.sampled_from(VALUES), max_size=len(NAMES))
thought_sets = st.frozensets(st.sampled_from(THOUGHTS), max_size=len(THOUGHTS))
block_maps = st.dictionaries(st.sampled_from(["a", "b", "c"]), st.sampled_from(BLOCKS), max_size=3)


@st.composite
def states(draw: st.DrawFn) -> State:
    return state(
        draw(gene_maps), sorted(draw(thought_sets), key=str), draw(block_maps), draw(block_maps)
    )


@st.composite
def conflicting(draw: st.DrawFn) -> tuple[State, State, State]:
    """Sides that differ from the base only in patterns both changed differently."""
    n = draw(st.integers(1, EXHAUSTIVE_LIMIT + 3))
    names = [f"g{i:02d}" for i in range(n)]
    base = {k: 0.0 for k in names}
    ours = {k: draw(st.sampled_from([-2.0, -1.0, 0.5])) for k in names}
    theirs = {k: draw(st.sampled_from([1.0, 2.0, 0.25])) for k in names}
    thoughts = sorted(draw(thought_sets), key=str)
    return state(base, thoughts), state(ours, thoughts), state(theirs, thoughts)


@given(states(), states())
def test_merging_a_state_with_itself_gives_it_back(base: State, a: State) -> None:
    assert merge_states(a, a, a) == (a, ())
    assert merge_states(base, a, a) == (a, ())
    assert merge_states(None, a, a) == (a, ())


@given(st.one_of(st.none(), states()), states(), states())
def test_thoughts_follow_the_three_way_rule(base: State | None, ours: State, theirs: State) -> None:
    merged = three_way(base, ours, theirs).state()
    old = base.thoughts if base is not None else frozenset()
    for t in THOUGHTS:
        kept = (t in ours.thoughts and t in theirs.thoughts) or (
            t not in old and (t in ours.thoughts or t in theirs.thoughts)
        )
        assert (t in merged.thoughts) == kept
        if t in old and (t in ours.thoughts) != (t in theirs.thoughts):
            assert t not in merged.thoughts  # removed on one side, untouched on the other


@given(st.one_of(st.none(), states()), states(), states())
def test_merge_is_deterministic_and_settles_one_sided_changes(
    base: State | None, ours: State, theirs: State
) -> None:
    scorer = sphere()
    first = merge_states(base, ours, theirs, scorer=scorer)
    assert merge_states(base, ours, theirs, scorer=scorer) == first
    _, decisions = first
    for d in decisions:
        if d.reason != "fitness":
            chosen = d.ours if d.winner == "ours" else d.theirs
            assert chosen == (d.theirs if d.reason == "theirs-only" else d.ours)
        winner = d.scores[d.winner]
        other = d.scores["theirs" if d.winner == "ours" else "ours"]
        if d.reason == "fitness" and other is not None:
            assert winner is not None and winner >= other


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(conflicting())
def test_the_result_is_at_least_as_fit_as_either_side(sides: tuple[State, State, State]) -> None:
    base, ours, theirs = sides
    for scorer in (sphere(), StateScorer(sphere().function, minimize=True)):
        merged, _ = merge_states(base, ours, theirs, scorer=scorer)
        f = scorer.function
        if scorer.minimize:
            assert f(merged) <= min(f(ours), f(theirs))
        else:
            assert f(merged) >= max(f(ours), f(theirs))
        assert merged.thoughts == ours.thoughts


@given(st.one_of(st.none(), states()), states(), states())
def test_packed_vectors_match_each_candidates_genome_vector(
    base: State | None, ours: State, theirs: State
) -> None:
    candidates = Candidates(three_way(base, ours, theirs))
    masks = list(range(1 << min(candidates.size, 6)))
    if not candidates.batchable:
        return
    packed, dim = candidates.vectors(masks)
    for i, mask in enumerate(masks):
        expected = genome_vector(candidates.state(mask).genome.to_node())
        assert expected is not None and len(expected) == dim
        got = struct.unpack_from(f"<{dim}d", packed, i * dim * 8)
        assert all(
            math.isclose(a, b, abs_tol=0) and a == b for a, b in zip(got, expected, strict=True)
        )


def test_candidates_without_one_vector_layout_are_not_batchable() -> None:
    floats = Gene.make("f", "floats", [1.0, 2.0])
    longer = Gene.make("f", "floats", [1.0, 2.0, 3.0])
    base = State(Genome((Gene.make("f", "floats", [0.0, 0.0]),)))
    assert not Candidates(
        three_way(base, State(Genome((floats,))), State(Genome((longer,))))
    ).batchable
    removed = Candidates(three_way(state({"x0": 0.0}), state({}), state({"x0": 1.0})))
    assert not removed.batchable
    text = Gene.make("s", "str", "a")
    with_text = Candidates(
        three_way(
            state({"x0": 0.0}),
            State(Genome((x("x0", 1.0), text))),
            State(Genome((x("x0", 2.0), text))),
        )
    )
    assert not with_text.batchable
    memory = Candidates(
        three_way(
            state(memories={"m": BLOCKS[0]}),
            state(memories={"m": BLOCKS[1]}),
            state(memories={"m": BLOCKS[2]}),
        )
    )
    assert not memory.batchable


@given(st.one_of(st.none(), states()), states(), states())
def test_candidate_manifests_are_each_states_canonical_manifest(
    base: State | None, ours: State, theirs: State
) -> None:
    candidates = Candidates(three_way(base, ours, theirs))
    for mask in range(1 << min(candidates.size, 5)):
        assert candidates.manifest(mask) == candidates.state(mask).manifest().data


def test_candidate_manifests_with_text_and_block_conflicts() -> None:
    text = Gene.make("s", "str", 'quote " and \x00 and \u00e9')
    base = State(Genome((x("x0", 0.0), Gene.make("s", "str", "b"))))
    ours = State(Genome((x("x0", 1.0), text)), frozenset(THOUGHTS[:3]), (("m", BLOCKS[1]),))
    theirs = State(
        Genome((x("x0", 2.0), Gene.make("s", "str", "t"))),
        frozenset(THOUGHTS[2:]),
        (("m", BLOCKS[2]),),
    )
    candidates = Candidates(three_way(base, ours, theirs))
    assert candidates.size == 3 and not candidates.batchable
    for mask in range(8):
        assert candidates.manifest(mask) == candidates.state(mask).manifest().data


@pytest.fixture(scope="module")
def rastrigin_module() -> Iterator[FitnessModule]:
    module = FitnessModule.load(RASTRIGIN.read_bytes())
    yield module
    del module  # before interpreter shutdown tears wasmtime down


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conflicting())
def test_with_the_real_module_the_result_is_at_least_as_fit_as_either_side(
    rastrigin_module: FitnessModule, sides: tuple[State, State, State]
) -> None:
    base, ours, theirs = sides
    module = rastrigin_module
    merged, _ = merge_states(base, ours, theirs, scorer=ModuleScorer(module, None))
    vectors = [genome_vector(s.genome.to_node()) for s in (merged, ours, theirs)]
    assert all(v is not None for v in vectors)
    results = module.score_batch([v for v in vectors if v is not None], len(vectors[0] or ()))
    scores = [r for r in results if isinstance(r, float)]
    assert len(scores) == 3
    assert scores[0] >= max(scores[1], scores[2])


@st.composite
def quadratic(draw: st.DrawFn) -> tuple[tuple[State, State, State], StateScorer]:
    """More conflicts than the exhaustive limit, under a fitness whose genes interact (so a
    greedy ascent can stop at a local optimum, and the two directions of one merge can stop at
    different ones: docs/merge.md)."""
    n = draw(st.integers(EXHAUSTIVE_LIMIT + 1, EXHAUSTIVE_LIMIT + 4))
    names = [f"g{i:02d}" for i in range(n)]
    weights = st.integers(-3, 3)
    linear = [draw(weights) for _ in names]
    pairs = [[draw(weights) for _ in names] for _ in names]

    def fitness(s: State) -> float:
        bits = [1.0 if v == 1.0 else 0.0 for v in genes_of(s).values()]
        return float(
            sum(w * b for w, b in zip(linear, bits, strict=True))
            + sum(pairs[i][j] * bits[i] * bits[j] for i in range(n) for j in range(i))
        )

    base = state(dict.fromkeys(names, 0.5))
    ours = state(dict.fromkeys(names, -1.0))
    theirs = state(dict.fromkeys(names, 1.0))
    return (base, ours, theirs), StateScorer(fitness)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(quadratic())
def test_the_greedy_ascent_keeps_its_promise_in_both_directions(
    drawn: tuple[tuple[State, State, State], StateScorer],
) -> None:
    (base, ours, theirs), scorer = drawn
    f = scorer.function
    for a, b in ((ours, theirs), (theirs, ours)):
        merge3 = three_way(base, a, b)
        all_a, all_b = merge3.state(), merge3.state(["theirs"] * len(merge3.conflicts))
        merged, decisions = merge_states(base, a, b, scorer=scorer)
        # Never less fit than the fitter of the two starting points ...
        assert f(merged) >= max(f(all_a), f(all_b))
        # ... and no single pattern taken from the other side would make it fitter.
        for d in decisions:
            other = d.scores["theirs" if d.winner == "ours" else "ours"]
            assert d.scores[d.winner] == f(merged)
            assert other is not None and other <= f(merged)
