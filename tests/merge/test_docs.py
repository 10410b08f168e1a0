"""docs/merge.md's worked example runs as written and prints what the page says it prints."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "merge.md"


def test_the_worked_example_prints_what_the_page_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = DOC.read_text()
    code = re.findall(r"```python\n(.*?)```", text, re.S)
    shown = re.findall(r"```text\n(.*?)```", text, re.S)
    assert len(code) == 1 and len(shown) == 1
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    printed = io.StringIO()
    namespace: dict[str, Any] = {"__name__": "merge_doc_example"}
    with contextlib.redirect_stdout(printed):
        exec(compile(code[0], str(DOC), "exec"), namespace)
    assert printed.getvalue() == shown[0]
    # The trailers the page shows are the example's merge commit's.
    commit = namespace["store"].repo[namespace["out"].commit]
    shown_trailers = [
        line.strip() for line in text.splitlines() if line.strip().startswith("Mindgit-Merge-")
    ]
    lines = commit.message.splitlines()
    assert shown_trailers and all(t in lines for t in shown_trailers)


def test_the_command_lines_agree_with_stock_git(tmp_path: Path) -> None:
    (block,) = re.findall(r"^# Merging minds.*?```\n(.*?)```", DOC.read_text(), re.S)
    merge, dry_run, setup, git_merge = (line.split("  #")[0].strip() for line in block.splitlines())
    bindir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "MINDGIT_STORE": str(Path(os.environ["HOME"]) / "minds" / "alpha"),
    }

    def sh(line: str, cwd: Path = ROOT) -> str:
        proc = subprocess.run(
            ["bash", "-c", line], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
        )
        assert proc.returncode == 0, (line, proc.stderr)
        return proc.stdout

    # A store whose node ran rastrigin, and two experiments that set x0 differently.
    sh("mindgit init ~/minds/alpha --name alpha")
    sh("mindgit genome set x0=0.5 x1=-1 --min -5.12 --max 5.12")
    sh("mindgit evolve --fitness fixtures/fitness/rastrigin.wat --generations 3 --population 8 -q")
    sh("mindgit fork dreamer && mindgit genome set x0=3.5 && mindgit switch main")
    sh("mindgit genome set x0=-2.5")

    planned = json.loads(sh(dry_run))
    assert planned["dry_run"] and [d["pattern"] for d in planned["decisions"]] == ["x0"]
    sh(f"{setup} && {git_merge}", cwd=tmp_path)
    sh(merge)
    assert json.loads(sh("mindgit show --json"))["state"] == planned["manifest"]
    by_git = git("-C", str(tmp_path / "work"), "rev-parse", "HEAD:manifest.json")
    by_mindgit = git("--git-dir", env["MINDGIT_STORE"], "rev-parse", "main:manifest.json")
    assert by_git == by_mindgit
