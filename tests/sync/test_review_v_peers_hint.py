"""Review V: `peers` gives the `trust add` line only for a node that is a key."""

from __future__ import annotations

from tests.conftest import git
from tests.sync.conftest import Nodes
from tests.sync.test_review_r4_sync_cli import Mg, at


def test_peers_gives_no_trust_add_line_for_a_hand_set_node_that_is_no_key(
    nodes: Nodes, mg: Mg
) -> None:
    alpha, beta = nodes.make("alpha"), nodes.make("beta")
    assert mg(*at(nodes, "alpha"), "remote", "add", "b", str(beta.path)).code == 0
    git("--git-dir", str(alpha.path), "config", "remote.b.mindgitNode", "nonsense;x")
    res = mg(*at(nodes, "alpha"), "peers")
    assert res.code == 0 and "nonsense;x (NOT TRUSTED)" in res.out
    assert "trust add" not in res.err
