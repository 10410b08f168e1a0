"""Listings that must not grow faster than what they list: counted, never timed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mindgit.store.repository import Store
from mindgit.store.verify import Verifier
from tests.conftest import Mg


def _count_commit_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    checked: list[str] = []
    real = Verifier.check_commit

    def counting(self: Verifier, oid: str) -> Any:
        checked.append(oid)
        return real(self, oid)

    monkeypatch.setattr(Verifier, "check_commit", counting)
    return checked


def test_experiments_checks_a_head_that_forks_share_once(
    store: Store, mg: Mg, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forks that add nothing share their head commit: each one had its signature checked
    again (4,000 forks of one commit: 4,000 checks)."""
    store.think("shared")
    shared = store.head()
    for i in range(5):
        store.fork(f"fork{i}", switch=False)
    store.fork("own", switch=False)
    store.think("its own", experiment="own")
    own = store.head("own")
    checked = _count_commit_checks(monkeypatch)
    r = mg("--store", str(store.path), "experiments", "--json")
    assert r.code == 0, r.err
    rows = json.loads(r.out)
    assert [(e["name"], e["head"], e["signature"], e["thoughts"]) for e in rows] == [
        *((f"fork{i}", shared, "good", 1) for i in range(5)),
        ("main", shared, "good", 1),
        ("own", own, "good", 2),
    ]
    assert sorted(checked) == sorted([shared, own])
    # The table shows the same rows.
    r = mg("--store", str(store.path), "experiments")
    assert r.code == 0, r.err
    assert r.out.count("good") == 7
