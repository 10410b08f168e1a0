"""Review: the merge driver and the post-merge hook under a ``$GIT_DIR`` that names no
repository fail as the operation failing (exit 1, one line), not as an internal error (exit 3)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from mindgit.store.genome import Genome
from mindgit.store.state import State
from tests.merge.conftest import x


def manifest(path: Path, value: float) -> Path:
    path.write_bytes(State(Genome((x("x0", value),)), frozenset(), (), ()).manifest().data)
    return path


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_DIR": str(cwd / "nowhere")}
    return subprocess.run(
        [*shlex.split(f"{shlex.quote(sys.executable)} -P -m mindgit"), "merge-driver", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )


def test_a_conflict_under_a_git_dir_that_is_no_repository(tmp_path: Path) -> None:
    base, ours, theirs = (
        manifest(tmp_path / n, v) for n, v in (("O", 3.0), ("A", 1.0), ("B", 0.0))
    )
    before = ours.read_bytes()

    proc = run(str(base), str(ours), str(theirs), "manifest.json", cwd=tmp_path)

    assert proc.returncode == 1, proc.stderr
    assert "internal error" not in proc.stderr
    assert "is not a git repository" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert ours.read_bytes() == before


def test_tidy_under_a_git_dir_that_is_no_repository(tmp_path: Path) -> None:
    proc = run("--tidy", cwd=tmp_path)

    assert proc.returncode == 1, proc.stderr
    assert "internal error" not in proc.stderr
