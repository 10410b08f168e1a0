"""Which refs travel between nodes, and where a peer's refs are kept on this node.

Synced (pushed and pulled), the same name on every node::

    refs/heads/<experiment>     experiments
    refs/runs/<run id>          evolution runs, one commit per generation
    refs/fitness/<name>         fitness modules
    refs/keys/<root>            a node's key-rotation announcements; <root> is the did:key
                                (without "did:key:") of the key its first rotation replaced

A node's own announcements live on ``refs/keys/announce`` (``mindgit.store.rotations``); they are
pushed as ``refs/keys/<root>`` so that every node's chain has a name of its own everywhere.

Never synced, and hidden from anyone fetching from this store (``transfer.hideRefs``)::

    refs/quarantine/<peer>/<kind>/<name>   what a pull fetched, until it is verified (in the
                                           pull's quarantine repository, not the store)
    refs/peers/<peer>/<kind>/<name>        the last head seen from each peer (the no-rewind mark)
"""

from __future__ import annotations

import re

from mindgit.errors import MindgitError
from mindgit.identity.keys import DID_PREFIX
from mindgit.store.fitness_store import FITNESS_PREFIX, check_module_name
from mindgit.store.generation import RUNS_PREFIX, check_run_id
from mindgit.store.refs import RefError, check_ref_name
from mindgit.store.repository import HEADS, check_experiment_name
from mindgit.store.rotations import ANNOUNCE_REF

KEYS_PREFIX = "refs/keys/"
QUARANTINE_PREFIX = "refs/quarantine/"
PEERS_PREFIX = "refs/peers/"
SYNCED_PREFIXES = (HEADS, RUNS_PREFIX, FITNESS_PREFIX, KEYS_PREFIX)
# The refs that hold states, runs and modules: what the gate verifies commit by commit.
CONTENT_PREFIXES = (HEADS, RUNS_PREFIX, FITNESS_PREFIX)
HIDDEN_PREFIXES = (QUARANTINE_PREFIX.rstrip("/"), PEERS_PREFIX.rstrip("/"))
_ROOT = re.compile(r"z[1-9A-HJ-NP-Za-km-z]{40,60}")


class BadRefName(MindgitError):
    """A peer offered a ref whose name is not one mindgit syncs."""

    def __init__(self, ref: str, reason: str) -> None:
        super().__init__(f"refused ref {ref!r}: {reason}")
        self.ref = ref
        self.reason = reason


def is_synced(ref: str) -> bool:
    return ref.startswith(SYNCED_PREFIXES)


def check_synced_ref(ref: str) -> str:
    """``ref`` if it is a well-formed name in a synced namespace, else :class:`BadRefName`."""
    try:
        check_ref_name(ref)
    except RefError:
        raise BadRefName(ref, "not a valid ref name") from None
    try:
        if ref.startswith(HEADS):
            # The names this store would make itself: not '-x', and not 'HEAD' either.
            check_experiment_name(ref.removeprefix(HEADS))
        elif ref.startswith(RUNS_PREFIX):
            check_run_id(ref.removeprefix(RUNS_PREFIX))
        elif ref.startswith(FITNESS_PREFIX):
            check_module_name(ref.removeprefix(FITNESS_PREFIX))
        elif ref.startswith(KEYS_PREFIX):
            tail = ref.removeprefix(KEYS_PREFIX)
            if ref != ANNOUNCE_REF and not _ROOT.fullmatch(tail):
                raise BadRefName(ref, "a key chain is refs/keys/<did:key without 'did:key:'>")
        else:
            raise BadRefName(ref, "not an experiment, run, fitness module or key chain")
    except BadRefName:
        raise
    except MindgitError as e:
        raise BadRefName(ref, str(e)) from None
    return ref


def key_chain_ref(root_did: str) -> str:
    """The synced name of the key chain that started by replacing ``root_did``."""
    return KEYS_PREFIX + root_did.removeprefix(DID_PREFIX)


def quarantine_prefix(peer: str) -> str:
    return f"{QUARANTINE_PREFIX}{peer}/"


def seen_prefix(peer: str) -> str:
    return f"{PEERS_PREFIX}{peer}/"


def quarantine_ref(peer: str, ref: str) -> str:
    """Where a pull parks the peer's ``ref`` until it is verified."""
    return quarantine_prefix(peer) + ref.removeprefix("refs/")


def seen_ref(peer: str, ref: str) -> str:
    """Where the last head of ``ref`` seen from ``peer`` is kept."""
    return seen_prefix(peer) + ref.removeprefix("refs/")


def synced_name(prefix: str, ref: str) -> str:
    """The synced ref name of a quarantine or seen ref under ``prefix``."""
    return "refs/" + ref.removeprefix(prefix)


def fetch_refspecs(peer: str) -> list[str]:
    """Every synced namespace of the peer, into this node's quarantine for it."""
    q = quarantine_prefix(peer)
    return [f"+{p}*:{q}{p.removeprefix('refs/')}*" for p in SYNCED_PREFIXES]
