"""The per-peer lock dies with its process: a killed pull never leaves the peer busy."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mindgit.store.repository import Store
from mindgit.sync.peers import PeerBusy, peer_lock
from mindgit.sync.pull import pull
from mindgit.sync.push import push
from tests.sync.conftest import Nodes


def test_a_lock_left_by_a_killed_process_does_not_block(store: Store) -> None:
    script = (
        "import os, sys; from mindgit.store.repository import Store; "
        "from mindgit.sync.peers import peer_lock\n"
        "with peer_lock(Store(sys.argv[1]), 'beta'):\n"
        "    print('held', flush=True); os.kill(os.getpid(), 9)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(store.path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    proc.wait(timeout=30)
    assert (store.path / "mindgit" / "peers" / "beta.lock").exists()
    with peer_lock(store, "beta", wait=0):
        pass


def test_a_held_lock_still_excludes(store: Store) -> None:
    with peer_lock(store, "beta"), pytest.raises(PeerBusy), peer_lock(store, "beta", wait=0):
        pass


@pytest.mark.parametrize("operation", ["pull", "push"])
def test_a_timeout_bounds_the_wait_for_the_peers_lock(pair: Nodes, operation: str) -> None:
    # "Give up on a peer after this long": a pull or push held up by another with the same peer
    # waited its 30 s whatever --timeout said.
    alpha = pair["alpha"]
    run = pull if operation == "pull" else push
    with peer_lock(alpha, "beta"), pytest.raises(PeerBusy) as busy:
        run(alpha, "beta", timeout=1.5)
    assert "still running after 2s" in str(busy.value)
