"""The verifier's memo of directories found clean is bounded: each commit that adds a thought
has a thoughts directory and a link set of its own, and all were kept (verify or log of 200
thinks on 8,000 thoughts held 90 MB, growing with commits x thoughts). Counted, never timed."""

from __future__ import annotations

import pytest

from mindgit.store import verify
from mindgit.store.repository import Store
from mindgit.store.state import make_thought
from mindgit.store.verify import Verifier, verify_commits, walk


def _history(store: Store, thoughts: int, thinks: int) -> list[str]:
    blocks = [make_thought(f"thought {i}", ["memo"]) for i in range(thoughts)]
    store.update(
        lambda s: (
            s.with_thoughts(s.thoughts | {b.cid for b in blocks}),
            {b.cid: b.data for b in blocks},
        ),
        "many thoughts",
    )
    for i in range(thinks):
        store.think(f"later {i}")
    return list(walk(store.repo, [store.head()]))


def test_the_memo_of_clean_directories_stays_within_its_bound(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    commits = _history(store, 30, 12)
    v = Verifier(store.repo, store.trust)
    assert all(v.check_commit(c).ok for c in reversed(commits))
    unbounded = sum(len(links) for links in v._clean_dirs.values())
    assert unbounded > 12 * 30  # every commit's own link set was kept

    monkeypatch.setattr(verify, "_CLEAN_DIRS_CIDS", 80)
    v = Verifier(store.repo, store.trust)
    for c in reversed(commits):
        assert v.check_commit(c).ok
        assert sum(len(links) for links in v._clean_dirs.values()) <= 80
    # The whole history verified under the bound, newest first, as verify walks it.
    assert verify_commits(store.repo, store.trust, [store.head()], workers=1).ok
