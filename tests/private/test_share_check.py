"""A commit labelled a share is checked against its parent: one envelope, the same message, the
old recipients plus exactly the named node, nothing else changed (mindgit.store.share_check)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import pytest

from mindgit.identity.keys import NodeKey
from mindgit.identity.seal import Sealed, add_recipient, seal
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID
from mindgit.store.genome import Gene
from mindgit.store.private import node_keys, share, think_private
from mindgit.store.repository import Store
from mindgit.store.sealed import decode_envelope, encode_envelope
from mindgit.store.state import State
from mindgit.store.verify import verify_commits
from tests.conftest import Mg
from tests.private.conftest import Nodes

SECRET = "the key is under the third stone"
Change = Callable[[State], tuple[State, Mapping[CID, bytes]]]


def problems(store: Store) -> list[str]:
    report = verify_commits(store.repo, store.trust, [store.head()])
    return [p.reason for p in report.problems]


def fake_share(store: Store, old: CID, sealed: Sealed, did: str, **extra: str) -> CID:
    """A commit labelled as `share` writes it, replacing ``old`` with ``sealed``."""
    block = encode_envelope(sealed)

    def change(state: State) -> tuple[State, Mapping[CID, bytes]]:
        return state.with_thoughts((state.thoughts - {old}) | {block.cid}), {block.cid: block.data}

    store.update(
        change,
        f"share: {old} with someone",
        trailers={"Mindgit-Shared-With": did, "Mindgit-Envelope": str(block.cid), **extra},
    )
    return block.cid


@pytest.fixture
def shared(nodes: Nodes) -> tuple[Store, Store, Store, CID, Sealed]:
    alpha, beta, delta = nodes("alpha", "beta", "delta")
    _, cid = think_private(alpha, SECRET, ["stones"], ["beta"])
    return alpha, beta, delta, cid, decode_envelope(alpha.thought(cid))


def test_a_real_share_verifies(shared: tuple[Store, Store, Store, CID, Sealed]) -> None:
    alpha, _, _, cid, _ = shared
    share(alpha, cid, "delta")
    assert problems(alpha) == []


def test_other_text_under_the_same_key_is_refused(
    shared: tuple[Store, Store, Store, CID, Sealed],
) -> None:
    alpha, beta, delta, cid, _ = shared
    # A recipient re-seals other words to the same recipients plus delta, and calls it a share.
    other = dagjson.encode({"tags": ["stones"], "text": "the key is in the well", "type": "note"})
    forged = seal(other, [alpha.public_key, beta.public_key, delta.public_key])
    fake_share(alpha, cid, forged, delta.public_key.did)
    assert problems(alpha) == [
        f"the thought shared as {encode_envelope(forged).cid} is not the message of {cid}"
    ]


def test_a_share_that_drops_or_adds_more_recipients_is_refused(
    shared: tuple[Store, Store, Store, CID, Sealed],
) -> None:
    alpha, beta, delta, cid, old = shared
    with_delta = add_recipient(old, node_keys(alpha), delta.public_key)
    no_beta = dataclasses.replace(
        with_delta, recipients=tuple(r for r in with_delta.recipients if r.key != beta.public_key)
    )
    fake_share(alpha, cid, no_beta, delta.public_key.did)
    assert problems(alpha) == [f"the share of {cid} changes its recipients beyond adding one"]


def test_a_share_naming_another_node_is_refused(
    shared: tuple[Store, Store, Store, CID, Sealed],
) -> None:
    alpha, _, delta, cid, old = shared
    with_delta = add_recipient(old, node_keys(alpha), delta.public_key)
    someone = NodeKey.generate().public
    fake_share(alpha, cid, with_delta, someone.did)
    assert problems(alpha) == [f"the share of {cid} adds a recipient other than {someone.did}"]


def test_a_share_that_changes_a_gene_is_refused(
    shared: tuple[Store, Store, Store, CID, Sealed],
) -> None:
    alpha, _, delta, cid, old = shared
    with_delta = encode_envelope(add_recipient(old, node_keys(alpha), delta.public_key))

    def change(state: State) -> tuple[State, Mapping[CID, bytes]]:
        state = state.with_genome(state.genome.with_genes(Gene.make("x", "float", 1.0)))
        return (
            state.with_thoughts((state.thoughts - {cid}) | {with_delta.cid}),
            {with_delta.cid: with_delta.data},
        )

    alpha.update(
        change,
        "share",
        trailers={
            "Mindgit-Shared-With": delta.public_key.did,
            "Mindgit-Envelope": str(with_delta.cid),
        },
    )
    assert problems(alpha) == ["a share commit changes nothing but the shared thought"]


@pytest.mark.parametrize(
    ("trailers", "reason"),
    [
        (
            {"Mindgit-Shared-With": "not-a-did"},
            "Mindgit-Shared-With a text of 9 characters (not shown: it may be a private key) is"
            " not a did:key",
        ),
        (
            {"Mindgit-Envelope": "bafkqaaa"},
            "Mindgit-Envelope says bafkqaaa but the new envelope is",
        ),
    ],
)
def test_bad_trailers_are_refused(
    shared: tuple[Store, Store, Store, CID, Sealed], trailers: dict[str, str], reason: str
) -> None:
    alpha, _, delta, cid, old = shared
    with_delta = add_recipient(old, node_keys(alpha), delta.public_key)
    fake_share(alpha, cid, with_delta, delta.public_key.did, **trailers)
    (found,) = problems(alpha)
    assert found.startswith(reason)


def test_a_long_envelope_trailer_is_quoted_cut_short(
    shared: tuple[Store, Store, Store, CID, Sealed], mg: Mg
) -> None:
    alpha, _, delta, cid, old = shared
    with_delta = add_recipient(old, node_keys(alpha), delta.public_key)
    new = fake_share(
        alpha, cid, with_delta, delta.public_key.did, **{"Mindgit-Envelope": "b" * 200_000}
    )
    (found,) = problems(alpha)
    assert (
        found
        == f"Mindgit-Envelope says {'b' * 80!r}... (200000 characters) but the new envelope is {new}"
    )
    r = mg("--store", str(alpha.path), "verify")
    assert r.code == 1 and len(r.out + r.err) < 1000


def test_a_share_label_on_a_plain_commit_is_refused(nodes: Nodes, mg: Mg) -> None:
    (alpha,) = nodes("alpha")
    alpha.update(
        lambda s: (s.with_genome(s.genome.with_genes(Gene.make("x", "float", 2.0))), {}),
        "share: nothing",
        trailers={"Mindgit-Shared-With": alpha.public_key.did},
    )
    assert problems(alpha) == ["a share commit replaces exactly one thought"]
    r = mg("--store", str(alpha.path), "verify")
    assert r.code == 1 and "a share commit replaces exactly one thought" in r.out + r.err
