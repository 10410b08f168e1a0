"""Small questions about commits that pull and push both ask."""

from __future__ import annotations

import pygit2

from mindgit.store.objects import as_commit
from mindgit.store.repository import Store


def exists(repo: pygit2.Repository, oid: str) -> bool:
    """Whether the object is in this store."""
    try:
        return pygit2.Oid(hex=oid) in repo.odb
    except ValueError:
        return False


def descends(repo: pygit2.Repository, new: str, old: str) -> bool:
    """Whether ``new`` is ``old`` or has it in its history (a fast-forward from ``old``)."""
    return new == old or bool(repo.descendant_of(new, old))


def same_tree(repo: pygit2.Repository, a: str, b: str) -> bool:
    """Whether two commits hold the same tree: the same state, run generation or module."""
    ca, cb = as_commit(repo.get(a)), as_commit(repo.get(b))
    return ca is not None and cb is not None and ca.tree_id == cb.tree_id


def reflog_identity(store: Store) -> str:
    """Who moved a ref, for the reflog: this node's name and did:key."""
    return f"{store.name} <{store.public_key.did}>"
