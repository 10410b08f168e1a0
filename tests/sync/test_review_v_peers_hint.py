"""Review V: `peers` gives the `trust add` line only for a node that is a key."""

from __future__ import annotations

import json

import pytest

from tests.conftest import git
from tests.snapshots import changed, snapshot
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


@pytest.mark.parametrize("as_json", [False, True])
def test_remote_add_with_a_node_and_an_unreadable_trust_file_adds_nothing(
    nodes: Nodes, mg: Mg, as_json: bool
) -> None:
    alpha, beta = nodes.make("alpha"), nodes.make("beta")
    trust = alpha.path / "mindgit" / "allowed_signers"
    trust.write_text(trust.read_text() + "garbage line here\n")
    before = snapshot(alpha.path)
    json_flag = ("--json",) if as_json else ()
    did = beta.public_key.did
    res = mg(*at(nodes, "alpha"), "remote", "add", "b", str(beta.path), "--node", did, *json_flag)
    assert res.code == 1
    said = json.loads(res.out)["error"] if as_json else res.err
    assert "allowed_signers:" in said and "unknown option" in said, said
    # The peer was added, and the retry refused as PeerExists.
    assert changed(before, alpha.path) == []
    assert "remote.b.url" not in git("--git-dir", str(alpha.path), "config", "--list")


def test_peers_with_an_unreadable_trust_file_says_trust_is_unknown(nodes: Nodes, mg: Mg) -> None:
    # The node is trusted; the file that says so cannot be read. peers said NOT TRUSTED and
    # handed on `trust add` for it.
    alpha, beta = nodes.make("alpha"), nodes.make("beta")
    alpha.trust.add(beta.public_key, "beta")
    did = beta.public_key.did
    assert mg(*at(nodes, "alpha"), "remote", "add", "b", str(beta.path), "--node", did).code == 0
    trust = alpha.path / "mindgit" / "allowed_signers"
    trust.write_text(trust.read_text() + "garbage line here\n")
    res = mg(*at(nodes, "alpha"), "peers")
    assert res.code == 0
    assert f"{did} (trust unknown)" in res.out and "NOT TRUSTED" not in res.out
    assert "trust add" not in res.err
    assert res.err.startswith("mindgit: warning: no peer's trust is known: ") and (
        "allowed_signers:" in res.err
    )
    assert len(res.err.splitlines()) == 1
