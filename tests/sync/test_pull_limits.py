"""A peer cannot flood a store with refs: over the limit, the pull is refused whole."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mindgit.store.repository import Store, init_store
from mindgit.sync.peers import add_peer
from mindgit.sync.pull import MAX_REFS, TooManyRefs, pull


def test_a_peer_offering_too_many_refs_is_refused(store: Store, tmp_path: Path) -> None:
    beta = init_store(tmp_path / "beta", "beta")
    head = beta.head()
    lines = "".join(f"create refs/heads/spam{i} {head}\n" for i in range(MAX_REFS + 1))
    subprocess.run(
        ["git", "--git-dir", str(beta.path), "update-ref", "--stdin"],
        input=lines.encode(),
        check=True,
    )
    store.trust.add(beta.public_key, "beta")
    add_peer(store, "beta", beta.path.as_uri())
    before = sorted(store.repo.references)
    with pytest.raises(TooManyRefs, match="over the limit"):
        pull(store, "beta")
    assert sorted(store.repo.references) == before
