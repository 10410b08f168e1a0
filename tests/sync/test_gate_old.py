"""A hook's "old" values are the pusher's word: history below one counts as accepted only when
it is the ref's value in the repository being guarded."""

from __future__ import annotations

import pygit2

from mindgit.store.repository import Store
from mindgit.sync.gate import RefUpdate, check_updates


def unsigned_child(store: Store) -> str:
    head = store.repo[store.head()].peel(pygit2.Commit)
    who = pygit2.Signature("mallory", "m@example.invalid", 1_700_000_000, 0)
    oid = store.repo.create_commit(None, who, who, "unsigned", head.tree_id, [head.id])
    return str(oid)


def test_an_old_value_that_is_not_the_ref_hides_nothing(store: Store) -> None:
    bad = unsigned_child(store)
    updates = [
        # The push claims main is at the unsigned commit already, and smuggles it in elsewhere.
        RefUpdate("refs/heads/main", bad, store.head()),
        RefUpdate("refs/heads/smuggled", None, bad),
    ]
    problems = check_updates(store.repo, store.trust, updates)
    assert [(p.commit, p.reason) for p in problems if p.commit == bad] == [(bad, "unsigned commit")]
