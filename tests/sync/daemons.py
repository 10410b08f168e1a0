"""Real ``git daemon`` processes on 127.0.0.1 for sync tests (part B's hook tests use them too).

Each daemon serves the stores under one base directory (``--export-all``, pushes allowed with
``--enable=receive-pack``) on a free port, in a session of its own so that stopping it also
stops the upload-pack or receive-pack children it forked. Use :func:`serving` (a context
manager) or the ``daemon`` fixture in ``conftest.py``; both always stop what they started.
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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def closed_port() -> int:
    """A port with no listener (connecting to it is refused at once)."""
    return free_port()


class GitDaemon:
    """One ``git daemon`` serving ``base``; ``url(name)`` is a store's git:// URL."""

    def __init__(self, base: Path, port: int | None = None) -> None:
        self.base = Path(base)
        self.port = port if port is not None else free_port()
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


@contextlib.contextmanager
def serving(base: Path) -> Iterator[GitDaemon]:
    """A daemon serving ``base`` for the duration of the block."""
    daemon = GitDaemon(base).start()
    try:
        yield daemon
    finally:
        daemon.stop()


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
