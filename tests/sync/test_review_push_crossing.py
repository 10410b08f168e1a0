"""A push crossing the peer's own pull: the peer's ref reaches the very commit pushed between
the push's listing and git's update.

Bug: git's compare-and-swap refused the update ("cannot lock ref ...: is at X but expected Y")
and the push reported the ref `rejected`, exited 1 and recorded it as the peer's last error
(`sync` said "failed: <peer>"), though the peer held exactly what was sent. Seen with two
nodes running `mindgit sync` with each other at once."""

from __future__ import annotations

import json
import os

from tests.conftest import Mg, git
from tests.sync.conftest import Nodes


def _moves_first(store_path: object, ref: str, to: str, old: str) -> None:
    """A pre-receive hook in the peer's store that moves ``ref`` from ``old`` to ``to`` itself
    before git updates it (as the peer's own pull of the same commit would, meanwhile)."""
    hook = f"{store_path}/hooks/pre-receive"
    with open(hook, "w") as f:
        f.write(
            "#!/bin/sh\n"
            "cat >/dev/null\n"
            # Outside the push's quarantine: the peer already has the commit itself.
            f"env -u GIT_QUARANTINE_PATH git update-ref {ref} {to} {old}\n"
        )
    os.chmod(hook, 0o755)


def test_a_push_the_peer_caught_up_with_meanwhile_is_up_to_date(pair: Nodes, mg: Mg) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    alpha.fork("dreams")
    base = alpha.think("base")[0].id
    assert mg("--store", str(alpha.path), "push", "beta", "dreams").code == 0
    tip = alpha.think("further", experiment="dreams")[0].id
    # beta has alpha's new commit (its pull brought it) but has not moved its ref yet.
    git(f"--git-dir={beta.path}", "fetch", "-q", str(alpha.path), f"{tip}:refs/tmp/x")
    git(f"--git-dir={beta.path}", "update-ref", "-d", "refs/tmp/x")
    _moves_first(beta.path, "refs/heads/dreams", tip, base)

    r = mg("--store", str(alpha.path), "push", "beta", "dreams", "--json")
    assert r.code == 0, r
    [ref] = json.loads(r.out)["refs"]
    assert (ref["ref"], ref["status"], ref["after"]) == ("refs/heads/dreams", "up-to-date", tip)
    assert git(f"--git-dir={beta.path}", "rev-parse", "refs/heads/dreams").strip() == tip
    peers = json.loads(mg("--store", str(alpha.path), "peers", "--json").out)
    assert peers[0]["last_error"] is None


def test_a_push_refused_for_another_commit_is_still_rejected(pair: Nodes, mg: Mg) -> None:
    """The peer moved elsewhere meanwhile: refused as before, exit 1."""
    alpha, beta = pair["alpha"], pair["beta"]
    alpha.fork("dreams")
    base = alpha.think("base")[0].id
    assert mg("--store", str(alpha.path), "push", "beta", "dreams").code == 0
    alpha.think("further", experiment="dreams")
    other = beta.think("beta's own", experiment="dreams")[0].id
    git(f"--git-dir={beta.path}", "update-ref", "refs/heads/dreams", base, other)
    _moves_first(beta.path, "refs/heads/dreams", other, base)

    r = mg("--store", str(alpha.path), "push", "beta", "dreams", "--json")
    assert r.code == 1, r
    [ref] = json.loads(r.out)["refs"]
    assert ref["status"] == "rejected"
    assert git(f"--git-dir={beta.path}", "rev-parse", "refs/heads/dreams").strip() == other
