"""Padding: a sealed thought's size tells its length only to within a bucket, never to the byte."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import nacl.secret
import nacl.utils
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.identity.keys import NodeKey
from mindgit.identity.seal import (
    MAC_BYTES,
    PAD_MIN,
    IntegrityError,
    MalformedSealed,
    Sealed,
    _commitment,
    _wrap,
    add_recipient,
    open_sealed,
    padded_size,
    seal,
)
from mindgit.ipld.cid import CID
from mindgit.store.layout import read_thought
from mindgit.store.private import reveal, share, think_private
from mindgit.store.repository import init_store
from mindgit.store.sealed import decode_envelope, encode_envelope
from mindgit.store.state import SchemaError, check_thought
from tests.private.conftest import Nodes, fetch

KEYS = [NodeKey.from_seed(bytes([i]) * 32) for i in range(1, 5)]
FIXTURES = Path(__file__).parent / "fixtures"
# Written by the envelope-1 code (before padding), sealed to KEYS[0] and KEYS[1].
V1 = FIXTURES / "baguqeeraapsouj6x3r7epymj4x7n4csspxss6zs5bfa6wr6c4ttjwutifaxq.dag-json"


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=1 << 24))
def test_padded_size_is_a_bucket_at_most_an_eighth_bigger(n: int) -> None:
    size = padded_size(n)
    assert size >= max(n + 1, PAD_MIN)
    assert padded_size(size - 1) == size  # a bucket's own size stays in the bucket
    assert padded_size(n + 1) >= size  # and buckets only grow
    if n >= PAD_MIN:
        assert size <= (n + 1) * 1.125


def test_every_short_text_seals_to_one_size() -> None:
    sizes = {len(seal(b"x" * n, [KEYS[0].public]).box) for n in range(PAD_MIN)}
    assert sizes == {PAD_MIN + MAC_BYTES}


def test_longer_texts_share_few_sizes() -> None:
    lengths = range(PAD_MIN, 70_000, 7)
    sizes = {padded_size(n) for n in lengths}
    # ~10,000 lengths, ~130 sizes: a size names a range of lengths, not one.
    assert len(sizes) < 150
    sealed = seal(b"y" * 5000, [KEYS[0].public])
    assert len(sealed.box) == padded_size(5000) + MAC_BYTES
    assert open_sealed(sealed, [KEYS[0]]) == b"y" * 5000


def test_private_thoughts_of_different_lengths_store_the_same_bytes_count(nodes: Nodes) -> None:
    alpha, _ = nodes("alpha", "beta")
    sizes = set()
    for text, tags in [("yes", []), ("no", []), ("n" * 150, ["a", "longer tag"])]:
        _, cid = think_private(alpha, text, tags, to=["beta"])
        sizes.add(len(read_thought(alpha.repo, alpha.snapshot().tree, cid)))
        assert reveal(alpha, cid)["text"] == text
    assert len(sizes) == 1


def test_a_ciphertext_of_no_bucket_size_is_refused_without_a_key() -> None:
    sealed = seal(b"x", [KEYS[0].public])
    with pytest.raises(MalformedSealed, match="not a padded size"):
        dataclasses.replace(sealed, box=sealed.box + bytes(1))
    data = encode_envelope(sealed).data.replace(b'"v":2', b'"v":1')
    # The same bytes called envelope 1 (no padding) are still a well-formed envelope 1.
    assert decode_envelope(data).padded is False


def _sealed_with_inside(inside: bytes) -> Sealed:
    """A message whose box holds exactly ``inside`` (what only a dishonest writer could make)."""
    key = nacl.utils.random(32)
    nonce = nacl.utils.random(24)
    box = nacl.secret.SecretBox(key).encrypt(inside, nonce).ciphertext
    return Sealed(nonce, box, _commitment(key), (_wrap(key, KEYS[0].public),))


@pytest.mark.parametrize(
    "inside",
    [
        bytes(PAD_MIN),  # no end mark at all
        b"x\x80" + bytes(PAD_MIN - 3) + b"\x01",  # something after the padding
    ],
)
def test_bad_padding_inside_the_box_is_an_integrity_error(inside: bytes) -> None:
    sealed = _sealed_with_inside(inside)
    with pytest.raises(IntegrityError, match="padding"):
        open_sealed(sealed, [KEYS[0]])
    with pytest.raises(IntegrityError, match="padding"):
        add_recipient(sealed, [KEYS[0]], KEYS[1].public)


def test_padding_longer_than_its_bucket_is_an_integrity_error() -> None:
    # 300 bytes and the end mark fit the 304-byte bucket; padding them to the next (320) is a
    # well-sized box, but not the canonical padding.
    assert padded_size(300) == 304 and padded_size(304) == 320
    sealed = _sealed_with_inside(b"t" * 300 + b"\x80" + bytes(320 - 301))
    with pytest.raises(IntegrityError, match="padding"):
        open_sealed(sealed, [KEYS[0]])


def test_an_envelope_1_written_before_padding_still_opens_and_shares_as_itself() -> None:
    data = V1.read_bytes()
    assert check_thought(CID.of(data), data)["v"] == 1
    sealed = decode_envelope(data)
    assert sealed.padded is False
    assert encode_envelope(sealed).data == data  # re-encoded byte for byte
    assert b'"text":"sealed by envelope version 1"' in open_sealed(sealed, [KEYS[1]])
    shared = add_recipient(sealed, [KEYS[1]], KEYS[2].public)
    again = encode_envelope(shared)
    assert shared.padded is False and shared.box == sealed.box
    assert check_thought(again.cid, again.data)["v"] == 1
    assert open_sealed(shared, [KEYS[2]]) == open_sealed(sealed, [KEYS[0]])


def test_an_unknown_envelope_version_is_refused() -> None:
    data = encode_envelope(seal(b"x", [KEYS[0].public])).data.replace(b'"v":2', b'"v":3')
    with pytest.raises(SchemaError, match="envelope version 3"):
        decode_envelope(data)


def test_share_keeps_the_padded_box(nodes: Nodes) -> None:
    alpha, _, gamma = nodes("alpha", "beta", "gamma")
    _, cid = think_private(alpha, "padded", to=["beta"])
    _, new = share(alpha, cid, "gamma")
    old_env = decode_envelope(read_thought(alpha.repo, alpha.snapshot("HEAD~1").tree, cid))
    new_env = decode_envelope(read_thought(alpha.repo, alpha.snapshot().tree, new))
    assert new_env.padded and new_env.box == old_env.box
    fetch(gamma, alpha, "+refs/heads/main:refs/remotes/alpha/main")
    assert reveal(gamma, new, "refs/remotes/alpha/main")["text"] == "padded"


def test_a_store_holding_an_envelope_1_verifies_and_reveals_it(tmp_path: Path) -> None:
    KEYS[1].save(tmp_path / "id_ed25519")
    store = init_store(tmp_path / "old", "old", key_file=tmp_path / "id_ed25519")
    data = V1.read_bytes()
    cid = CID.of(data)
    store.update(lambda s: (s.with_thoughts({cid}), {cid: data}), "an envelope 1")
    report = store.verify()
    assert report.ok, report.problems
    assert reveal(store, cid) == {
        "tags": ["v1"],
        "text": "sealed by envelope version 1",
        "type": "note",
    }
