"""docs/store.md's examples run as written (paths moved into a temp dir)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

DOC = (ROOT / "docs" / "store.md").read_text()


def test_python_example_runs(tmp_path: Path) -> None:
    (code,) = re.findall(r"```python\n(.*?)```", DOC, re.S)
    code = code.replace("/tmp/minds/", f"{tmp_path}/")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["0.7", "['good', 'good', 'good']"]


def test_shell_walkthrough_runs(tmp_path: Path) -> None:
    block = re.findall(r"```sh\n(.*?)```", DOC, re.S)[0]
    script = "set -e\n" + block.replace("/tmp/minds/", f"{tmp_path}/")
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "dreams of flight" in proc.stdout


def test_stock_git_verifies_with_the_exported_trust_file(tmp_path: Path) -> None:
    [block] = [b for b in re.findall(r"```sh\n(.*?)```", DOC, re.S) if "trust export" in b]
    store = tmp_path / "alpha"
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(["mindgit", "init", str(store), "--name", "alpha"], env=env, check=True)
    script = "set -e\n" + block.replace("/tmp/allowed_signers", str(tmp_path / "allowed_signers"))
    # In the store: HEAD is the current experiment's head there.
    proc = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, cwd=store
    )
    assert proc.returncode == 0, proc.stderr
    assert 'Good "git" signature for did:key:z6Mk' in proc.stderr
