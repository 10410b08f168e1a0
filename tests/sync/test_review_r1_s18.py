"""Review R1 (s18) of sync between nodes: bugs found and fixed, one test each."""

from __future__ import annotations

import json

from mindgit.sync.peers import peer_statuses, seen_heads
from mindgit.sync.pull import pull
from mindgit.sync.push import push
from tests.conftest import Mg, git
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


def test_a_peer_ref_at_a_tree_this_store_holds_neither_crashes_nor_blames_our_commits(
    pair: Nodes, mg: Mg
) -> None:
    """A peer's refs/fitness/* or refs/runs/* may hold any object (git allows it outside
    refs/heads/*). One at a tree this store also holds made `push` an internal error (exit 3,
    'InvalidError: object is no commit object') when we offer that ref, and when we do not,
    marked every ref 'unverified', our own commits named as malformed."""
    from pathlib import Path

    alpha, beta = pair["alpha"], pair["beta"]
    wat = Path(__file__).resolve().parents[2] / "fixtures" / "fitness" / "onemax.wat"
    assert mg("--store", str(alpha.path), "fitness", "add", str(wat)).code == 0
    alpha.fork("dreams")
    tip = alpha.think("dreams of flight")[0].id
    module = git(f"--git-dir={alpha.path}", "rev-parse", "refs/fitness/onemax").strip()
    tree = git(f"--git-dir={alpha.path}", "rev-parse", f"{module}^{{tree}}").strip()

    # Not a ref alpha offers: a run ref of beta's at that tree.
    git(f"--git-dir={alpha.path}", "push", "-q", str(beta.path), f"{module}:refs/fitness/onemax")
    git(f"--git-dir={beta.path}", "update-ref", "refs/runs/0123456789ab", tree)
    r = mg("--store", str(alpha.path), "push", "beta", "dreams", "--json")
    assert r.code == 0, r
    assert [(x["ref"], x["status"]) for x in json.loads(r.out)["refs"]] == [
        ("refs/fitness/onemax", "up-to-date"),
        ("refs/heads/dreams", "created"),
    ]
    assert git(f"--git-dir={beta.path}", "rev-parse", "refs/heads/dreams").strip() == tip

    # A ref alpha offers, held by beta at that tree: git refuses it, the rest goes.
    git(f"--git-dir={beta.path}", "update-ref", "refs/fitness/onemax", tree)
    alpha.think("more dreams", experiment="dreams")
    r = mg("--store", str(alpha.path), "push", "beta", "--json")
    assert r.code == 1, r
    refs = {x["ref"]: x["status"] for x in json.loads(r.out)["refs"]}
    assert refs["refs/fitness/onemax"] == "rejected"
    assert refs["refs/heads/dreams"] == "pushed"
    assert "internal error" not in r.err


def _drop(store_path: object, ref: str) -> None:
    git(f"--git-dir={store_path}", "update-ref", "-d", ref)


def test_a_peer_experiment_named_under_one_of_ours_is_kept_apart_not_a_halted_pull(
    pair: Nodes, mg: Mg
) -> None:
    """beta's experiment `x/y` beside alpha's `x`: git cannot hold both. The pull raised 'refs/
    heads/x/y clashes with an existing ref refs/heads/x' (exit 1) after it had created the refs
    sorted before it, with no mark written and no line of what it had done, and every later
    pull of beta stopped there again."""
    alpha, beta = pair["alpha"], pair["beta"]
    alpha.fork("x", switch=False)
    beta.fork("aaa")
    aaa = beta.think("first")[0].id
    beta.fork("x/y")
    xy = beta.think("under x")[0].id
    for _ in range(2):
        r = mg("--store", str(alpha.path), "pull", "beta", "--json")
        assert r.code == 0, r
        refs = {x["ref"]: x for x in json.loads(r.out)["refs"]}
        assert refs["refs/heads/aaa"]["after"] == aaa
        clash = refs["refs/heads/x/y"]
        assert (clash["status"], clash["after"]) == ("conflict", None)
        assert "refs/heads/x here" in clash["detail"]
        assert "refs/peers/beta/heads/x/y" in clash["detail"]
    assert seen_heads(alpha, "beta")["refs/heads/x/y"] == xy
    assert "refs/heads/x/y" not in set(alpha.repo.references)
    r = mg("--store", str(alpha.path), "pull", "beta")
    assert r.code == 0 and "refs/heads/x/y conflict: not brought in" in r.err, r


def test_a_mark_left_by_a_ref_the_peer_renamed_under_itself_is_cleared(pair: Nodes, mg: Mg) -> None:
    """beta had `x` (alpha's mark refs/peers/beta/heads/x), then dropped it for `x/y`: the new
    mark could not be written beside the old one, and the pull failed after moving refs, every
    time. Likewise a push of `x` to a peer that had `x/y` once."""
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("x")
    beta.think("x itself")
    assert mg("--store", str(alpha.path), "pull", "beta").code == 0
    assert "refs/heads/x" in seen_heads(alpha, "beta")
    beta.switch("main")
    _drop(beta.path, "refs/heads/x")
    beta.fork("x/y")
    xy = beta.think("under x")[0].id
    alpha.switch("main")
    _drop(alpha.path, "refs/heads/x")  # alpha let it go too: no clash among its experiments

    r = mg("--store", str(alpha.path), "pull", "beta", "--json")
    assert r.code == 0, r
    assert {x["ref"]: x["status"] for x in json.loads(r.out)["refs"]}["refs/heads/x/y"] == "new"
    assert seen_heads(alpha, "beta") == {
        "refs/heads/main": seen_heads(alpha, "beta")["refs/heads/main"],
        "refs/heads/x/y": xy,
    }

    # And back: alpha drops x/y for x, beta lets x/y go; alpha's push of x meets the mark.
    alpha.switch("main")
    _drop(alpha.path, "refs/heads/x/y")
    beta.switch("main")
    _drop(beta.path, "refs/heads/x/y")
    alpha.fork("x")
    x = alpha.think("x again")[0].id
    for status in ("created", "up-to-date"):
        r = mg("--store", str(alpha.path), "push", "beta", "x", "--json")
        assert r.code == 0, r
        assert [(y["ref"], y["status"]) for y in json.loads(r.out)["refs"]] == [
            ("refs/heads/x", status)
        ]
    assert seen_heads(alpha, "beta")["refs/heads/x"] == x
    assert "refs/heads/x/y" not in seen_heads(alpha, "beta")


def test_remote_add_that_waited_for_the_peer_lock_looks_again(nodes: Nodes) -> None:
    """`remote add beta` checked that no peer `beta` existed, then waited for the peer's lock,
    then cleared the peer's marks and state and wrote its URL: a peer `beta` added meanwhile
    (and pulled, its marks written) lost its marks and had its URL overwritten, and both adds
    said 'added'. Looked at again under the lock, the second is PeerExists, nothing changed."""
    import fcntl
    import os
    import subprocess
    import sys
    import time

    from mindgit.store.repository import MINDGIT_DIR

    alpha = nodes.make("alpha")
    beta = nodes.make("beta")
    lock = alpha.path / MINDGIT_DIR / "peers" / "beta.lock"
    lock.parent.mkdir(exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        args = ["--store", str(alpha.path), "remote", "add", "beta", "/elsewhere/beta"]
        late = subprocess.Popen(
            [sys.executable, "-m", "mindgit", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        time.sleep(1.5)  # it has checked, and waits for the lock
        git(f"--git-dir={alpha.path}", "config", "remote.beta.url", f"file://{beta.path}")
        mark = git(f"--git-dir={beta.path}", "rev-parse", "refs/heads/main").strip()
        git(f"--git-dir={alpha.path}", "fetch", "-q", str(beta.path), "refs/heads/main")
        git(f"--git-dir={alpha.path}", "update-ref", "refs/peers/beta/heads/main", mark)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    out, err = late.communicate(timeout=60)
    assert late.returncode == 1, (out, err)
    assert b"already exists" in err
    url = git(f"--git-dir={alpha.path}", "config", "remote.beta.url").strip()
    assert url == f"file://{beta.path}"
    assert seen_heads(alpha, "beta") == {"refs/heads/main": mark}
