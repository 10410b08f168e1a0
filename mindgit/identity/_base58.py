"""Base58btc (the Bitcoin alphabet), as multibase prefix ``z`` and did:key use it.

Written here rather than taken from ``multiformats`` because node ids are printed and parsed
on hot paths and the library costs ~100x more per call; the tests check both always agree.
"""

from __future__ import annotations

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}


class Base58Error(ValueError):
    """Text that is not base58btc; ``str()`` names the offending character."""


def encode(data: bytes) -> str:
    """Encode bytes; each leading zero byte becomes a leading ``1``."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    n = int.from_bytes(data, "big")
    digits: list[str] = []
    while n:
        n, r = divmod(n, 58)
        digits.append(ALPHABET[r])
    return "1" * zeros + "".join(reversed(digits))


def check(text: str) -> None:
    """Raise ``Base58Error`` naming the first character outside the alphabet, if any: in
    linear time, where ``decode`` (big-number arithmetic) is quadratic in the length."""
    index = _INDEX
    for pos, c in enumerate(text):
        if c not in index:
            raise Base58Error(f"character {c!r} at position {pos} is not base58btc")


def decode(text: str) -> bytes:
    """Decode base58btc text; raises ``Base58Error`` on any character outside the alphabet."""
    n = 0
    index = _INDEX
    for pos, c in enumerate(text):
        digit = index.get(c)
        if digit is None:
            raise Base58Error(f"character {c!r} at position {pos} is not base58btc")
        n = n * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * zeros + body
