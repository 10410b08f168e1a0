"""Trusting a node in a store: the trust file's own rule, and what its conflicts mean here.

``TrustStore.add`` knows the trust file only. A conflict there is told here in the store's
terms: a key this node rotated away from (its retired keys go with a removed name), or this
node's own key (which ``trust remove`` refuses), where the trust file's hint said to remove and
add again.
"""

from __future__ import annotations

from mindgit.errors import MindgitError
from mindgit.identity.keys import PublicKey
from mindgit.identity.rotation import retired_from
from mindgit.identity.trust import TrustConflict, TrustedNode
from mindgit.store.repository import Store


def trust_node(store: Store, key: PublicKey, name: str) -> TrustedNode:
    """Trust ``key`` as ``name`` in ``store``; a :class:`TrustConflict` hints what to do here."""
    try:
        return store.trust.add(key, name)
    except TrustConflict as e:
        _retired_keys_hint(store, e)
        _own_key_hint(store, e)  # this node's own: said last, it is what the user must know
        raise


def _retired_keys_hint(store: Store, error: TrustConflict) -> None:
    """A key trusted under another name, whose node rotated keys before: the hint was to rename
    it by `trust remove` and `trust add`, but the removal takes its retired keys with it, for
    good (a peer's rotation never brings back a key removed on purpose), and the history they
    signed stopped verifying."""
    name = error.existing.name
    if error.existing.name == error.name or error.existing.heads is not None:
        return
    retired = [n.name for n in store.trust.nodes() if retired_from(n.name, name)]
    if not retired:
        return
    error.hint = (
        f"keep the name {name}: removing it also stops trusting the keys it rotated away from "
        f"({', '.join(retired)}), and the history they signed stops verifying"
    )


def _own_key_hint(store: Store, error: TrustConflict) -> None:
    """A conflict with this node's own key: the hint said to `trust remove` it, which is
    refused (TrustOwnKey), so the command it gave failed in turn."""
    try:
        own = store.public_key
    except MindgitError:
        return  # a key file that cannot be read: the conflict is still the error to report
    if error.existing.key != own:
        return
    if error.existing.name == error.name:
        error.hint = f"{error.name} is this node's own name: choose another name"
    else:
        error.hint = f"it is this node's own key, which it trusts as {error.existing.name} already"
