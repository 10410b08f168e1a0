"""Node keys: an ed25519 key pair, its did:key id, and the OpenSSH key files that hold it.

The private key file is OpenSSH's own format ("openssh-key-v1", cipher none), so ``ssh-keygen``
and ``ssh`` read a mindgit key and mindgit reads a key that ``ssh-keygen -t ed25519 -N ''`` made.
"""

from __future__ import annotations

import binascii
import contextlib
import errno
import fcntl
import functools
import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import nacl.bindings
import nacl.signing

from mindgit.errors import MindgitError, shell_word, shown_path
from mindgit.identity import _base58
from mindgit.identity._wire import Reader, WireError, armour, dearmour, string, u32
from mindgit.identity.fsutil import fsync_dir
from mindgit.leftovers import remove_stale

KEY_TYPE = b"ssh-ed25519"
DID_PREFIX = "did:key:"
# Base58 digits of the longest did:key body: 0xed01 and 32 key bytes, 34 bytes, need at most
# ceil(34 * log(256) / log(58)) = 47 (none of them a leading zero byte's "1").
_MAX_DID_DIGITS = 47
# Multicodec "ed25519-pub" (0xed) as an unsigned varint.
_ED25519_PUB_CODEC = b"\xed\x01"
_PUBLIC_BLOB_PREFIX = string(KEY_TYPE) + u32(32)

_KEYFILE_MAGIC = b"openssh-key-v1\0"
_KEYFILE_LABEL = "OPENSSH PRIVATE KEY"
# Unencrypted private sections are padded to the "none" cipher's block size.
_BLOCK_SIZE = 8
# A one-key ed25519 file is ~400 bytes; anything this large is not one.
_MAX_KEYFILE = 64 * 1024
# A save's temporary file lives for milliseconds; one this old, that no save holds, was left
# by a save that was killed (kill -9, a power cut) between writing and removing it.
STALE_TEMPORARY_SECONDS = 300


# OpenSSH's key types: the first word of a public key line, and the type inside a key file.
OPENSSH_KEY_TYPES = frozenset(
    {
        "ssh-ed25519",
        "ssh-rsa",
        "ssh-dss",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "ssh-xmss@openssh.com",
    }
)
# The ciphers and kdf OpenSSH protects a key file with: any other name is damage, not a passphrase.
_OPENSSH_CIPHERS = frozenset(
    {
        b"aes128-ctr",
        b"aes192-ctr",
        b"aes256-ctr",
        b"aes128-cbc",
        b"aes192-cbc",
        b"aes256-cbc",
        b"aes128-gcm@openssh.com",
        b"aes256-gcm@openssh.com",
        b"chacha20-poly1305@openssh.com",
        b"3des-cbc",
    }
)
_OPENSSH_KDF = b"bcrypt"


def names_a_key(text: str) -> bool:
    """Whether ``text`` is given as a key, not a node's name: a did, or an OpenSSH public key
    line of any type (an ssh-rsa line is a key mindgit refuses, not a name with a space). A key
    type alone ('ssh-rsa') is a valid node name, and names that node."""
    words = text.split(None, 1)
    key_line = bool(words) and words[0] in OPENSSH_KEY_TYPES and text != words[0]
    return text.lstrip().startswith("did:") or key_line


def shown_key_text(text: str) -> str:
    """What an error may quote of text given as a public key: a did or a public key line, which
    are public. Anything else may be a secret pasted by mistake (a PEM private key, the base64
    body of one, a seed), and an error goes to terminals and CI logs: only its length is told."""
    if names_a_key(text) or text in OPENSSH_KEY_TYPES:
        shown = text if len(text) <= 80 else text[:77] + "..."
        return repr(shown)
    return f"a text of {len(text)} characters (not shown: it may be a private key)"


class MalformedKey(MindgitError):
    """Text that should name an ed25519 public key (did:key or OpenSSH line) but does not."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        super().__init__(
            f"not an ed25519 public key: {shown_key_text(text)} ({reason})",
            hint="give a did:key (did:key:z6Mk...) or an OpenSSH line (ssh-ed25519 AAAA...)",
        )


class KeyFileError(MindgitError):
    """A node key file that cannot be used; ``path`` names it."""

    def __init__(self, path: Path, message: str, *, hint: str | None = None) -> None:
        self.path = path
        super().__init__(message, hint=hint)


class KeyFileMissing(KeyFileError):
    """No file at the key path."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            path,
            f"no node key at {shown_path(path)}",
            hint=f"check the path, or create a key with: ssh-keygen -t ed25519 -N '' -f {shell_word(str(path))}",
        )


class KeyFileUnreadable(KeyFileError):
    """The key file exists but cannot be read (permissions, not a regular file, I/O error)."""

    def __init__(self, path: Path, reason: str) -> None:
        self.reason = reason
        super().__init__(
            path,
            f"cannot read node key {shown_path(path)}: {reason}",
            hint="check that the path is a regular file readable by you",
        )


class KeyFileInsecure(KeyFileError):
    """The key file is accessible to the group or to others, so the key may have leaked."""

    def __init__(self, path: Path, mode: int) -> None:
        self.mode = mode
        super().__init__(
            path,
            f"node key {shown_path(path)} is accessible by other users (mode {mode:04o}); "
            "refusing to use it",
            hint=f"run: chmod 600 {shell_word(str(path))}",
        )


class KeyFileCorrupt(KeyFileError):
    """The file is not a well-formed OpenSSH private key."""

    def __init__(self, path: Path, reason: str) -> None:
        self.reason = reason
        super().__init__(
            path,
            f"node key {shown_path(path)} is corrupt: {reason}",
            hint="restore the key from a backup, or create a new one (a new key is a new node id)",
        )


class KeyFilePublic(KeyFileCorrupt):
    """The file holds a public key (an ``ssh-ed25519 AAAA...`` line): nothing to sign with. A
    ``KeyFileCorrupt`` (as it was), told apart because its remedy is another file, not a backup."""

    def __init__(self, path: Path) -> None:
        self.reason = "a public key, not a private one"
        KeyFileError.__init__(
            self,
            path,
            f"node key {shown_path(path)} is a public key; a node signs with its private key",
            hint="give the private key file (ssh-keygen writes it beside the .pub, without it)",
        )


class KeyFileEncrypted(KeyFileError):
    """The key is protected by a passphrase, which mindgit does not support."""

    def __init__(self, path: Path, cipher: str) -> None:
        self.cipher = cipher
        super().__init__(
            path,
            f"node key {shown_path(path)} is passphrase-protected ({cipher}); mindgit needs an "
            "unencrypted key",
            hint=f"remove the passphrase with: ssh-keygen -p -N '' -f {shell_word(str(path))}",
        )


class KeyFileUnsupported(KeyFileError):
    """A well-formed OpenSSH key of a type other than ed25519."""

    def __init__(self, path: Path, key_type: str) -> None:
        self.key_type = key_type
        super().__init__(
            path,
            f"node key {shown_path(path)} is a key of type {key_type}; mindgit node keys are "
            "ed25519",
            hint="create one with: ssh-keygen -t ed25519 -N '' -f <new path>",
        )


class KeyFileExists(KeyFileError):
    """``save`` refuses to replace a key: that would change the node's identity."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            path,
            f"a file already exists at {shown_path(path)}; refusing to overwrite a key",
            hint="choose another path, or move the old key away first if you mean to replace it",
        )


class KeyFileUnwritable(KeyFileError):
    """The key file could not be created."""

    def __init__(self, path: Path, reason: str) -> None:
        self.reason = reason
        super().__init__(
            path,
            f"cannot write node key {shown_path(path)}: {reason}",
            hint="check that the directory exists and is writable",
        )


@functools.lru_cache(maxsize=1 << 14)
def is_valid_point(raw: bytes) -> bool:
    """Whether ``raw`` is a usable ed25519 public key: on the curve, canonical, not of small order.

    Remembered: the check costs ~70 us (a scalar multiplication), and the same few keys are parsed
    again and again (each sealed thought names its recipients; each trust line, each rotation).
    """
    return bool(nacl.bindings.crypto_core_ed25519_is_valid_point(raw))


@dataclass(frozen=True, slots=True)
class PublicKey:
    """An ed25519 public key: the identity of a node. Equal keys compare and hash equal.

    ``PublicKey.parse("did:key:z6Mk...")`` or ``PublicKey.parse("ssh-ed25519 AAAA...")``.
    """

    raw: bytes
    _did: str | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if type(self.raw) is not bytes or len(self.raw) != 32:
            raise MalformedKey(repr(self.raw), "an ed25519 public key is exactly 32 bytes")

    @classmethod
    def parse(cls, text: str) -> PublicKey:
        """Read a did:key or an OpenSSH public key line (``ssh-ed25519 AAAA... [comment]``)."""
        stripped = text.strip()
        if len(stripped.splitlines()) > 1:
            # An OpenSSH line's comment would swallow the rest: two pasted keys would quietly
            # become the first one.
            raise MalformedKey(text, "give one key on one line; this text has several lines")
        if stripped.startswith(DID_PREFIX):
            key = cls._from_did(stripped, text)
        elif stripped.startswith("did:"):
            raise MalformedKey(text, "only the did:key method is supported")
        else:
            key = cls._from_openssh(stripped, text)
        # The bytes parse; now make sure they are a usable curve point (not small-order, canonical),
        # so a bad id is refused when it is typed, not when a signature later fails.
        if not is_valid_point(key.raw):
            raise MalformedKey(text, "the 32 bytes are not a valid ed25519 point")
        return key

    @classmethod
    def _from_did(cls, did: str, original: str) -> PublicKey:
        multibase = did[len(DID_PREFIX) :]
        if not multibase.startswith("z"):
            raise MalformedKey(original, "did:key must use base58btc multibase (prefix 'z')")
        try:
            # The character first: what is wrong with two pasted dids, or an escape sequence,
            # is the character, wherever the text ends.
            _base58.check(multibase[1:])
        except _base58.Base58Error as exc:
            raise MalformedKey(original, str(exc)) from None
        if len(multibase) - 1 > _MAX_DID_DIGITS:
            # Decoding is quadratic in the length: a peer's 900,000-character "did" held a
            # verify (or a server's hook) for minutes. No longer text can be 34 bytes.
            raise MalformedKey(
                original,
                f"it is {len(did)} characters long; an ed25519 did:key is "
                f"{len(DID_PREFIX) + 1 + _MAX_DID_DIGITS} at most",
            )
        try:
            decoded = _base58.decode(multibase[1:])
        except _base58.Base58Error as exc:
            raise MalformedKey(original, str(exc)) from None
        raw = decoded[len(_ED25519_PUB_CODEC) :]
        size = len(DID_PREFIX) + 1 + _MAX_DID_DIGITS  # every ed25519 did:key is this long
        if len(did) != size and (not decoded.startswith(_ED25519_PUB_CODEC) or len(raw) != 32):
            # A did cut short by a character decodes to other bytes, whose first two are not
            # the codec's: "not an ed25519-pub multicodec key" hid that it was only short.
            raise MalformedKey(
                original, f"it is {len(did)} characters long; an ed25519 did:key is {size}"
            )
        if not decoded.startswith(_ED25519_PUB_CODEC):
            raise MalformedKey(original, "not an ed25519-pub multicodec key (want prefix 0xed01)")
        if len(raw) != 32:
            raise MalformedKey(original, f"key is {len(raw)} bytes, ed25519 needs 32")
        key = cls(raw)
        # The decoded bytes start with 0xed, so this spelling is the only one: cache it as is.
        object.__setattr__(key, "_did", did)
        return key

    @classmethod
    def _from_openssh(cls, line: str, original: str) -> PublicKey:
        parts = line.split(None, 2)
        if len(parts) < 2:
            raise MalformedKey(original, "expected 'ssh-ed25519 <base64> [comment]' or a did:key")
        key_type, b64 = parts[0], parts[1]
        if key_type not in OPENSSH_KEY_TYPES:
            # Not quoted: the first word of arbitrary text may be a secret.
            raise MalformedKey(original, "expected 'ssh-ed25519 <base64> [comment]' or a did:key")
        if key_type != KEY_TYPE.decode():
            raise MalformedKey(
                original, f"key type {key_type!r} is not supported; only ssh-ed25519"
            )
        try:
            blob = binascii.a2b_base64(b64.encode("ascii"), strict_mode=True)
        except (binascii.Error, UnicodeEncodeError):
            raise MalformedKey(original, "the key is not valid base64") from None
        return cls.from_ssh_blob(blob, original)

    @classmethod
    def from_ssh_blob(cls, blob: bytes, text: str = "") -> PublicKey:
        """Read the SSH wire form of a key: ``string "ssh-ed25519"`` then ``string key``."""
        shown = text or blob.hex()
        reader = Reader(blob)
        try:
            key_type = reader.string("key type")
            if key_type != KEY_TYPE:
                raise MalformedKey(
                    shown, f"key type {key_type.decode(errors='replace')!r} is not ssh-ed25519"
                )
            raw = reader.string("key")
            reader.expect_end("the key")
        except WireError as exc:
            raise MalformedKey(shown, str(exc)) from None
        if len(raw) != 32:
            raise MalformedKey(shown, f"key is {len(raw)} bytes, ed25519 needs 32")
        return cls(raw)

    @property
    def did(self) -> str:
        """The node id, ``did:key:z6Mk...`` (computed once per key)."""
        cached = self._did
        if cached is None:
            cached = _did_of(self.raw)
            object.__setattr__(self, "_did", cached)
        return cached

    @property
    def ssh_blob(self) -> bytes:
        """The SSH wire form of the key, as used inside signatures and key files."""
        return _PUBLIC_BLOB_PREFIX + self.raw

    @property
    def openssh(self) -> str:
        """The OpenSSH public key line without a comment: ``ssh-ed25519 AAAA...``."""
        return "ssh-ed25519 " + binascii.b2a_base64(self.ssh_blob, newline=False).decode("ascii")

    @property
    def fingerprint(self) -> str:
        """The key fingerprint exactly as ``ssh-keygen -lf`` prints it: ``SHA256:...``."""
        digest = hashlib.sha256(self.ssh_blob).digest()
        return "SHA256:" + binascii.b2a_base64(digest, newline=False).decode("ascii").rstrip("=")

    def box_public(self) -> bytes:
        """The X25519 public key that corresponds to this ed25519 key (for sealing to a node)."""
        try:
            return nacl.bindings.crypto_sign_ed25519_pk_to_curve25519(self.raw)
        except Exception:  # libsodium refuses small-order and off-curve points
            raise MalformedKey(self.did, "the key is not a valid ed25519 point") from None

    def __repr__(self) -> str:
        return f"PublicKey({self.did!r})"

    def __str__(self) -> str:
        return self.did


def _did_of(raw: bytes) -> str:
    return DID_PREFIX + "z" + _base58.encode(_ED25519_PUB_CODEC + raw)


class NodeKey:
    """A node's private ed25519 key. Deliberately not a value: no equality, no printing, no pickling."""

    __slots__ = ("_seed", "_signing", "comment", "public")

    public: PublicKey
    comment: str

    def __init__(self, seed: bytes, *, comment: str = "") -> None:
        if type(seed) is not bytes or len(seed) != 32:
            raise ValueError("an ed25519 seed is exactly 32 bytes")
        self._seed = seed
        self._signing = nacl.signing.SigningKey(seed)
        self.public = PublicKey(bytes(self._signing.verify_key))
        self.comment = comment

    @classmethod
    def generate(cls) -> NodeKey:
        """A fresh key from the operating system's random source."""
        return cls(os.urandom(32))

    @classmethod
    def from_seed(cls, seed: bytes) -> NodeKey:
        """The key for a 32-byte ed25519 seed (tests and deterministic fixtures)."""
        return cls(seed)

    @classmethod
    def load(cls, path: Path) -> NodeKey:
        """Read an unencrypted OpenSSH ed25519 private key file, refusing one others can access."""
        path = Path(path)
        try:
            # O_NONBLOCK: opening a named pipe (or a device) put where the key belongs would
            # wait for a writer for ever; opened at once, fstat refuses it below. Reads of a
            # regular file ignore the flag.
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            raise KeyFileMissing(path) from None
        except OSError as exc:
            raise KeyFileUnreadable(path, exc.strerror or str(exc)) from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise KeyFileUnreadable(path, "not a regular file")
            if st.st_size > _MAX_KEYFILE:
                raise KeyFileCorrupt(path, f"{st.st_size} bytes is far too large for a key file")
            chunks = []
            while chunk := os.read(fd, _MAX_KEYFILE + 1):
                chunks.append(chunk)
            data = b"".join(chunks)
        except OSError as exc:
            raise KeyFileUnreadable(path, exc.strerror or str(exc)) from None
        finally:
            os.close(fd)
        # Before the mode: a .pub file is readable by all as it should be, and was refused
        # with "run: chmod 600" on it.
        if data.lstrip().startswith(b"ssh-"):
            raise KeyFilePublic(path)
        if st.st_mode & 0o077:
            raise KeyFileInsecure(path, stat.S_IMODE(st.st_mode))
        seed, comment = decode_private_key(data, path)
        return cls(seed, comment=comment)

    def save(self, path: Path, *, comment: str = "") -> None:
        """Write the key as an OpenSSH private key file, mode 0600; never overwrites a file.

        The file appears complete or not at all: it is written under a temporary name created
        0600, fsynced, then hard-linked into place (which fails if the name is taken).
        """
        path = Path(path)
        data = encode_private_key(self._seed, self.public, comment, int.from_bytes(os.urandom(4)))
        if os.path.lexists(path):
            raise KeyFileExists(path)
        remove_stale_temporaries(path)
        tmp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
        try:
            # Held open, and flocked, until it is gone: remove_stale_temporaries leaves it.
            held = _write_new_private_file(tmp, data, hold=True)
        except OSError as exc:
            raise KeyFileUnwritable(path, exc.strerror or str(exc)) from None
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise KeyFileExists(path) from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK):
                raise KeyFileUnwritable(path, exc.strerror or str(exc)) from None
            # No hard links on this filesystem: O_EXCL still never clobbers, at the cost of a
            # partial file if the machine dies mid-write.
            try:
                _write_new_private_file(path, data)
            except FileExistsError:
                raise KeyFileExists(path) from None
            except OSError as exc2:
                raise KeyFileUnwritable(path, exc2.strerror or str(exc2)) from None
        finally:
            _unlink_quietly(tmp)
            os.close(held)
        fsync_dir(path.parent)

    def sign(self, data: bytes) -> bytes:
        """The raw 64-byte ed25519 signature of ``data``."""
        signature: bytes = self._signing.sign(data).signature
        return signature

    def box_private(self) -> bytes:
        """The X25519 private key derived from this key's seed (pairs with ``public.box_public()``)."""
        return nacl.bindings.crypto_sign_ed25519_sk_to_curve25519(self._seed + self.public.raw)

    def __repr__(self) -> str:
        return f"NodeKey(public={self.public.did!r})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a NodeKey is not picklable; save it with NodeKey.save() instead")


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove the temporary files that saves of ``path`` killed midway left beside it (each a
    copy of a private key, mode 0600); return those removed.

    Only this module's own names (``.<name>.<12 hex digits>.tmp``), only regular files of this
    user, only those older than ``STALE_TEMPORARY_SECONDS``, and only when no process holds
    the flock a save takes on its file as soon as it has created it and keeps until the file is
    gone: a save in progress, however slow or stopped, keeps its file.
    """
    path = Path(path)
    own = re.compile(rf"\.{re.escape(path.name)}\.[0-9a-f]{{12}}\.tmp")
    return remove_stale(path.parent, own, STALE_TEMPORARY_SECONDS)


def _write_new_private_file(path: Path, data: bytes, *, hold: bool = False) -> int:
    """Create ``path`` (mode 0600) holding ``data``, fsynced; with ``hold`` return its open,
    flocked descriptor for the caller to close, else -1."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        if hold:
            # Where flock is not supported the cleaner cannot take it either, so removes nothing.
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_EX)
        # The umask can only clear bits, but be explicit: owner read/write and nothing else.
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        _unlink_quietly(path)
        raise
    if hold:
        return fd
    os.close(fd)
    return -1


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def encode_private_key(seed: bytes, public: PublicKey, comment: str, checkint: int) -> bytes:
    """The bytes of an unencrypted openssh-key-v1 file holding one ed25519 key."""
    private = (
        u32(checkint)
        + u32(checkint)
        + string(KEY_TYPE)
        + string(public.raw)
        + string(seed + public.raw)
        + string(comment.encode("utf-8"))
    )
    pad = -len(private) % _BLOCK_SIZE
    private += bytes(range(1, pad + 1))
    blob = (
        _KEYFILE_MAGIC
        + string(b"none")
        + string(b"none")
        + string(b"")
        + u32(1)
        + string(public.ssh_blob)
        + string(private)
    )
    return armour(blob, _KEYFILE_LABEL).encode("ascii")


def decode_private_key(data: bytes, path: Path) -> tuple[bytes, str]:
    """Parse an openssh-key-v1 ed25519 file into (seed, comment), checking every redundancy."""
    text = data.strip()
    if text.startswith(b"ssh-") or text.startswith(b"did:"):
        raise KeyFileCorrupt(path, "this is a public key, not a private key file")
    if text.startswith(b"-----BEGIN") and b"OPENSSH PRIVATE KEY" not in text.split(b"\n", 1)[0]:
        raise KeyFileCorrupt(
            path,
            "a PEM private key, not OpenSSH format (convert it with: ssh-keygen -p -f <file>)",
        )
    try:
        blob = dearmour(text, _KEYFILE_LABEL)
    except WireError as exc:
        raise KeyFileCorrupt(path, f"not an OpenSSH private key: {exc}") from None
    reader = Reader(blob)
    try:
        if reader.fixed(len(_KEYFILE_MAGIC), "magic") != _KEYFILE_MAGIC:
            raise KeyFileCorrupt(path, "missing the openssh-key-v1 magic")
        cipher = reader.string("cipher name")
        kdf = reader.string("kdf name")
        reader.string("kdf options")
        if cipher in _OPENSSH_CIPHERS and kdf == _OPENSSH_KDF:
            raise KeyFileEncrypted(path, cipher.decode())
        if cipher != b"none" or kdf != b"none":
            # A damaged byte in "none" is not a passphrase: ssh-keygen -p cannot help, a backup can.
            raise KeyFileCorrupt(path, "unknown cipher or kdf (a damaged header)")
        count = reader.u32("key count")
        if count != 1:
            raise KeyFileCorrupt(path, f"holds {count} keys; a node key file holds exactly one")
        public_blob = reader.string("public key")
        private = reader.string("private section")
        reader.expect_end("the private section")
    except WireError as exc:
        raise KeyFileCorrupt(path, str(exc)) from None
    key_type = Reader(public_blob)
    try:
        type_name = key_type.string("public key type")
    except WireError as exc:
        raise KeyFileCorrupt(path, str(exc)) from None
    if type_name != KEY_TYPE:
        if type_name.decode(errors="replace") in OPENSSH_KEY_TYPES:
            raise KeyFileUnsupported(path, type_name.decode())
        # A damaged "ssh-ed25519" is not another kind of key: making a new one is a new node id.
        raise KeyFileCorrupt(path, "unknown key type (a damaged public key)")
    try:
        header_key = PublicKey.from_ssh_blob(public_blob)
    except MalformedKey as exc:
        raise KeyFileCorrupt(path, f"public key: {exc.reason}") from None
    return _decode_private_section(private, header_key, path)


def _decode_private_section(private: bytes, header_key: PublicKey, path: Path) -> tuple[bytes, str]:
    if len(private) % _BLOCK_SIZE:
        raise KeyFileCorrupt(path, f"private section is not a multiple of {_BLOCK_SIZE} bytes")
    reader = Reader(private)
    try:
        check1 = reader.u32("check-int")
        check2 = reader.u32("check-int")
        if check1 != check2:
            raise KeyFileCorrupt(path, "check-ints differ (damaged or wrongly decrypted key)")
        type_name = reader.string("private key type")
        if type_name != KEY_TYPE:
            raise KeyFileCorrupt(
                path, f"private key type {type_name.decode(errors='replace')!r} is not ssh-ed25519"
            )
        pk = reader.string("public half")
        sk = reader.string("private half")
        comment_bytes = reader.string("comment")
        padding = reader.rest()
    except WireError as exc:
        raise KeyFileCorrupt(path, str(exc)) from None
    if len(pk) != 32 or len(sk) != 64:
        raise KeyFileCorrupt(path, "ed25519 key halves have the wrong length")
    if padding != bytes(range(1, len(padding) + 1)):
        raise KeyFileCorrupt(path, "bad padding after the private key")
    if pk != header_key.raw or sk[32:] != pk:
        raise KeyFileCorrupt(path, "the public and private halves of the key disagree")
    seed = sk[:32]
    derived, _ = nacl.bindings.crypto_sign_seed_keypair(seed)
    if derived != pk:
        raise KeyFileCorrupt(path, "the private seed does not produce the stored public key")
    try:
        comment = comment_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyFileCorrupt(path, "the key comment is not UTF-8") from None
    return seed, comment
