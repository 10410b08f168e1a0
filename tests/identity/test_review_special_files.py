"""A named pipe where a key file or the trust file belongs is refused at once, never waited on.

Opening a FIFO for reading blocks until something writes to it, so a store whose node key,
retired key or allowed-signers file had been replaced by one (by mistake, or by another local
user with write access to the directory) hung every command that read it. Each command runs as
a real subprocess, so a hang is a timeout, and the test fails instead of hanging itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mindgit.store.private import think_private
from mindgit.store.repository import Store, init_store
from mindgit.store.rotations import rotate_key

# Far above what the commands take; reached only when one waits on the pipe.
_PATIENCE = 60


def _mindgit(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [sys.executable, "-m", "mindgit", "--store", str(store.path), *args],
            capture_output=True,
            text=True,
            timeout=_PATIENCE,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"mindgit {' '.join(args)} waited on the named pipe")


def _fifo_in_place_of(path: Path, mode: int) -> None:
    path.unlink()
    os.mkfifo(path, mode)


def test_a_pipe_as_the_node_key_is_refused(tmp_path: Path) -> None:
    store = init_store(tmp_path / "alpha", "alpha")
    _fifo_in_place_of(store.key_path, 0o600)
    result = _mindgit(store, "id")
    assert result.returncode == 1
    assert "not a regular file" in result.stderr, result.stderr
    assert str(store.key_path) in result.stderr


def test_a_pipe_as_the_trust_file_is_refused(tmp_path: Path) -> None:
    store = init_store(tmp_path / "alpha", "alpha")
    _fifo_in_place_of(store.trust.path, 0o644)
    result = _mindgit(store, "trust", "list")
    assert result.returncode == 1
    assert "not a regular file" in result.stderr and str(store.trust.path) in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_pipe_among_the_retired_keys_hides_nothing_else(tmp_path: Path) -> None:
    store = init_store(tmp_path / "alpha", "alpha")
    think_private(store, "sealed to the first key")
    first = rotate_key(store)
    pipe = first.retired_key.with_name("z6MkPipe.key")
    os.mkfifo(pipe, 0o600)
    shown = _mindgit(store, "show")
    assert shown.returncode == 0, shown.stderr
    assert "sealed to the first key" in shown.stdout
    listed = _mindgit(store, "keys", "list")
    assert listed.returncode == 1
    assert "not a regular file" in listed.stderr and str(pipe) in listed.stderr
