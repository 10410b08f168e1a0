"""An attacker's review of private thoughts: what a peer's hostile envelope, a relay or a
careless user can make mindgit do. Each test here failed before the fix it names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pygit2
import pytest

from mindgit.identity.keys import MalformedKey, NodeKey, PublicKey
from mindgit.identity.seal import seal
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID, CIDMismatch
from mindgit.store.objects import as_commit
from mindgit.store.private import resolve_recipients, reveal, seal_note, share, think_private
from mindgit.store.repository import Store
from mindgit.store.sealed import check_sealed, decode_envelope, encode_envelope, envelope_node
from mindgit.store.state import (
    MAX_THOUGHT_BYTES,
    Block,
    SchemaError,
    State,
    check_thought,
    make_thought,
)
from mindgit.store.verify import verify_commits
from tests.conftest import Mg
from tests.private.conftest import Nodes, fetch

CANARY = "a public canary thought 31c4be"


def _envelope(store: Store, to: list[str]) -> dict[str, Any]:
    node = dagjson.decode(seal_note("x", (), resolve_recipients(store, to)).data)
    assert isinstance(node, dict)
    return node


def _commit_raw(store: Store, node: dict[str, Any]) -> CID:
    """Commit an envelope as a peer's own mindgit would not write it (signed, so only its
    content is wrong)."""
    block = Block.encode(node)

    def change(state: State) -> tuple[State, Mapping[CID, bytes]]:
        return state.with_thoughts(state.thoughts | {block.cid}), {block.cid: block.data}

    store.update(change, f"think: private thought {block.cid}")
    return block.cid


def test_a_did_far_too_long_to_be_a_key_is_refused_unparsed(nodes: Nodes) -> None:
    # base58 decoding is quadratic: one "did" of 900,000 characters in a peer's envelope held
    # verify, show, pull and a server's hook for minutes (20,000 here keeps the test quick).
    (alpha,) = nodes("alpha")
    node = _envelope(alpha, [])
    node["recipients"][0]["key"] = "did:key:z6Mk" + "x" * 20_000
    data = dagjson.encode(node)
    with pytest.raises(SchemaError, match=r"recipient 0: 'key' is 20012 characters"):
        check_thought(CID.of(data), data)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cipher", "\x1b]52;c;AAAA\x07" + "x" * 100_000),
        ("v", "y" * 100_000),
        ("z" * 100_000, 1),
        ("type", "w" * 100_000),
    ],
)
def test_a_peers_field_is_quoted_briefly(field: str, value: object) -> None:
    # Each field was quoted whole: a "cipher" of a megabyte made verify print a 1 MB line per
    # commit holding it (7 MB for one store).
    envelope: dict[str, Any] = dict(
        envelope_node(seal(b"x", [NodeKey.from_seed(bytes(32)).public]))
    )
    envelope[field] = value
    with pytest.raises(SchemaError) as caught:
        check_sealed("thought T", envelope)
    assert len(str(caught.value)) < 200, str(caught.value)[:300]


def test_verify_and_show_of_hostile_envelopes_say_it_in_short_lines(nodes: Nodes, mg: Mg) -> None:
    alpha, _beta = nodes("alpha", "beta")
    for field, value in (("cipher", "x" * 200_000), ("v", "y" * 200_000)):
        node = _envelope(alpha, ["beta"])
        node[field] = value
        _commit_raw(alpha, node)
    for args in (("verify",), ("verify", "--json"), ("show",), ("show", "--json")):
        r = mg("--store", str(alpha.path), *args)
        assert r.code != 0 or "show" in args, (args, r.err[:300])
        lines = (r.out + r.err).splitlines()
        assert lines and max(len(line) for line in lines) < 1000, (args, (r.out + r.err)[:300])


def _swapped(nodes: Nodes) -> tuple[Store, CID, str]:
    """beta seals a thought to alpha; mallory, who relays beta's branch, puts an envelope of her
    own (sealed to alpha too) under that thought's name and signs the commit. alpha fetches it
    with plain git. Returns alpha, the thought and the fetched ref."""
    alpha, beta, mallory, _gamma = nodes("alpha", "beta", "mallory", "gamma")
    _, cid = think_private(beta, "meet at noon", (), ["alpha"])
    fetch(mallory, beta, "+refs/heads/main:refs/heads/relay")
    evil = seal_note("wire the money to mallory", (), resolve_recipients(mallory, ["alpha"]))
    repo = mallory.repo
    head = as_commit(repo.revparse_single("relay"))
    assert head is not None
    thoughts = repo.TreeBuilder(head.tree["thoughts"].id)
    thoughts.insert(str(cid), repo.create_blob(evil.data), pygit2.GIT_FILEMODE_BLOB)
    root = repo.TreeBuilder(head.tree)
    root.insert("thoughts", thoughts.write(), pygit2.GIT_FILEMODE_TREE)
    oid = mallory.write_commit(root.write(), [str(head.id)], "relay: tidy up")
    repo.references.create("refs/heads/relay", pygit2.Oid(hex=oid), force=True)
    fetch(alpha, mallory, "+refs/heads/relay:refs/heads/relay")
    return alpha, cid, "refs/heads/relay"


def test_reveal_refuses_an_envelope_held_under_another_thoughts_name(nodes: Nodes) -> None:
    # It returned mallory's text as the thought beta wrote (the CID whose first commit is
    # beta's, which docs/privacy.md says to trust).
    alpha, cid, ref = _swapped(nodes)
    with pytest.raises(CIDMismatch, match=f"does not match its CID {cid}"):
        reveal(alpha, cid, ref)


def test_share_refuses_an_envelope_held_under_another_thoughts_name(nodes: Nodes) -> None:
    # It re-wrapped mallory's envelope for gamma in a commit signed by alpha.
    alpha, cid, ref = _swapped(nodes)
    before = alpha.resolve(ref)
    with pytest.raises(CIDMismatch):
        share(alpha, cid, "gamma", experiment="relay")
    assert alpha.resolve(ref) == before


def test_merge_refuses_a_thought_held_under_another_thoughts_name(nodes: Nodes, mg: Mg) -> None:
    alpha, _cid, ref = _swapped(nodes)
    before = alpha.resolve("main")
    r = mg("--store", str(alpha.path), "merge", ref, "--allow-unrelated")
    assert r.code == 1 and alpha.resolve("main") == before, r.err


def test_a_did_key_far_too_long_is_refused_by_its_length() -> None:
    with pytest.raises(MalformedKey, match=r"characters|too long"):
        PublicKey.parse("did:key:z6Mk" + "x" * 20_000)


def test_a_share_trailer_far_too_long_is_refused_briefly(nodes: Nodes) -> None:
    (alpha,) = nodes("alpha")
    alpha.think("hello")

    def change(state: State) -> tuple[State, Mapping[CID, bytes]]:
        return state.with_thoughts(frozenset()), {}

    commit = alpha.update(
        change,
        "share: x with y",
        trailers={"Mindgit-Shared-With": "did:key:z6Mk" + "x" * 20_000},
    )
    report = verify_commits(alpha.repo, alpha.trust, [commit.id])
    assert [p.commit for p in report.problems] == [commit.id]
    assert len(report.problems[0].reason) < 300


# Bytes in DAG-JSON's form whose text is not ASCII: the decoder raised a bare ValueError.
_NON_ASCII_BYTES = '{"/":{"bytes":"éé"}}'.encode()


def test_a_sealed_block_the_decoder_chokes_on_is_shown_as_damaged(nodes: Nodes, mg: Mg) -> None:
    # Sealed to its recipients by a hostile writer, it made their `show` an internal error
    # (exit 3) that hid every other thought of the state.
    alpha, _beta = nodes("alpha", "beta")
    alpha.think(CANARY)
    cid = _commit_raw(alpha, dict(envelope_node(seal(_NON_ASCII_BYTES, [alpha.public_key]))))
    with pytest.raises(SchemaError, match="not a canonical note block"):
        reveal(alpha, cid)
    shown = mg("--store", str(alpha.path), "show")
    assert shown.code == 0, shown.err
    assert CANARY in shown.out and "not a canonical note block" in shown.out


def test_verify_names_a_thought_the_decoder_chokes_on(nodes: Nodes, mg: Mg) -> None:
    (alpha,) = nodes("alpha")
    data = b'{"box":' + _NON_ASCII_BYTES + b"}"
    cid = CID.of(data)

    def change(state: State) -> tuple[State, Mapping[CID, bytes]]:
        return state.with_thoughts(state.thoughts | {cid}), {cid: data}

    alpha.update(change, "think: a hostile thought")
    r = mg("--store", str(alpha.path), "verify")
    assert r.code == 1 and str(cid) in r.out, (r.code, r.err)


def test_a_share_that_would_take_the_envelope_over_the_limit_is_refused(nodes: Nodes) -> None:
    # A long note sealed to many nodes, just under the 1 MiB limit of a thought: one more
    # wrapped key took it over, in a commit alpha signed and its own verify then refused.
    alpha, _beta = nodes("alpha", "beta")
    others = [NodeKey.from_seed(bytes([i]) * 32).public for i in range(1, 106)]
    note = make_thought("x" * 760_000)
    envelope = encode_envelope(seal(note.data, [alpha.public_key, *others]))
    assert MAX_THOUGHT_BYTES - 180 < len(envelope.data) <= MAX_THOUGHT_BYTES
    cid = _commit_raw(alpha, dict(envelope_node(decode_envelope(envelope.data))))
    assert cid == envelope.cid
    before = alpha.head()
    with pytest.raises(SchemaError, match="over the 1048576-byte limit"):
        share(alpha, cid, "beta")
    assert alpha.head() == before
    assert verify_commits(alpha.repo, alpha.trust, [before]).ok


def test_show_names_a_thought_that_does_not_decode_and_shows_the_rest(nodes: Nodes, mg: Mg) -> None:
    (alpha,) = nodes("alpha")
    alpha.think(CANARY)
    data = b'{"type":"sealed","junk":'
    cid = CID.of(data)

    def change(state: State) -> tuple[State, Mapping[CID, bytes]]:
        return state.with_thoughts(state.thoughts | {cid}), {cid: data}

    alpha.update(change, "think: junk")
    shown = mg("--store", str(alpha.path), "show")
    assert CANARY in shown.out and str(cid) in shown.out + shown.err, (shown.code, shown.err)
