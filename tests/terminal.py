"""Running mindgit with its standard output a real terminal (a pty), for the commands that
must refuse to write binary output there."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from tests.conftest import ROOT


def on_a_terminal(*args: str) -> tuple[int, bytes, str]:
    """``mindgit ARGS...`` with standard output a real terminal (a pty): exit code, what the
    terminal got, and stderr."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "mindgit", *args],
            stdin=subprocess.DEVNULL,
            stdout=follower,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            timeout=120,
            check=False,
        )
    finally:
        os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 1 << 16)
        except OSError:  # EIO: the terminal's other end is closed, all is read
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return proc.returncode, shown, proc.stderr.decode()
