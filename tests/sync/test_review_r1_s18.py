"""Review R1 (s18) of sync between nodes: bugs found and fixed, one test each."""

from __future__ import annotations

import json

from mindgit.sync.peers import peer_statuses, seen_heads
from mindgit.sync.pull import pull
from mindgit.sync.push import push
from tests.conftest import Mg
from tests.sync.conftest import Nodes


def _three(nodes: Nodes) -> Nodes:
    for name in ("alpha", "beta", "gamma"):
        nodes.make(name)
    nodes.trust_all()
    for a in ("alpha", "beta", "gamma"):
        for b in ("alpha", "beta", "gamma"):
            if a != b:
                nodes.link(a, b)
    return nodes


def test_a_push_that_finds_the_peer_up_to_date_moves_its_mark_there(nodes: Nodes, mg: Mg) -> None:
    """beta got alpha's newer head through gamma; alpha's push to beta finds it `up-to-date`.
    The state file recorded that head as seen, but the mark (refs/peers/beta/...) stayed on the
    head alpha pushed before: `peers` showed beta at the old commit with age '?', and a later
    rewind of beta to that old head was not one the mark caught."""
    n = _three(nodes)
    alpha, beta = n["alpha"], n["beta"]
    alpha.fork("dreams")
    old = alpha.think("one")[0].id
    assert push(alpha, "beta", ["dreams"]).ok
    new = alpha.think("two")[0].id
    assert push(alpha, "gamma", ["dreams"]).ok
    pull(beta, "gamma")

    report = push(alpha, "beta", ["dreams"])
    assert [(r.ref, r.status) for r in report.refs] == [("refs/heads/dreams", "up-to-date")]
    assert seen_heads(alpha, "beta")["refs/heads/dreams"] == new != old

    r = mg("--store", str(alpha.path), "peers", "--json")
    assert r.code == 0, r
    [status] = [s for s in json.loads(r.out) if s["name"] == "beta"]
    [seen] = status["seen"]
    assert seen["commit"] == new and seen["age_seconds"] is not None
    [beta_status] = [s for s in peer_statuses(alpha) if s.peer.name == "beta"]
    assert beta_status.marks["refs/heads/dreams"] == new
