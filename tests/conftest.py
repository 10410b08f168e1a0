"""Hermetic test environment: no user or system git config, a private HOME, a pinned identity."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent

# No test passes or fails on time (timing belongs in bench/): Hypothesis's per-example deadline
# and its too-slow check would fail a test that a loaded CI machine merely runs slowly.
settings.register_profile("mindgit", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("mindgit")
FIXTURES = ROOT / "fixtures"


@pytest.fixture(autouse=True)
def hermetic_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "mindgit-test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@mindgit.invalid")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "mindgit-test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@mindgit.invalid")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    # A `git gc --auto` that a command starts runs to its end in the foreground, not after the
    # test has removed its directory (git's command-line config; libgit2 does not read it).
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "gc.autoDetach")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "false")
    monkeypatch.delenv("MINDGIT_STORE", raising=False)
    monkeypatch.delenv("GIT_DIR", raising=False)
    yield


def git(*args: str, cwd: Path | None = None, check: bool = True, input: bytes | None = None) -> str:
    """Run the real git and return its stdout."""
    import subprocess

    proc = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr.decode()}"
        )
    return proc.stdout.decode()


def fsck(path: Path) -> None:
    """`git fsck --strict` must be clean."""
    import subprocess

    proc = subprocess.run(
        ["git", "--git-dir", str(path), "fsck", "--strict", "--no-progress"], capture_output=True
    )
    assert proc.returncode == 0, proc.stderr.decode() + proc.stdout.decode()
    assert b"error" not in proc.stderr and b"warning" not in proc.stderr, proc.stderr.decode()


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A fresh store for node 'alpha'."""
    from mindgit.store.repository import init_store

    return init_store(tmp_path / "alpha", "alpha")


@dataclass
class Result:
    code: int
    out: str
    err: str


Mg = Callable[..., Result]


@pytest.fixture
def mg(capsys: pytest.CaptureFixture[str]) -> Mg:
    """Run `mindgit ARGS...` in-process; returns exit code, stdout, stderr."""
    from mindgit.cli.main import run

    def call(*args: str) -> Result:
        capsys.readouterr()
        code = run(list(args))
        cap = capsys.readouterr()
        return Result(code, cap.out, cap.err)

    return call


def read_only_mount_works() -> bool:
    """Whether this process may bind-mount a directory read-only in a mount namespace of its
    own (root, which file modes do not stop, with util-linux unshare)."""
    import shutil
    import subprocess
    import tempfile

    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = tempfile.mkdtemp(prefix="mindgit-ro-probe-")
    try:
        script = f"mount --bind -o ro {probe} {probe} && ! touch {probe}/x 2>/dev/null"
        proc = subprocess.run(
            ["unshare", "-m", "sh", "-c", script], capture_output=True, check=False
        )
        return proc.returncode == 0
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def stdout_closed(*args: str) -> subprocess.CompletedProcess[bytes]:
    """``mindgit ARGS... >&-``: descriptor 1 closed in the child before Python starts, so
    ``sys.stdout`` is None there; stderr captured."""
    return subprocess.run(
        [sys.executable, "-m", "mindgit", *args],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        timeout=120,
        preexec_fn=lambda: os.close(1),
        check=False,
    )


def stdout_to_file(tmp_path: Path, *args: str) -> tuple[int, bytes, bytes]:
    """``mindgit ARGS... > FILE``: exit code, what went to standard output (a real file, which
    ``/dev/stdout`` names; capsys has no descriptor), and stderr."""
    out = tmp_path / "stdout"
    with open(out, "wb") as stdout:
        proc = subprocess.run(
            [sys.executable, "-m", "mindgit", *args],
            stdout=stdout,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            timeout=120,
        )
    return proc.returncode, out.read_bytes(), proc.stderr
