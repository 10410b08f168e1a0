"""Three nodes in a ring, over real git daemons and file:// remotes: gossip converges.

alpha's only peer is beta (git://, beta's daemon), beta's is gamma (git://, gamma's daemon),
gamma's is alpha (file://). Each node evolves an experiment of its own; sync rounds carry every
experiment and run to every node. A daemon killed in the middle of a sync makes that node's
sync report the peer and go on; once it is back, everything converges with nothing lost and
nothing duplicated.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mindgit.store.repository import Store
from mindgit.store.verify import verify_commits
from mindgit.sync.outcomes import Event
from mindgit.sync.session import sync
from mindgit.sync.transport import TransportError
from tests.conftest import Result, fsck
from tests.sync.conftest import Nodes
from tests.sync.daemons import GitDaemon
from tests.sync.test_pull import evolve

NAMES = ("alpha", "beta", "gamma")
MAX_ROUNDS = 4


class Ring:
    def __init__(self, nodes: Nodes, daemons: dict[str, GitDaemon]) -> None:
        self.nodes = nodes
        self.daemons = daemons
        self.runs: dict[str, str] = {}
        self.heads: dict[str, str] = {}
        self.mains = {n: nodes[n].head("main") for n in NAMES}

    def __getitem__(self, name: str) -> Store:
        return self.nodes[name]

    def shared(self, store: Store) -> dict[str, str]:
        """What must be the same everywhere: every node's experiment and every run."""
        out = {}
        for ref in store.repo.references:
            if ref.startswith("refs/runs/") or (
                ref.startswith("refs/heads/") and ref.endswith("-work")
            ):
                out[ref] = str(store.repo.references[ref].resolve().target)
        return out

    def converged(self) -> bool:
        views = [self.shared(self[n]) for n in NAMES]
        return all(v == views[0] for v in views) and len(views[0]) == 2 * len(NAMES)

    def round(self, on_event: Callable[[Event], None] | None = None) -> dict[str, list[str]]:
        """One sync on every node, in ring order; the peers each node failed with."""
        failed = {}
        for name in NAMES:
            results = sync(self[name], timeout=20, on_event=on_event)
            failed[name] = [r.peer for r in results if not r.ok]
        return failed


@pytest.fixture
def ring(nodes: Nodes, daemon: Callable[..., GitDaemon]) -> Ring:
    for name in NAMES:
        nodes.make(name)
    nodes.trust_all()
    daemons = {"beta": daemon(nodes.base), "gamma": daemon(nodes.base)}
    nodes.link("alpha", "beta", daemons["beta"].url("beta"))
    nodes.link("beta", "gamma", daemons["gamma"].url("gamma"))
    nodes.link("gamma", "alpha", f"file://{nodes['alpha'].path}")
    r = Ring(nodes, daemons)
    for seed, name in enumerate(NAMES, start=1):
        store = nodes[name]
        store.fork(f"{name}-work")
        store.think(f"{name} starts thinking")
        r.runs[name] = evolve(store, f"{name}-work", seed=seed)
        r.heads[name] = store.head(f"{name}-work")
    return r


def check_nothing_lost_or_duplicated(r: Ring) -> None:
    for name in NAMES:
        store = r[name]
        for origin in NAMES:
            # Every experiment is exactly the commit its node made: no merge, no copy.
            assert store.head(f"{origin}-work") == r.heads[origin]
        runs = sorted(ref for ref in store.repo.references if ref.startswith("refs/runs/"))
        assert runs == sorted(f"refs/runs/{run}" for run in r.runs.values())
        heads = sorted(ref for ref in store.repo.references if ref.startswith("refs/heads/"))
        assert heads == sorted(["refs/heads/main", *(f"refs/heads/{n}-work" for n in NAMES)])
        # Each node's main is its own (the same empty state everywhere): never replaced.
        assert store.head("main") == r.mains[name]
        tips = list(r.shared(store).values())
        assert verify_commits(store.repo, store.trust, tips).ok
        fsck(store.path)


def test_gossip_through_the_ring_converges(ring: Ring) -> None:
    rounds = 0
    while not ring.converged():
        rounds += 1
        assert rounds <= MAX_ROUNDS, ring.shared(ring["alpha"])
        failed = ring.round()
        assert failed == {n: [] for n in NAMES}
    check_nothing_lost_or_duplicated(ring)
    # Converged is stable: another round changes nothing.
    before = {n: ring.shared(ring[n]) for n in NAMES}
    ring.round()
    assert {n: ring.shared(ring[n]) for n in NAMES} == before


def test_a_daemon_killed_mid_sync_is_reported_and_the_ring_recovers(
    ring: Ring, mg: Callable[..., Result]
) -> None:
    beta_daemon = ring.daemons["beta"]

    def kill_after_pull(event: Event) -> None:
        # alpha has just accepted what beta offered; beta dies before alpha pushes to it.
        if event.peer == "beta" and event.step == "list" and beta_daemon.running:
            beta_daemon.stop()

    results = sync(ring["alpha"], timeout=20, on_event=kill_after_pull)
    assert not beta_daemon.running
    [beta] = results
    assert isinstance(beta.error, TransportError) and beta.pull is not None and beta.push is None
    # What alpha pulled before beta died is whole and verified.
    assert ring["alpha"].head("beta-work") == ring.heads["beta"]

    # The others finish their syncs; the CLI reports the dead peer and exits 1.
    assert ring.round()["alpha"] == ["beta"]
    res = mg("--store", str(ring["alpha"].path), "sync")
    assert res.code == 1
    assert "peer beta failed" in res.err and "cannot reach" in res.err

    beta_daemon.start()
    rounds = 0
    while not ring.converged():
        rounds += 1
        assert rounds <= MAX_ROUNDS
        assert ring.round() == {n: [] for n in NAMES}
    check_nothing_lost_or_duplicated(ring)
    assert mg("--store", str(ring["alpha"].path), "sync").code == 0
