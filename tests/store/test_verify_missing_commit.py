"""verify of a history that lost a commit names it (exit 1): libgit2's walk stops there with a
NotFoundError, which verify let through as an internal error (exit 3) while it named a commit
whose bytes were damaged."""

from __future__ import annotations

import pytest

from mindgit.store.repository import Store
from tests.conftest import Mg, git
from tests.snapshots import changes, snapshot


@pytest.mark.parametrize("how", [(), ("--all",)])
def test_verify_names_a_lost_commit(store: Store, mg: Mg, how: tuple[str, ...]) -> None:
    for text in ("one", "two", "three"):
        store.think(text)
    lost = git("--git-dir", str(store.path), "rev-parse", "main~2").strip()
    (store.path / "objects" / lost[:2] / lost[2:]).unlink()
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "verify", *how)
    assert r.code == 1, r.err
    assert f"FAIL {lost[:12]}: object missing" in r.out
    assert "internal error" not in r.err
    assert changes(before, snapshot(store.path)) == []
