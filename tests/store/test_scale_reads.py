"""Reads that must not grow faster than what they show: counted, never timed.

A state of n thoughts read one thought at a time looked its thoughts tree up n times (libgit2
caches no tree over 4 KiB, so each lookup parsed all n entries): `show` of 4,000 thoughts took
19 s. `log -n 1`, `show` and `experiments` walked the whole history to show one commit.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pygit2
import pytest

from mindgit.store import history, layout
from mindgit.store.repository import Store
from mindgit.store.state import make_thought
from tests.conftest import Mg

THOUGHTS = 40


def _counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each subtree lookup the state readers make, by directory name."""
    seen: list[str] = []
    real: Callable[..., Any] = layout._subtree

    def counting(repo: pygit2.Repository, tree: pygit2.Tree | None, name: str) -> Any:
        seen.append(name)
        return real(repo, tree, name)

    monkeypatch.setattr(layout, "_subtree", counting)
    return seen


def _many_thoughts(store: Store, n: int = THOUGHTS) -> list[bytes]:
    blocks = [make_thought(f"thought {i}", ["scale"]) for i in range(n)]
    store.update(
        lambda s: (
            s.with_thoughts(s.thoughts | {b.cid for b in blocks}),
            {b.cid: b.data for b in blocks},
        ),
        "many thoughts",
    )
    return [b.data for b in sorted(blocks, key=lambda b: str(b.cid))]


def test_show_looks_the_thoughts_tree_up_once(
    store: Store, mg: Mg, monkeypatch: pytest.MonkeyPatch
) -> None:
    datas = _many_thoughts(store)
    seen = _counted(monkeypatch)
    r = mg("--store", str(store.path), "show", "--json")
    assert r.code == 0, r.err
    shown = json.loads(r.out)["thoughts"]
    assert [t["text"] for t in shown] == [json.loads(d)["text"] for d in datas]
    # None at all since its check hands show the thoughts it read (test_thoughts_s18.py).
    assert seen.count(layout.THOUGHTS) <= 1


def test_store_thoughts_looks_the_tree_up_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    datas = _many_thoughts(store)
    seen = _counted(monkeypatch)
    assert [data for _, data in store.thoughts()] == datas
    assert seen.count(layout.THOUGHTS) == 1


def test_diff_looks_each_side_up_once(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    old = store.head()
    datas = _many_thoughts(store)
    seen = _counted(monkeypatch)
    d = history.diff(store, old, store.head())
    assert [data for _, data in d.thoughts_added] == datas
    back = history.diff(store, store.head(), old)
    assert [data for _, data in back.thoughts_removed] == datas
    assert seen.count(layout.THOUGHTS) == 2


def test_read_thoughts_says_what_read_thought_says(store: Store) -> None:
    snap = store.snapshot()
    missing = make_thought("never stored").cid
    with pytest.raises(layout.StateNotFound) as one:
        layout.read_thought(store.repo, snap.tree, missing)
    with pytest.raises(layout.StateNotFound) as many:
        list(layout.read_thoughts(store.repo, snap.tree, [missing]))
    assert str(many.value) == str(one.value)
    # No CIDs, no lookup: nothing to fail on.
    assert list(layout.read_thoughts(store.repo, snap.tree, [])) == []


def _long_history(store: Store, n: int = 12, word: str = "step") -> None:
    for i in range(n):
        store.think(f"{word} {i}")


def _drop_loose(store: Store, oid: str) -> None:
    os.remove(store.path / "objects" / oid[:2] / oid[2:])


def test_the_tip_is_read_without_walking_history(store: Store, mg: Mg) -> None:
    """An old commit the store lacks cannot be read by a walk of the history: the readers that
    show one commit must still work (they failed with an internal error, having walked it all)."""
    _long_history(store)
    tip = store.head()
    old = store.resolve("main~8")
    _drop_loose(store, old)
    at = ("--store", str(store.path))
    r = mg(*at, "log", "-n", "1", "--json")
    assert r.code == 0, r.err
    assert [e["commit"] for e in json.loads(r.out)] == [tip]
    r = mg(*at, "log", "-n", "8", "--json")
    assert r.code == 0, r.err
    assert len(json.loads(r.out)) == 8
    r = mg(*at, "show", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["commit"] == tip
    r = mg(*at, "experiments", "--json")
    assert r.code == 0, r.err
    assert [e["head"] for e in json.loads(r.out)] == [tip]


def test_log_with_a_limit_counts_the_commits_it_reads(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _long_history(store, 20)
    walks: list[int] = []
    real = pygit2.Repository.walk

    def walk(self: pygit2.Repository, *args: Any) -> Any:
        walks.append(1)
        return real(self, *args)

    monkeypatch.setattr(pygit2.Repository, "walk", walk)
    assert len(list(history.log(store, None, limit=3))) == 3
    assert walks == []


def _merge_history(store: Store) -> None:
    """main: a chain, a merge of a side branch, more chain, another merge."""
    _long_history(store, 3)
    for round_ in range(2):
        store.fork(f"side{round_}", switch=False)
        store.think(f"side work {round_}", experiment=f"side{round_}")
        store.think(f"main work {round_}")
        ours, theirs = store.head(), store.head(f"side{round_}")
        tree = store.repo[ours].peel(pygit2.Tree).id
        merged = store.write_commit(tree, [ours, theirs], f"merge {round_}")
        store.repo.references.create("refs/heads/main", merged, force=True)
        _long_history(store, 2, f"after merge {round_}")


def test_log_with_any_limit_is_the_full_logs_start(store: Store) -> None:
    _merge_history(store)
    full = [e.commit for e in history.log(store)]
    assert len(full) > 10
    for k in range(1, len(full) + 2):
        assert [e.commit for e in history.log(store, None, limit=k)] == full[:k]
    side = store.resolve("side1")
    full_side = [e.commit for e in history.log(store, side)]
    for k in range(1, len(full_side) + 1):
        assert [e.commit for e in history.log(store, side, limit=k)] == full_side[:k]


def test_log_prints_each_commit_before_checking_the_next(
    store: Store, mg: Mg, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`log | head` of a long history printed nothing until every commit was verified."""
    _long_history(store, 6)
    real = history.log
    printed_before: list[bool] = []
    shown = ""

    def watched(*args: Any, **kwargs: Any) -> Any:
        nonlocal shown
        previous = None
        for entry in real(*args, **kwargs):
            if previous is not None:
                shown += capsys.readouterr().out
                printed_before.append(previous.commit[:12] in shown)
            previous = entry
            yield entry

    monkeypatch.setattr(history, "log", watched)
    r = mg("--store", str(store.path), "log")
    assert r.code == 0, r.err
    assert len(printed_before) == 6 and all(printed_before)


def test_experiments_checks_and_reads_a_shared_state_once(
    store: Store, mg: Mg, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forks of one state: each experiment's own verifier checked every thought again, and
    each read and parsed the same manifest again."""
    from mindgit.store import verify

    _many_thoughts(store, 12)
    for i in range(4):
        store.fork(f"fork{i}", switch=False)
    checked: list[object] = []
    real_check: Callable[[Any, bytes], Any] = getattr(verify, "check_thought")  # noqa: B009

    def check(cid: Any, data: bytes) -> Any:
        checked.append(cid)
        return real_check(cid, data)

    parsed: list[object] = []
    real_read = layout.read_state

    def read_state(repo: pygit2.Repository, tree: pygit2.Tree) -> Any:
        parsed.append(tree.id)
        return real_read(repo, tree)

    monkeypatch.setattr(verify, "check_thought", check)
    monkeypatch.setattr(layout, "read_state", read_state)
    r = mg("--store", str(store.path), "experiments", "--json")
    assert r.code == 0, r.err
    rows = json.loads(r.out)
    assert [(e["name"], e["thoughts"], e["signature"]) for e in rows] == [
        *((f"fork{i}", 12, "good") for i in range(4)),
        ("main", 12, "good"),
    ]
    assert len(checked) == 12
    assert len(parsed) == 1


def test_a_walk_past_a_lost_commit_names_it(store: Store, mg: Mg) -> None:
    """A log that must walk past a commit the store lacks says so, exit 1 (it was an internal
    error, NotFoundError, exit 3)."""
    _long_history(store, 5)
    old = store.resolve("main~3")
    _drop_loose(store, old)
    for args in (("log",), ("log", "-n", "5"), ("log", "--json")):
        r = mg("--store", str(store.path), *args)
        assert r.code == 1, (args, r.err)
        lines = r.err.strip().splitlines()
        assert len(lines) == 1 and f"commit {old} is missing from this store" in lines[0]


class _CountingRepo(pygit2.Repository):
    """The store's repository, counting each object looked up by id."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.looked_up: list[str] = []

    def __getitem__(self, key: Any) -> Any:
        self.looked_up.append(str(key))
        return super().__getitem__(key)


def test_reading_thoughts_one_by_one_parses_their_tree_once(store: Store) -> None:
    """read_thought in a loop (evolve's result commit, merge) looked the thoughts tree up per
    thought: a state of 4,000 thoughts made evolve spend 16 s there."""
    datas = _many_thoughts(store)
    repo = _CountingRepo(str(store.path))
    tree = store.snapshot().tree
    sub = str(tree[layout.THOUGHTS].id)
    cids = sorted(store.state().thoughts, key=str)
    assert [layout.read_thought(repo, tree, c) for c in cids] == datas
    assert repo.looked_up.count(sub) == 1
    # Another state's thoughts are their own, and reading the first again still reads its own.
    store.think("one more")
    repo = _CountingRepo(str(store.path))  # one opened before the write may not see its pack
    other = store.snapshot().tree
    assert len([layout.read_thought(repo, other, c) for c in store.state().thoughts]) == 41
    assert layout.read_thought(repo, tree, cids[0]) == datas[0]


class _CountingWrites(pygit2.Repository):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.blobs = 0

    def create_blob(self, data: Any) -> pygit2.Oid:
        self.blobs += 1
        return super().create_blob(data)


def test_a_state_given_every_block_writes_only_the_new_ones(store: Store) -> None:
    """Evolve's result commit hands write_state every thought of the state; each was written
    again (and its file freshened) though the base tree held it."""
    _many_thoughts(store)
    repo = _CountingWrites(str(store.path))
    snap = store.snapshot()
    blocks = dict(layout.read_thoughts(repo, snap.tree, snap.state.thoughts))
    extra = make_thought("the one new thought")
    state = snap.state.with_thoughts(snap.state.thoughts | {extra.cid})
    tree, _ = layout.write_state(repo, state, {**blocks, extra.cid: extra.data}, snap.tree)
    assert repo.blobs == 2  # the manifest and the new thought
    # The same tree as one written from nothing.
    fresh, _ = layout.write_state(repo, state, {**blocks, extra.cid: extra.data})
    assert tree == fresh


def test_a_block_the_store_lost_is_written_again(store: Store) -> None:
    _many_thoughts(store, 3)
    git_dir = store.path
    snap = store.snapshot()
    blocks = dict(store.thoughts())
    cid, data = next(iter(blocks.items()))
    thoughts = store.repo[snap.tree[layout.THOUGHTS].id].peel(pygit2.Tree)
    blob = thoughts[str(cid)].id
    loose = git_dir / "objects" / str(blob)[:2] / str(blob)[2:]
    if not loose.exists():
        pytest.skip("the blob is packed")
    loose.unlink()
    repo = pygit2.Repository(str(git_dir))
    assert blob not in repo
    layout.write_state(repo, snap.state, blocks, snap.tree)
    assert blob in repo and repo[blob].read_raw() == data
