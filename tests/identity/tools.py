"""Helpers for identity tests: run the real ssh-keygen and git, make keys with ssh-keygen."""

from __future__ import annotations

import subprocess
from pathlib import Path


def run(
    *args: str | Path, stdin: bytes = b"", cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run a real tool; never raises on a non-zero exit (tests judge the exit code)."""
    return subprocess.run(
        [str(a) for a in args], input=stdin, capture_output=True, cwd=cwd, check=False
    )


def ok(*args: str | Path, stdin: bytes = b"", cwd: Path | None = None) -> bytes:
    """Run a real tool that must succeed; returns stdout."""
    proc = run(*args, stdin=stdin, cwd=cwd)
    assert proc.returncode == 0, f"{args} failed ({proc.returncode}): {proc.stderr.decode()}"
    return proc.stdout


def ssh_keygen_key(
    directory: Path, name: str = "id", *, key_type: str = "ed25519", comment: str = ""
) -> Path:
    """A key made by the real ``ssh-keygen`` with no passphrase."""
    path = directory / name
    ok("ssh-keygen", "-q", "-t", key_type, "-N", "", "-C", comment, "-f", path)
    return path
