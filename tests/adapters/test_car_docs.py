"""docs/ipfs.md's runnable example runs as written, with the real `mindgit` command line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.adapters.test_car_cli import SHIM
from tests.conftest import ROOT

DOC = ROOT / "docs" / "ipfs.md"


def test_the_runnable_example_runs(tmp_path: Path) -> None:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 1
    # `mindgit` on PATH: the entry point of this checkout.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    launcher = bin_dir / "mindgit"
    launcher.write_text(f'#!/bin/sh\nexec {sys.executable} -c "{SHIM}" "$@"\n')
    launcher.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", TMPDIR=str(tmp_path))
    result = subprocess.run(
        ["bash", "-c", blocks[0]], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"genome": {' in result.stdout and "curiosity" in result.stdout
