"""Known correctness bugs of node keys, each pinned by a test that failed before its fix."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from mindgit.identity.keys import STALE_TEMPORARY_SECONDS, NodeKey, remove_stale_temporaries
from mindgit.store.repository import Store
from tests.conftest import Mg

# -- a save killed midway leaves a private key under a temporary name -------------------------


def leftover(folder: Path, name: str, *, age: float = STALE_TEMPORARY_SECONDS + 60) -> Path:
    """A file as a save killed between writing and removing it leaves one: a private key,
    mode 0600, ``age`` seconds old."""
    path = folder / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"-----BEGIN OPENSSH PRIVATE KEY-----\n")
    os.close(fd)
    then = path.stat().st_mtime - age
    os.utime(path, (then, then))
    return path


def test_a_save_removes_what_a_killed_save_left(tmp_path: Path) -> None:
    stale = leftover(tmp_path, ".node.key.0123456789ab.tmp")
    NodeKey.generate().save(tmp_path / "node.key")
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["node.key"]


def test_only_stale_files_of_its_own_name_no_save_holds_are_removed(tmp_path: Path) -> None:
    fresh = leftover(tmp_path, ".node.key.00000000000a.tmp", age=0)
    held = leftover(tmp_path, ".node.key.00000000000b.tmp")
    others = [
        leftover(tmp_path, ".node.key.0123.tmp"),  # not a name save makes
        leftover(tmp_path, ".pending.key.0123456789ab.tmp"),  # another key file's
        leftover(tmp_path, "node.key.0123456789ab.tmp"),
    ]
    target = leftover(tmp_path, "elsewhere")
    (tmp_path / ".node.key.00000000000c.tmp").symlink_to(target)
    stale = leftover(tmp_path, ".node.key.00000000000d.tmp")
    fd = os.open(held, os.O_RDONLY)
    try:
        # A save holds its file's flock until the file is gone: stopped for minutes, it is alive.
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert remove_stale_temporaries(tmp_path / "node.key") == [stale]
    finally:
        os.close(fd)
    assert all(p.exists() for p in [fresh, held, *others, target])
    assert (tmp_path / ".node.key.00000000000c.tmp").is_symlink()


def test_a_store_removes_what_a_killed_save_of_its_key_left(
    store: Store, mg: Mg, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = store.path / "mindgit"
    stale = [leftover(folder, ".node.key.0123456789ab.tmp")]
    stale.append(leftover(folder, ".pending.key.0123456789ab.tmp"))
    monkeypatch.setenv("MINDGIT_STORE", str(store.path))
    r = mg("think", "the garden is quiet")
    assert r.code == 0, r.err
    assert not any(p.exists() for p in stale)
