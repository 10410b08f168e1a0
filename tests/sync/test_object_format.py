"""Repositories that name objects by SHA-256: mindgit (libgit2) reads SHA-1 ones only, and says
so, by name, instead of calling a SHA-256 repository missing or its peer unreachable."""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.store.repository import Store
from mindgit.sync.hooks import UnsupportedObjectFormat, install_server, open_repository
from mindgit.sync.peers import add_peer
from mindgit.sync.pull import pull
from mindgit.sync.push import push
from mindgit.sync.transport import ObjectFormatMismatch
from tests.conftest import git
from tests.sync.test_hooks_client import Cli, cli  # noqa: F401 - the fixture


def sha256_repository(path: Path, *, with_commit: bool) -> Path:
    """A bare SHA-256 repository (with one commit on main, if asked)."""
    proc = git("init", "-q", "--bare", "--object-format=sha256", str(path), check=False)
    if not (path / "HEAD").exists():
        pytest.skip(f"this git cannot make SHA-256 repositories: {proc}")
    if with_commit:
        tree = git("--git-dir", str(path), "hash-object", "-t", "tree", "-w", "--stdin", input=b"")
        commit = git(
            "--git-dir",
            str(path),
            "-c",
            "user.name=a",
            "-c",
            "user.email=a@b",
            "commit-tree",
            tree.strip(),
            "-m",
            "x",
        )
        git("--git-dir", str(path), "update-ref", "refs/heads/main", commit.strip())
    return path


def test_a_sha256_server_is_refused_by_name(tmp_path: Path, cli: Cli) -> None:  # noqa: F811
    repo = sha256_repository(tmp_path / "srv.git", with_commit=False)
    before = sorted(p.relative_to(repo) for p in repo.rglob("*"))
    # Refused before the (missing) trust file is even looked for.
    with pytest.raises(UnsupportedObjectFormat, match="SHA-256 object ids"):
        install_server(repo)
    with pytest.raises(UnsupportedObjectFormat):
        open_repository(repo)
    ran = cli("hooks", "install", "--server", str(repo))
    assert ran.code == 1
    assert ran.err.count("\n") == 1 and "uses SHA-256 object ids" in ran.err
    assert sorted(p.relative_to(repo) for p in repo.rglob("*")) == before


def test_pull_from_a_sha256_peer_names_the_mismatch(tmp_path: Path, store: Store) -> None:
    peer = sha256_repository(tmp_path / "peer.git", with_commit=True)
    add_peer(store, "peer", str(peer))
    refs = {r: str(store.repo.references[r].target) for r in store.repo.references}
    with pytest.raises(ObjectFormatMismatch, match="another object format"):
        pull(store, "peer")
    assert {r: str(store.repo.references[r].target) for r in store.repo.references} == refs


def test_push_to_a_sha256_peer_names_the_mismatch(tmp_path: Path, store: Store) -> None:
    peer = sha256_repository(tmp_path / "peer.git", with_commit=False)
    add_peer(store, "peer", str(peer))
    with pytest.raises(ObjectFormatMismatch, match="another object format"):
        push(store, "peer")
    assert git("--git-dir", str(peer), "for-each-ref") == ""
