"""Sealing: encrypt bytes once so that chosen nodes, and only they, can open them.

A sealed message is the plaintext in a ``SecretBox`` (XSalsa20-Poly1305) under a fresh random
32-byte *thought key* and a fresh random nonce, plus that thought key wrapped for each recipient
in a ``SealedBox`` (an anonymous X25519 box) to the X25519 key derived from the recipient's
ed25519 node key. A node that holds the private key of one recipient unwraps the thought key and
opens the box; everybody else sees random-looking bytes.

Poly1305 does not commit to its key: a dishonest sender could build one ciphertext that opens
under two keys to two different texts, and wrap a different key for each recipient. So a sealed
message also carries a key commitment (a keyed BLAKE2b of a constant under the thought key) that
every opener checks first: all recipients then read the same plaintext or nothing.

The plaintext is padded before it is boxed (an end mark 0x80, then zeros), to at least
``PAD_MIN`` bytes and then to a Padmé size (Nikitin et al., "Reducing Metadata Leakage from
Encrypted Files and Communication with PURBs", 2019): at most ~6% more, and a box's size names
only a range of lengths. Without it the ciphertext told the plaintext's length to the byte, and a
short answer ("yes" or "no") could be read off its size. Messages written before padding
(``padded=False``) still open.

This module knows nothing of DAG-JSON or git; ``mindgit.store.sealed`` is the envelope format.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import nacl.exceptions
import nacl.public
import nacl.secret
import nacl.utils

from mindgit.errors import MindgitError
from mindgit.identity.keys import NodeKey, PublicKey

CIPHER = "xsalsa20poly1305"
KEY_BYTES = nacl.secret.SecretBox.KEY_SIZE  # 32
NONCE_BYTES = nacl.secret.SecretBox.NONCE_SIZE  # 24
MAC_BYTES = nacl.secret.SecretBox.MACBYTES  # 16
COMMITMENT_BYTES = 32
# A SealedBox is an ephemeral X25519 public key, then a box (MAC + data) of the thought key.
WRAPPED_BYTES = 32 + MAC_BYTES + KEY_BYTES
_COMMITMENT_PERSON = b"mindgit-seal-v1"
_COMMITMENT_INPUT = b"mindgit sealed thought key commitment"
# Every plaintext up to this size seals to one size: short texts are the easiest to guess.
PAD_MIN = 256
_PAD_MARK = 0x80


class SealError(MindgitError):
    """Base of the errors raised while sealing or opening."""


class MalformedSealed(SealError):
    """Parts of a sealed message that cannot be right (wrong sizes, unsorted recipients)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"malformed sealed message: {reason}",
            hint="the sealed block was damaged or written by another tool",
        )


class NotARecipient(SealError):
    """None of this node's keys (current or retired) is among the recipients."""

    def __init__(self, what: str, tried: tuple[str, ...], recipients: int) -> None:
        self.what = what
        self.tried = tried
        self.recipients = recipients
        super().__init__(
            f"this node is not a recipient of {what} (it is sealed to {recipients} other node"
            f"{'' if recipients == 1 else 's'})",
            hint="ask a recipient to share it with you: mindgit share <cid> --with <your name>",
        )


class IntegrityError(SealError):
    """The ciphertext, the wrapped key or the key commitment was altered (or forged)."""

    def __init__(self, what: str, part: str) -> None:
        self.what = what
        self.part = part
        super().__init__(
            f"cannot decrypt: integrity check failed ({what}: {part})",
            hint="the sealed block was altered after it was written; fetch it again from a recipient",
        )


class AlreadyRecipient(SealError):
    """``add_recipient`` was asked to add a node that can already open the message."""

    def __init__(self, what: str, did: str) -> None:
        self.what = what
        self.did = did
        super().__init__(f"{did} is already a recipient of {what}; nothing was changed")


@dataclass(frozen=True, slots=True)
class Recipient:
    """One node that can open a sealed message: its key and the thought key wrapped for it."""

    key: PublicKey
    wrapped: bytes


def padded_size(n: int) -> int:
    """The size a plaintext of ``n`` bytes is padded to (its end mark included).

    At least ``PAD_MIN``; above that, n + 1 rounded up to a multiple of a power of two chosen so
    that the padding is under 1/16 of the size (Padmé). ``padded_size(5) == 256``,
    ``padded_size(300) == 304``.
    """
    size = max(n + 1, PAD_MIN)
    exponent = size.bit_length() - 1  # floor(log2(size))
    mask = (1 << (exponent - exponent.bit_length())) - 1
    return (size + mask) & ~mask


@dataclass(frozen=True, slots=True)
class Sealed:
    """A sealed message. ``recipients`` are sorted by did:key, each at most once.

    ``padded`` is False only for messages written before padding (envelope version 1).
    """

    nonce: bytes
    box: bytes
    commitment: bytes
    recipients: tuple[Recipient, ...]
    padded: bool = True

    def __post_init__(self) -> None:
        if len(self.nonce) != NONCE_BYTES:
            raise MalformedSealed(f"the nonce is {len(self.nonce)} bytes, not {NONCE_BYTES}")
        if len(self.box) < MAC_BYTES:
            raise MalformedSealed(f"the ciphertext is {len(self.box)} bytes, too short for a box")
        inside = len(self.box) - MAC_BYTES
        if self.padded and (inside < PAD_MIN or padded_size(inside - 1) != inside):
            raise MalformedSealed(
                f"the ciphertext is {len(self.box)} bytes, not a padded size plus {MAC_BYTES}"
            )
        if len(self.commitment) != COMMITMENT_BYTES:
            raise MalformedSealed(
                f"the key commitment is {len(self.commitment)} bytes, not {COMMITMENT_BYTES}"
            )
        if not self.recipients:
            raise MalformedSealed("there are no recipients")
        dids = [r.key.did for r in self.recipients]
        if dids != sorted(set(dids)):
            raise MalformedSealed("recipients must be sorted by did:key and unique")
        for r in self.recipients:
            if len(r.wrapped) != WRAPPED_BYTES:
                raise MalformedSealed(
                    f"the wrapped key for {r.key.did} is {len(r.wrapped)} bytes, not {WRAPPED_BYTES}"
                )

    @property
    def keys(self) -> tuple[PublicKey, ...]:
        """The recipients' keys, sorted by did:key."""
        return tuple(r.key for r in self.recipients)

    def recipient(self, key: PublicKey) -> Recipient | None:
        """The entry for ``key``, or None when that key is not a recipient."""
        for r in self.recipients:
            if r.key == key:
                return r
        return None


def seal(plaintext: bytes, recipients: Iterable[PublicKey]) -> Sealed:
    """Encrypt ``plaintext`` under a fresh key and nonce, openable by each of ``recipients``.

    Sealing the same bytes twice gives two different messages (nothing to compare or guess).
    """
    keys = {k.raw: k for k in recipients}
    if not keys:
        raise MalformedSealed("there are no recipients")
    thought_key = nacl.utils.random(KEY_BYTES)
    nonce = nacl.utils.random(NONCE_BYTES)
    padded = (
        plaintext + bytes([_PAD_MARK]) + bytes(padded_size(len(plaintext)) - len(plaintext) - 1)
    )
    box = nacl.secret.SecretBox(thought_key).encrypt(padded, nonce).ciphertext
    wrapped = tuple(_wrap(thought_key, k) for k in sorted(keys.values(), key=lambda k: k.did))
    return Sealed(nonce, box, _commitment(thought_key), wrapped)


def open_sealed(sealed: Sealed, keys: Sequence[NodeKey], what: str = "the sealed block") -> bytes:
    """The plaintext, for a holder of one of the recipients' private keys.

    ``keys`` are tried in order (a node's current key, then its retired ones). Raises
    ``NotARecipient`` when none is a recipient, ``IntegrityError`` when anything was altered.
    """
    return _open(sealed, keys, what)[1]


def add_recipient(
    sealed: Sealed, keys: Sequence[NodeKey], new: PublicKey, what: str = "the sealed block"
) -> Sealed:
    """The same message (same ciphertext) with the thought key also wrapped for ``new``.

    Only a recipient can do this, and only for a message that opens: the box is checked first,
    so a damaged message is never passed on.
    """
    thought_key, _ = _open(sealed, keys, what)
    if sealed.recipient(new) is not None:
        raise AlreadyRecipient(what, new.did)
    recipients = sorted((*sealed.recipients, _wrap(thought_key, new)), key=lambda r: r.key.did)
    return Sealed(sealed.nonce, sealed.box, sealed.commitment, tuple(recipients), sealed.padded)


def _open(sealed: Sealed, keys: Sequence[NodeKey], what: str) -> tuple[bytes, bytes]:
    thought_key = _thought_key(sealed, keys, what)
    try:
        plaintext: bytes = nacl.secret.SecretBox(thought_key).decrypt(sealed.box, sealed.nonce)
    except nacl.exceptions.CryptoError:
        raise IntegrityError(what, "the ciphertext does not match its authentication tag") from None
    return thought_key, (_unpad(plaintext, what) if sealed.padded else plaintext)


def _unpad(padded: bytes, what: str) -> bytes:
    # The box authenticated these bytes, so bad padding is its writer's doing; still, refuse
    # anything but the one padding seal() writes, so a message has one reading.
    body = padded.rstrip(b"\0")
    if not body or body[-1] != _PAD_MARK or padded_size(len(body) - 1) != len(padded):
        raise IntegrityError(what, "the padding inside the box is not the canonical padding")
    return body[:-1]


def _thought_key(sealed: Sealed, keys: Sequence[NodeKey], what: str) -> bytes:
    # Every key of ours that is a recipient is tried: a node that rotated holds several, and
    # one damaged or forged entry must not hide the thought from a key whose entry is sound.
    # The commitment decides which thought key is the one, so any entry that passes it opens
    # the same message; the first failure is reported only if none does.
    failure: IntegrityError | None = None
    for key in keys:
        entry = sealed.recipient(key.public)
        if entry is None:
            continue
        opener = nacl.public.SealedBox(nacl.public.PrivateKey(key.box_private()))
        try:
            thought_key: bytes = opener.decrypt(entry.wrapped)
        except nacl.exceptions.CryptoError:
            failure = failure or IntegrityError(what, f"the wrapped key for {key.public.did}")
            continue
        if len(thought_key) != KEY_BYTES or _commitment(thought_key) != sealed.commitment:
            failure = failure or IntegrityError(
                what, f"the key wrapped for {key.public.did} is not the key"
            )
            continue
        return thought_key
    if failure is not None:
        raise failure
    raise NotARecipient(what, tuple(k.public.did for k in keys), len(sealed.recipients))


def _wrap(thought_key: bytes, recipient: PublicKey) -> Recipient:
    box = nacl.public.SealedBox(nacl.public.PublicKey(recipient.box_public()))
    return Recipient(recipient, box.encrypt(thought_key))


def _commitment(thought_key: bytes) -> bytes:
    return hashlib.blake2b(
        _COMMITMENT_INPUT, key=thought_key, digest_size=COMMITMENT_BYTES, person=_COMMITMENT_PERSON
    ).digest()
