"""as_commit, and the readers that must refuse a non-commit with their own error, not a crash.

A tag is never followed: each caller below once tested ``isinstance(obj, pygit2.Commit)``, which a
tag fails, so a tag pointing at a perfectly good commit is still refused.
"""

from __future__ import annotations

import pygit2
import pytest

from mindgit.identity.rotation import BadRotation
from mindgit.store.generation import RunFormatError, read_generation_commit
from mindgit.store.objects import as_commit
from mindgit.store.repository import Store
from mindgit.store.rotations import read_announcement, rotate_key


def tag(repo: pygit2.Repository, name: str, target: str) -> str:
    """An annotated tag object pointing at the commit ``target``."""
    who = pygit2.Signature("mindgit-test", "test@mindgit.invalid", 1700000000, 0)
    return str(repo.create_tag(name, target, pygit2.enums.ObjectType.COMMIT, who, name))


def test_a_commit_is_returned_as_itself(store: Store) -> None:
    head = store.head()
    commit = as_commit(store.repo[head])
    assert commit is not None and str(commit.id) == head
    assert commit.tree_id == store.repo[head].peel(pygit2.Commit).tree_id


def test_trees_blobs_tags_and_absence_are_not_commits(store: Store) -> None:
    repo = store.repo
    head = repo[store.head()].peel(pygit2.Commit)
    assert as_commit(head.tree) is None
    assert as_commit(repo[repo.create_blob(b"x")]) is None
    assert as_commit(repo[tag(repo, "t", str(head.id))]) is None
    assert as_commit(repo.get("0" * 40)) is None


@pytest.mark.parametrize("kind", ["tree", "blob", "tag"])
def test_a_generation_read_refuses_what_is_not_a_commit(store: Store, kind: str) -> None:
    repo = store.repo
    head = repo[store.head()].peel(pygit2.Commit)
    oid = {
        "tree": lambda: str(head.tree_id),
        "blob": lambda: str(repo.create_blob(b"x")),
        "tag": lambda: tag(repo, "t", str(head.id)),
    }[kind]()
    with pytest.raises(RunFormatError, match="is not a commit"):
        read_generation_commit(repo, oid)


def test_an_announcement_read_refuses_a_tree_and_a_tag_of_a_real_announcement(
    store: Store,
) -> None:
    rotation = rotate_key(store)
    assert read_announcement(store, rotation.commit).new == rotation.new
    announcement = store.repo[rotation.commit].peel(pygit2.Commit)
    for oid in (str(announcement.tree_id), tag(store.repo, "t", rotation.commit)):
        with pytest.raises(BadRotation, match="not a commit in this store"):
            read_announcement(store, oid)
