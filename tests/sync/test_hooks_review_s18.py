"""`mindgit hooks install --server` on repositories an admin made by hand (review s18, H6).

Bug: `--server PATH` where PATH was no repository yet, inside one (a home directory's dotfiles
repository, `/srv` kept in git), gated that enclosing repository, writing its hook and trust
file, exit 0: libgit2 searched upwards from PATH. Now "PATH is not a git repository", exit 1.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mindgit.store.repository import Store, init_store
from tests.conftest import git


def mindgit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mindgit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = init_store(tmp_path / "alpha", "alpha")
    s.think("hello")
    return s


@pytest.fixture
def trust(tmp_path: Path, store: Store) -> Path:
    path = tmp_path / "allowed_signers"
    path.write_text(store.trust.export())
    return path


def listing(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for a directory or a link)."""
    out: dict[str, bytes | None] = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = p.read_bytes() if p.is_file() and not p.is_symlink() else None
    return out


def test_a_directory_inside_another_repository_is_not_a_server(tmp_path: Path, trust: Path) -> None:
    home = tmp_path / "home"
    git("init", "-q", str(home))
    meant = home / "srv" / "minds.git"
    meant.mkdir(parents=True)
    before = listing(home)
    r = mindgit("hooks", "install", "--server", str(meant), "--trust", str(trust))
    assert r.returncode == 1, r
    assert f"{meant} is not a git repository" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert listing(home) == before
    assert not (home / ".git" / "hooks" / "pre-receive").exists()
    assert not (home / ".git" / "mindgit").exists()


def test_a_bare_repository_s_subdirectory_is_not_the_repository(
    tmp_path: Path, trust: Path
) -> None:
    server = tmp_path / "shared.git"
    git("init", "-q", "--bare", str(server))
    before = listing(server)
    r = mindgit("hooks", "install", "--server", str(server / "objects"), "--trust", str(trust))
    assert r.returncode == 1, r
    assert "is not a git repository" in r.stderr
    assert listing(server) == before
