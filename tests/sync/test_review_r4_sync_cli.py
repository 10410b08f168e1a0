"""Review R4: `remote add --json` and `sync` say what they should, in text and --json."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from tests.conftest import Result
from tests.sync.conftest import Nodes
from tests.sync.test_review_r4_unreachable import read_only_daemon

Mg = Callable[..., Result]


def at(nodes: Nodes, name: str) -> tuple[str, str]:
    return "--store", str(nodes[name].path)


# -- remote add --json ----------------------------------------------------------------------


def test_remote_add_json_says_what_the_text_says_of_the_node(nodes: Nodes, mg: Mg) -> None:
    alpha = nodes.make("alpha")
    beta = nodes.make("beta")
    gamma = nodes.make("gamma")
    alpha.trust.add(gamma.public_key, "gamma")
    did = beta.public_key.did
    res = mg(*at(nodes, "alpha"), "remote", "add", "beta", str(beta.path), "--node", did, "--json")
    assert res.code == 0
    assert json.loads(res.out) == {
        "name": "beta",
        "url": str(beta.path),
        "node": did,
        "trusted_as": None,
        "trust_add": f"mindgit --store {alpha.path} trust add {did} --name beta",
    }
    assert res.err == ""
    text = mg(*at(nodes, "alpha"), "remote", "add", "b2", str(beta.path), "--node", did)
    trust_add = f"mindgit --store {alpha.path} trust add {did} --name b2"
    assert f"to accept what it signs: {trust_add}" in text.err
    res = mg(
        *at(nodes, "alpha"), "remote", "add", "g", str(gamma.path), "--node", "gamma", "--json"
    )
    assert json.loads(res.out)["trusted_as"] == "gamma"
    assert json.loads(res.out)["trust_add"] is None
    res = mg(*at(nodes, "alpha"), "remote", "add", "n", str(gamma.path), "--json")
    assert json.loads(res.out) == {
        "name": "n",
        "url": str(gamma.path),
        "node": None,
        "trusted_as": None,
        "trust_add": None,
    }


# -- sync -----------------------------------------------------------------------------------


def test_sync_with_no_peers_says_there_are_none(nodes: Nodes, mg: Mg) -> None:
    nodes.make("alpha")
    res = mg(*at(nodes, "alpha"), "sync")
    assert res.code == 0
    assert "no peers to sync with" in res.err
    assert f"`mindgit {' '.join(at(nodes, 'alpha'))} remote add NAME URL`" in res.err, res.err
    assert "synced with 0 of 0" not in res.err
    res = mg(*at(nodes, "alpha"), "sync", "--json")
    assert res.code == 0 and json.loads(res.out) == []


def test_sync_names_what_its_pull_kept_apart_when_the_push_then_failed(
    nodes: Nodes, mg: Mg
) -> None:
    alpha, beta = nodes.make("alpha"), nodes.make("beta")
    nodes.trust_all()
    # Both wrote to their own main: a pull keeps beta's apart as unrelated.
    alpha.think("alpha's own")
    beta.think("beta's own")
    alpha.fork("ideas")  # something to push, which the read-only daemon refuses
    alpha.think("to share", experiment="ideas")
    with read_only_daemon(nodes.base) as port:
        url = f"git://127.0.0.1:{port}/beta"
        assert mg(*at(nodes, "alpha"), "remote", "add", "beta", url).code == 0
        res = mg(*at(nodes, "alpha"), "sync", "beta")
        as_json = mg(*at(nodes, "alpha"), "sync", "beta", "--json")
    assert res.code == 1 and as_json.code == 1
    peer = json.loads(as_json.out)[0]
    assert peer["ok"] is False and peer["error"].startswith("push to beta")
    assert [r["ref"] for r in peer["kept_apart"]] == ["refs/heads/main"]
    # The text said only the failure; --json listed the ref kept apart.
    assert "beta: refs/heads/main unrelated: " in res.err
    assert (
        f"mindgit {' '.join(at(nodes, 'alpha'))} merge refs/peers/beta/heads/main --into main"
        in res.err
    )
    assert "mindgit: peer beta failed: push to beta" in res.err
    assert res.err.rstrip().endswith("synced with 0 of 1 peer; failed: beta")


# -- peers ----------------------------------------------------------------------------------


def test_peers_gives_the_trust_add_line_for_a_node_not_trusted_yet(nodes: Nodes, mg: Mg) -> None:
    alpha, beta, gamma = nodes.make("alpha"), nodes.make("beta"), nodes.make("gamma")
    alpha.trust.add(gamma.public_key, "gamma")
    did = beta.public_key.did
    assert mg(*at(nodes, "alpha"), "remote", "add", "b", str(beta.path), "--node", did).code == 0
    assert (
        mg(*at(nodes, "alpha"), "remote", "add", "g", str(gamma.path), "--node", "gamma").code == 0
    )
    assert mg(*at(nodes, "alpha"), "remote", "add", "n", str(gamma.path)).code == 0
    res = mg(*at(nodes, "alpha"), "peers")
    assert res.code == 0 and "NOT TRUSTED" in res.out
    assert res.err.splitlines() == [
        f"b: {did} is not trusted yet; to accept what it signs: "
        f"mindgit --store {alpha.path} trust add {did} --name b"
    ]
    # Doing what it says trusts it.
    assert mg(*at(nodes, "alpha"), "trust", "add", did, "--name", "b").code == 0
    res = mg(*at(nodes, "alpha"), "peers")
    assert res.code == 0 and res.err == "" and "NOT TRUSTED" not in res.out


def test_peers_says_when_each_peer_was_last_pulled_from_and_pushed_to(pair: Nodes, mg: Mg) -> None:
    pair["beta"].fork("ideas")

    def row(peer: str) -> list[str]:
        res = mg(*at(pair, "alpha"), "peers")
        assert res.code == 0
        [line] = [ln for ln in res.out.splitlines() if ln.startswith(peer + "\t")]
        return line.split("\t")

    assert mg(*at(pair, "alpha"), "remote", "add", "gone", str(pair.base / "gone")).code == 0
    assert row("beta")[4] == "never pulled or pushed"
    assert mg(*at(pair, "alpha"), "pull", "beta").code == 0
    assert re.fullmatch(r"pulled \d+s ago", row("beta")[4])
    assert mg(*at(pair, "alpha"), "sync").code == 1  # gone fails
    assert re.fullmatch(r"pulled \d+s ago, pushed \d+s ago", row("beta")[4])
    # A peer never reached has no head to show an age for: the text showed no time at all.
    gone = row("gone")
    assert gone[4] == "never pulled or pushed" and "cannot reach" in gone[5]
