"""Key chains over the announcement limit: a chain left unread bounds none of the keys it
retires, so a trusted node's own long chains could free another node's retired key. The push
that brings the chains over the limit is refused; `verify --trust` fails."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mindgit.store.repository import init_store
from mindgit.store.rotations import rotate_key
from mindgit.sync import keychains
from mindgit.sync.gate import RefUpdate
from mindgit.sync.hooks import install_server, pre_receive, server_repository
from tests.conftest import Mg, git
from tests.sync.test_hooks_server import make_server, push

EVERYTHING = ("refs/heads/*:refs/heads/*", "refs/keys/*:refs/keys/*")


def test_a_push_bringing_the_chains_over_the_limit_is_refused(
    srv_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alpha = init_store(tmp_path / "alpha", "alpha")
    beta = init_store(tmp_path / "beta", "beta")
    server = make_server(srv_dir, alpha.trust.export())
    install_server(
        server, trust_text=alpha.trust.export() + beta.trust.export(), python=sys.executable
    )
    alpha.think("alpha's")
    rotate_key(alpha)
    rotate_key(alpha)
    assert push(alpha, str(server), *EVERYTHING).returncode == 0
    beta.think("beta's")
    root = "refs/keys/" + beta.public_key.did.removeprefix("did:key:")
    rotate_key(beta)
    rotate_key(beta)
    # beta's chain in the server's objects, as receive-pack's quarantine holds a push's.
    git("--git-dir", str(server), "fetch", "-q", str(beta.path), "refs/keys/announce:refs/x")
    tip = git("--git-dir", str(server), "rev-parse", "refs/x").strip()
    git("--git-dir", str(server), "update-ref", "-d", "refs/x")
    update = RefUpdate(root, None, tip)
    repo = server_repository(server)
    monkeypatch.setattr(keychains, "MAX_ANNOUNCEMENTS", 3)
    problems = pre_receive(repo, [update])
    assert [p.reason for p in problems if "over 3 announcements in all" in p.reason], problems
    monkeypatch.setattr(keychains, "MAX_ANNOUNCEMENTS", 4)
    assert not any("announcements in all" in p.reason for p in pre_receive(repo, [update]))


def test_verify_with_a_trust_file_fails_on_chains_over_the_limit(
    tmp_path: Path, mg: Mg, monkeypatch: pytest.MonkeyPatch
) -> None:
    alpha = init_store(tmp_path / "alpha", "alpha")
    trust = tmp_path / "allowed_signers"
    trust.write_text(alpha.trust.export())
    alpha.think("before")
    rotate_key(alpha)
    rotate_key(alpha)
    alpha.think("after")
    at = "--store", str(alpha.path), "verify", "--trust", str(trust)
    assert mg(*at).code == 0
    monkeypatch.setattr(keychains, "MAX_ANNOUNCEMENTS", 1)
    failed = mg(*at)
    assert failed.code == 1
    assert "FAIL refs/keys/announce: not read: the key chains here hold over 1 announcements" in (
        failed.out
    )
