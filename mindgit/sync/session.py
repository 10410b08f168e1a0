"""``sync``: pull from and push to every peer; one failing peer never stops the others.

Each peer is pulled first, then pushed to: a pull merges diverged experiments, so the push that
follows is a fast-forward where it would otherwise be refused.
"""

from __future__ import annotations

from collections.abc import Iterable

from mindgit.errors import MindgitError
from mindgit.store.repository import Store
from mindgit.sync import transport
from mindgit.sync.fitness_check import check_fitness_reachable
from mindgit.sync.outcomes import OnEvent, PeerSync, PullReport, PushReport, emit
from mindgit.sync.peers import InvalidPeerName, check_peer_name, get_peer, list_peers
from mindgit.sync.pull import pull
from mindgit.sync.push import push
from mindgit.sync.quarantine import max_fetch


def sync(
    store: Store,
    peers: Iterable[str] | None = None,
    *,
    allow_rewind: bool = False,
    fitness: str | None = None,
    timeout: float = transport.DEFAULT_TIMEOUT,
    on_event: OnEvent | None = None,
) -> list[PeerSync]:
    """Pull from, then push to, each peer (default: all); every peer is tried.

    ``timeout`` bounds each peer's pull and push together (see :class:`transport.Budget`).

    A ``fitness`` that names no module here nor at any peer is refused before anything is
    fetched (``UnknownFitness``, see :func:`check_fitness_reachable`); the peers it asks spend
    from the budgets their pulls and pushes then share.

    A peer whose pull or push raised is reported with its error (``PeerSync.error``) and the
    next peer goes on; nothing is raised for it.
    """
    # A peer named twice is synced once (it was pulled and pushed twice, and listed twice).
    chosen = (
        [get_peer(store, p) for p in dict.fromkeys(peers)]
        if peers is not None
        else list_peers(store)
    )
    # A bad mindgit.maxfetch fails every pull alike: said once, before any peer is tried.
    max_fetch(store)
    budgets = {peer.name: transport.Budget(timeout) for peer in chosen}
    # A peer set by hand under a name no pull can use (UnusablePeerName) cannot bring the
    # module: it is not asked (get_peer raised for it, stopping the whole sync), and its pull
    # below reports it as that peer's failure.
    check_fitness_reachable(
        store, fitness, [p.name for p in chosen if _usable(p.name)], timeout, budgets=budgets
    )
    results = []
    for peer in chosen:
        pulled: PullReport | None = None
        pushed: PushReport | None = None
        error: MindgitError | None = None
        budget = budgets[peer.name]
        try:
            pulled = pull(
                store,
                peer.name,
                allow_rewind=allow_rewind,
                fitness=fitness,
                timeout=budget,
                on_event=on_event,
            )
            pushed = push(store, peer.name, timeout=budget, on_event=on_event)
        except MindgitError as e:
            error = e
            emit(on_event, peer.name, "failed", str(e))
        results.append(PeerSync(peer.name, peer.url, pulled, pushed, error))
    return results


def _usable(name: str) -> bool:
    try:
        check_peer_name(name)
    except InvalidPeerName:
        return False
    return True
