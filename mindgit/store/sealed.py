"""The sealed-thought envelope: a private thought as a canonical DAG-JSON block.

A private thought is stored only as its envelope (version 2)::

    {"box": <bytes>, "cipher": "xsalsa20poly1305", "commitment": <bytes>, "nonce": <bytes>,
     "recipients": [{"key": "did:key:z6Mk...", "wrapped": <bytes>}, ...],
     "type": "sealed", "v": 2}

``box`` is the SecretBox ciphertext of the plaintext note block's exact bytes, padded (see
``mindgit.identity.seal``) so that its size does not give the text's length; version 1, written
before padding, is the same map with an unpadded box and is still read. ``wrapped`` is the
thought key sealed to one recipient; ``commitment`` binds the thought key (see
``mindgit.identity.seal``). Binary fields use DAG-JSON's bytes form
(``{"/": {"bytes": "<base64>"}}``). Recipients are sorted by did:key, each at most once.
The envelope's CID names the thought, like any thought, and the commit signature covers it.
Nothing here decrypts: checking an envelope needs no key, so verify, fitness and merge treat a
sealed thought as an opaque pattern.
"""

from __future__ import annotations

from typing import Any

from mindgit.errors import MindgitError
from mindgit.identity.keys import DID_PREFIX, PublicKey
from mindgit.identity.seal import CIPHER, MalformedSealed, Recipient, Sealed
from mindgit.ipld import dagjson
from mindgit.store.state import Block, SchemaError

SEALED_TYPE = "sealed"
ENVELOPE_VERSION = 2
# Envelope 1 boxed the note unpadded; old stores and peers hold such envelopes, so they are read.
_UNPADDED_VERSION = 1
ENVELOPE_KEYS = frozenset({"box", "cipher", "commitment", "nonce", "recipients", "type", "v"})
RECIPIENT_KEYS = frozenset({"key", "wrapped"})
# Every ed25519 did:key is 56 characters ("did:key:z6Mk" and 44 more): the multicodec prefix
# 0xed01 fixes the base58 length of the 34 bytes. Longer text is refused unread, since base58
# decoding is quadratic: a peer's envelope naming one "did" of 900,000 characters held verify,
# show, a pull and a server's hook for minutes each. (A little longer is let through to the
# parser, whose messages say more about a near miss.)
_DID_CHARS = 56
_MAX_DID_CHARS = 64
# An envelope's field shown in an error is cut to this many characters (a peer wrote it).
_SHOWN_CHARS = 40


def envelope_node(sealed: Sealed) -> dict[str, dagjson.Node]:
    """The envelope map for a sealed message."""
    recipients: list[dagjson.Node] = [
        {"key": r.key.did, "wrapped": r.wrapped} for r in sealed.recipients
    ]
    return {
        "box": sealed.box,
        "cipher": CIPHER,
        "commitment": sealed.commitment,
        "nonce": sealed.nonce,
        "recipients": recipients,
        "type": SEALED_TYPE,
        "v": ENVELOPE_VERSION if sealed.padded else _UNPADDED_VERSION,
    }


def encode_envelope(sealed: Sealed) -> Block:
    """The envelope block: canonical bytes and the CID that names the private thought."""
    return Block.encode(envelope_node(sealed))


def decode_envelope(data: bytes, where: str = "sealed thought") -> Sealed:
    """Decode envelope bytes strictly; ``SchemaError`` for anything but a valid envelope."""
    try:
        node = dagjson.decode(data)
    except MindgitError as e:
        raise SchemaError(where, str(e)) from None
    if not isinstance(node, dict):
        raise SchemaError(where, "an envelope is a map")
    return sealed_from_node(where, node)


def check_sealed(where: str, node: dict[str, Any]) -> None:
    """The schema check registered for thought type "sealed" (see ``state.THOUGHT_CHECKS``)."""
    sealed_from_node(where, node)


def is_sealed(node: object) -> bool:
    """Whether a decoded thought claims to be a sealed envelope."""
    return isinstance(node, dict) and node.get("type") == SEALED_TYPE


def sealed_from_node(where: str, node: dict[str, Any]) -> Sealed:
    """The sealed message an envelope map holds; ``SchemaError`` names the first problem."""
    if set(node) != ENVELOPE_KEYS:
        missing = sorted(ENVELOPE_KEYS - set(node))
        extra = sorted(set(node) - ENVELOPE_KEYS)
        unknown = ", ".join(_shown(name) for name in extra[:3]) + (", ..." if extra[3:] else "")
        raise SchemaError(where, f"a sealed thought has missing {missing}, unknown [{unknown}]")
    if node["type"] != SEALED_TYPE:
        raise SchemaError(where, f"type {_shown(node['type'])} is not {SEALED_TYPE!r}")
    version = node["v"]
    if type(version) is not int or version not in (ENVELOPE_VERSION, _UNPADDED_VERSION):
        raise SchemaError(
            where, f"envelope version {_shown(version)} is not {ENVELOPE_VERSION} (or an older 1)"
        )
    if node["cipher"] != CIPHER:
        raise SchemaError(where, f"cipher {_shown(node['cipher'])} is not {CIPHER!r}")
    for name in ("box", "commitment", "nonce"):
        if not isinstance(node[name], bytes):
            raise SchemaError(where, f"'{name}' is bytes")
    entries = node["recipients"]
    if not isinstance(entries, list) or not entries:
        raise SchemaError(where, "'recipients' is a non-empty list")
    recipients = tuple(_recipient(where, n, entry) for n, entry in enumerate(entries))
    try:
        return Sealed(
            node["nonce"],
            node["box"],
            node["commitment"],
            recipients,
            padded=version == ENVELOPE_VERSION,
        )
    except MalformedSealed as e:
        raise SchemaError(where, e.reason) from None


def _recipient(where: str, n: int, entry: object) -> Recipient:
    if not isinstance(entry, dict) or set(entry) != RECIPIENT_KEYS:
        raise SchemaError(where, f"recipient {n} is a map of exactly 'key' and 'wrapped'")
    did, wrapped = entry["key"], entry["wrapped"]
    if not isinstance(did, str) or not did.startswith(DID_PREFIX):
        raise SchemaError(where, f"recipient {n}: 'key' is a did:key string")
    if len(did) > _MAX_DID_CHARS:
        raise SchemaError(
            where,
            f"recipient {n}: 'key' is {len(did)} characters; an ed25519 did:key is {_DID_CHARS}",
        )
    if not isinstance(wrapped, bytes):
        raise SchemaError(where, f"recipient {n}: 'wrapped' is bytes")
    try:
        key = PublicKey.parse(did)
    except MindgitError as e:
        raise SchemaError(where, f"recipient {n}: {e}") from None
    if key.did != did:
        raise SchemaError(where, f"recipient {n}: {did!r} is not the canonical did:key spelling")
    return Recipient(key, wrapped)


def _shown(value: object) -> str:
    """``repr(value)``, cut to a few dozen characters: a field of a peer's envelope, quoted in
    an error, was printed whole (a "cipher" of a megabyte made `verify` print 7 MB)."""
    if isinstance(value, list | dict):
        # Not repr'd: a deeply nested one would overflow the stack there.
        return "a list" if isinstance(value, list) else "a map"
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."
