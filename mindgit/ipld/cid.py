"""Content identifiers (CIDs): CIDv1 over sha2-256, with CIDv0 and any multibase for reading.

``CID.of`` and ``str(cid)`` sit on hot paths (every thought, every gene block), so they are built
from ``hashlib``, a cached binary prefix and integer-based base32 (both ways): a few microseconds
instead of the ~200 µs the ``multiformats`` library spends on type checks. ``multiformats`` stays the definition:
the test suite proves both agree, and ``CID.parse`` falls back to it for rarely used multibases,
imported only then because it is slow to import.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from mindgit.errors import MindgitError, quoted
from mindgit.ipld.varint import MAX_UVARINT, VarintError, decode_uvarint, encode_uvarint

IDENTITY = 0x00
SHA2_256 = 0x12
RAW = 0x55
DAG_PB = 0x70
DAG_CBOR = 0x71
DAG_JSON = 0x0129

_SHA2_256_LENGTH = 32
_V0_PREFIX = b"\x12\x20"
_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}
# Decoding base58, and every base multiformats decodes (base16, base36, base64 ...), is quadratic
# in the length: a 200 KB link text in a block cost 14 s to refuse, 16 MB would take a day. No
# real CID string is anywhere near this long (a 64-byte digest is ~550 characters in base2).
_MAX_MULTIBASE_TEXT = 2048


class InvalidCID(MindgitError):
    """Text or bytes that are not a CID (bad multibase, bad varint, wrong length, bad version)."""

    def __init__(self, value: str | bytes, reason: str) -> None:
        self.value = value
        self.reason = reason
        if isinstance(value, str):
            shown = quoted(value)
        else:
            shown = "0x" + value[:40].hex() + ("..." if len(value) > 40 else "")
        super().__init__(
            f"not a CID: {shown}: {reason}",
            hint="a CID is written like 'bafy...' (CIDv1, base32) or 'Qm...' (CIDv0)",
        )


class CIDMismatch(MindgitError):
    """A block's bytes do not hash to the digest its CID names."""

    def __init__(self, cid: CID, actual: CID) -> None:
        self.cid = cid
        self.actual = actual
        super().__init__(
            f"block does not match its CID {shown_cid(cid)}: its bytes hash to {actual}",
            hint="the block is corrupt or was stored under the wrong CID; fetch it again",
        )


class UnsupportedHash(MindgitError):
    """A CID names a hash function this code does not verify (only sha2-256 is supported)."""

    def __init__(self, cid: CID) -> None:
        self.cid = cid
        self.hash_code = cid.hash_code
        self.digest_length = len(cid.digest)
        what = (
            f"sha2-256 truncated to {self.digest_length} bytes"
            if cid.hash_code == SHA2_256
            else f"multihash function 0x{cid.hash_code:x}"
        )
        super().__init__(
            f"cannot verify {shown_cid(cid)}: {what} is not supported, only full sha2-256",
            hint="re-encode the block with sha2-256, or read it without verification if its source is trusted",
        )


# A CID a message names longer than this is cut: sha2-512 spells ~115 characters, while an
# identity CID (its bytes inline, as a hostile CAR may name a section) can be megabytes.
CID_SHOWN_MAX = 160


def shown_cid(cid: CID) -> str:
    """``str(cid)`` for a message, or its start and its length past ``CID_SHOWN_MAX``."""
    text = str(cid)
    if len(text) <= CID_SHOWN_MAX:
        return text
    return f"{text[:100]}... ({len(text)} characters)"


@functools.lru_cache(maxsize=64)
def _v1_prefix(codec: int, hash_code: int, length: int) -> bytes:
    return b"\x01" + encode_uvarint(codec) + encode_uvarint(hash_code) + encode_uvarint(length)


_B32_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
# Maps each 5-bit value, once spread into a byte of its own, to its base32 character.
_B32_BYTES = bytes.maketrans(bytes(range(32)), _B32_ALPHABET.encode("ascii"))


@functools.lru_cache(maxsize=64)
def _spread_steps(groups: int) -> tuple[tuple[int, int], ...]:
    """Masks and shifts that move ``groups`` packed 5-bit groups of an integer apart into
    8-bit lanes (group k from bit 5k to bit 8k): at each step the groups whose index has bit
    t set move 3 * 2**t to the left, highest t first, so no group ever lands on another."""
    pos = [5 * k for k in range(groups)]
    steps = []
    for t in range(max(groups - 1, 0).bit_length() - 1, -1, -1):
        mask = 0
        for k in range(groups):
            if k >> t & 1:
                mask |= 31 << pos[k]
                pos[k] += 3 << t
        steps.append((mask, 3 << t))
    return tuple(steps)


# base32 spreads at most this many bytes at once (512 groups of 5 bytes, 4096 characters): past
# a few KB the cost per byte grows with the length.
_B32_PIECE = 2560


def base32(raw: bytes) -> str:
    """Lowercase unpadded RFC 4648 base32 (multibase ``b`` without its prefix).

    Each 5-bit group is spread into a byte of its own by a few whole-integer mask-and-shift
    steps, then the bytes are translated to characters: a handful of C-level operations
    instead of one Python step per character pair (~2x faster for a CID).

    Spreading costs the square of the length (a CID a hostile CAR names by an identity
    multihash may have a digest of megabytes: 64 KB took 9 s, 16 MB would take days), so longer
    input goes in pieces of whole 5-byte groups, each its own characters exactly.
    """
    if len(raw) > _B32_PIECE:
        view = memoryview(raw)
        return "".join(
            _base32(bytes(view[at : at + _B32_PIECE])) for at in range(0, len(raw), _B32_PIECE)
        )
    return _base32(raw)


def _base32(raw: bytes) -> str:
    nbits = len(raw) * 8
    nchars = -(-nbits // 5)
    y = int.from_bytes(raw, "big") << (nchars * 5 - nbits)
    for mask, shift in _spread_steps(nchars):
        m = y & mask
        y = (y ^ m) | (m << shift)
    return y.to_bytes(nchars, "big").translate(_B32_BYTES).decode("ascii")


# base32_digests spreads this many digests at once: one fixed size keeps its masks cached.
_DIGESTS_AT_ONCE = 32


def base32_digests(digests: Sequence[bytes]) -> list[str]:
    """``base32`` of each of many 32-byte digests (a generation's new CIDs), computed together.

    Each digest is padded with 3 zero bytes to 35 (a whole number of 5-byte groups), so its 56
    characters start with its own 52; 32 of them are spread as one integer. About twice as fast
    as one ``base32`` call each.
    """
    out: list[str] = []
    pad = b"\0\0\0"
    for at in range(0, len(digests), _DIGESTS_AT_ONCE):
        chunk = list(digests[at : at + _DIGESTS_AT_ONCE])
        if any(len(d) != 32 for d in chunk):
            raise ValueError("base32_digests takes 32-byte digests")
        count = len(chunk)
        chunk += [bytes(32)] * (_DIGESTS_AT_ONCE - count)  # always one size: cached masks
        text = base32(pad.join(chunk) + pad)
        out.extend(text[56 * k : 56 * k + 52] for k in range(count))
    return out


@functools.lru_cache(maxsize=64)
def _v1_text_head(codec: int, hash_code: int, length: int) -> str | None:
    """The text of a CIDv1's binary prefix when it is whole 5-byte groups (dag-json over
    sha2-256 is), so that only the digest needs encoding; else None."""
    prefix = _v1_prefix(codec, hash_code, length)
    return "b" + base32(prefix) if len(prefix) % 5 == 0 else None


def _b58encode(raw: bytes) -> str:
    n = int.from_bytes(raw, "big")
    digits: list[str] = []
    while n:
        n, r = divmod(n, 58)
        digits.append(_B58_ALPHABET[r])
    zeros = len(raw) - len(raw.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))


def _b58decode(text: str) -> bytes:
    if len(text) > _MAX_MULTIBASE_TEXT:
        raise InvalidCID(text, f"base58 text longer than {_MAX_MULTIBASE_TEXT} characters")
    n = 0
    for ch in text:
        digit = _B58_INDEX.get(ch)
        if digit is None:
            raise InvalidCID(text, f"{ch!r} is not a base58btc character")
        n = n * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + n.to_bytes((n.bit_length() + 7) // 8, "big")


# int(text, 32) reads the "base32hex" digits 0-9a-v; map RFC 4648's alphabet onto them.
_B32_TO_INT_DIGITS = str.maketrans(_B32_ALPHABET, "0123456789abcdefghijklmnopqrstuv")
_B32_TEXT = re.compile("[a-z2-7]*")


def _b32decode(text: str, body: str) -> bytes:
    if len(body) % 8 in (1, 3, 6):
        raise InvalidCID(text, "base32 text has an impossible length")
    # Uppercase letters, padding or stray low bits would be a second spelling of the same CID.
    if _B32_TEXT.fullmatch(body) is None:
        raise InvalidCID(text, "not lowercase unpadded base32 (RFC 4648) after the 'b' prefix")
    raw = base32_decoded(body)
    if raw is None:
        raise InvalidCID(text, "base32 text is not in canonical form (non-zero trailing bits)")
    return raw


def base32_decoded(body: str) -> bytes | None:
    """The bytes that lowercase unpadded base32 ``body`` (RFC 4648) spells, or None when it is
    not the one canonical spelling of any (an impossible length, another character, stray low
    bits): ``CID.parse``'s decoding without its errors, for a caller that only looks a text up."""
    if len(body) % 8 in (1, 3, 6) or _B32_TEXT.fullmatch(body) is None:
        return None
    if not body:
        return b""
    nbytes, spare_bits = divmod(len(body) * 5, 8)
    n = int(body.translate(_B32_TO_INT_DIGITS), 32)
    if n & ((1 << spare_bits) - 1):
        return None
    return (n >> spare_bits).to_bytes(nbytes, "big")


def _multibase_decode(text: str) -> bytes:
    if len(text) > _MAX_MULTIBASE_TEXT:
        raise InvalidCID(text, f"multibase text longer than {_MAX_MULTIBASE_TEXT} characters")
    from multiformats import multibase  # slow import; only for bases nobody here writes

    try:
        raw = multibase.decode(text)
    except (ValueError, LookupError, TypeError) as error:
        raise InvalidCID(text, f"not a multibase string ({error})") from None
    return bytes(raw)


def _multibase_v0_reason(raw: bytes) -> str:
    if len(raw) == 34 and raw.startswith(_V0_PREFIX):
        return (
            "a CIDv0 is never multibase-encoded; it is written only in base58btc with no "
            f"prefix, as {_b58encode(raw)}"
        )
    return "a first byte 0x12 is no CID version (a CIDv0 is never multibase-encoded)"


@dataclass(frozen=True, slots=True)
class CID:
    """A content identifier: CIDv1 (``version=1``) or the legacy CIDv0 (dag-pb, sha2-256)."""

    version: int
    codec: int
    hash_code: int
    digest: bytes
    # str(cid) is cached: it is printed for every link of every block that is encoded.
    _text: str | None = field(default=None, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if type(self.digest) is not bytes:
            if not isinstance(self.digest, bytes | bytearray | memoryview):
                raise InvalidCID(repr(self.digest), "the digest must be bytes")
            object.__setattr__(self, "digest", bytes(self.digest))
        if self.version == 1:
            if not (0 <= self.codec <= MAX_UVARINT and 0 <= self.hash_code <= MAX_UVARINT):
                raise InvalidCID(self._fields_text(), "codec and hash codes must be in 0..2**63-1")
        elif self.version == 0:
            if (
                self.codec != DAG_PB
                or self.hash_code != SHA2_256
                or len(self.digest) != _SHA2_256_LENGTH
            ):
                raise InvalidCID(
                    self._fields_text(), "a CIDv0 is always dag-pb with a 32-byte sha2-256"
                )
        else:
            raise InvalidCID(self._fields_text(), f"CID version {self.version} does not exist")

    def __hash__(self) -> int:
        # Equal CIDs have equal digests, and a bytes object caches its hash: cheaper than the
        # generated hash of all four fields, which writing a generation pays per state.
        return hash(self.digest)

    def _fields_text(self) -> str:
        return f"CID(version={self.version!r}, codec={self.codec!r}, hash_code={self.hash_code!r})"

    @classmethod
    def of(cls, data: bytes, codec: int = DAG_JSON) -> CID:
        """The CIDv1 (sha2-256) of ``data`` read as ``codec``.

        >>> str(CID.of(b"null"))
        'baguqeeraoqru5gfp45ey7no26hzwvqwxrlgdhfde7fihao4magmjf6mcxefq'
        """
        return cls(1, codec, SHA2_256, hashlib.sha256(data).digest())

    @classmethod
    def parse(cls, text: str | bytes) -> CID:
        """Read a CID from a multibase string (``'bafy...'``, ``'Qm...'``, any base) or binary CID."""
        if isinstance(text, bytes | bytearray | memoryview):
            return cls._from_binary(bytes(text))
        if not isinstance(text, str):
            raise InvalidCID(repr(text), f"expected str or bytes, got {type(text).__name__}")
        if not text:
            raise InvalidCID(text, "empty string")
        bare_v0 = len(text) == 46 and text.startswith("Qm")
        if bare_v0:
            raw = _b58decode(text)
            if len(raw) != 34 or not raw.startswith(_V0_PREFIX) or _b58encode(raw) != text:
                raise InvalidCID(text, "not a base58btc CIDv0")
        elif text[0] == "b":
            raw = _b32decode(text, text[1:])
        elif text[0] == "z":
            raw = _b58decode(text[1:])
        else:
            raw = _multibase_decode(text)
        if not bare_v0 and raw[:1] == b"\x12":
            # The CID spec: a CIDv0 is only ever its 46 base58btc characters, no multibase
            # prefix, and 0x12 (18) is no CID version, so multibase text that decodes to a
            # sha2-256 multihash is refused ('bciq...' read as a CIDv0 was a second spelling of it).
            raise InvalidCID(text, _multibase_v0_reason(raw))
        try:
            cid = cls._from_binary(raw)
        except InvalidCID as error:
            raise InvalidCID(text, error.reason) from None
        if cid.version == 1 and text[0] == "b":
            # Canonical base32 was checked above, so the text is already what str() would write.
            object.__setattr__(cid, "_text", text)
        return cid

    @classmethod
    def _from_binary(cls, raw: bytes) -> CID:
        if len(raw) == 34 and raw.startswith(_V0_PREFIX):
            return cls(0, DAG_PB, SHA2_256, raw[2:])
        try:
            version, pos = decode_uvarint(raw, 0)
            if version == 0:
                # "version 0 is not supported (only 0 and 1)" contradicted itself: a CIDv0 is
                # the bare multihash, never a 0x00 version byte.
                raise InvalidCID(
                    raw, "a version byte 0 is no CID (a CIDv0 is a bare 34-byte sha2-256 multihash)"
                )
            if version != 1:
                raise InvalidCID(raw, f"CID version {version} is not supported (only 0 and 1)")
            codec, pos = decode_uvarint(raw, pos)
            hash_code, pos = decode_uvarint(raw, pos)
            length, pos = decode_uvarint(raw, pos)
        except VarintError as error:
            raise InvalidCID(raw, error.reason) from None
        if len(raw) - pos != length:
            raise InvalidCID(
                raw, f"the multihash says {length} digest bytes but {len(raw) - pos} follow"
            )
        return cls(1, codec, hash_code, raw[pos:])

    def to_bytes(self) -> bytes:
        """The binary form of the CID (as in CAR sections and DAG-CBOR tag 42)."""
        if self.version == 0:
            return _V0_PREFIX + self.digest
        return _v1_prefix(self.codec, self.hash_code, len(self.digest)) + self.digest

    def __str__(self) -> str:
        text = self._text
        if text is None:
            if self.version == 1:
                digest = self.digest
                head = _v1_text_head(self.codec, self.hash_code, len(digest))
                text = head + base32(digest) if head is not None else "b" + base32(self.to_bytes())
            else:
                text = _b58encode(self.to_bytes())
            object.__setattr__(self, "_text", text)
        return text

    def __repr__(self) -> str:
        return f"CID({str(self)!r})"

    def verify(self, data: bytes) -> None:
        """Raise ``CIDMismatch`` unless ``data`` hashes to this CID's digest.

        Only full-length sha2-256 is verified; other hash functions raise ``UnsupportedHash``.
        """
        if self.hash_code != SHA2_256 or len(self.digest) != _SHA2_256_LENGTH:
            raise UnsupportedHash(self)
        actual = hashlib.sha256(data).digest()
        if actual != self.digest:
            raise CIDMismatch(self, CID(self.version, self.codec, SHA2_256, actual))
