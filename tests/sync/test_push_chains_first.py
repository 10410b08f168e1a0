"""`mindgit push` sends key chains that moved in a push of their own, first (mindgit.sync.push):
what a failure between the two pushes leaves reported and recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.store.refs import read_ref
from mindgit.store.repository import Store
from mindgit.store.rotations import rotate_key
from mindgit.sync import keychains, refspace
from mindgit.sync.peers import add_peer, readable_state
from mindgit.sync.push import push
from tests.conftest import git


def test_a_peer_gone_after_the_chains_push_reports_the_chain_pushed(
    tmp_path: Path, store: Store
) -> None:
    peer = tmp_path / "peer.git"
    git("init", "--bare", "-q", str(peer))
    add_peer(store, "shared", f"file://{peer}")
    store.think("before the rotation")
    assert not push(store, "shared").failed
    rotate_key(store)
    store.think("after the rotation, by the new key")
    # The chain's push is received, then the peer goes: the second push cannot reach it.
    hook = peer / "hooks" / "post-receive"
    hook.write_text('#!/bin/sh\nmv "$(pwd)" "$(pwd).gone"\n')
    hook.chmod(0o755)
    own = keychains.own_chain(store)
    assert own is not None
    chain, tip = own.ref, own.tip
    report = push(store, "shared")
    by_ref = {o.ref: o for o in report.refs}
    # It was reported as a peer that cannot be reached: nothing said the chain had moved there.
    assert by_ref[chain].status in ("pushed", "created") and by_ref[chain].after == tip
    main = by_ref["refs/heads/main"]
    assert main.status == "rejected" and main.detail
    assert report.failed == (main,)
    assert read_ref(store.repo, refspace.seen_ref("shared", chain)) == tip
    assert readable_state(store, "shared").last_error is not None
    assert git("--git-dir", f"{peer}.gone", "rev-parse", chain).strip() == tip


def test_a_peer_gone_before_anything_was_pushed_still_raises(tmp_path: Path, store: Store) -> None:
    from mindgit.sync.transport import TransportError

    add_peer(store, "shared", f"file://{tmp_path / 'nowhere.git'}")
    store.think("x")
    with pytest.raises(TransportError):
        push(store, "shared")
