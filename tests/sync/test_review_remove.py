"""`mindgit remote remove` of a peer whose git remote has a key set twice.

Bug: a remote with two `fetch` lines (`git remote set-branches --add`, `git config --add`) or
two `pushurl`s made `remote remove` an internal error (exit 3, "entry is not unique due to
being a multivar") after it had already deleted the URL: the peer was no longer listed, so no
command could remove it again, and its last-seen marks and state file stayed; a new peer added
under that name inherited the old peer's marks, and refused every pull whose history did not
descend from them ("rewinds")."""

from __future__ import annotations

import subprocess

import pytest

from mindgit.sync.peers import list_peers, seen_heads, state_path
from mindgit.sync.pull import pull
from tests.conftest import Mg, git
from tests.sync.conftest import Nodes


def _config(path: object, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", f"--git-dir={path}", "config", *args], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("key", ["fetch", "pushurl"])
def test_a_remote_with_a_key_set_twice_is_removed_whole(pair: Nodes, mg: Mg, key: str) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("dreams")
    beta.think("dreams of flight")
    pull(alpha, "beta")
    assert seen_heads(alpha, "beta") and state_path(alpha, "beta").exists()
    for value in ("+refs/heads/*:refs/remotes/beta/*", "+refs/tags/*:refs/tags/*"):
        git(f"--git-dir={alpha.path}", "config", "--add", f"remote.beta.{key}", value)
    scratch = alpha.path / "mindgit" / "peers" / ".scratch-beta"  # as a killed pull leaves it
    scratch.mkdir()
    (scratch / "allowed_signers").write_text("left by a killed pull\n")

    r = mg("--store", str(alpha.path), "remote", "remove", "beta")
    assert r.code == 0, r
    assert [p.name for p in list_peers(alpha)] == []
    assert seen_heads(alpha, "beta") == {}
    assert not state_path(alpha, "beta").exists()
    assert not (alpha.path / "mindgit" / "quarantine" / "beta").exists()
    assert not scratch.exists()
    assert _config(alpha.path, "--get-regexp", r"^remote\.beta\.").stdout == ""

    # A new peer of that name starts afresh: no mark of the old one's to rewind from.
    gamma = pair.make("gamma")
    gamma.trust.add(alpha.public_key, "alpha")
    alpha.trust.add(gamma.public_key, "gamma")
    gamma.fork("dreams")
    gamma.think("gamma's own dreams")
    assert mg("--store", str(alpha.path), "remote", "add", "beta", str(gamma.path)).code == 0
    assert seen_heads(alpha, "beta") == {}
    report = pull(alpha, "beta")
    assert {r.ref: r.status for r in report.refs}["refs/heads/dreams"] == "unrelated"


def test_remove_takes_the_whole_remote_as_git_remote_remove_does(pair: Nodes, mg: Mg) -> None:
    """A key set by hand (a proxy, say) stayed behind, and a new peer of the name took it on."""
    alpha = pair["alpha"]
    pull(alpha, "beta")
    git(f"--git-dir={alpha.path}", "config", "remote.beta.proxy", "http://proxy.invalid")
    assert mg("--store", str(alpha.path), "remote", "remove", "beta").code == 0
    assert _config(alpha.path, "--get-regexp", r"^remote\.beta\.").stdout == ""
    assert mg("--store", str(alpha.path), "remote", "remove", "beta").code == 1
