"""Sealing bytes to nodes: round trips, who can open, and every kind of tampering."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.identity.keys import NodeKey
from mindgit.identity.seal import (
    KEY_BYTES,
    NONCE_BYTES,
    WRAPPED_BYTES,
    AlreadyRecipient,
    IntegrityError,
    MalformedSealed,
    NotARecipient,
    Recipient,
    Sealed,
    add_recipient,
    open_sealed,
    seal,
)

ALPHA = NodeKey.from_seed(bytes(range(32)))
BETA = NodeKey.from_seed(bytes(range(100, 132)))
GAMMA = NodeKey.from_seed(bytes(range(200, 232)))


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2048), st.sets(st.sampled_from([0, 1, 2]), min_size=1))
def test_every_recipient_opens_what_was_sealed(plaintext: bytes, which: set[int]) -> None:
    keys = [ALPHA, BETA, GAMMA]
    chosen = [keys[i] for i in sorted(which)]
    sealed = seal(plaintext, [k.public for k in chosen])
    assert [r.key.did for r in sealed.recipients] == sorted(k.public.did for k in chosen)
    for k in chosen:
        assert open_sealed(sealed, [k]) == plaintext
    for k in keys:
        if k not in chosen:
            with pytest.raises(NotARecipient):
                open_sealed(sealed, [k])


def test_sizes_and_fresh_randomness() -> None:
    one = seal(b"same text", [ALPHA.public])
    two = seal(b"same text", [ALPHA.public])
    assert len(one.nonce) == NONCE_BYTES
    assert all(len(r.wrapped) == WRAPPED_BYTES for r in one.recipients)
    # Fresh key and nonce each time: equal plaintexts are not recognisable as equal.
    assert one.nonce != two.nonce and one.box != two.box and one.commitment != two.commitment
    assert one.recipients[0].wrapped != two.recipients[0].wrapped


def test_duplicate_recipients_are_one() -> None:
    sealed = seal(b"x", [BETA.public, ALPHA.public, BETA.public])
    assert sealed.keys == tuple(sorted([ALPHA.public, BETA.public], key=lambda k: k.did))


def test_keys_are_tried_in_order_so_a_retired_key_still_opens() -> None:
    sealed = seal(b"for the old key", [BETA.public])
    assert open_sealed(sealed, [ALPHA, GAMMA, BETA]) == b"for the old key"


def test_non_recipient_error_names_the_count_and_the_remedy() -> None:
    sealed = seal(b"x", [ALPHA.public, BETA.public])
    with pytest.raises(NotARecipient) as info:
        open_sealed(sealed, [GAMMA], "thought Q")
    assert info.value.recipients == 2
    assert info.value.tried == (GAMMA.public.did,)
    assert "thought Q" in str(info.value) and "mindgit share" in (info.value.hint or "")


@pytest.mark.parametrize("at", [0, 15, 16, -1])
def test_tampered_ciphertext_fails_integrity(at: int) -> None:
    sealed = seal(b"the key is under the third stone", [ALPHA.public])
    bad = dataclasses.replace(sealed, box=flip(sealed.box, at % len(sealed.box)))
    with pytest.raises(IntegrityError) as info:
        open_sealed(bad, [ALPHA])
    assert str(info.value).startswith("cannot decrypt: integrity check failed")
    assert "third stone" not in str(info.value)


def test_tampered_nonce_fails_integrity() -> None:
    sealed = seal(b"abc", [ALPHA.public])
    bad = dataclasses.replace(sealed, nonce=flip(sealed.nonce, 3))
    with pytest.raises(IntegrityError, match=r"^cannot decrypt: integrity check failed"):
        open_sealed(bad, [ALPHA])


@pytest.mark.parametrize("at", [0, 31, 32, 47, 48, WRAPPED_BYTES - 1])
def test_tampered_wrapped_key_fails_integrity(at: int) -> None:
    sealed = seal(b"abc", [ALPHA.public, BETA.public])
    entries = list(sealed.recipients)
    i = next(n for n, r in enumerate(entries) if r.key == ALPHA.public)
    entries[i] = Recipient(ALPHA.public, flip(entries[i].wrapped, at))
    bad = dataclasses.replace(sealed, recipients=tuple(entries))
    with pytest.raises(IntegrityError, match=r"^cannot decrypt: integrity check failed") as info:
        open_sealed(bad, [ALPHA])
    assert info.value.part.startswith("the wrapped key")
    assert open_sealed(bad, [BETA]) == b"abc"  # the other recipient's entry is untouched


def test_tampered_commitment_fails_integrity() -> None:
    sealed = seal(b"abc", [ALPHA.public])
    bad = dataclasses.replace(sealed, commitment=flip(sealed.commitment, 0))
    with pytest.raises(IntegrityError, match=r"^cannot decrypt: integrity check failed"):
        open_sealed(bad, [ALPHA])


def test_a_key_wrapped_for_one_recipient_cannot_be_moved_to_another() -> None:
    sealed = seal(b"abc", [ALPHA.public, BETA.public])
    a, b = (sealed.recipient(k.public) for k in (ALPHA, BETA))
    assert a is not None and b is not None
    swapped = dataclasses.replace(
        sealed,
        recipients=tuple(
            sorted(
                [Recipient(ALPHA.public, b.wrapped), Recipient(BETA.public, a.wrapped)],
                key=lambda r: r.key.did,
            )
        ),
    )
    with pytest.raises(IntegrityError):
        open_sealed(swapped, [ALPHA])


def test_a_different_key_for_one_recipient_is_caught_by_the_commitment() -> None:
    # A dishonest sender wraps another valid key for BETA: BETA must not read anything else.
    honest = seal(b"what everyone reads", [ALPHA.public, BETA.public])
    other = seal(b"what only beta would read", [BETA.public])
    forged_entry = other.recipient(BETA.public)
    assert forged_entry is not None
    forged = dataclasses.replace(
        honest,
        recipients=tuple(forged_entry if r.key == BETA.public else r for r in honest.recipients),
    )
    assert open_sealed(forged, [ALPHA]) == b"what everyone reads"
    with pytest.raises(IntegrityError, match="is not the key"):
        open_sealed(forged, [BETA])


def test_add_recipient_keeps_the_ciphertext_and_lets_the_new_node_read() -> None:
    sealed = seal(b"shared by consent", [ALPHA.public])
    wider = add_recipient(sealed, [ALPHA], GAMMA.public)
    assert (wider.nonce, wider.box, wider.commitment) == (
        sealed.nonce,
        sealed.box,
        sealed.commitment,
    )
    assert set(wider.keys) == {ALPHA.public, GAMMA.public}
    assert open_sealed(wider, [GAMMA]) == b"shared by consent"


def test_add_recipient_refuses_non_recipients_and_repeats() -> None:
    sealed = seal(b"x", [ALPHA.public])
    with pytest.raises(NotARecipient):
        add_recipient(sealed, [BETA], GAMMA.public)
    with pytest.raises(AlreadyRecipient):
        add_recipient(sealed, [ALPHA], ALPHA.public)


def test_add_recipient_refuses_a_damaged_message() -> None:
    sealed = seal(b"x", [ALPHA.public])
    bad = dataclasses.replace(sealed, box=flip(sealed.box, 0))
    with pytest.raises(IntegrityError):
        add_recipient(bad, [ALPHA], BETA.public)


@pytest.mark.parametrize(
    "change",
    [
        {"nonce": bytes(NONCE_BYTES - 1)},
        {"box": bytes(15)},
        {"commitment": bytes(31)},
        {"recipients": ()},
    ],
)
def test_malformed_parts_are_refused(change: dict[str, object]) -> None:
    sealed = seal(b"x", [ALPHA.public, BETA.public])
    with pytest.raises(MalformedSealed):
        dataclasses.replace(sealed, **change)  # type: ignore[arg-type]


def test_unsorted_or_repeated_recipients_and_short_wraps_are_refused() -> None:
    sealed = seal(b"x", [ALPHA.public, BETA.public])
    with pytest.raises(MalformedSealed, match="sorted"):
        Sealed(sealed.nonce, sealed.box, sealed.commitment, sealed.recipients[::-1])
    with pytest.raises(MalformedSealed, match="sorted"):
        Sealed(sealed.nonce, sealed.box, sealed.commitment, sealed.recipients[:1] * 2)
    short = Recipient(ALPHA.public, bytes(KEY_BYTES))
    with pytest.raises(MalformedSealed, match="wrapped key"):
        Sealed(sealed.nonce, sealed.box, sealed.commitment, (short,))
    with pytest.raises(MalformedSealed):
        seal(b"x", [])


@pytest.mark.parametrize("damage", ["junk", "another key"])
def test_a_sound_entry_opens_past_a_damaged_one_for_another_key_of_ours(damage: str) -> None:
    # A node that rotated holds its current and retired keys, and a peer may have sealed to
    # both: a bad entry for one (damaged, or a forged thought key) must not hide the thought
    # from the other, whichever order the keys are tried in.
    sealed = seal(b"for either key", [ALPHA.public, BETA.public])
    if damage == "junk":
        bad = Recipient(ALPHA.public, bytes(WRAPPED_BYTES))
    else:
        other = seal(b"something else", [ALPHA.public]).recipient(ALPHA.public)
        assert other is not None
        bad = other
    mixed = dataclasses.replace(
        sealed, recipients=tuple(bad if r.key == ALPHA.public else r for r in sealed.recipients)
    )
    assert open_sealed(mixed, [ALPHA, BETA]) == b"for either key"
    assert open_sealed(mixed, [BETA, ALPHA]) == b"for either key"
    assert add_recipient(mixed, [ALPHA, BETA], GAMMA.public).recipient(GAMMA.public) is not None
    # Alone, the damaged entry is still refused as altered, not read.
    with pytest.raises(IntegrityError, match=ALPHA.public.did):
        open_sealed(mixed, [ALPHA])


def test_when_every_entry_of_ours_is_damaged_the_first_is_named() -> None:
    sealed = seal(b"x", [ALPHA.public, BETA.public])
    junk = dataclasses.replace(
        sealed, recipients=tuple(Recipient(r.key, bytes(WRAPPED_BYTES)) for r in sealed.recipients)
    )
    with pytest.raises(IntegrityError, match=f"the wrapped key for {BETA.public.did}"):
        open_sealed(junk, [BETA, ALPHA])
    # A key of ours that is no recipient changes nothing: still altered, not "not a recipient".
    with pytest.raises(IntegrityError, match=f"the wrapped key for {ALPHA.public.did}"):
        open_sealed(junk, [GAMMA, ALPHA])
