"""Review G: `mindgit hook NAME` run by hand outside a repository said ". is not a git
repository" and hinted to `git init --bare`, as if asked to make a server. It says that the
hook runs inside a repository, as git runs it, and how it is installed; exit 1 as before."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def run_hook(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "MINDGIT_"))}
    return subprocess.run(
        [sys.executable, "-m", "mindgit", "hook", *args],
        cwd=cwd,
        input="",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.mark.parametrize("args", [("pre-receive",), ("update", "refs/heads/x", "0" * 40, "1" * 40)])
def test_a_server_hook_by_hand_says_how_git_runs_it(tmp_path: Path, args: tuple[str, ...]) -> None:
    before = sorted(tmp_path.iterdir())
    proc = run_hook(tmp_path, *args)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith(f"mindgit: error: {tmp_path} is not a git repository: ")
    assert f"the {args[0]} hook runs inside one, as git runs it" in proc.stderr
    assert "server's bare repository" in proc.stderr
    assert "`mindgit hooks install --server PATH`" in proc.stderr
    assert "git init --bare" not in proc.stderr  # was the hint
    assert sorted(tmp_path.iterdir()) == before


def test_the_pre_push_hook_by_hand_says_how_git_runs_it(tmp_path: Path) -> None:
    proc = run_hook(tmp_path, "pre-push", "origin", "/srv/x.git")
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert f"{tmp_path} is not a mindgit store: the pre-push hook runs inside one" in proc.stderr
    assert "`mindgit hooks install`" in proc.stderr
    assert "mindgit init" not in proc.stderr  # was the hint
    assert list(tmp_path.iterdir()) == []
