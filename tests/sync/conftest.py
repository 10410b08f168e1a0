from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mindgit.store.repository import Store, init_store
from mindgit.sync.peers import add_peer
from tests.sync.daemons import GitDaemon

# The sync commands, registered here until mindgit.cli.main lists them (a no-op after that).


class Nodes:
    """Stores for several nodes under one directory, each with its own key."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.stores: dict[str, Store] = {}

    def __getitem__(self, name: str) -> Store:
        return self.stores[name]

    def make(self, name: str) -> Store:
        store = init_store(self.base / name, name)
        self.stores[name] = store
        return store

    def trust_all(self) -> None:
        """Every node trusts every other node under its own name."""
        for a in self.stores.values():
            for b in self.stores.values():
                if a is not b:
                    a.trust.add(b.public_key, b.name)

    def link(self, a: str, b: str, url: str | None = None) -> None:
        """Give ``a`` a peer named ``b`` (default URL: file:// to b's store)."""
        add_peer(self.stores[a], b, url or f"file://{self.stores[b].path}")


@pytest.fixture
def nodes(tmp_path: Path) -> Nodes:
    base = tmp_path / "nodes"
    base.mkdir()
    return Nodes(base)


def diverge(pair: Nodes) -> None:
    """alpha and beta each change gene x of experiment ``tune`` their own way, after alpha
    pulled beta's first version of it: the next pull has diverged histories to merge."""
    from mindgit.store.genome import Gene
    from mindgit.sync.pull import pull

    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("tune")
    beta.set_genes([Gene.make("x", "float", 0.0, min=-5.12, max=5.12)])
    pull(alpha, "beta")
    alpha.set_genes([Gene.make("x", "float", 1.0, min=-5.12, max=5.12)], experiment="tune")
    beta.set_genes([Gene.make("x", "float", 3.0, min=-5.12, max=5.12)], experiment="tune")


@pytest.fixture
def pair(nodes: Nodes) -> Nodes:
    """alpha and beta, trusting each other, each the other's peer over file://."""
    nodes.make("alpha")
    nodes.make("beta")
    nodes.trust_all()
    nodes.link("alpha", "beta")
    nodes.link("beta", "alpha")
    return nodes


@pytest.fixture
def daemon() -> Iterator[Callable[[Path], GitDaemon]]:
    """Start git daemons serving a directory; every one is stopped at teardown."""
    started: list[GitDaemon] = []

    def start(base: Path) -> GitDaemon:
        d = GitDaemon(base)
        started.append(d)
        return d.start()

    yield start
    for d in started:
        d.close()


@pytest.fixture
def srv_dir(tmp_path: Path) -> Path:
    d = tmp_path / "srv"
    d.mkdir()
    return d


@pytest.fixture
def server(srv_dir: Path, store: Store) -> Path:
    """A bare repository gated by pre-receive, trusting alpha; alpha's main already pushed."""
    from tests.sync.test_hooks_gate import populated
    from tests.sync.test_hooks_server import make_server, push

    server = make_server(srv_dir, store.trust.export())
    populated(store)
    accepted = push(store, str(server), "main")
    assert accepted.returncode == 0, accepted.stderr
    return server
