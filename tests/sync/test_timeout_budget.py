"""--timeout bounds a push, and a sync with a peer, as a whole: every git call spends from one
budget (a push lists the peer's refs and then pushes; each call used to get the whole timeout).

The peer is a real ``git daemon`` behind a proxy that holds each new connection back for a set
time before passing it through, so a call can be made slow without being made to fail.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from mindgit.store.repository import Store
from mindgit.sync.peers import add_peer
from mindgit.sync.push import push
from mindgit.sync.session import sync
from mindgit.sync.transport import Budget, PeerTimeout, ls_remote
from tests.sync.conftest import Nodes
from tests.sync.daemons import GitDaemon

# Each slow call is held back this long; the budget is less than two of them with room to
# spare either way (a call of this size to a local daemon takes a few tens of milliseconds).
HOLD = 1.2
BUDGET = 2.0


class SlowProxy:
    """Accepts connections on a port of its own; connection i waits ``holds[i]`` seconds (0
    past the list), then is piped both ways to ``target``. ``connections`` counts them."""

    def __init__(self, target: int, holds: Sequence[float]) -> None:
        self.target = target
        self.holds = list(holds)
        self.connections = 0
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(8)
        self.port: int = self._server.getsockname()[1]
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            hold = self.holds[self.connections] if self.connections < len(self.holds) else 0.0
            self.connections += 1
            self._open.append(conn)
            threading.Thread(target=self._serve, args=(conn, hold), daemon=True).start()

    def _serve(self, conn: socket.socket, hold: float) -> None:
        time.sleep(hold)
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target))
        except OSError:
            conn.close()
            return
        self._open.append(upstream)
        threading.Thread(target=_pipe, args=(upstream, conn), daemon=True).start()
        _pipe(conn, upstream)

    def close(self) -> None:
        self._server.close()
        for s in self._open:
            with contextlib.suppress(OSError):
                s.close()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


@pytest.fixture
def slow_peer(
    pair: Nodes, daemon: Callable[[Path], GitDaemon]
) -> Iterator[Callable[[Sequence[float]], SlowProxy]]:
    """alpha gets a peer "slow": beta's store through a daemon and a holding proxy."""
    served = daemon(pair.base)
    made: list[SlowProxy] = []

    def make(holds: Sequence[float]) -> SlowProxy:
        proxy = SlowProxy(served.port, holds)
        made.append(proxy)
        add_peer(pair["alpha"], "slow", f"git://127.0.0.1:{proxy.port}/beta")
        return proxy

    yield make
    for proxy in made:
        proxy.close()


def _refs(repo_path: Path) -> dict[str, str]:
    import pygit2

    repo = pygit2.Repository(str(repo_path))
    return {name: str(repo.references[name].resolve().target) for name in repo.references}


def test_a_push_spends_one_budget_on_its_list_and_its_push(
    pair: Nodes, slow_peer: Callable[[Sequence[float]], SlowProxy]
) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    alpha.fork("ideas")
    alpha.think("one")
    proxy = slow_peer([HOLD, HOLD])
    before = _refs(beta.path)
    started = time.monotonic()
    with pytest.raises(PeerTimeout) as info:
        push(alpha, "slow", ["ideas"], timeout=BUDGET)
    # The list took most of the budget; the push got only the rest, which its hold outlasts.
    assert info.value.timeout == BUDGET
    assert proxy.connections == 2
    assert time.monotonic() - started < HOLD + BUDGET
    assert _refs(beta.path) == before


def work_on_both_sides(pair: Nodes) -> tuple[Store, Store]:
    """alpha and beta, each with an experiment of its own that the other lacks."""
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("theirs")
    beta.think("from beta")
    alpha.fork("ideas")
    alpha.think("one")
    return alpha, beta


def test_a_sync_spends_one_budget_on_a_peer_s_pull_and_push(
    pair: Nodes, slow_peer: Callable[[Sequence[float]], SlowProxy]
) -> None:
    alpha, beta = work_on_both_sides(pair)
    proxy = slow_peer([HOLD, HOLD])
    (result,) = sync(alpha, ["slow"], timeout=BUDGET)
    # The pull (one slow fetch) is done and kept; the push's list then outlasted what was left.
    assert result.pull is not None and alpha.head("theirs") == beta.head("theirs")
    assert isinstance(result.error, PeerTimeout)
    assert proxy.connections == 2
    assert "ideas" not in beta.experiments()


def test_a_spent_budget_makes_no_call_at_all(
    pair: Nodes, slow_peer: Callable[[Sequence[float]], SlowProxy]
) -> None:
    proxy = slow_peer([])
    budget = Budget(0.5)
    budget.spend(0.5)
    with pytest.raises(PeerTimeout):
        ls_remote(
            pair["alpha"].path, f"git://127.0.0.1:{proxy.port}/beta", peer="slow", timeout=budget
        )
    assert proxy.connections == 0
    fresh = Budget(BUDGET)
    assert "refs/heads/main" in ls_remote(
        pair["alpha"].path, f"git://127.0.0.1:{proxy.port}/beta", peer="slow", timeout=fresh
    )
    assert 0 < fresh.left() < BUDGET


def test_the_same_push_and_sync_pass_through_the_proxy_in_time(
    pair: Nodes, slow_peer: Callable[[Sequence[float]], SlowProxy]
) -> None:
    """The control for the tests above: held back less, both finish within the budget."""
    alpha, beta = work_on_both_sides(pair)
    proxy = slow_peer([HOLD / 4, HOLD / 4, HOLD / 4])
    (result,) = sync(alpha, ["slow"], timeout=BUDGET)
    assert result.error is None, result.error
    assert beta.head("ideas") == alpha.head("ideas")
    assert proxy.connections == 3
