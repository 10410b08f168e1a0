"""SSH signatures (OpenSSH's SSHSIG format), the format git uses when ``gpg.format=ssh``.

A signature is the armoured blob ``ssh-keygen -Y sign`` writes::

    "SSHSIG" u32(1) string(public key) string(namespace) string(reserved)
    string(hash algorithm) string(string("ssh-ed25519") string(64-byte signature))

and the ed25519 signature covers ``"SSHSIG" string(namespace) string("") string(hash algorithm)
string(H(message))``. ``verify`` sits on the commit-verification hot path, so it does the
parsing by hand and costs little more than the one libsodium call.
"""

from __future__ import annotations

import hashlib

import nacl.bindings
import nacl.exceptions

from mindgit.errors import MindgitError
from mindgit.identity._wire import Reader, WireError, armour, dearmour, read_strings, string, u32
from mindgit.identity.keys import KEY_TYPE, MalformedKey, NodeKey, PublicKey

MAGIC = b"SSHSIG"
VERSION = 1
LABEL = "SSH SIGNATURE"
SIGN_HASH = "sha512"
# The SSHSIG spec allows exactly these two; ssh-keygen signs with sha512 by default.
_HASHES = {b"sha512": hashlib.sha512, b"sha256": hashlib.sha256}
_FIELDS_AT = len(MAGIC) + 4  # the string fields start after the magic and the version
_BLOB_FIELDS = ("public key", "namespace", "reserved", "hash algorithm", "signature")
_SIG_FIELDS = ("signature type", "signature bytes")
_KEY_PREFIX = string(KEY_TYPE) + u32(32)
_EMPTY_STRING = string(b"")
# ssh-keygen takes the armour only when it starts with exactly this line (sshsig_dearmor).
_BEGIN_LINE = f"-----BEGIN {LABEL}-----\n".encode("ascii")
_SIGNERS: dict[bytes, PublicKey] = {}
_SIGNERS_MAX = 4096
# A name from a signature quoted in an error is cut to this many characters.
_SHOWN_CHARS = 40


class BadSignature(MindgitError):
    """A signature that does not prove what it claims; ``reason`` says why.

    Subclasses name the kind of failure; catch ``BadSignature`` to refuse them all.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"bad SSH signature: {reason}", hint=self._hint)

    _hint = "the data or its signature was altered, or was signed by another tool or key"


class MalformedSignature(BadSignature):
    """The armour or the blob inside it is not a well-formed SSHSIG signature."""

    _hint = "the signature text is damaged or is not an SSH signature"


class UnsupportedSignature(BadSignature):
    """A well-formed signature of a version, hash or key type mindgit does not accept."""

    _hint = "mindgit accepts SSHSIG v1 signatures by ed25519 keys (sha512 or sha256)"


class WrongNamespace(BadSignature):
    """The signature was made for another purpose (namespace) than the one being checked."""

    def __init__(self, expected: str, actual: str) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(f"signed for namespace {_shown(actual)}, expected {expected!r}")

    _hint = "a signature made for one purpose cannot be reused for another"


class InvalidSignature(BadSignature):
    """The signature does not match the data and the key it names."""


class InvalidNamespace(MindgitError):
    """``sign`` was asked for an empty namespace, which SSHSIG forbids."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        super().__init__(
            f"invalid SSH signature namespace {namespace!r}",
            hint="use a non-empty namespace such as 'git'",
        )


def sign(key: NodeKey, data: bytes, namespace: str = "git") -> str:
    """Sign ``data``; returns the armoured block byte-for-byte as ``ssh-keygen -Y sign`` writes it."""
    if not namespace:
        raise InvalidNamespace(namespace)
    ns = namespace.encode("utf-8")
    hash_name = SIGN_HASH.encode("ascii")
    digest = _HASHES[hash_name](data).digest()
    signed = MAGIC + string(ns) + string(b"") + string(hash_name) + string(digest)
    signature = string(KEY_TYPE) + string(key.sign(signed))
    blob = (
        MAGIC
        + u32(VERSION)
        + string(key.public.ssh_blob)
        + string(ns)
        + string(b"")
        + string(hash_name)
        + string(signature)
    )
    return armour(blob, LABEL)


def verify(armored: str | bytes, data: bytes, namespace: str = "git") -> PublicKey:
    """Check an armoured SSH signature over ``data``; returns the key that made it.

    Whether that key is trusted is the caller's question (``TrustStore.find``).
    Raises a ``BadSignature`` subclass for anything but a valid signature.
    """
    try:
        text = armored.encode("ascii") if isinstance(armored, str) else armored
    except UnicodeEncodeError:
        raise MalformedSignature("the armour contains non-ASCII characters") from None
    if b"\r" in text:
        # ssh-keygen (and so git) refuses CRLF armour; refusing it too keeps the verdicts equal.
        raise MalformedSignature("the armour contains carriage returns")
    if not text.startswith(_BEGIN_LINE):
        # Nor anything before the BEGIN line or on it (a commit's "gpgsig  -----BEGIN", two
        # spaces): ssh-keygen, and so git verify-commit, refuses that, which mindgit took.
        raise MalformedSignature(
            f"the armour does not start with the line '{_BEGIN_LINE.decode().rstrip()}'"
        )
    try:
        blob = dearmour(text, LABEL)
    except WireError as exc:
        raise MalformedSignature(str(exc)) from None
    if not blob.startswith(MAGIC):
        raise MalformedSignature("the blob does not start with the SSHSIG magic")
    if len(blob) < _FIELDS_AT:
        raise MalformedSignature("truncated before version")
    version = int.from_bytes(blob[len(MAGIC) : _FIELDS_AT], "big")
    if version != VERSION:
        raise UnsupportedSignature(f"SSHSIG version {version}, only version 1 is known")
    try:
        # The reserved field is ignored, as OpenSSH does; the signed data always uses "".
        public_blob, ns, _, hash_name, sig_field = read_strings(blob, _FIELDS_AT, _BLOB_FIELDS)
        sig_type, raw_sig = read_strings(sig_field, 0, _SIG_FIELDS)
    except WireError as exc:
        raise MalformedSignature(str(exc)) from None
    if len(public_blob) != len(_KEY_PREFIX) + 32 or not public_blob.startswith(_KEY_PREFIX):
        raise _bad_key(public_blob)
    raw_key = public_blob[len(_KEY_PREFIX) :]
    if ns != namespace.encode("utf-8"):
        raise WrongNamespace(namespace, ns.decode("utf-8", errors="replace"))
    hasher = _HASHES.get(hash_name)
    if hasher is None:
        raise UnsupportedSignature(
            f"hash algorithm {_shown(hash_name.decode('ascii', errors='replace'))}; want sha512 or sha256"
        )
    if sig_type != KEY_TYPE:
        raise InvalidSignature(
            f"signature type {_shown(sig_type.decode('ascii', errors='replace'))} does not match the ssh-ed25519 key"
        )
    if len(raw_sig) != 64:
        raise MalformedSignature(f"an ed25519 signature is 64 bytes, not {len(raw_sig)}")
    signed = MAGIC + string(ns) + _EMPTY_STRING + string(hash_name) + string(hasher(data).digest())
    try:
        nacl.bindings.crypto_sign_open(raw_sig + signed, raw_key)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError):
        raise InvalidSignature(
            f"does not match the data for key {PublicKey(raw_key).fingerprint}"
        ) from None
    return _signer(raw_key)


def _signer(raw_key: bytes) -> PublicKey:
    # One PublicKey per signer, so its did is computed once however many commits it signed.
    key = _SIGNERS.get(raw_key)
    if key is None:
        if len(_SIGNERS) >= _SIGNERS_MAX:
            _SIGNERS.clear()
        key = _SIGNERS[raw_key] = PublicKey(raw_key)
    return key


def _bad_key(public_blob: bytes) -> BadSignature:
    if not public_blob.startswith(string(KEY_TYPE)):
        name = _key_type_name(public_blob)
        # Unquoted as a key type reads (ssh-rsa), unless a peer put control characters there.
        shown = _shown(name, quoted=not name.isprintable())
        return UnsupportedSignature(f"signed by a {shown} key; only ssh-ed25519")
    try:
        PublicKey.from_ssh_blob(public_blob)
    except MalformedKey as exc:
        return MalformedSignature(f"public key: {exc.reason}")
    raise AssertionError("a blob with the ed25519 prefix and 32 key bytes was refused")


def _shown(text: str, *, quoted: bool = True) -> str:
    """A name a signature holds (namespace, hash, key type), quoted as an error shows it: cut to
    a few dozen characters. A peer's commit is whoever wrote it's, and one signed "for" a
    namespace of 100,000 characters made each verify, pull or hook print all of them."""
    shown = repr(text) if quoted else text
    return shown if len(shown) <= _SHOWN_CHARS else shown[: _SHOWN_CHARS - 3] + "..."


def _key_type_name(public_blob: bytes) -> str:
    try:
        return Reader(public_blob).string("key type").decode("ascii", errors="replace")
    except WireError:
        return "malformed"
