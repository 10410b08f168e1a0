"""Bad input to the private-thought commands, and damaged envelopes, as a careless user or an
attacker gives them.

Every refusal is one line on stderr with the exit code of the policy (2: the command line itself
is wrong, such as a malformed did:key or a name no node can have; 1: the operation failed), not
one byte under the stores changes, and the text of the private thought is in no output, error
or --json document. A damaged envelope never opens to another text.
"""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest

from mindgit.errors import MindgitError
from mindgit.identity.seal import IntegrityError, NotARecipient, open_sealed
from mindgit.ipld.cid import CID
from mindgit.store.private import reveal, think_private
from mindgit.store.sealed import decode_envelope, encode_envelope
from mindgit.store.state import Block, SchemaError, State
from tests.cli.test_bad_input_audit import assert_one_error_line, run_bytes
from tests.conftest import Mg
from tests.private.conftest import Nodes
from tests.snapshots import changes, snapshot

SECRET = "the vault code is 4417 and the stone is third 9c2e"


def _x25519_did() -> str:
    from mindgit.identity import _base58

    return "did:key:z" + _base58.encode(b"\xec\x01" + bytes(range(32)))


USAGE: list[tuple[tuple[str, ...], str]] = [
    (("think", SECRET, "--private", "--to", "did:key:z6MkNOTAKEY"), "not an ed25519 public key"),
    (("think", SECRET, "--private", "--to", "@x25519"), "multicodec"),
    (("think", SECRET, "--private", "--to", "did:web:example.com"), "did:key method"),
    (("think", SECRET, "--private", "--to", "@beta_did @beta_did"), "not base58btc"),
    (("think", SECRET, "--private", "--to", ""), "invalid node name"),
    (("think", SECRET, "--private", "--to", "be ta"), "invalid node name"),
    (("think", SECRET, "--private", "--to", "be\x1bta"), "invalid node name"),
    (("think", SECRET, "--private", "--to", "b" * 65), "invalid node name"),
    (("share", "@cid", "--with", "did:key:z6MkNOTAKEY"), "not an ed25519 public key"),
    (("share", "@cid", "--with", ""), "invalid node name"),
    (("share", "bafynotacid", "--with", "beta"), "not a CID"),
    (("share", "", "--with", "beta"), "not a CID"),
]

FAILED: list[tuple[tuple[str, ...], str]] = [
    (("think", SECRET, "--private", "--to", "@stranger_did"), "is not a trusted node"),
    (("think", SECRET, "--private", "--to", "stranger"), "no trusted node named 'stranger'"),
    (("share", "@cid", "--with", "alpha"), "already a recipient"),
    (("share", "@cid", "--with", "@alpha_did"), "already a recipient"),
    (("share", "@cid", "--with", "beta"), "already a recipient"),
    (("share", "@cid", "--with", "@stranger_did"), "is not a trusted node"),
    (("share", "@public", "--with", "beta"), "is not a private (sealed) thought"),
    (("share", "@missing", "--with", "beta"), "no thought"),
]


@pytest.mark.parametrize(
    ("args", "message"),
    USAGE + FAILED,
    ids=[" ".join(a).encode("unicode_escape").decode()[:50] for a, _ in USAGE + FAILED],
)
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_bad_private_input_is_refused_with_the_policys_code_and_changes_nothing(
    nodes: Nodes,
    mg: Mg,
    tmp_path: Path,
    args: tuple[str, ...],
    message: str,
    as_json: bool,
) -> None:
    alpha, beta = nodes("alpha", "beta")
    (stranger,) = nodes("stranger", trust=False)
    _, cid = think_private(alpha, SECRET, ["secret-tag-77"], ["beta"])
    _, public = alpha.think("a public thought")
    missing = "bafyreigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
    words = {
        "@x25519": _x25519_did(),
        "@beta_did": beta.public_key.did,
        "@alpha_did": alpha.public_key.did,
        "@stranger_did": stranger.public_key.did,
        "@cid": str(cid),
        "@public": str(public),
        "@missing": missing,
    }
    argv = []
    for arg in args:
        for word, value in words.items():
            arg = arg.replace(word, value)
        argv.append(arg)
    before = snapshot(tmp_path)
    r = mg("--store", str(alpha.path), *argv, *(["--json"] if as_json else []))
    assert r.code == (2 if (args, message) in USAGE else 1), (argv, r.err)
    assert_one_error_line(r.code, r.err)
    assert message in r.err, r.err
    assert SECRET not in r.err + r.out and "secret-tag-77" not in r.err + r.out
    if as_json:
        assert json.loads(r.out)["error"]
    assert changes(before, snapshot(tmp_path)) == []


def test_sealing_to_this_node_alone_is_allowed_and_readable_by_it_only(nodes: Nodes) -> None:
    alpha, beta = nodes("alpha", "beta")
    _, cid = think_private(alpha, SECRET, (), [])
    _, again = think_private(alpha, SECRET, (), ["alpha", alpha.public_key.did])
    for thought in (cid, again):
        assert reveal(alpha, thought)["text"] == SECRET
        sealed = decode_envelope(alpha.thought(thought))
        assert sealed.keys == (alpha.public_key,)
        with pytest.raises(NotARecipient) as info:
            open_sealed(sealed, [beta.key], "thought")
        assert SECRET not in str(info.value)


@pytest.mark.parametrize("source", ["stdin", "argument"])
def test_text_that_is_not_utf8_is_refused_without_quoting_it(
    nodes: Nodes, mg: Mg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    # The DAG-JSON encoder's error named the lone surrogate, "U+DCE9": a byte of the private
    # text, in the error message.
    (alpha,) = nodes("alpha")
    before = snapshot(tmp_path)
    if source == "stdin":
        text = "pin is caf\udce9 and more"
        monkeypatch.setattr("sys.stdin", io.StringIO(text))
        r = mg("--store", str(alpha.path), "think", "-", "--private")
        err = r.err
        code = r.code
    else:
        proc = run_bytes("--store", str(alpha.path), "think", b"pin is caf\xe9", "--private")
        err, code = proc.stderr.decode("utf-8", "replace"), proc.returncode
    assert code in (1, 2)
    assert_one_error_line(code, err)
    assert "dce9" not in err.lower() and "\\xe9" not in err and "caf" not in err
    assert changes(before, snapshot(tmp_path)) == []
    with pytest.raises(SchemaError) as info:
        think_private(alpha, "caf\udce9", (), [])
    assert "dce9" not in str(info.value).lower()


def test_a_huge_private_thought_is_refused_without_quoting_it(
    nodes: Nodes, mg: Mg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (alpha,) = nodes("alpha")
    before = snapshot(tmp_path)
    for size in (800_000, 2_000_000):  # over the limit once sealed; over it as text
        monkeypatch.setattr("sys.stdin", io.StringIO(SECRET * (size // len(SECRET))))
        r = mg("--store", str(alpha.path), "think", "-", "--private", "--json")
        assert r.code == 1, r.err
        assert_one_error_line(r.code, r.err)
        assert "limit" in r.err and SECRET not in r.err + r.out
    assert changes(before, snapshot(tmp_path)) == []


def test_every_truncation_of_an_envelope_is_a_schema_error(nodes: Nodes) -> None:
    alpha, _ = nodes("alpha", "beta")
    _, cid = think_private(alpha, SECRET, (), ["beta"])
    data = alpha.thought(cid)
    for end in range(len(data)):
        with pytest.raises(SchemaError) as info:
            decode_envelope(data[:end])
        assert SECRET not in str(info.value)


def test_no_single_bit_flip_of_an_envelope_opens_to_another_text(nodes: Nodes) -> None:
    # Every bit of the stored bytes: the envelope is refused (schema or integrity), or, for bits
    # the encoding ignores, it still opens to the very same text. Never a third outcome.
    alpha, beta = nodes("alpha", "beta")
    _, cid = think_private(alpha, SECRET, ["t"], ["beta"])
    data = alpha.thought(cid)
    keys = [beta.key]
    opened = 0
    for i in range(len(data)):
        for bit in range(8):
            damaged = bytearray(data)
            damaged[i] ^= 1 << bit
            try:
                sealed = decode_envelope(bytes(damaged))
                plain = open_sealed(sealed, keys, "thought")
            except (SchemaError, IntegrityError, NotARecipient) as e:
                assert SECRET not in str(e)
                continue
            except MindgitError as e:  # pragma: no cover - reported with its type below
                pytest.fail(f"byte {i} bit {bit}: {type(e).__name__}: {e}")
            opened += 1
            assert SECRET.encode() in plain, (i, bit)
    assert opened < 8 * len(data) // 10


def test_a_tampered_envelope_in_the_store_is_shown_as_damaged_never_as_text(
    nodes: Nodes, mg: Mg
) -> None:
    alpha, beta = nodes("alpha", "beta")
    _, cid = think_private(alpha, SECRET, (), ["beta"])
    sealed = decode_envelope(alpha.thought(cid))
    for bad in (
        dataclasses.replace(sealed, box=sealed.box[:-1] + bytes([sealed.box[-1] ^ 1])),
        dataclasses.replace(sealed, commitment=bytes(32)),
        dataclasses.replace(sealed, nonce=bytes(24)),
    ):
        block = encode_envelope(bad)

        def add(state: State, b: Block = block) -> tuple[State, dict[CID, bytes]]:
            return state.with_thoughts(state.thoughts | {b.cid}), {b.cid: b.data}

        alpha.update(add, "tampered")
        with pytest.raises(IntegrityError) as info:
            reveal(alpha, block.cid)
        assert SECRET not in str(info.value)
    for args in (["show"], ["show", "--json"]):
        r = mg("--store", str(alpha.path), *args)
        assert r.code == 0, r.err
        # The good thought, to its recipient, once; the three damaged ones as damaged.
        assert r.out.count(SECRET) == 1, args
        assert r.out.count("integrity check failed") == 3, r.out
    r = mg("--store", str(alpha.path), "log", "--json")
    assert r.code == 0 and SECRET not in r.out
    other = mg("--store", str(beta.path), "cat", str(cid))
    assert SECRET not in other.out + other.err


def test_a_thought_sealed_to_another_node_stays_closed(nodes: Nodes, mg: Mg) -> None:
    alpha, _, gamma = nodes("alpha", "beta", "gamma")
    _, cid = think_private(alpha, SECRET, (), ["beta"])
    block = alpha.thought(cid)
    gamma.update(
        lambda s: (s.with_thoughts(s.thoughts | {CID.parse(str(cid))}), {cid: block}),
        "copied an envelope it cannot read",
    )
    with pytest.raises(NotARecipient) as info:
        reveal(gamma, cid)
    assert SECRET not in str(info.value)
    for args in (["show"], ["show", "--json"]):
        r = mg("--store", str(gamma.path), *args)
        assert r.code == 0 and SECRET not in r.out + r.err
    r = mg("--store", str(gamma.path), "share", str(cid), "--with", "beta")
    assert r.code == 1 and "not a recipient" in r.err and SECRET not in r.err
