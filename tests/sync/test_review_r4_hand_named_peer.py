"""Review R4: a peer named by hand (`git config remote.<name>.url`) with a name `remote add`
refuses, and which cannot name its refs (refs/peers/<name>/...)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result
from tests.snapshots import changed, snapshot
from tests.sync.conftest import Nodes

Mg = Callable[..., Result]


def at(nodes: Nodes, name: str) -> tuple[str, str]:
    return "--store", str(nodes[name].path)


def git_config(gitdir: Path, key: str, value: str) -> None:
    subprocess.run(["git", "--git-dir", str(gitdir), "config", key, value], check=True)


@pytest.mark.parametrize(
    ("name", "fault"),
    [("b..x", "it holds '..'"), ("b.lock", "it ends with '.lock'"), ("b.", "it ends with '.'")],
)
def test_a_peer_named_by_hand_as_no_ref_can_be_is_refused_by_name(
    nodes: Nodes, mg: Mg, name: str, fault: str
) -> None:
    alpha, beta = nodes.make("alpha"), nodes.make("beta")
    nodes.trust_all()
    beta.fork("ideas")
    beta.think("new to alpha")
    alpha.fork("mine")
    git_config(alpha.path, f"remote.{name}.url", str(beta.path))
    before = snapshot(alpha.path)
    for command in ("pull", "push", "sync"):
        res = mg(*at(nodes, "alpha"), command, name, "--json")
        assert res.code == 1, (command, res.err)
        err = json.loads(res.out)
        assert err["type"] == "UnusablePeerName", (command, err)
        assert f"peer '{name}' cannot be pulled from or pushed to" in err["error"]
        assert fault in err["error"]
        assert f"remote rename {name} NEW" in err["hint"]
    # A pull said "invalid refspec" and to check the URL ('b.': it moved the peer's refs and
    # then failed on its marks); a push sent the work and then failed on them.
    assert changed(before, alpha.path) == []
    assert "refs/heads/mine" not in beta.repo.references
    # A sync of every peer tells this one's fault and goes on with the others.
    git_config(alpha.path, "remote.beta.url", str(beta.path))
    res = mg(*at(nodes, "alpha"), "sync", "--json")
    assert res.code == 1
    by_peer = {p["peer"]: p for p in json.loads(res.out)}
    assert by_peer[name]["type"] == "UnusablePeerName" and by_peer["beta"]["ok"] is True
    # remote remove still takes it.
    assert mg(*at(nodes, "alpha"), "remote", "remove", name).code == 0
    assert name not in mg(*at(nodes, "alpha"), "remote", "list").out
