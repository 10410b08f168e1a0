"""Hypothesis strategies for IPLD values, CIDs and blocks, shared by the ipld tests."""

from __future__ import annotations

import math
import struct

from hypothesis import assume
from hypothesis import strategies as st

from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID, DAG_CBOR, DAG_JSON, DAG_PB, IDENTITY, RAW, SHA2_256

CODECS = (DAG_JSON, RAW, DAG_CBOR, DAG_PB)

# Floats where spellings differ between implementations: exponent switch points of Python
# (1e-4, 1e16) and ECMAScript (1e-6, 1e21), the 2**53 integer limit, subnormals, extremes.
HARD_FLOATS: list[float] = [
    0.0, 0.1, 0.5, 1.0, 2.0, -2.0, 1.5, 100.0, 1e-4, 1e-5, 1e-6, 1e-7, 1.5e-7, 9.99e-7,
    1e15, 1e16, 1e17, 1e20, 1e21, 1e22, 1.5e21, 123456789012345680000.0, 1.2345678901234567e20,
    2.0**53 - 1, 2.0**53, 2.0**53 + 2, -(2.0**53), 2.0**63, 2.0**64, 2.0**64 + 4096, 1e300,
    1.7976931348623157e308, -1.7976931348623157e308, 5e-324, -5e-324, 1e-323, 2.2250738585072014e-308,
    2.225073858507201e-308, 8.940696716308594e-8, -8.940696716308594e-8, 0.9999999999999999,
    1.1111111111111112, 82497.63712086187, 4.35, 0.3, 1 / 3, math.pi, -math.e, 1e-300, 123e-20,
    0.000001, 0.0000012345, 999999999999999900000.0, 1e23, 5e-7, 2.5e-6,
]  # fmt: skip


def _not_negative_zero(x: float) -> bool:
    return not (x == 0.0 and math.copysign(1.0, x) < 0)


def finite_floats() -> st.SearchStrategy[float]:
    """Finite floats except -0.0: Hypothesis' own mix, raw bit patterns, and the hard cases."""
    from_bits = (
        st.integers(0, 2**64 - 1)
        .map(lambda bits: struct.unpack(">d", bits.to_bytes(8, "big"))[0])
        .filter(math.isfinite)
    )
    return (
        st.floats(allow_nan=False, allow_infinity=False) | from_bits | st.sampled_from(HARD_FLOATS)
    ).filter(_not_negative_zero)


def cids(*, interop: bool = False) -> st.SearchStrategy[CID]:
    """CIDv1 with any codec/hash (small codes if ``interop``: JavaScript varints stop at 2**53)."""
    limit = 2**31 - 1 if interop else 2**63 - 1
    v1 = st.builds(
        lambda codec, hash_code, digest: CID(1, codec, hash_code, digest),
        st.sampled_from(CODECS) | st.integers(0, limit),
        st.sampled_from((SHA2_256, IDENTITY, 0x13, 0xB220)) | st.integers(0, limit),
        st.binary(max_size=64),
    )
    v0 = st.binary(min_size=32, max_size=32).map(lambda d: CID(0, DAG_PB, SHA2_256, d))
    return v1 | v0


KEYS = st.text(max_size=8) | st.sampled_from(["/", "bytes", "", "a", "\uffff", "\U0001f600"])


def scalars(*, interop: bool = False) -> st.SearchStrategy[dagjson.Node]:
    return (
        st.none()
        | st.booleans()
        | st.integers(dagjson.MIN_INT, dagjson.MAX_INT)
        | st.integers(-(2**60), 2**60)
        | finite_floats()
        | st.text()
        | st.binary()
        | cids(interop=interop)
    )


def nodes(*, interop: bool = False) -> st.SearchStrategy[dagjson.Node]:
    """Any IPLD data-model value, including maps that ``encode`` must refuse (see ``encodable``)."""
    return st.recursive(
        scalars(interop=interop),
        lambda children: (
            st.lists(children, max_size=6) | st.dictionaries(KEYS, children, max_size=6)
        ),
        max_leaves=40,
    )


def encodable(value: dagjson.Encodable) -> bytes:
    """``encode(value)``, rejecting the example if it is one of the two deliberate refusals."""
    try:
        return dagjson.encode(value)
    except (dagjson.ReservedForm, dagjson.AmbiguousKeyOrder):
        assume(False)
        raise


def encodable_or_none(value: dagjson.Encodable) -> bytes | None:
    """``encode(value)``, or ``None`` if it is one of the two deliberate refusals."""
    try:
        return dagjson.encode(value)
    except (dagjson.ReservedForm, dagjson.AmbiguousKeyOrder):
        return None


def normalised(value: object) -> object:
    """What ``decode(encode(value))`` returns: lists for tuples, ints for JS-integral floats."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= dagjson.MAX_SAFE_INTEGER:
        return int(value)
    if isinstance(value, list | tuple):
        return [normalised(v) for v in value]
    if isinstance(value, dict):
        return {k: normalised(v) for k, v in value.items()}
    return value
