"""IPLD: canonical DAG-JSON blocks, their CIDs, and CAR v1 archives. Knows nothing of git.

Modules: ``cid`` (CID, codec and hash codes), ``dagjson`` (the block codec), ``car`` (CAR v1
streams), ``varint`` (multiformats varints), ``dagcbor`` (just enough for the CAR header).
See docs/ipld.md for the exact byte forms.
"""

from __future__ import annotations

from mindgit.ipld.cid import (
    CID,
    DAG_CBOR,
    DAG_JSON,
    DAG_PB,
    RAW,
    SHA2_256,
    CIDMismatch,
    InvalidCID,
    UnsupportedHash,
)

__all__ = [
    "CID",
    "DAG_CBOR",
    "DAG_JSON",
    "DAG_PB",
    "RAW",
    "SHA2_256",
    "CIDMismatch",
    "InvalidCID",
    "UnsupportedHash",
]
