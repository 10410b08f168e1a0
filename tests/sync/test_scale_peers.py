"""`mindgit peers` lists the store's refs once, not once a peer: counted, never timed.

Each peer's last-seen marks were found by a listing of every ref in the store (~16 ms at
1,200 loose refs): 200 peers with 5 marks each took 7 s, growing with peers x refs."""

from __future__ import annotations

import json

import pytest
from pygit2.references import References

from mindgit.store.repository import Store
from mindgit.sync.peers import add_peer, peer_statuses
from tests.conftest import Mg


def _listings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each listing of a repository's refs (pygit2's, which every ref listing goes through)."""
    count = [0]
    real = References.__iter__

    def counting(self: References) -> object:
        count[0] += 1
        return real(self)

    monkeypatch.setattr(References, "__iter__", counting)
    return count


def _peers(store: Store, first: int, last: int) -> str:
    if first == 0:
        store.think("seen")
    head = store.head()
    for i in range(first, last):
        add_peer(store, f"p{i}", f"/nowhere/{i}")
        for ref in ("heads/main", "heads/e", "runs/r"):
            store.repo.references.create(f"refs/peers/p{i}/{ref}", head, force=True)
    return head


def test_peers_lists_the_refs_once_however_many_peers(
    store: Store, mg: Mg, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = _peers(store, 0, 2)
    counted = []
    for last in (2, 8):
        _peers(store, 2, last)
        listings = _listings(monkeypatch)
        r = mg("--store", str(store.path), "peers", "--json")
        assert r.code == 0, r.err
        counted.append(listings[0])
        monkeypatch.undo()
        shown = json.loads(r.out)
        assert [p["name"] for p in shown] == [f"p{i}" for i in range(last)]
        for p in shown:
            assert sorted((s["ref"], s["commit"]) for s in p["seen"]) == [
                ("refs/heads/e", head),
                ("refs/heads/main", head),
                ("refs/runs/r", head),
            ]
    assert counted[0] == counted[1]


def test_peer_statuses_gives_each_peer_only_its_own_marks(store: Store) -> None:
    """A peer whose name starts another's (p1, p10) is given only its own marks."""
    head = _peers(store, 0, 2)
    _peers(store, 10, 11)
    store.repo.references.create("refs/peers/p10/heads/only-p10", head)
    marks = {s.peer.name: dict(s.marks) for s in peer_statuses(store)}
    assert marks["p1"] == {"refs/heads/main": head, "refs/heads/e": head, "refs/runs/r": head}
    assert marks["p10"] == {
        "refs/heads/main": head,
        "refs/heads/e": head,
        "refs/runs/r": head,
        "refs/heads/only-p10": head,
    }
