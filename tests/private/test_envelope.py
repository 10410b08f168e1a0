"""The sealed envelope as a DAG-JSON block: round trips, canonical bytes, and every refused form."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.identity.keys import NodeKey
from mindgit.identity.seal import WRAPPED_BYTES, open_sealed, seal
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID
from mindgit.store.sealed import (
    check_sealed,
    decode_envelope,
    encode_envelope,
    envelope_node,
    is_sealed,
)
from mindgit.store.state import SchemaError, check_thought

KEYS = [NodeKey.from_seed(bytes([i]) * 32) for i in range(1, 5)]


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=512), st.sets(st.integers(0, 3), min_size=1))
def test_envelope_round_trips_and_is_canonical(plaintext: bytes, which: set[int]) -> None:
    chosen = [KEYS[i] for i in sorted(which)]
    sealed = seal(plaintext, [k.public for k in chosen])
    block = encode_envelope(sealed)
    assert block.cid == CID.of(block.data)
    assert dagjson.encode(dagjson.decode(block.data)) == block.data
    back = decode_envelope(block.data)
    assert back == sealed
    assert open_sealed(back, chosen[:1]) == plaintext
    # The state layer dispatches "sealed" thoughts to this schema.
    assert is_sealed(check_thought(block.cid, block.data))


def test_envelope_bytes_are_the_documented_form() -> None:
    sealed = seal(b"x", [KEYS[0].public])
    text = json.loads(encode_envelope(sealed).data)
    assert list(text) == ["box", "cipher", "commitment", "nonce", "recipients", "type", "v"]
    assert text["type"] == "sealed" and text["v"] == 2 and text["cipher"] == "xsalsa20poly1305"
    nonce = text["nonce"]["/"]["bytes"]
    assert base64.b64decode(nonce + "=" * (-len(nonce) % 4)) == sealed.nonce
    assert text["recipients"] == [
        {
            "key": KEYS[0].public.did,
            "wrapped": {
                "/": {"bytes": base64.b64encode(sealed.recipients[0].wrapped).decode().rstrip("=")}
            },
        }
    ]


def _node() -> dict[str, Any]:
    return dict(envelope_node(seal(b"x", [KEYS[0].public, KEYS[1].public])))


def _refused(node: dict[str, Any], match: str) -> None:
    with pytest.raises(SchemaError, match=match):
        check_sealed("thought T", node)
    # and through the state layer, from bytes, as verify and show meet it
    data = dagjson.encode(node)
    with pytest.raises(SchemaError, match=match):
        check_thought(CID.of(data), data)


def test_missing_or_extra_fields_are_refused() -> None:
    node = _node()
    del node["commitment"]
    _refused(node, r"missing \['commitment'\]")
    node = _node()
    node["text"] = "leaked"
    _refused(node, r"unknown \['text'\]")


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("v", 3, "envelope version 3"),
        ("v", 0, "envelope version 0"),
        ("v", True, "envelope version"),
        ("cipher", "aes-256-gcm", "cipher 'aes-256-gcm'"),
        ("nonce", "AAAA", "'nonce' is bytes"),
        ("box", [1, 2], "'box' is bytes"),
        ("commitment", 7, "'commitment' is bytes"),
        ("nonce", bytes(12), "nonce is 12 bytes"),
        ("box", bytes(3), "too short"),
        ("box", bytes(300), "not a padded size"),
        ("commitment", bytes(16), "commitment is 16 bytes"),
        ("recipients", [], "non-empty list"),
        ("recipients", "did:key:z6Mk", "non-empty list"),
    ],
)
def test_bad_field_values_are_refused(field: str, value: Any, match: str) -> None:
    node = _node()
    node[field] = value
    _refused(node, match)


def test_bad_recipients_are_refused() -> None:
    good = _node()["recipients"]
    cases: list[tuple[Any, str]] = [
        ([good[1], good[0]], "sorted"),
        ([good[0], good[0]], "sorted"),
        ([{"key": good[0]["key"]}], "exactly 'key' and 'wrapped'"),
        ([{**good[0], "name": "beta"}], "exactly 'key' and 'wrapped'"),
        (["did:key:z6Mk"], "exactly 'key' and 'wrapped'"),
        ([{"key": 5, "wrapped": good[0]["wrapped"]}], "did:key string"),
        ([{"key": "ssh-ed25519 AAAA", "wrapped": good[0]["wrapped"]}], "did:key string"),
        (
            [{"key": "did:key:z6MkBAD", "wrapped": good[0]["wrapped"]}],
            "recipient 0: not an ed25519",
        ),
        ([{"key": good[0]["key"] + " ", "wrapped": good[0]["wrapped"]}], "canonical did:key"),
        ([{"key": good[0]["key"], "wrapped": "AAAA"}], "'wrapped' is bytes"),
        ([{"key": good[0]["key"], "wrapped": bytes(WRAPPED_BYTES - 1)}], "wrapped key for"),
    ]
    for recipients, match in cases:
        node = _node()
        node["recipients"] = recipients
        _refused(node, match)


def test_decode_refuses_non_canonical_and_non_map_bytes() -> None:
    block = encode_envelope(seal(b"x", [KEYS[0].public]))
    with pytest.raises(SchemaError, match="invalid DAG-JSON"):
        decode_envelope(block.data.replace(b'{"box"', b'{ "box"'))
    with pytest.raises(SchemaError, match="an envelope is a map"):
        decode_envelope(b"[]")
