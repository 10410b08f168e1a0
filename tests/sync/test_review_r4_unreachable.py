"""Review R4: no repository at a peer's URL is PeerUnreachable, whatever server says so."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.conftest import Result
from tests.snapshots import changed, snapshot
from tests.sync.conftest import Nodes
from tests.sync.daemons import GitDaemon, reserved_port

Mg = Callable[..., Result]


def at(nodes: Nodes, name: str) -> tuple[str, str]:
    return "--store", str(nodes[name].path)


def _listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited at start"
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.2),
        ):
            return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on port {port}")


@contextlib.contextmanager
def serving(args: list[str], port: int) -> Iterator[None]:
    """A server process (its own session, killed with its children at the end)."""
    proc = subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _listening(port, proc)
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def read_only_daemon(base: Path) -> Iterator[int]:
    """A `git daemon` serving ``base`` for fetches only (no receive-pack): a push is refused."""
    args = ["git", "daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1"]
    with (
        reserved_port() as port,
        serving([*args, f"--port={port}", f"--base-path={base}", str(base)], port),
    ):
        yield port


# -- no repository at the URL -------------------------------------------------------------


def test_no_repository_at_a_git_daemon_url_is_unreachable(
    nodes: Nodes, mg: Mg, daemon: Callable[[Path], GitDaemon]
) -> None:
    alpha = nodes.make("alpha")
    served = daemon(nodes.base)  # --informative-errors: "no such repository"
    assert mg(*at(nodes, "alpha"), "remote", "add", "nobody", served.url("nobody")).code == 0
    before = snapshot(alpha.path / "objects")
    for command in ("pull", "push", "sync"):
        res = mg(*at(nodes, "alpha"), command, "nobody", "--json")
        assert res.code == 1, (command, res.err)
        out = json.loads(res.out)
        err = out[0] if command == "sync" else out
        assert err["type"] == "PeerUnreachable", (command, err)
        assert "cannot reach" in err["error"] and "no such repository" in err["error"]
    assert changed(before, alpha.path / "objects") == []


def test_no_repository_at_a_quiet_git_daemon_url_is_unreachable(nodes: Nodes, mg: Mg) -> None:
    nodes.make("alpha")
    with read_only_daemon(nodes.base) as port:  # says "access denied or repository not exported"
        url = f"git://127.0.0.1:{port}/nobody"
        assert mg(*at(nodes, "alpha"), "remote", "add", "nobody", url).code == 0
        res = mg(*at(nodes, "alpha"), "pull", "nobody", "--json")
    assert res.code == 1
    assert json.loads(res.out)["type"] == "PeerUnreachable"


def test_an_http_404_is_unreachable(nodes: Nodes, mg: Mg, tmp_path: Path) -> None:
    alpha = nodes.make("alpha")
    empty = tmp_path / "www"
    empty.mkdir()
    web = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(empty)]
    with reserved_port() as port, serving([*web, str(port)], port):
        url = f"http://127.0.0.1:{port}/minds/beta"
        assert mg(*at(nodes, "alpha"), "remote", "add", "web", url).code == 0
        before = snapshot(alpha.path / "objects")
        res = mg(*at(nodes, "alpha"), "pull", "web", "--json")
        text = mg(*at(nodes, "alpha"), "pull", "web")
    assert res.code == 1 and text.code == 1
    err = json.loads(res.out)
    assert err["type"] == "PeerUnreachable", err  # was TransportError: "... failed: ..."
    assert f"pull from web: cannot reach {url}: repository '{url}/' not found" in text.err
    assert changed(before, alpha.path / "objects") == []
