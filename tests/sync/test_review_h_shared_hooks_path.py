"""`mindgit hooks install` where `core.hooksPath` comes from git's global config.

Bug: a developer's `git config --global core.hooksPath ~/.githooks` made `mindgit hooks install`
(in a store) write `~/.githooks/pre-push`, exit 0; from then on every `git push` of every other
repository of that user failed ("... is not a mindgit store: the pre-push hook runs inside
one"). `hooks install --server` likewise gated every repository the setting covers, each
refusing every push for want of a trust file. Both now refuse, exit 1, nothing written, unless
given --force; a core.hooksPath set in the repository's own config is used as before.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mindgit.store.repository import init_store
from tests.conftest import git


def mindgit(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    env.pop("GIT_CONFIG_GLOBAL", None)
    return subprocess.run(
        [sys.executable, "-m", "mindgit", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(f"[core]\n\thooksPath = {home / '.githooks'}\n")
    return home


def test_a_global_hooks_path_is_not_written_to(home: Path, tmp_path: Path) -> None:
    store = init_store(tmp_path / "alpha", "alpha")
    server = tmp_path / "shared.git"
    git("init", "-q", "--bare", str(server))
    for args in (
        ("--store", str(store.path), "hooks", "install"),
        ("--store", str(store.path), "hooks", "install", "--server", str(server)),
    ):
        r = mindgit(home, *args)
        assert r.returncode == 1, r
        assert "global or system config" in r.stderr and "nothing was changed" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (home / ".githooks").exists()
    assert not (server / "mindgit").exists()

    r = mindgit(home, "--store", str(store.path), "hooks", "install", "--force")
    assert r.returncode == 0, r
    assert (home / ".githooks" / "pre-push").is_file()


def test_a_hooks_path_of_the_repositorys_own_is_used(home: Path, tmp_path: Path) -> None:
    store = init_store(tmp_path / "alpha", "alpha")
    git("--git-dir", str(store.path), "config", "core.hooksPath", "own-hooks")
    r = mindgit(home, "--store", str(store.path), "hooks", "install")
    assert r.returncode == 0, r
    assert (store.path / "own-hooks" / "pre-push").is_file()
    assert not (home / ".githooks").exists()
