"""A peer's expected key follows the rotations a pull applies."""

from __future__ import annotations

from pathlib import Path

from mindgit.store.repository import Store, init_store
from mindgit.store.rotations import rotate_key
from mindgit.sync.peers import add_peer, get_peer, peer_statuses
from mindgit.sync.pull import pull
from tests.conftest import Mg


def test_a_pull_that_applies_a_rotation_moves_the_peer_s_expected_key(
    store: Store, tmp_path: Path, mg: Mg
) -> None:
    beta = init_store(tmp_path / "beta", "beta")
    beta.trust.add(store.public_key, "alpha")
    add_peer(beta, "alpha", f"file://{store.path}", node="alpha")
    store.think("before")
    pull(beta, "alpha")
    rotate_key(store)
    rotate_key(store)  # twice: the chain is followed to its end
    store.think("after")
    report = pull(beta, "alpha")
    assert [r.status for r in report.rotations] == ["applied", "applied"]
    assert get_peer(beta, "alpha").node == store.public_key.did
    (status,) = peer_statuses(beta)
    assert status.trusted_as == "alpha"
    out = mg("--store", str(beta.path), "peers")
    assert out.code == 0 and "retired" not in out.out, out.out


def test_a_peer_expecting_another_key_is_left_alone(store: Store, tmp_path: Path) -> None:
    beta = init_store(tmp_path / "beta", "beta")
    gamma = init_store(tmp_path / "gamma", "gamma")
    beta.trust.add(store.public_key, "alpha")
    beta.trust.add(gamma.public_key, "gamma")
    add_peer(beta, "alpha", f"file://{store.path}")
    add_peer(beta, "gamma", f"file://{gamma.path}", node="gamma")
    store.think("before")
    rotate_key(store)
    pull(beta, "alpha")
    assert get_peer(beta, "alpha").node is None
    assert get_peer(beta, "gamma").node == gamma.public_key.did
