"""Private thoughts in real stores: sealing to trusted nodes, revealing, sharing, bad input."""

from __future__ import annotations

import dataclasses
import subprocess

import pygit2
import pytest

from mindgit.identity.keys import MalformedKey, NodeKey
from mindgit.identity.seal import AlreadyRecipient, IntegrityError, NotARecipient, Recipient
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID
from mindgit.store.private import (
    NotSealed,
    RetiredRecipient,
    UnknownRecipient,
    UntrustedRecipient,
    reveal,
    share,
    think_private,
)
from mindgit.store.repository import Store, UnknownThought
from mindgit.store.sealed import decode_envelope, encode_envelope
from mindgit.store.state import SchemaError
from mindgit.store.verify import verify_commits
from tests.conftest import fsck, git
from tests.private.conftest import Nodes, fetch

SECRET = "the key is under the third stone"


def commit_message(store: Store, oid: str) -> str:
    commit = store.repo[oid].peel(pygit2.Commit)
    return str(commit.message)


def test_a_single_tag_given_as_a_str_is_one_tag(nodes: Nodes) -> None:
    """`tags="idea"` was read as the tags 'a', 'd', 'e' and 'i', in think and think_private."""
    (alpha,) = nodes("alpha")

    def tags(cid: CID) -> object:
        node = dagjson.decode(alpha.thought(cid))
        assert isinstance(node, dict)
        return node["tags"]

    _, plain = alpha.think("a note", tags="idea")
    assert tags(plain) == ["idea"]
    _, sealed = think_private(alpha, "a secret", tags="idea")
    assert reveal(alpha, sealed)["tags"] == ["idea"]
    _, both = alpha.think("another", tags=["b", "a"])
    assert tags(both) == ["a", "b"]


def test_think_private_seals_to_the_named_nodes_and_the_sender(nodes: Nodes) -> None:
    alpha, beta, gamma = nodes("alpha", "beta", "gamma")
    commit, cid = think_private(alpha, SECRET, ["stones"], ["beta"])
    envelope = decode_envelope(alpha.thought(cid))
    assert set(envelope.keys) == {alpha.public_key, beta.public_key}
    assert alpha.state().thoughts == {cid}
    assert reveal(alpha, cid) == {"tags": ["stones"], "text": SECRET, "type": "note"}
    message = commit_message(alpha, commit.id)
    assert message.splitlines()[0] == f"think: private thought {cid}"
    assert SECRET not in message and "stones" not in message
    fetch(beta, alpha, "main:refs/remotes/alpha/main")
    fetch(gamma, alpha, "main:refs/remotes/alpha/main")
    assert reveal(beta, cid, "refs/remotes/alpha/main")["text"] == SECRET
    with pytest.raises(NotARecipient) as info:
        reveal(gamma, cid, "refs/remotes/alpha/main")
    assert SECRET not in str(info.value)


def test_one_recipient_given_as_a_str_is_one_node(nodes: Nodes) -> None:
    # to="beta" was iterated as the nodes 'b', 'e', 't', 'a': "no trusted node named 'b'", or a
    # thought sealed to whichever one-letter nodes this node trusts.
    alpha, beta = nodes("alpha", "beta")
    _, cid = think_private(alpha, SECRET, to="beta")
    assert set(decode_envelope(alpha.thought(cid)).keys) == {alpha.public_key, beta.public_key}
    _, cid = think_private(alpha, SECRET, to=beta.public_key.did)
    assert set(decode_envelope(alpha.thought(cid)).keys) == {alpha.public_key, beta.public_key}


def test_private_commits_verify_with_mindgit_and_stock_git(nodes: Nodes) -> None:
    alpha, _beta = nodes("alpha", "beta")
    think_private(alpha, SECRET, (), ["beta"])
    alpha.think("a public thought")
    report = verify_commits(alpha.repo, alpha.trust, [alpha.head()])
    assert report.ok, report.problems
    fsck(alpha.path)
    out = git("--git-dir", str(alpha.path), "log", "--format=%G?", "main")
    assert out.split() == ["G", "G", "G"]


def test_recipients_by_did_and_self_only(nodes: Nodes) -> None:
    alpha, beta = nodes("alpha", "beta")
    _, cid = think_private(alpha, "to beta by did", (), [beta.public_key.did, "alpha"])
    assert set(decode_envelope(alpha.thought(cid)).keys) == {alpha.public_key, beta.public_key}
    _, mine = think_private(alpha, "only for me")
    assert decode_envelope(alpha.thought(mine)).keys == (alpha.public_key,)


def test_same_text_twice_gives_two_thoughts(nodes: Nodes) -> None:
    (alpha,) = nodes("alpha")
    _, one = think_private(alpha, SECRET)
    _, two = think_private(alpha, SECRET)
    assert one != two and alpha.state().thoughts == {one, two}


def test_unknown_recipient_name(nodes: Nodes) -> None:
    alpha, _beta = nodes("alpha", "beta")
    before = alpha.head()
    with pytest.raises(UnknownRecipient, match="'gamma'") as info:
        think_private(alpha, SECRET, (), ["beta", "gamma"])
    assert "trust add" in (info.value.hint or "")
    assert alpha.head() == before


def test_recipient_without_a_trusted_key(nodes: Nodes) -> None:
    alpha, stranger = nodes("alpha", "stranger", trust=False)
    before = alpha.head()
    did = stranger.public_key.did
    with pytest.raises(UntrustedRecipient) as info:
        think_private(alpha, SECRET, (), [did])
    assert info.value.did == did
    assert f"mindgit trust add {did} --name" in (info.value.hint or "")
    with pytest.raises(MalformedKey):
        think_private(alpha, SECRET, (), ["did:key:z6MkNOTAKEY"])
    assert alpha.head() == before


def test_a_retired_key_is_not_a_recipient(nodes: Nodes) -> None:
    alpha, _beta = nodes("alpha", "beta")
    old = NodeKey.from_seed(bytes(32))
    alpha.trust.add(old.public, "beta.retired-1")
    with pytest.raises(RetiredRecipient, match="retired key") as info:
        think_private(alpha, SECRET, (), ["beta.retired-1"])
    assert "--to beta" in (info.value.hint or "")
    with pytest.raises(RetiredRecipient):
        think_private(alpha, SECRET, (), [old.public.did])


def test_bad_tags_are_refused_without_quoting_them(nodes: Nodes) -> None:
    (alpha,) = nodes("alpha")
    with pytest.raises(SchemaError) as info:
        think_private(alpha, SECRET, [" secret-tag "])
    assert "secret-tag" not in str(info.value)
    with pytest.raises(SchemaError, match="non-empty"):
        think_private(alpha, "   ")


def test_a_thought_too_large_once_sealed_is_refused(nodes: Nodes) -> None:
    (alpha,) = nodes("alpha")
    # Fits as a plain note (1 MiB), but not once sealed and base64-encoded.
    with pytest.raises(SchemaError, match="sealed, it is"):
        think_private(alpha, "x" * 900_000)


def test_reveal_refuses_public_and_absent_thoughts(nodes: Nodes) -> None:
    (alpha,) = nodes("alpha")
    _, public = alpha.think("out in the open")
    with pytest.raises(NotSealed):
        reveal(alpha, public)
    with pytest.raises(UnknownThought):
        reveal(alpha, CID.of(b"{}"))


def _replace_envelope(store: Store, cid: CID, data: bytes) -> CID:
    """Commit (signed, schema-valid) an altered envelope in place of ``cid``."""
    new = CID.of(data)
    store.update(lambda s: (s.with_thoughts((s.thoughts - {cid}) | {new}), {new: data}), "tamper")
    return new


def test_tampered_ciphertext_in_a_store(nodes: Nodes) -> None:
    alpha, _beta = nodes("alpha", "beta")
    _, cid = think_private(alpha, SECRET, (), ["beta"])
    sealed = decode_envelope(alpha.thought(cid))
    box = bytes([sealed.box[0] ^ 1]) + sealed.box[1:]
    bad = _replace_envelope(alpha, cid, encode_envelope(dataclasses.replace(sealed, box=box)).data)
    with pytest.raises(IntegrityError) as info:
        reveal(alpha, bad)
    assert str(info.value).startswith("cannot decrypt: integrity check failed")
    assert SECRET not in str(info.value)


def test_tampered_wrapped_key_in_a_store(nodes: Nodes) -> None:
    alpha, _beta = nodes("alpha", "beta")
    _, cid = think_private(alpha, SECRET, (), ["beta"])
    sealed = decode_envelope(alpha.thought(cid))
    entries = [
        Recipient(r.key, r.wrapped[:-1] + bytes([r.wrapped[-1] ^ 1]))
        if r.key == alpha.public_key
        else r
        for r in sealed.recipients
    ]
    data = encode_envelope(dataclasses.replace(sealed, recipients=tuple(entries))).data
    bad = _replace_envelope(alpha, cid, data)
    with pytest.raises(IntegrityError, match=r"^cannot decrypt: integrity check failed"):
        reveal(alpha, bad)


def test_a_sealed_non_note_is_refused_without_quoting_it(nodes: Nodes) -> None:
    from mindgit.identity.seal import seal

    (alpha,) = nodes("alpha")
    plaintext = dagjson.encode({"text": "hidden words", "type": "note"})  # no tags
    data = encode_envelope(seal(plaintext, [alpha.public_key])).data
    cid = CID.of(data)
    alpha.update(lambda s: (s.with_thoughts(s.thoughts | {cid}), {cid: data}), "odd")
    with pytest.raises(SchemaError, match="not a canonical note block") as info:
        reveal(alpha, cid)
    assert "hidden words" not in str(info.value)


def test_share_adds_one_recipient_and_records_consent(nodes: Nodes) -> None:
    alpha, beta, delta = nodes("alpha", "beta", "delta")
    _, cid = think_private(alpha, SECRET, ["stones"], ["beta"])
    commit, new = share(alpha, cid, "delta")
    old_env = decode_envelope(alpha.thought(cid, "main~1"))
    new_env = decode_envelope(alpha.thought(new))
    assert (new_env.nonce, new_env.box) == (old_env.nonce, old_env.box)
    assert set(new_env.keys) == {alpha.public_key, beta.public_key, delta.public_key}
    assert alpha.state().thoughts == {new}
    message = commit_message(alpha, commit.id)
    assert message.splitlines()[0] == f"share: {cid} with delta"
    assert f"Mindgit-Shared-With: {delta.public_key.did}" in message
    assert SECRET not in message
    fetch(delta, alpha, "main:refs/remotes/alpha/main")
    assert reveal(delta, new, "refs/remotes/alpha/main")["tags"] == ["stones"]
    assert verify_commits(alpha.repo, alpha.trust, [alpha.head()]).ok


def test_a_recipient_on_another_node_can_share(nodes: Nodes) -> None:
    alpha, beta, delta = nodes("alpha", "beta", "delta")
    _, cid = think_private(alpha, SECRET, (), ["beta"])
    fetch(beta, alpha, "main:refs/heads/from-alpha")
    _, new = share(beta, cid, "delta", experiment="from-alpha")
    fetch(delta, beta, "from-alpha:refs/remotes/beta/from-alpha")
    assert reveal(delta, new, "refs/remotes/beta/from-alpha")["text"] == SECRET


def test_share_by_a_non_recipient_is_refused(nodes: Nodes) -> None:
    alpha, _beta, gamma, _delta = nodes("alpha", "beta", "gamma", "delta")
    _, cid = think_private(alpha, SECRET, (), ["beta"])
    fetch(gamma, alpha, "main:refs/heads/from-alpha")
    before = gamma.head("from-alpha")
    with pytest.raises(NotARecipient):
        share(gamma, cid, "delta", experiment="from-alpha")
    assert gamma.head("from-alpha") == before


def test_share_bad_input(nodes: Nodes) -> None:
    alpha, _beta = nodes("alpha", "beta")
    _, cid = think_private(alpha, SECRET, (), ["beta"])
    _, public = alpha.think("public")
    with pytest.raises(AlreadyRecipient):
        share(alpha, cid, "beta")
    with pytest.raises(UnknownRecipient):
        share(alpha, cid, "nobody")
    with pytest.raises(NotSealed):
        share(alpha, public, "beta")
    with pytest.raises(UnknownThought):
        share(alpha, CID.of(b"{}"), "beta")


def test_fitness_and_merge_see_an_opaque_block(nodes: Nodes) -> None:
    # A state with a private thought is an ordinary state: its manifest links the envelope,
    # and the blob under thoughts/ is the envelope itself (no plaintext for any layer to read).
    (alpha,) = nodes("alpha")
    _, cid = think_private(alpha, SECRET)
    snap = alpha.snapshot()
    assert snap.state.thoughts == {cid}
    listing = git("--git-dir", str(alpha.path), "ls-tree", "-r", "--name-only", "main")
    assert listing.split() == ["manifest.json", f"thoughts/{cid}"]
    blob = subprocess.run(
        ["git", "--git-dir", str(alpha.path), "cat-file", "blob", f"main:thoughts/{cid}"],
        capture_output=True,
        check=True,
    ).stdout
    assert CID.of(blob) == cid and b'"type":"sealed"' in blob
