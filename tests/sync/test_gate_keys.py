"""The gate holds a pushed key chain to what a pull requires of it, so that no pusher can leave
a server a refs/keys/* that makes every later pull from it refuse."""

from __future__ import annotations

import pygit2

from mindgit.identity.keys import NodeKey
from mindgit.identity.rotation import RotationRecord, prove
from mindgit.store import layout
from mindgit.store.repository import Store
from mindgit.store.retired import RECORD_FILE
from mindgit.store.rotations import ANNOUNCE_REF, PROOF_FILE, rotate_key
from mindgit.sync.gate import check_update
from mindgit.sync.refspace import key_chain_ref
from tests.sync import forge


def _announcement(
    store: Store, record: RotationRecord, new: NodeKey, signer: NodeKey, parents: list[str]
) -> str:
    tb = store.repo.TreeBuilder()
    tb.insert(RECORD_FILE, store.repo.create_blob(record.to_bytes()), layout.BLOB)
    tb.insert(PROOF_FILE, store.repo.create_blob(prove(record, new).encode()), layout.BLOB)
    return forge.commit_tree(store.repo, tb.write(), parents, "keys: rotate", signer)


def test_a_chain_under_another_roots_name_is_refused(store: Store) -> None:
    root = store.public_key.did
    tip = rotate_key(store).commit
    assert check_update(store.repo, store.trust, key_chain_ref(root), None, tip) == []
    other = key_chain_ref(NodeKey.generate().public.did)
    problems = check_update(store.repo, store.trust, other, None, tip)
    assert problems and "holds the key chain of" in problems[0].reason


def test_a_chain_that_does_not_follow_its_keys_is_refused(store: Store) -> None:
    old = store.key
    root = store.public_key.did
    tip = rotate_key(store).commit
    # The retired key announces a second successor on top of its first: each announcement is
    # signed by its old key, but the chain no longer follows one key to the next.
    other = NodeKey.generate()
    record = RotationRecord(old.public, other.public, store.name, ())
    forged = _announcement(store, record, other, old, [tip])
    for ref in (key_chain_ref(root), ANNOUNCE_REF):
        problems = check_update(store.repo, store.trust, ref, tip, forged)
        # A retired key's signature counts only on the rotation to a trusted key...
        assert problems and "only the rotation that retired it counts" in problems[0].reason
    store.trust.add(other.public, "other")
    for ref in (key_chain_ref(root), ANNOUNCE_REF):
        # ...and a second rotation to a key trusted otherwise still breaks the chain.
        problems = check_update(store.repo, store.trust, ref, tip, forged)
        assert problems and "the chain moved to" in problems[0].reason


def test_a_chain_with_a_merge_is_refused(store: Store) -> None:
    old = store.key
    root = store.public_key.did
    tip = rotate_key(store).commit
    new = store.key
    third = NodeKey.generate()
    record = RotationRecord(new.public, third.public, store.name, ())
    side = _announcement(store, record, third, new, [tip])
    merged = _announcement(store, record, third, new, [tip, side])
    problems = check_update(store.repo, store.trust, key_chain_ref(root), tip, merged)
    assert problems and "no merges" in problems[0].reason
    assert pygit2.Oid(hex=side) in store.repo.odb and old.public != new.public
