"""Whether a ``--fitness`` given to a pull or a sync names a module that exists, here or at
the peers, checked before anything is fetched."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mindgit.errors import MindgitError
from mindgit.store.fitness_store import (
    FITNESS_PREFIX,
    UnknownFitness,
    check_module_name,
    parse_cid,
)
from mindgit.store.refs import read_ref
from mindgit.store.repository import Store
from mindgit.sync import transport
from mindgit.sync.peers import get_peer


def check_fitness_reachable(
    store: Store,
    fitness: str | None,
    peers: Sequence[str],
    timeout: float | transport.Budget,
    *,
    budgets: Mapping[str, transport.Budget] | None = None,
) -> None:
    """Refuse a ``--fitness`` that names no module, here or at the peers, before anything is
    fetched: a misspelt one was found only by the merge of a diverged experiment, which kept
    it apart ("merge failed") while the pull exited 0.

    A stored module's name is looked up here (one ref: ~0.1 ms; a path's file is read once
    more than the merge reads it, ~1 ms for a .wat), and only if it is not here are the peers
    listed (one ``ls-remote`` each, ~16 ms for a local peer, spent from ``timeout``): a module
    the peer offers comes in with the pull itself, before any experiment is merged. A CID not
    stored here may be an older version of a module the peer offers, which no listing shows:
    it is left to the merge. Raises ``UnknownFitness``.

    A peer named in ``budgets`` is listed spending from that budget, the one its pull and push
    then share (:func:`mindgit.sync.session.sync`): with a whole ``timeout`` of its own, a hung
    peer cost a sync up to twice ``--timeout``."""
    if fitness is None:
        return
    try:
        check_module_name(fitness)
    except MindgitError:
        pass
    else:
        # The usual case, a stored module's name, without the merge layer's import (~30 ms):
        # the merge reads the module itself, and says so if it cannot.
        if read_ref(store.repo, FITNESS_PREFIX + fitness) is not None:
            return
    from mindgit.merge.lookup import find_module

    try:
        find_module(store.repo, fitness)
        return
    except UnknownFitness:
        if parse_cid(fitness) is not None:
            return
    named = list(dict.fromkeys(peers))
    for name in named:
        peer = get_peer(store, name)
        budget = budgets.get(name, timeout) if budgets is not None else timeout
        try:
            offered = transport.ls_remote(
                store.path, peer.url, peer=peer.name, timeout=budget, operation="pull from"
            )
        except MindgitError:
            return  # cannot tell: the pull that follows says what is wrong with the peer
        if FITNESS_PREFIX + fitness in offered:
            return
    error = UnknownFitness(fitness)
    if named:
        # "b2 nor beta offers none either" was the hint for two peers.
        who = (
            f"{named[0]} offers none either"
            if len(named) == 1
            else f"neither {', '.join(named[:-1])} nor {named[-1]} offers one"
        )
        error.hint = f"{who}; nothing was changed; `mindgit fitness list` shows the stored ones"
    raise error
