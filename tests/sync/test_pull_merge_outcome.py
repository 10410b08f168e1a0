"""What a pull reports for a merge is what the merge did, even when the experiment moved between
the pull's look at it and the merge (merge reads the head again)."""

from __future__ import annotations

from mindgit.sync.peers import get_peer
from mindgit.sync.pull import _merge
from tests.sync.conftest import Nodes


def test_a_merge_into_a_head_that_moved_on_reports_what_it_found(pair: Nodes) -> None:
    alpha = pair["alpha"]
    alpha.fork("dreams")
    stale = alpha.think("dreams of flight")[0].id
    theirs = alpha.think("dreams of the sea")[0].id
    now = alpha.think("dreams of home")[0].id  # the experiment already holds theirs
    peer = get_peer(alpha, "beta")
    outcome = _merge(alpha, peer, "refs/heads/dreams", stale, theirs, None, "kept ours")
    assert (outcome.status, outcome.before, outcome.after) == ("ahead", now, now)
    assert alpha.head("dreams") == now
