"""The peer lock's wait line and PeerBusy name the pid of the process that holds the lock, never
one of a pull that has ended: a released lock clears its pid, and a pid whose process is gone
(a holder killed with the lock) is not named."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mindgit.store.repository import Store
from mindgit.sync.peers import PeerBusy, peer_lock

# Holds the file's flock without writing anything into it, as `flock FILE sleep` does.
_FLOCK = (
    "import fcntl, os, sys\n"
    "fd = os.open(sys.argv[1], os.O_RDWR)\n"
    "fcntl.flock(fd, fcntl.LOCK_EX)\n"
    "print('held', flush=True)\n"
    "sys.stdin.read()\n"
)

# Holds the lock the way a pull does.
_PULL = (
    "import sys; from mindgit.store.repository import Store; "
    "from mindgit.sync.peers import peer_lock\n"
    "with peer_lock(Store(sys.argv[1]), 'beta'):\n"
    "    print('held', flush=True); sys.stdin.read()\n"
)


def _lock(store: Store) -> Path:
    return store.path / "mindgit" / "peers" / "beta.lock"


@pytest.fixture
def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=30)
    return proc.pid


def _hold(script: str, arg: Path) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(arg)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)


def _waiting_lines(store: Store) -> tuple[list[str], PeerBusy]:
    said: list[str] = []
    with pytest.raises(PeerBusy) as caught, peer_lock(store, "beta", wait=0.1, on_wait=said.append):
        pass
    return said, caught.value


def test_a_released_lock_names_no_pid(store: Store) -> None:
    with peer_lock(store, "beta"):
        assert _lock(store).read_text().strip().isdigit()
    assert _lock(store).read_text() == ""


def test_a_holder_that_wrote_no_pid_is_not_named_by_an_old_one(store: Store, dead_pid: int) -> None:
    # A pull that was killed with the lock left its pid; `flock FILE sleep` holds it now.
    with peer_lock(store, "beta"):
        pass
    _lock(store).write_text(f"{dead_pid}\n")
    for _ in _hold(_FLOCK, _lock(store)):
        said, busy = _waiting_lines(store)
    assert busy.holder is None
    assert "pid" not in str(busy)
    (line,) = said
    assert line.startswith("waiting for another pull or push with peer 'beta' to finish (up to"), (
        line
    )


def test_a_live_holder_is_named_by_its_pid(store: Store) -> None:
    for proc in _hold(_PULL, store.path):
        said, busy = _waiting_lines(store)
        assert busy.holder == str(proc.pid)
        assert f"(pid {proc.pid})" in said[0] and f"(pid {proc.pid})" in str(busy)
    # Its release cleared the pid it wrote.
    assert _lock(store).read_text() == ""
