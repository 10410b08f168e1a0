"""Real ``git daemon`` processes on 127.0.0.1 for sync tests (part B's hook tests use them too).

Each daemon serves the stores under one base directory (``--export-all``, pushes allowed with
``--enable=receive-pack``) on a port of its own, in a session of its own so that stopping it
also stops the upload-pack or receive-pack children it forked. Use :func:`serving` (a context
manager) or the ``daemon`` fixture in ``conftest.py``; both always stop what they started.

Ports are reserved, not just found free: a port found free and closed again can be taken by
another test process (pytest-xdist's other worker, a second suite) before the daemon binds it,
or between a daemon's stop and its restart. A socket bound with SO_REUSEADDR that never listens
holds the port: servers that also ask for SO_REUSEADDR (git daemon --reuseaddr, Python's
http.server) can still bind and listen on it, nobody else can bind it, and while nothing
listens a connection to it is refused.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

_START_WAIT = 10.0


def reserve() -> socket.socket:
    """A socket holding a port of 127.0.0.1 (see the module docstring); its port is
    ``getsockname()[1]``. Close it to give the port back."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    return s


@contextlib.contextmanager
def reserved_port() -> Iterator[int]:
    """A port for a server started in the block (with SO_REUSEADDR), held until it ends."""
    with reserve() as s:
        yield s.getsockname()[1]


# Held for the life of the test process: a closed port must stay closed for as long as a test
# may still connect to it.
_CLOSED: list[socket.socket] = []


def closed_port() -> int:
    """A port with no listener (connecting to it is refused at once), and that none will get."""
    held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    held.bind(("127.0.0.1", 0))  # no SO_REUSEADDR: no server can listen on it
    _CLOSED.append(held)
    port: int = held.getsockname()[1]
    return port


class GitDaemon:
    """One ``git daemon`` serving ``base``; ``url(name)`` is a store's git:// URL. Its port is
    reserved (see the module docstring) until :meth:`close`, so a stopped daemon can start
    again on the same one."""

    def __init__(self, base: Path) -> None:
        self.base = Path(base)
        self._reservation: socket.socket | None = reserve()
        self.port: int = self._reservation.getsockname()[1]
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> GitDaemon:
        """Start serving (again, on the same port after :meth:`stop`); wait until it listens."""
        if self.running:
            return self
        self.proc = subprocess.Popen(
            [
                "git",
                "daemon",
                "--reuseaddr",
                "--export-all",
                "--enable=receive-pack",
                "--informative-errors",
                "--listen=127.0.0.1",
                f"--port={self.port}",
                f"--base-path={self.base}",
                str(self.base),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + _START_WAIT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"git daemon exited at start ({self.proc.returncode}): {err}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"git daemon did not listen on port {self.port}")

    def stop(self) -> None:
        """Kill the daemon and every child it forked (its process group), and wait for it."""
        proc = self.proc
        if proc is None:
            return
        self.proc = None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()

    def close(self) -> None:
        """Stop, and give the port back."""
        self.stop()
        if self._reservation is not None:
            self._reservation.close()
            self._reservation = None


@contextlib.contextmanager
def serving(base: Path) -> Iterator[GitDaemon]:
    """A daemon serving ``base`` for the duration of the block."""
    daemon = GitDaemon(base)
    try:
        yield daemon.start()
    finally:
        daemon.close()


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts connections and then never says a word (a hung peer)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()
