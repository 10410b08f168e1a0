"""Merge properties in real stores, scored by the real Rastrigin module (Hypothesis).

Each example builds a store whose ``main`` and ``dreamer`` diverge from one base, then merges
both ways through the library as ``mindgit merge`` does. What is checked is what docs/merge.md
promises: equal fitness both ways (up to 12 conflicts), no change when merging a state with
itself or an ancestor, the fittest candidate kept, the same result every time, and every
pattern of the result taken from a parent by the three-way rule.
"""

from __future__ import annotations

import contextlib
import itertools
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pygit2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mindgit.evolve.fitness import add_fitness
from mindgit.ipld.cid import CID
from mindgit.merge import MergeIntoItself, merge, merge_bases, plan_merge
from mindgit.sandbox import FitnessFailure, FitnessModule
from mindgit.store.genome import Gene, Genome
from mindgit.store.objects import as_commit
from mindgit.store.repository import NothingChanged, Store, init_store
from mindgit.store.state import State, make_thought
from tests.conftest import fsck
from tests.merge.conftest import RASTRIGIN, x

NAMES = ("x0", "x1", "x2", "x3")
VALUES = (-2.0, -1.0, 0.0, 0.5, 1.0, 3.0)
NOTES = tuple(make_thought(f"note {i}") for i in range(4))

Genes = dict[str, float]


@st.composite
def sides(draw: st.DrawFn) -> tuple[Genes, Genes, Genes, frozenset[int], frozenset[int]]:
    """A base genome and two sides, each keeping, changing, removing or adding genes; and the
    notes each side holds (the base holds none)."""
    base = draw(st.dictionaries(st.sampled_from(NAMES), st.sampled_from(VALUES), min_size=1))

    def side() -> Genes:
        out: Genes = {}
        for name in NAMES:
            how = draw(st.sampled_from(["keep", "keep", "change", "drop"]))
            if how == "keep" and name in base:
                out[name] = base[name]
            elif how == "change":
                out[name] = draw(st.sampled_from(VALUES))
        return out or {NAMES[0]: 0.5}

    notes = st.frozensets(st.integers(0, len(NOTES) - 1))
    return base, side(), side(), draw(notes), draw(notes)


def put(store: Store, genes: Genes, notes: frozenset[int], experiment: str) -> None:
    genome = Genome(tuple(x(n, v) for n, v in sorted(genes.items())))
    thoughts = {NOTES[i].cid: NOTES[i].data for i in notes}
    with contextlib.suppress(NothingChanged):  # this side kept the base as it was
        store.update(
            lambda s: (State(genome, frozenset(thoughts)), thoughts), "set", experiment=experiment
        )


def build(root: Path, drawn: tuple[Genes, Genes, Genes, frozenset[int], frozenset[int]]) -> Store:
    base, ours, theirs, our_notes, their_notes = drawn
    store = init_store(root, "alpha")
    add_fitness(store, RASTRIGIN)
    put(store, base, frozenset(), "main")
    store.fork("dreamer", switch=False)
    put(store, theirs, their_notes, "dreamer")
    put(store, ours, our_notes, "main")
    return store


@pytest.fixture(scope="module")
def module() -> Iterator[FitnessModule]:
    loaded = FitnessModule.load(RASTRIGIN.read_bytes())
    yield loaded
    del loaded


def score(module: FitnessModule, state: State) -> float:
    (result,) = module.score_many([state.manifest().data])
    assert not isinstance(result, FitnessFailure), result
    return result


def genes(state: State) -> Mapping[str, Gene]:
    return {g.name: g for g in state.genome.genes}


def candidates(base: State, ours: State, theirs: State) -> list[State]:
    """Every state the rule allows, computed here independently of mindgit.merge: each gene
    one side changed is that side's; each gene both changed differently, either side's."""
    b, o, t = genes(base), genes(ours), genes(theirs)
    options: list[list[Gene | None]] = []
    for name in sorted(set(b) | set(o) | set(t)):
        bg, og, tg = b.get(name), o.get(name), t.get(name)
        if og == tg or tg == bg:
            options.append([og])
        elif og == bg:
            options.append([tg])
        else:
            options.append([og, tg])
    thoughts = (ours.thoughts & theirs.thoughts) | (
        (ours.thoughts | theirs.thoughts) - base.thoughts
    )
    return [
        State(Genome(tuple(g for g in pick if g is not None)), thoughts)
        for pick in itertools.product(*options)
    ]


SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@SETTINGS
@given(sides())
def test_both_directions_are_equally_fit_and_the_fittest_candidate(
    module: FitnessModule, drawn: tuple[Genes, Genes, Genes, frozenset[int], frozenset[int]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = build(Path(tmp) / "alpha", drawn)
        ours, theirs = store.state("main"), store.state("dreamer")
        forward = plan_merge(store, "dreamer", into="main", fitness="rastrigin")
        backward = plan_merge(store, "main", into="dreamer", fitness="rastrigin")
        base = store.state(forward.outcome.bases[0]) if forward.outcome.bases else None
        if base is None:  # one side never moved: a fast-forward one way, up to date the other
            assert forward.state == backward.state
            return
        a, b = forward.state, backward.state
        assert score(module, a) == score(module, b)
        assert a.thoughts == b.thoughts
        allowed = candidates(base, ours, theirs)
        assert a in allowed and b in allowed
        assert score(module, a) == max(score(module, c) for c in allowed)
        # Every gene kept comes from a parent; a gene dropped was dropped by one of them.
        for name, gene in genes(a).items():
            assert gene in (genes(ours).get(name), genes(theirs).get(name))
        for name in (set(genes(ours)) | set(genes(theirs))) - set(genes(a)):
            assert name not in genes(ours) or name not in genes(theirs)
        # Deterministic: planned again, the same state, decisions and message.
        again = plan_merge(store, "dreamer", into="main", fitness="rastrigin")
        assert (again.state, again.outcome, again.message) == (
            forward.state,
            forward.outcome,
            forward.message,
        )


@SETTINGS
@given(sides())
def test_merging_with_itself_or_an_ancestor_changes_nothing(
    drawn: tuple[Genes, Genes, Genes, frozenset[int], frozenset[int]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = build(Path(tmp) / "alpha", drawn)
        refs = {r: store.repo.lookup_reference(r).target for r in store.repo.references}
        head = store.head("main")
        for rev in (head, "main~1", "dreamer~1"):
            out = merge(store, rev, fitness="rastrigin")
            assert out.up_to_date and out.commit == head and out.decisions == ()
        with pytest.raises(MergeIntoItself):
            merge(store, "main", fitness="rastrigin")
        assert {r: store.repo.lookup_reference(r).target for r in store.repo.references} == refs


def test_two_stores_built_alike_merge_to_the_same_tree(tmp_path: Path) -> None:
    drawn = ({"x0": 1.0, "x1": 1.0}, {"x0": 3.0, "x1": 0.5}, {"x0": 0.0, "x1": -1.0, "x2": 3.0})
    trees: list[tuple[CID, str]] = []
    for name in ("one", "two"):
        store = build(tmp_path / name, (*drawn, frozenset({0, 1}), frozenset({1, 2})))
        out = merge(store, "dreamer", fitness="rastrigin")
        assert out.commit is not None
        commit = as_commit(store.repo[out.commit])
        assert commit is not None
        trees.append((out.manifest, str(commit.tree_id)))
        fsck(store.path)
    assert trees[0] == trees[1]


def test_changes_only_one_side_made_are_kept_unscored_even_when_less_fit(
    module: FitnessModule, tmp_path: Path
) -> None:
    # docs/merge.md, "Limits": fitness decides conflicts only. Each side moved one gene away
    # from the optimum; the merge keeps both moves, less fit than either parent.
    store = build(
        tmp_path / "alpha",
        (
            {"x0": 0.0, "x1": 0.0},
            {"x0": 3.0, "x1": 0.0},
            {"x0": 0.0, "x1": 3.0},
            frozenset(),
            frozenset(),
        ),
    )
    out = merge(store, "dreamer", fitness="rastrigin")
    assert out.candidates_scored == 0 and [d.reason for d in out.decisions] == [
        "ours-only",
        "theirs-only",
    ]
    merged, ours, theirs = store.state(), store.state("main~1"), store.state("dreamer")
    assert score(module, merged) == -18.0 < max(score(module, ours), score(module, theirs)) == -9.0


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[list[int]], int, int]:
    """A commit graph: commit i's parents are earlier commits (none for a root); two tips."""
    n = draw(st.integers(2, 14))
    parents: list[list[int]] = [[]]
    for i in range(1, n):
        if draw(st.integers(0, 9)) == 0:
            parents.append([])  # another root: some pairs share no history
        else:
            parents.append(sorted(draw(st.sets(st.integers(0, i - 1), min_size=1, max_size=2))))
    return parents, draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_merge_bases_are_the_ones_git_finds(drawn: tuple[list[list[int]], int, int]) -> None:
    parents, a, b = drawn
    with tempfile.TemporaryDirectory() as tmp:
        repo = pygit2.init_repository(tmp, bare=True)
        tree = repo.TreeBuilder().write()
        ids: list[pygit2.Oid] = []
        for i, ps in enumerate(parents):
            who = pygit2.Signature("t", "t@t", 1_700_000_000 + i, 0)
            ids.append(repo.create_commit(None, who, who, f"c{i}", tree, [ids[p] for p in ps]))
        ours, theirs = str(ids[a]), str(ids[b])
        proc = subprocess.run(
            ["git", "--git-dir", tmp, "merge-base", "--all", ours, theirs],
            capture_output=True,
            text=True,
            check=False,
        )
        expected = set(proc.stdout.split()) if proc.returncode == 0 else set()
        assert set(merge_bases(repo, ours, theirs)) == expected
