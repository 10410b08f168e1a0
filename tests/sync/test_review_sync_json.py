"""`mindgit sync --json` names each failed peer's error as `pull --json` and `push --json` name
theirs (`type`), beside its message and hint.

Bug: a peer's entry held the message and the hint only: a script could not tell a peer that is
down from one that timed out or one whose commits are not trusted but by parsing English."""

from __future__ import annotations

import json

from mindgit.sync.peers import add_peer
from tests.conftest import Mg
from tests.sync.conftest import Nodes


def test_sync_json_names_each_failed_peers_error(pair: Nodes, mg: Mg) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    a = ("--store", str(alpha.path))
    add_peer(alpha, "gone", str(pair.base / "gone"))
    stranger = pair.make("stranger")  # trusted by nobody
    stranger.fork("ideas")
    stranger.think("unknown thoughts", experiment="ideas")
    add_peer(alpha, "stranger", str(stranger.path))
    beta.fork("dreams")

    res = mg(*a, "sync", "--json", "--timeout", "30")
    assert res.code == 1, res
    results = {r["peer"]: r for r in json.loads(res.out)}
    assert results["gone"]["type"] == "PeerUnreachable"
    assert results["stranger"]["type"] == "PeerNotTrusted"
    assert results["beta"]["ok"] is True and results["beta"]["type"] is None
    # The same names `pull --json` gives for those peers on their own.
    for peer in ("gone", "stranger"):
        alone = mg(*a, "pull", peer, "--json")
        assert alone.code == 1 and json.loads(alone.out)["type"] == results[peer]["type"]


def test_a_peer_named_twice_is_synced_once(pair: Nodes, mg: Mg) -> None:
    """Bug: `sync beta beta` pulled from and pushed to beta twice, and listed it twice."""
    alpha = pair["alpha"]
    res = mg("--store", str(alpha.path), "sync", "beta", "beta", "--json")
    assert res.code == 0, res
    assert [r["peer"] for r in json.loads(res.out)] == ["beta"]
    res = mg("--store", str(alpha.path), "sync", "beta", "beta")
    assert res.code == 0 and "synced with 1 of 1 peer\n" in res.err, res
