"""Running a docs page's shell block as a reader would: bash, with this venv's mindgit on PATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def sh(script: str, cwd: Path, *, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with ``bash -eo pipefail`` in ``cwd``; output captured as text."""
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
