"""``sync``: pull from and push to every peer; one failing peer never stops the others.

Each peer is pulled first, then pushed to: a pull merges diverged experiments, so the push that
follows is a fast-forward where it would otherwise be refused.
"""

from __future__ import annotations

from collections.abc import Iterable

from mindgit.errors import MindgitError
from mindgit.store.repository import Store
from mindgit.sync import transport
from mindgit.sync.outcomes import OnEvent, PeerSync, PullReport, PushReport, emit
from mindgit.sync.peers import get_peer, list_peers
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
    results = []
    for peer in chosen:
        pulled: PullReport | None = None
        pushed: PushReport | None = None
        error: MindgitError | None = None
        budget = transport.Budget(timeout)
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
