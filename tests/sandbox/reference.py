"""Python mirrors of the shipped fitness modules, operation for operation.

Python floats are IEEE-754 binary64 with round-to-nearest and no fused multiply-add, so doing the
same operations in the same order as the WAT, AssemblyScript and C sources gives the same bits.
The tests use these mirrors to check the wasm builds bit for bit, and ``math.cos`` to check that
the algorithm itself is accurate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

TWO_PI = 6.283185307179586

# (-1)^k / (2k)! for k = 8 down to 1, then (-1)^k / (2k+1)! for k = 8 down to 1.
COS_COEFFS = (
    4.779477332387385e-14,
    -1.1470745597729725e-11,
    2.08767569878681e-09,
    -2.755731922398589e-07,
    2.48015873015873e-05,
    -0.001388888888888889,
    0.041666666666666664,
    -0.5,
)
SIN_COEFFS = (
    2.8114572543455206e-15,
    -7.647163731819816e-13,
    1.6059043836821613e-10,
    -2.505210838544172e-08,
    2.7557319223985893e-06,
    -0.0001984126984126984,
    0.008333333333333333,
    -0.16666666666666666,
)


def nearest(x: float) -> float:
    """wasm ``f64.nearest``: round half to even (Python's ``round`` on a float does the same)."""
    if math.isinf(x) or math.isnan(x):
        return x
    return math.copysign(float(round(x)), x)


def cos_poly(t: float) -> float:
    z = t * t
    p = COS_COEFFS[0]
    for c in COS_COEFFS[1:]:
        p = p * z + c
    return p * z + 1.0


def sin_poly(t: float) -> float:
    z = t * t
    p = SIN_COEFFS[0]
    for c in SIN_COEFFS[1:]:
        p = p * z + c
    return t * (p * z + 1.0)


def cos2pi(x: float) -> float:
    """cos(2*pi*x) the way the modules compute it."""
    r = x - nearest(x)
    a = abs(r)
    negate = False
    if a > 0.25:
        a = 0.5 - a
        negate = True
    v = sin_poly((0.25 - a) * TWO_PI) if a > 0.125 else cos_poly(a * TWO_PI)
    return -v if negate else v


def term(x: float) -> float:
    return (x * x - 10.0 * cos2pi(x)) + 10.0


def rastrigin_score(xs: Iterable[float]) -> float:
    """The score ``fitness_batch`` returns: minus Rastrigin, so 0.0 at the origin is the best."""
    s = 0.0
    for x in xs:
        s = s + term(x)
    return 0.0 - s


def rastrigin_exact(xs: Sequence[float]) -> float:
    """The textbook formula with libm's cos, to check the algorithm's accuracy."""
    return -(10.0 * len(xs) + sum(x * x - 10.0 * math.cos(2.0 * math.pi * x) for x in xs))


def onemax_score(xs: Iterable[float]) -> float:
    return float(sum(1 for x in xs if x == 1.0))


_POW10_MAX = 22


def pow10(k: int) -> float:
    p = 1.0
    for _ in range(k):
        p = p * 10.0
    return p


def parse_number(text: str) -> float:
    """The modules' decimal parse: digits into an integer mantissa, then scale by exact 10^k."""
    i = 0
    negative = text[i] == "-"
    if negative:
        i += 1
    m = 0
    exp = 0
    start = i
    while i < len(text) and text[i].isdigit():
        if m < 10**17:
            m = m * 10 + int(text[i])
        else:
            exp += 1
        i += 1
    assert i > start
    if i < len(text) and text[i] == ".":
        i += 1
        start = i
        while i < len(text) and text[i].isdigit():
            if m < 10**17:
                m = m * 10 + int(text[i])
                exp -= 1
            i += 1
        assert i > start
    if i < len(text) and text[i] in "eE":
        i += 1
        eneg = False
        if i < len(text) and text[i] in "+-":
            eneg = text[i] == "-"
            i += 1
        e = 0
        start = i
        while i < len(text) and text[i].isdigit():
            if e < 100000:
                e = e * 10 + int(text[i])
            i += 1
        assert i > start
        exp = exp - e if eneg else exp + e
    assert i == len(text)
    x = float(m)
    if exp > 0:
        while exp > _POW10_MAX:
            x = x * 1e22
            exp -= _POW10_MAX
        x = x * pow10(exp)
    elif exp < 0:
        while exp < -_POW10_MAX:
            x = x / 1e22
            exp += _POW10_MAX
        x = x / pow10(-exp)
    return -x if negative else x
