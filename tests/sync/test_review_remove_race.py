"""A pull or push that waits for the peer's lock while `remote remove` holds it.

Bug: a pull or push read the peer before taking its lock; one that waited while the peer was
removed (`remote remove` during a `sync`, say) went on once the lock was free: it fetched from
or pushed to the removed peer, and wrote marks (`refs/peers/<peer>/...`) and a state file for a
peer that no longer existed, which a new peer added under that name inherited (and refused
every pull whose history did not descend from them, as a rewind)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mindgit.store.repository import Store
from mindgit.sync.peers import forget_peer, peer_lock, seen_heads, state_path
from tests.conftest import git
from tests.sync.conftest import Nodes


def _mindgit(store: Store, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mindgit", "--store", str(store.path), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _refs(path: Path, prefix: str) -> str:
    return git(f"--git-dir={path}", "for-each-ref", prefix)


def _removed_while_waiting(alpha: Store, *args: str) -> tuple[int, str]:
    """Run `mindgit ARGS` while alpha's lock for beta is held; once it says it waits, remove
    beta under that lock (as `remote remove` does), then let it go on."""
    with peer_lock(alpha, "beta"):
        proc = _mindgit(alpha, *args)
        assert proc.stderr is not None
        waiting = proc.stderr.readline()  # the 'wait' step is shown without -v
        assert "waiting for another pull or push with peer 'beta'" in waiting, waiting
        forget_peer(alpha, "beta")
    _out, err = proc.communicate(timeout=120)
    return proc.returncode, waiting + err


def test_a_pull_that_waited_for_a_removal_fetches_nothing_and_writes_nothing(
    pair: Nodes,
) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("dreams")
    beta.think("dreams of flight")
    code, err = _removed_while_waiting(alpha, "pull", "beta")
    assert code == 1, err
    assert "no peer named 'beta'" in err, err
    assert _refs(alpha.path, "refs/peers") == ""
    assert seen_heads(alpha, "beta") == {}
    assert not state_path(alpha, "beta").exists()
    assert _refs(alpha.path, "refs/heads/dreams") == ""  # nothing of beta's was taken


def test_a_push_that_waited_for_a_removal_sends_nothing_and_writes_nothing(
    pair: Nodes,
) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    alpha.fork("dreams")
    alpha.think("dreams of flight")
    code, err = _removed_while_waiting(alpha, "push", "beta")
    assert code == 1, err
    assert "no peer named 'beta'" in err, err
    assert _refs(alpha.path, "refs/peers") == ""
    assert not state_path(alpha, "beta").exists()
    assert _refs(beta.path, "refs/heads/dreams") == ""  # nothing was sent


def test_a_push_that_waited_goes_where_the_peer_is_now(nodes: Nodes) -> None:
    """Removed and added again at another URL while the push waited: pushed to the new one."""
    alpha, old, new = nodes.make("alpha"), nodes.make("old"), nodes.make("new")
    nodes.trust_all()
    nodes.link("alpha", "old")
    alpha.fork("dreams")
    alpha.think("dreams of flight")
    with peer_lock(alpha, "old"):
        proc = _mindgit(alpha, "push", "old", "dreams")
        assert proc.stderr is not None
        assert "waiting" in proc.stderr.readline()
        forget_peer(alpha, "old")
        git(f"--git-dir={alpha.path}", "config", "remote.old.url", str(new.path))
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert _refs(new.path, "refs/heads/dreams") != ""
    assert _refs(old.path, "refs/heads/dreams") == ""


def test_a_pull_that_waited_takes_from_where_the_peer_is_now(nodes: Nodes) -> None:
    """Removed and added again at another URL while the pull waited: pulled from the new one
    (it fetched from the old URL and marked what it found there as the new peer's)."""
    alpha, old, new = nodes.make("alpha"), nodes.make("old"), nodes.make("new")
    nodes.trust_all()
    nodes.link("alpha", "old")
    old.fork("dreams")
    old.think("the old peer's dreams")
    new.fork("ideas")
    new.think("the new peer's ideas")
    with peer_lock(alpha, "old"):
        proc = _mindgit(alpha, "pull", "old")
        assert proc.stderr is not None
        assert "waiting" in proc.stderr.readline()
        forget_peer(alpha, "old")
        git(f"--git-dir={alpha.path}", "config", "remote.old.url", str(new.path))
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert _refs(alpha.path, "refs/heads/ideas") != ""
    assert _refs(alpha.path, "refs/heads/dreams") == ""
