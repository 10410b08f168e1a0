"""import-af run again keeps an experiment as the agent imported already only if this node's
own import made it: a root commit whose trailers say so is no proof by itself."""

from __future__ import annotations

import pytest

from mindgit.adapters.agentfile import import_af
from mindgit.errors import MindgitError
from mindgit.store.repository import Store, init_store
from tests.adapters.test_agentfile_resume import EVIE, cut_short
from tests.conftest import git
from tests.snapshots import snapshot


def _refused_untouched(store: Store, name: str) -> None:
    before = snapshot(store.path)
    with pytest.raises(MindgitError, match=f"experiment '{name}' already exists"):
        import_af(store, EVIE)
    assert snapshot(store.path) == before


def test_an_unsigned_commit_claiming_the_state_is_not_the_agent(store: Store) -> None:
    """A root commit written with git, carrying the import's trailers (its message copied) over
    another tree: it was kept and reported as the agent imported, state CID and all."""
    first, _ = cut_short(store)
    at = "--git-dir", str(store.path)
    message = git(*at, "log", "-1", "--format=%B", first)
    tree = git(*at, "rev-parse", "main^{tree}").strip()
    forged = git(*at, "commit-tree", tree, input=message.encode()).strip()
    git(*at, "update-ref", f"refs/heads/{first}", forged)
    _refused_untouched(store, first)


def test_an_unsigned_copy_of_the_very_commit_is_not_the_agent(store: Store) -> None:
    """The same tree and message, no signature: it reads as the agent, yet no trusted node made
    it, and `verify` fails on it; import-af must not report it as this node's import."""
    first, _ = cut_short(store)
    at = "--git-dir", str(store.path)
    message = git(*at, "log", "-1", "--format=%B", first)
    tree = git(*at, "rev-parse", f"{first}^{{tree}}").strip()
    copy = git(*at, "commit-tree", tree, input=message.encode()).strip()
    git(*at, "update-ref", f"refs/heads/{first}", copy)
    _refused_untouched(store, first)


def test_another_nodes_import_pulled_here_is_not_finished_as_ours(store: Store) -> None:
    """A trusted peer imported the same file; its first agent's experiment reached this store
    (a pull), not its second's. That experiment is the peer's, signed by the peer: this node
    made no import to finish, so the name is taken, as before."""
    peer = init_store(store.path.parent / "beta", "beta")
    made = import_af(peer, EVIE)
    first = made[0].experiment
    store.trust.add(peer.public_key, "beta")
    at = "--git-dir", str(store.path)
    git(*at, "fetch", "-q", str(peer.path), f"refs/heads/{first}:refs/heads/{first}")
    assert store.verify(all_refs=True).ok  # a good commit, of a trusted node
    _refused_untouched(store, first)
