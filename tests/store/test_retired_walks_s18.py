"""A retired key's bounds (``RetiredBounds``) reuse the history an earlier key of the same node
walked: ten rotations over a history walked its first commits ten times (a fifth of
``verify --all``). The verdicts stay those of walking every key's heads on their own, whatever
the order keys are asked for, with merges, heads missing here and commit dates out of order."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pygit2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mindgit.identity.keys import NodeKey
from mindgit.identity.trust import TrustedNode, TrustStore
from mindgit.store.retired import RetiredBounds

MISSING = "0123456789abcdef0123456789abcdef01234567"  # a head no repository here holds
KEY = NodeKey.from_seed(bytes(32)).public


class _Counting:
    """A libgit2 walker that counts the commits it lists."""

    def __init__(self, walker: pygit2.Walker, counts: list[int]) -> None:
        self.walker = walker
        self.counts = counts

    def push(self, oid: pygit2.Oid) -> None:
        self.walker.push(oid)

    def hide(self, oid: pygit2.Oid) -> None:
        self.walker.hide(oid)

    def __iter__(self) -> Iterator[pygit2.Commit]:
        for commit in self.walker:
            self.counts[0] += 1
            yield commit


class CountingRepository(pygit2.Repository):
    """A repository (real, on disk) whose walks count the commits they list."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.listed = [0]

    def walk(self, oid: Any, sort_mode: Any = None) -> Any:
        return _Counting(super().walk(oid, sort_mode), self.listed)


def _commit(repo: pygit2.Repository, parents: list[str], when: int, n: int) -> str:
    who = pygit2.Signature("t", "t@example.org", when, 0)
    tree = repo.TreeBuilder().write()
    oid = repo.create_commit(None, who, who, f"c{n}", tree, [pygit2.Oid(hex=p) for p in parents])
    return str(oid)


def _below(repo: pygit2.Repository, heads: tuple[str, ...]) -> set[str]:
    """The reference: every commit a head held here reaches, by parents, in plain Python."""
    seen: set[str] = set()
    todo = [h for h in heads if h != MISSING]
    while todo:
        oid = todo.pop()
        if oid not in seen:
            seen.add(oid)
            commit = repo[oid].peel(pygit2.Commit)
            todo.extend(str(p) for p in commit.parent_ids)
    return seen


# One step of a history: ("commit", branch, date), ("merge", into, from, date), or
# ("rotate", node, tips left out, a missing head too).
_steps = st.lists(
    st.one_of(
        st.tuples(st.just("commit"), st.integers(0, 2), st.integers(0, 30)),
        st.tuples(st.just("merge"), st.integers(0, 2), st.integers(0, 2), st.integers(0, 30)),
        st.tuples(
            st.just("rotate"),
            st.sampled_from(["a", "b"]),
            st.sets(st.integers(0, 2), max_size=2),
            st.booleans(),
        ),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=_steps, order=st.randoms(use_true_random=False))
def test_bounds_agree_with_walking_each_key_alone(steps: list[tuple[Any, ...]], order: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = pygit2.init_repository(str(Path(tmp) / "r.git"), bare=True)
        tips: list[str | None] = [None, None, None]
        nodes: list[TrustedNode] = []
        rotations = {"a": 0, "b": 0}
        for n, step in enumerate(steps):
            if step[0] == "commit":
                _, branch, when = step
                parents = [t for t in [tips[branch]] if t is not None]
                tips[branch] = _commit(repo, parents, when, n)
            elif step[0] == "merge":
                _, into, other, when = step
                parents = [t for t in dict.fromkeys([tips[into], tips[other]]) if t is not None]
                tips[into] = _commit(repo, parents, when, n)
            else:
                _, node, left_out, missing = step
                heads = [t for i, t in enumerate(tips) if t is not None and i not in left_out]
                rotations[node] += 1
                name = f"{node}.retired-{rotations[node]}"
                heads += [MISSING] if missing else []
                nodes.append(TrustedNode(name, KEY, tuple(dict.fromkeys(heads))))
        commits = [str(c.id) for t in tips if t for c in repo.walk(pygit2.Oid(hex=t))]
        bounds = RetiredBounds(repo, TrustStore(Path(tmp) / "allowed_signers"))
        empty = repo.get(repo.TreeBuilder().write())
        assert isinstance(empty, pygit2.Tree)
        asked = [(node, oid) for node in nodes for oid in dict.fromkeys(commits)]
        order.shuffle(asked)
        expected = {node.heads: _below(repo, node.heads or ()) for node in nodes}
        for node, oid in asked:
            refused = bounds.refusal(node, oid, empty)
            assert (refused is None) == (oid in expected[node.heads]), (node, oid, refused)


def test_a_node_rotating_ten_times_has_each_commit_walked_about_once(tmp_path: Path) -> None:
    path = tmp_path / "r.git"
    pygit2.init_repository(str(path), bare=True)
    repo = CountingRepository(str(path))
    tip: str | None = None
    nodes: list[TrustedNode] = []
    for n in range(1, 311):
        # Dates out of order now and then, as a signer may write any.
        tip = _commit(repo, [tip] if tip else [], 1_000_000 + n - 50 * (n % 7 == 0), n)
        if n % 30 == 0 and len(nodes) < 10:
            nodes.append(TrustedNode(f"a.retired-{len(nodes) + 1}", KEY, (tip,)))
    bounds = RetiredBounds(repo, TrustStore(tmp_path / "allowed_signers"))
    empty = repo.get(repo.TreeBuilder().write())
    assert isinstance(empty, pygit2.Tree)
    assert tip is not None
    for node in nodes:  # in the order they signed, as verify meets them
        assert bounds.refusal(node, node.heads[0] if node.heads else "", empty) is None
        assert bounds.refusal(node, tip, empty) is not None
    # Walked each from its heads, the ten keys listed 30 + 60 + ... + 300 = 1,650 commits.
    assert repo.listed[0] <= 330, repo.listed[0]
    # Asked newest first, each is walked on its own, as before: no worse.
    later = RetiredBounds(repo, TrustStore(tmp_path / "allowed_signers"))
    repo.listed[0] = 0
    for node in reversed(nodes):
        assert later.refusal(node, node.heads[0] if node.heads else "", empty) is None
    assert repo.listed[0] <= 1_650 + 10, repo.listed[0]
