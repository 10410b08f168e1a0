"""same_tree and read_chain when an id names something other than a commit (tags are not followed)."""

from __future__ import annotations

import pygit2
import pytest

from mindgit.identity.rotation import BadRotation
from mindgit.store.repository import Store
from mindgit.store.rotations import rotate_key
from mindgit.sync.ancestry import same_tree
from mindgit.sync.keychains import read_chain
from tests.store.test_objects import tag


def test_same_tree_holds_only_between_commits(store: Store) -> None:
    repo = store.repo
    head = store.head()
    commit = repo[head].peel(pygit2.Commit)
    again = store.write_commit(commit.tree_id, [head], "the same state again")
    assert same_tree(repo, head, again)
    assert not same_tree(repo, head, str(commit.tree_id))
    assert not same_tree(repo, tag(repo, "t", head), again)
    assert not same_tree(repo, head, "0" * 40)


def test_a_key_chain_refuses_a_tip_that_is_not_a_commit(store: Store) -> None:
    rotation = rotate_key(store)
    assert read_chain(store, rotation.commit).commits == (rotation.commit,)
    tree = str(store.repo[rotation.commit].peel(pygit2.Commit).tree_id)
    for tip in (tree, tag(store.repo, "t", rotation.commit), "0" * 40):
        with pytest.raises(BadRotation, match="not a commit in this store"):
            read_chain(store, tip)
