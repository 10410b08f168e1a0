"""A node restored from a backup (older heads) syncing again, over a real git daemon.

Its peer refuses the rewind and says how to take it (``--allow-rewind``); taken, nothing of the
peer's own is lost, and the restored node gets back what it had lost from the peer.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from mindgit.store.repository import Store
from tests.sync.conftest import Nodes
from tests.sync.daemons import GitDaemon


def _cli(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mindgit", "--store", str(store.path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _refs(path: Path) -> str:
    return subprocess.run(
        ["git", "for-each-ref"], cwd=path, capture_output=True, text=True, check=True
    ).stdout


def _head(path: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "refs/heads/dreams"],
        cwd=path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _clean(store: Store) -> None:
    fsck = subprocess.run(
        ["git", "fsck", "--strict"], cwd=store.path, capture_output=True, text=True, check=False
    )
    assert fsck.returncode == 0, fsck.stderr
    verified = _cli(store, "verify", "--all")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_peer_restored_from_a_backup(
    pair: Nodes, daemon: Callable[[Path], GitDaemon], tmp_path: Path
) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    served = daemon(pair.base)
    assert _cli(alpha, "remote", "remove", "beta").returncode == 0
    assert (
        _cli(alpha, "remote", "add", "beta", served.url("beta"), "--node", "beta").returncode == 0
    )
    beta.fork("dreams", switch=False)
    beta.think("kept in the backup", experiment="dreams")
    backup = tmp_path / "beta.bak"
    shutil.copytree(beta.path, backup, symlinks=True)
    beta.think("made after the backup", experiment="dreams")
    lost = _head(beta.path)
    assert _cli(alpha, "pull", "beta").returncode == 0

    shutil.rmtree(beta.path)
    shutil.copytree(backup, beta.path, symlinks=True)
    before = _refs(alpha.path)
    refused = _cli(alpha, "pull", "beta")
    assert refused.returncode == 1
    [line] = refused.stderr.splitlines()
    assert "rewinds refs/heads/dreams" in line
    # Its commits verify: the hint sent the user to remove the peer instead of the switch.
    assert "pull again with --allow-rewind" in line, line
    assert "remote remove" not in line and "cannot verify" not in line
    assert _refs(alpha.path) == before

    taken = _cli(alpha, "pull", "beta", "--allow-rewind")
    assert taken.returncode == 0, taken.stderr
    assert "ahead\trefs/heads/dreams" in taken.stdout
    assert _head(alpha.path) == lost

    back = subprocess.run(
        [sys.executable, "-m", "mindgit", "--store", str(beta.path), "pull", "alpha"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert back.returncode == 0, back.stderr
    assert "fast-forward\trefs/heads/dreams" in back.stdout
    for store in (alpha, beta):
        _clean(store)
