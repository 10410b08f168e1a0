"""Deterministic randomness for evolution: the same numbers on every machine and Python build.

The bits come from SHAKE-256 (FIPS 202) in counter mode, keyed by ``(seed, generation)``, so a
resumed run needs nothing but the last stored population to breed the next one. Every number
derived from the bits uses only operations IEEE 754 defines exactly (``+ - * /``, ``sqrt``,
``frexp``) in a fixed order, never libm's ``log``/``exp``/``cos``, whose last bit differs between
C libraries. That is why :func:`ln` is written out here.
"""

from __future__ import annotations

import hashlib
import math
import struct

_DOMAIN = b"mindgit/evolve/prng/v1\0"
BLOCK_WORDS = 1024
_UNPACK = struct.Struct(f"<{BLOCK_WORDS}Q").unpack
_TWO_M53 = 2.0**-53
_TWO_M52 = 2.0**-52
_MAX_SEED = 2**64 - 1

# ln(2) split so that e * _LN2_HI is exact for any binary exponent e (fdlibm's constants).
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_SQRT_HALF = 0.7071067811865476
# 2 / (2k + 1) for k = 1..10: ln(m) = 2 atanh(f) = 2f + f^3 * sum(c_k f^(2k-2)).
_LN_COEFFS = (
    2.0 / 21.0,
    2.0 / 19.0,
    2.0 / 17.0,
    2.0 / 15.0,
    2.0 / 13.0,
    2.0 / 11.0,
    2.0 / 9.0,
    2.0 / 7.0,
    2.0 / 5.0,
    2.0 / 3.0,
)


def ln(x: float) -> float:
    """The natural logarithm of a positive finite ``x``, bit-identical on every platform.

    Accurate to about one ulp: ``x = m * 2**e`` with ``m`` in [sqrt(1/2), sqrt(2)), then
    ``ln(m) = 2 atanh((m - 1) / (m + 1))`` as a fixed polynomial.

    >>> ln(1.0)
    0.0
    """
    if not x > 0.0 or x == math.inf:
        raise ValueError(f"ln is defined here for positive finite numbers, not {x!r}")
    m, e = math.frexp(x)
    if m < _SQRT_HALF:
        m = m * 2.0
        e -= 1
    f = (m - 1.0) / (m + 1.0)
    z = f * f
    p = _LN_COEFFS[0]
    for c in _LN_COEFFS[1:]:
        p = p * z + c
    return (e * _LN2_HI + (f * 2.0 + (f * z * p + e * _LN2_LO))) + 0.0


def stream_key(seed: int, generation: int) -> bytes:
    """The key of the stream that breeds ``generation`` of a run with ``seed``."""
    if not 0 <= seed <= _MAX_SEED or not 0 <= generation <= _MAX_SEED:
        raise ValueError("seed and generation must be in 0..2**64-1")
    return hashlib.sha256(
        _DOMAIN + seed.to_bytes(8, "little") + generation.to_bytes(8, "little")
    ).digest()


def block_bytes(key: bytes, index: int) -> bytes:
    """Block ``index`` of the stream keyed ``key``: ``BLOCK_WORDS`` little-endian 64-bit words."""
    return hashlib.shake_256(key + index.to_bytes(8, "little")).digest(BLOCK_WORDS * 8)


class Stream:
    """A stream of 64-bit words from SHAKE-256(key || block counter), and numbers made of them.

    >>> s = Stream(stream_key(7, 0))
    >>> 0.0 <= s.uniform() < 1.0
    True
    """

    __slots__ = ("_block", "_buf", "_key", "_pos", "_spare")

    def __init__(self, key: bytes) -> None:
        self._key = bytes(key)
        self._block = 0
        self._buf: tuple[int, ...] = ()
        self._pos = BLOCK_WORDS
        self._spare: float | None = None

    @classmethod
    def for_generation(cls, seed: int, generation: int) -> Stream:
        return cls(stream_key(seed, generation))

    def _refill(self) -> None:
        self._buf = _UNPACK(block_bytes(self._key, self._block))
        self._pos = 0
        self._block += 1

    def word(self) -> int:
        """The next 64-bit word."""
        pos = self._pos
        if pos >= BLOCK_WORDS:
            self._refill()
            pos = 0
        self._pos = pos + 1
        return self._buf[pos]

    def words(self, n: int) -> list[int]:
        """The next ``n`` words, in order."""
        pos = self._pos
        end = pos + n
        if pos <= end <= BLOCK_WORDS:  # the common case: all in the current block
            self._pos = end
            return list(self._buf[pos:end])
        out: list[int] = []
        while n > 0:
            if self._pos >= BLOCK_WORDS:
                self._refill()
            take = min(n, BLOCK_WORDS - self._pos)
            out.extend(self._buf[self._pos : self._pos + take])
            self._pos += take
            n -= take
        return out

    def uniform(self) -> float:
        """A float in [0, 1): 53 random bits, exactly."""
        return (self.word() >> 11) * _TWO_M53

    def below(self, n: int) -> int:
        """An integer in [0, n) by multiply-shift (bias below 2**-64 * n, irrelevant here)."""
        return (self.word() * n) >> 64

    def gaussian(self) -> float:
        """A standard normal deviate (Marsaglia's polar method with :func:`ln`)."""
        spare = self._spare
        if spare is not None:
            self._spare = None
            return spare
        while True:
            u = (self.word() >> 11) * _TWO_M52 - 1.0
            v = (self.word() >> 11) * _TWO_M52 - 1.0
            s = u * u + v * v
            if 0.0 < s < 1.0:
                break
        f = math.sqrt(-2.0 * ln(s) / s)
        self._spare = v * f
        return u * f
