"""The sync commands through the CLI: exit codes, stdout data, stderr diagnostics."""

from __future__ import annotations

import json
from collections.abc import Callable

from mindgit.store.genome import Gene
from mindgit.store.repository import init_store
from tests.conftest import Result
from tests.snapshots import snapshot
from tests.sync.conftest import Nodes
from tests.sync.daemons import closed_port

Mg = Callable[..., Result]


def at(nodes: Nodes, name: str) -> tuple[str, str]:
    return "--store", str(nodes[name].path)


def test_remote_add_list_remove(nodes: Nodes, mg: Mg) -> None:
    nodes.make("alpha")
    beta = nodes.make("beta")
    res = mg(
        *at(nodes, "alpha"),
        "remote",
        "add",
        "beta",
        f"file://{beta.path}",
        "--node",
        beta.public_key.did,
    )
    assert res.code == 0
    alpha = nodes["alpha"].path
    assert f"mindgit --store {alpha} trust add {beta.public_key.did} --name beta" in res.err
    res = mg(*at(nodes, "alpha"), "remote", "list", "--json")
    assert json.loads(res.out) == [
        {"name": "beta", "url": f"file://{beta.path}", "node": beta.public_key.did}
    ]
    res = mg(*at(nodes, "alpha"), "remote", "add", "beta", "/elsewhere")
    assert res.code == 1 and "already exists" in res.err
    assert mg(*at(nodes, "alpha"), "remote", "remove", "beta").code == 0
    assert json.loads(mg(*at(nodes, "alpha"), "remote", "list", "--json").out) == []


def test_bad_input_exit_codes(nodes: Nodes, mg: Mg) -> None:
    nodes.make("alpha")
    res = mg(*at(nodes, "alpha"), "remote", "add", "no/slash", "/x")
    assert res.code == 2 and "invalid peer name" in res.err
    res = mg(*at(nodes, "alpha"), "remote", "add", "--", "beta", "-oProxyCommand=x")
    assert res.code == 2 and "invalid peer URL" in res.err
    before = snapshot(nodes["alpha"].path)
    res = mg(*at(nodes, "alpha"), "remote", "add", "beta", "/x", "--node", "did:key:zNope")
    assert res.code == 2 and "--node: not an ed25519 public key" in res.err
    assert snapshot(nodes["alpha"].path) == before
    res = mg(*at(nodes, "alpha"), "pull", "beta")
    assert res.code == 1 and "no peer named 'beta'" in res.err
    res = mg(*at(nodes, "alpha"), "remote", "remove", "beta")
    assert res.code == 1 and "no peer named 'beta'" in res.err
    assert "Traceback" not in res.err


def test_pull_from_a_peer_not_trusted_yet_says_what_to_run(nodes: Nodes, mg: Mg) -> None:
    alpha = nodes.make("alpha")
    beta = nodes.make("beta")
    beta.fork("ideas")
    beta.think("hello")
    nodes.link("alpha", "beta")
    res = mg(*at(nodes, "alpha"), "pull", "beta")
    assert res.code == 1
    assert f"mindgit --store {alpha.path} trust add {beta.public_key.did} --name beta" in res.err
    assert "nothing was changed" in res.err
    assert "refs/heads/ideas" not in alpha.repo.references
    # Doing what it says makes the same pull work.
    assert mg(*at(nodes, "alpha"), "trust", "add", beta.public_key.did, "--name", "beta").code == 0
    res = mg(*at(nodes, "alpha"), "pull", "beta", "--json")
    assert res.code == 0
    data = json.loads(res.out)
    assert {r["ref"]: r["status"] for r in data["refs"]}["refs/heads/ideas"] == "new"
    assert alpha.head("ideas") == beta.head("ideas")


def test_pull_and_push_text_output(pair: Nodes, mg: Mg) -> None:
    pair["beta"].fork("ideas")
    res = mg(*at(pair, "alpha"), "pull", "beta")
    assert res.code == 0
    assert "new\trefs/heads/ideas" in res.out and "pulled from beta: 1 ref changed" in res.err
    pair["alpha"].think("more", experiment="ideas")
    res = mg(*at(pair, "alpha"), "push", "beta", "ideas", "-v")
    assert res.code == 0
    assert "pushed\trefs/heads/ideas" in res.out
    assert "beta: pushing 1 ref to" in res.err
    assert "pushed to beta: 1 ref updated, 0 not pushed" in res.err


def test_push_exits_1_when_a_ref_is_refused(pair: Nodes, mg: Mg) -> None:
    pair["alpha"].think("alpha's main")
    pair["beta"].think("beta's main")
    res = mg(*at(pair, "alpha"), "push", "beta", "main", "--json")
    assert res.code == 1
    data = json.loads(res.out)
    assert data["ok"] is False
    assert data["refs"][0]["status"] == "rejected"


def test_sync_goes_on_past_a_dead_peer_and_exits_1(pair: Nodes, mg: Mg) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("ideas")
    res = mg(*at(pair, "alpha"), "remote", "add", "dead", f"git://127.0.0.1:{closed_port()}/x")
    assert res.code == 0
    res = mg(*at(pair, "alpha"), "sync", "--timeout", "20")
    assert res.code == 1
    assert "peer dead failed" in res.err and "cannot reach" in res.err
    assert "synced with 1 of 2 peers; failed: dead" in res.err
    assert alpha.head("ideas") == beta.head("ideas")
    res = mg(*at(pair, "alpha"), "sync", "--json", "beta")
    assert res.code == 0
    [only] = json.loads(res.out)
    assert only["peer"] == "beta" and only["ok"] is True and only["error"] is None

    res = mg(*at(pair, "alpha"), "peers", "--json")
    peers = {p["name"]: p for p in json.loads(res.out)}
    assert peers["dead"]["last_error"]["operation"] == "pull"
    assert "cannot reach" in peers["dead"]["last_error"]["message"]
    seen = {s["ref"]: s for s in peers["beta"]["seen"]}
    assert seen["refs/heads/ideas"]["commit"] == beta.head("ideas")
    assert seen["refs/heads/ideas"]["age_seconds"] >= 0
    assert peers["beta"]["last_pull"] is not None and peers["beta"]["last_push"] is not None
    res = mg(*at(pair, "alpha"), "peers")
    assert res.code == 0 and "refs/heads/ideas" in res.out and "cannot reach" in res.out


def test_configured_timeout_must_be_a_number(pair: Nodes, mg: Mg) -> None:
    pair["alpha"].config_set("mindgit.synctimeout", "soon")
    res = mg(*at(pair, "alpha"), "pull", "beta")
    # Bad data in the config (exit 1), not a wrong command line.
    assert res.code == 1 and "mindgit.synctimeout" in res.err
    pair["alpha"].config_set("mindgit.synctimeout", "15")
    assert mg(*at(pair, "alpha"), "pull", "beta").code == 0


def test_peers_shows_an_untrusted_expected_key(nodes: Nodes, mg: Mg) -> None:
    nodes.make("alpha")
    other = init_store(nodes.base / "other", "other")
    assert (
        mg(
            *at(nodes, "alpha"),
            "remote",
            "add",
            "other",
            str(other.path),
            "--node",
            other.public_key.did,
        ).code
        == 0
    )
    res = mg(*at(nodes, "alpha"), "peers", "--json")
    [peer] = json.loads(res.out)
    assert peer["node"] == other.public_key.did and peer["trusted_as"] is None
    assert "NOT TRUSTED" in mg(*at(nodes, "alpha"), "peers").out


def test_sync_fails_on_a_ref_it_could_not_push_and_collects_garbage(pair: Nodes, mg: Mg) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("tune")
    beta.set_genes([Gene.make("x", "float", 0.0, min=-5.12, max=5.12)])
    assert mg(*at(pair, "alpha"), "sync").code == 0
    alpha.set_genes([Gene.make("x", "float", 1.0, min=-5.12, max=5.12)], experiment="tune")
    beta.set_genes([Gene.make("x", "float", 3.0, min=-5.12, max=5.12)], experiment="tune")
    # Diverged with no fitness to merge by: the pull keeps ours (a conflict) and the push is
    # refused. sync exited 0 for it, while `mindgit push` exits 1 for the same ref.
    alpha.config_set("gc.autoPackLimit", "1")
    res = mg(*at(pair, "alpha"), "sync")
    assert res.code == 1, res.err
    assert "refs/heads/tune not pushed (diverged)" in res.err
    # One ref not pushed is not the peer failing: everything else was pulled and pushed.
    assert "synced with 1 of 1 peer; 1 ref not pushed (see above)\n" in res.err, res.err
    assert "failed: beta" not in res.err
    # --json counts it as the text does: beta was reached, pulled from and pushed to (its "ok"
    # was false for the one ref), the ref is listed, and the exit code is the text mode's.
    res = mg(*at(pair, "alpha"), "sync", "--json")
    assert res.code == 1, res.err
    [peer] = json.loads(res.out)
    assert peer["ok"] is True and peer["error"] is None and peer["push"]["ok"] is False
    assert [(r["ref"], r["status"]) for r in peer["not_pushed"]] == [
        ("refs/heads/tune", "diverged")
    ]
    assert [(r["ref"], r["status"]) for r in peer["kept_apart"]] == [
        ("refs/heads/tune", "conflict")
    ]
    # sync ends with `git gc --auto`, as pull does: one pack once past the limit.
    assert len(list((alpha.path / "objects" / "pack").glob("*.pack"))) == 1
