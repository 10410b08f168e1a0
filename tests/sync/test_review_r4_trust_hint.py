"""Review R4: the `mindgit trust add` line a refused pull offers names the right node."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.conftest import Result
from tests.snapshots import changed, snapshot
from tests.sync.conftest import Nodes

Mg = Callable[..., Result]


def at(nodes: Nodes, name: str) -> tuple[str, str]:
    return "--store", str(nodes[name].path)


# -- a peer expected to be one node, offering another's work -----------------------------


def test_a_stranger_signing_at_a_peer_expected_to_be_another_node_is_not_given_its_name(
    nodes: Nodes, mg: Mg
) -> None:
    # alpha means to reach beta (trusted) at this URL; what is there was signed by gamma.
    alpha = nodes.make("alpha")
    beta = nodes.make("beta")
    gamma = nodes.make("gamma")
    alpha.trust.add(beta.public_key, "beta")
    gamma.fork("ideas")
    gamma.think("not beta's")
    added = mg(*at(nodes, "alpha"), "remote", "add", "beta", str(gamma.path), "--node", "beta")
    assert added.code == 0, added.err
    before = snapshot(alpha.path / "objects")
    res = mg(*at(nodes, "alpha"), "pull", "beta", "--json")
    assert res.code == 1
    err = json.loads(res.out)
    assert err["type"] == "PeerNotTrusted"
    stranger = gamma.public_key.did
    # Told to trust gamma's key under beta's name, the user would have handed "beta" to
    # whoever answers at that URL.
    assert "--name beta" not in err["hint"]
    assert f"mindgit --store {alpha.path} trust add {stranger} --name <name>" in err["hint"]
    assert beta.public_key.did in err["hint"] and "expected at beta" in err["hint"]
    assert "refs/heads/ideas" not in alpha.repo.references
    assert changed(before, alpha.path / "objects") == []


def test_the_expected_node_untrusted_is_still_named_after_the_peer(nodes: Nodes, mg: Mg) -> None:
    alpha = nodes.make("alpha")
    beta = nodes.make("beta")
    beta.fork("ideas")
    beta.think("beta's")
    did = beta.public_key.did
    assert mg(*at(nodes, "alpha"), "remote", "add", "beta", str(beta.path), "--node", did).code == 0
    res = mg(*at(nodes, "alpha"), "pull", "beta")
    assert res.code == 1
    assert f"run: mindgit --store {alpha.path} trust add {did} --name beta)" in res.err
    assert "expected at" not in res.err
    assert "refs/heads/ideas" not in alpha.repo.references
