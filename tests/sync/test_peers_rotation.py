"""A peer's expected key follows the rotations a pull applies; a peer added again starts afresh."""

from __future__ import annotations

from pathlib import Path

from mindgit.store.repository import Store, init_store
from mindgit.store.rotations import rotate_key
from mindgit.sync.peers import add_peer, get_peer, peer_statuses, seen_heads, state_path
from mindgit.sync.pull import pull
from tests.conftest import Mg, git


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


def test_a_peer_added_again_after_git_remote_remove_starts_afresh(
    store: Store, tmp_path: Path
) -> None:
    """`git remote remove` by hand left the peer's marks and state: a new peer of that name,
    elsewhere, inherited them, and its first pull was refused as a rewind."""
    beta = init_store(tmp_path / "beta", "beta")
    other = init_store(tmp_path / "other", "other")
    beta.trust.add(store.public_key, "alpha")
    beta.trust.add(other.public_key, "other")
    store.think("alpha's")
    add_peer(beta, "p", f"file://{store.path}")
    pull(beta, "p")
    assert seen_heads(beta, "p")
    git("--git-dir", str(beta.path), "remote", "remove", "p")
    assert seen_heads(beta, "p")  # what git leaves behind
    other.think("other's")
    add_peer(beta, "p", f"file://{other.path}")
    assert seen_heads(beta, "p") == {}
    assert not state_path(beta, "p").exists()
    report = pull(beta, "p")
    assert {r.ref: r.status for r in report.refs}["refs/heads/main"] == "unrelated"


def test_keys_apply_moves_the_peer_s_expected_key_too(store: Store, tmp_path: Path, mg: Mg) -> None:
    beta = init_store(tmp_path / "beta", "beta")
    beta.trust.add(store.public_key, "alpha")
    add_peer(beta, "alpha", f"file://{store.path}", node="alpha")
    rotate_key(store)
    git("--git-dir", str(beta.path), "fetch", "-q", str(store.path), "refs/keys/announce")
    out = mg("--store", str(beta.path), "keys", "apply", "FETCH_HEAD")
    assert out.code == 0, out.err
    assert get_peer(beta, "alpha").node == store.public_key.did
