"""SSHSIG signatures, checked against the real ssh-keygen in both directions."""

from __future__ import annotations

import binascii
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mindgit.identity import sshsig
from mindgit.identity._wire import Reader, armour, dearmour, string, u32
from mindgit.identity.keys import NodeKey, PublicKey
from mindgit.identity.sshsig import (
    BadSignature,
    InvalidNamespace,
    InvalidSignature,
    MalformedSignature,
    UnsupportedSignature,
    WrongNamespace,
)

from .tools import ok, run, ssh_keygen_key

DATA = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbc4b904\n\nsome commit\n"


def allowed_signers(path: Path, *keys: PublicKey) -> Path:
    path.write_text("".join(f'{k.did} namespaces="git" {k.openssh}\n' for k in keys))
    return path


def ssh_verify(
    tmp_path: Path, armored: str, data: bytes, key: PublicKey, namespace: str = "git"
) -> int:
    sig = tmp_path / "sig"
    sig.write_text(armored)
    signers = allowed_signers(tmp_path / "allowed", key)
    return run(
        "ssh-keygen",
        "-Y",
        "verify",
        "-f",
        signers,
        "-I",
        key.did,
        "-n",
        namespace,
        "-s",
        sig,
        stdin=data,
    ).returncode


def ssh_check(tmp_path: Path, armored: str, data: bytes, namespace: str = "git") -> int:
    sig = tmp_path / "sig"
    sig.write_text(armored)
    return run(
        "ssh-keygen", "-Y", "check-novalidate", "-n", namespace, "-s", sig, stdin=data
    ).returncode


def fields(armored: str) -> list[bytes]:
    """The blob's fields after the magic: version (4 bytes), key, namespace, reserved, hash, sig."""
    blob = dearmour(armored.encode(), "SSH SIGNATURE")
    reader = Reader(blob)
    reader.fixed(6, "magic")
    version = reader.fixed(4, "version")
    return [version] + [reader.string(w) for w in ("key", "ns", "reserved", "hash", "sig")]


def rebuild(parts: list[bytes], magic: bytes = b"SSHSIG") -> str:
    version, *strings = parts
    return armour(magic + version + b"".join(string(s) for s in strings), "SSH SIGNATURE")


# -- interop with ssh-keygen ----------------------------------------------------------------


@pytest.mark.parametrize("namespace", ["git", "file", "x@example.com"])
def test_byte_identical_to_ssh_keygen(tmp_path: Path, namespace: str) -> None:
    path = ssh_keygen_key(tmp_path)
    (tmp_path / "msg").write_bytes(DATA)
    ok("ssh-keygen", "-Y", "sign", "-f", path, "-n", namespace, tmp_path / "msg")
    theirs = (tmp_path / "msg.sig").read_text()
    assert sshsig.sign(NodeKey.load(path), DATA, namespace) == theirs


def test_ssh_keygen_verifies_ours(tmp_path: Path, node_key: NodeKey) -> None:
    armored = sshsig.sign(node_key, DATA)
    assert ssh_verify(tmp_path, armored, DATA, node_key.public) == 0
    assert ssh_check(tmp_path, armored, DATA) == 0
    found = ok(
        "ssh-keygen", "-Y", "find-principals", "-f", tmp_path / "allowed", "-s", tmp_path / "sig"
    )
    assert found.decode().split() == [node_key.public.did]


@pytest.mark.parametrize("hashalg", ["sha512", "sha256"])
def test_we_verify_ssh_keygen(tmp_path: Path, hashalg: str) -> None:
    path = ssh_keygen_key(tmp_path)
    (tmp_path / "msg").write_bytes(DATA)
    ok(
        "ssh-keygen",
        "-Y",
        "sign",
        "-f",
        path,
        "-n",
        "git",
        "-O",
        f"hashalg={hashalg}",
        tmp_path / "msg",
    )
    signer = sshsig.verify((tmp_path / "msg.sig").read_text(), DATA)
    assert signer == PublicKey.parse((tmp_path / "id.pub").read_text())
    assert sshsig.verify((tmp_path / "msg.sig").read_bytes(), DATA) == signer


def test_both_refuse_tampered_data(tmp_path: Path, node_key: NodeKey) -> None:
    armored = sshsig.sign(node_key, DATA)
    with pytest.raises(InvalidSignature):
        sshsig.verify(armored, DATA + b"x")
    assert ssh_verify(tmp_path, armored, DATA + b"x", node_key.public) != 0
    assert ssh_check(tmp_path, armored, DATA + b"x") != 0


def test_both_refuse_the_wrong_namespace(tmp_path: Path, node_key: NodeKey) -> None:
    armored = sshsig.sign(node_key, DATA, "file")
    with pytest.raises(WrongNamespace) as info:
        sshsig.verify(armored, DATA, "git")
    assert (info.value.expected, info.value.actual) == ("git", "file")
    assert ssh_verify(tmp_path, armored, DATA, node_key.public, "git") != 0
    assert ssh_check(tmp_path, armored, DATA, "git") != 0


def test_both_refuse_another_key(tmp_path: Path, node_key: NodeKey, other_key: NodeKey) -> None:
    armored = sshsig.sign(node_key, DATA)
    # ssh-keygen: the signer is not in the allowed signers file.
    assert ssh_verify(tmp_path, armored, DATA, other_key.public) != 0
    # A signature whose embedded key was swapped for another key is invalid for both.
    parts = fields(armored)
    parts[1] = other_key.public.ssh_blob
    swapped = rebuild(parts)
    with pytest.raises(InvalidSignature):
        sshsig.verify(swapped, DATA)
    assert ssh_check(tmp_path, swapped, DATA) != 0
    # And ours names the real signer, so a trust check on it fails for the other key.
    assert sshsig.verify(armored, DATA) == node_key.public != other_key.public


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "hello",
        "-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n",
        "-----BEGIN SSH SIGNATURE-----\n!!!!\n-----END SSH SIGNATURE-----\n",
        "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n",
    ],
)
def test_both_refuse_garbage(tmp_path: Path, garbage: str) -> None:
    with pytest.raises(MalformedSignature):
        sshsig.verify(garbage, DATA)
    assert ssh_check(tmp_path, garbage, DATA) != 0


def test_both_ignore_the_reserved_field(tmp_path: Path, node_key: NodeKey) -> None:
    parts = fields(sshsig.sign(node_key, DATA))
    parts[3] = b"future"
    armored = rebuild(parts)
    assert sshsig.verify(armored, DATA) == node_key.public
    assert ssh_check(tmp_path, armored, DATA) == 0


def test_both_refuse_crlf_armour(tmp_path: Path, node_key: NodeKey) -> None:
    armored = sshsig.sign(node_key, DATA).replace("\n", "\r\n")
    with pytest.raises(MalformedSignature):
        sshsig.verify(armored, DATA)
    assert ssh_check(tmp_path, armored, DATA) != 0


@pytest.mark.parametrize(
    "change",
    [
        lambda a: " " + a,
        lambda a: "\n" + a,
        lambda a: a.replace("-----\n", "----- \n", 1),
        lambda a: a.replace("-----\n", "-----", 1),
        lambda a: a.replace("-----\n", "-----\t\n", 1),
    ],
    ids=["space before", "newline before", "space after BEGIN", "no newline after BEGIN", "tab"],
)
def test_both_refuse_anything_before_or_on_the_begin_line(
    tmp_path: Path, node_key: NodeKey, change: Callable[[str], str]
) -> None:
    # mindgit stripped the armour first and took these; ssh-keygen (git verify-commit) does not.
    armored = change(sshsig.sign(node_key, DATA))
    with pytest.raises(MalformedSignature, match="does not start with the line"):
        sshsig.verify(armored, DATA)
    assert ssh_check(tmp_path, armored, DATA) != 0


def test_missing_final_newline_is_fine(node_key: NodeKey) -> None:
    assert sshsig.verify(sshsig.sign(node_key, DATA).rstrip("\n"), DATA) == node_key.public


# -- each malformed blob gets its specific error ---------------------------------------------


def _mutate(node_key: NodeKey, index: int, value: bytes) -> str:
    parts = fields(sshsig.sign(node_key, DATA))
    parts[index] = value
    return rebuild(parts)


def test_wrong_magic(node_key: NodeKey) -> None:
    with pytest.raises(MalformedSignature, match="magic"):
        sshsig.verify(rebuild(fields(sshsig.sign(node_key, DATA)), magic=b"SSHSIX"), DATA)


def test_wrong_version(node_key: NodeKey) -> None:
    with pytest.raises(UnsupportedSignature, match="version 2"):
        sshsig.verify(_mutate(node_key, 0, u32(2)), DATA)


@pytest.mark.parametrize("hash_name", [b"md5", b"sha1", b"SHA512", b""])
def test_unsupported_hash(node_key: NodeKey, hash_name: bytes) -> None:
    with pytest.raises(UnsupportedSignature, match="hash"):
        sshsig.verify(_mutate(node_key, 4, hash_name), DATA)


def test_unsupported_key_type(node_key: NodeKey) -> None:
    rsa = string(b"ssh-rsa") + string(b"\x01\x00\x01") + string(bytes(256))
    with pytest.raises(UnsupportedSignature, match="ssh-rsa"):
        sshsig.verify(_mutate(node_key, 1, rsa), DATA)


def test_malformed_embedded_key(node_key: NodeKey) -> None:
    with pytest.raises(MalformedSignature, match="public key"):
        sshsig.verify(_mutate(node_key, 1, string(b"ssh-ed25519") + string(bytes(31))), DATA)


def test_signature_type_mismatch(node_key: NodeKey) -> None:
    raw = node_key.sign(b"whatever")
    with pytest.raises(InvalidSignature, match="signature type"):
        sshsig.verify(_mutate(node_key, 5, string(b"ssh-rsa") + string(raw)), DATA)


def test_signature_wrong_length(node_key: NodeKey) -> None:
    with pytest.raises(MalformedSignature, match="64 bytes"):
        sshsig.verify(_mutate(node_key, 5, string(b"ssh-ed25519") + string(bytes(63))), DATA)


@pytest.mark.parametrize(
    ("index", "value", "error", "shown"),
    [
        (2, b"n" * 100_000, WrongNamespace, "namespace 'nnnn"),
        (4, b"h" * 100_000, UnsupportedSignature, "hash algorithm 'hhhh"),
        (5, string(b"s" * 100_000) + string(bytes(64)), InvalidSignature, "type 'ssss"),
        (1, string(b"k" * 100_000) + string(bytes(32)), UnsupportedSignature, "by a kkkk"),
        (1, string(b"\x1b[2Jrsa") + string(bytes(32)), UnsupportedSignature, "by a '\\x1b[2Jrsa'"),
    ],
    ids=["namespace", "hash", "signature type", "key type", "key type with an escape"],
)
def test_a_name_in_a_signature_is_quoted_briefly(
    node_key: NodeKey, index: int, value: bytes, error: type[BadSignature], shown: str
) -> None:
    # A peer's commit signed "for" a namespace of 100,000 characters had verify, pull and the
    # hooks print all of them, on one line per commit.
    with pytest.raises(error) as info:
        sshsig.verify(_mutate(node_key, index, value), DATA)
    message = str(info.value)
    assert shown in message and len(message) < 160 and "\x1b" not in message, message[:200]


def test_trailing_bytes_after_signature(node_key: NodeKey) -> None:
    blob = dearmour(sshsig.sign(node_key, DATA).encode(), "SSH SIGNATURE")
    with pytest.raises(MalformedSignature, match="unexpected bytes"):
        sshsig.verify(armour(blob + b"\0", "SSH SIGNATURE"), DATA)


@pytest.mark.parametrize("cut", [7, 12, 40, 100])
def test_truncated_blob(node_key: NodeKey, cut: int) -> None:
    blob = dearmour(sshsig.sign(node_key, DATA).encode(), "SSH SIGNATURE")
    with pytest.raises(MalformedSignature):
        sshsig.verify(armour(blob[:cut], "SSH SIGNATURE"), DATA)


def test_non_ascii_armour(node_key: NodeKey) -> None:
    with pytest.raises(MalformedSignature, match="non-ASCII"):
        sshsig.verify(sshsig.sign(node_key, DATA) + "é", DATA)


def test_all_failures_are_bad_signatures(node_key: NodeKey) -> None:
    for cls in (MalformedSignature, UnsupportedSignature, WrongNamespace, InvalidSignature):
        assert issubclass(cls, BadSignature)
    with pytest.raises(BadSignature) as info:
        sshsig.verify("nope", DATA)
    assert info.value.reason and str(info.value).startswith("bad SSH signature")


def test_empty_namespace_is_refused(node_key: NodeKey) -> None:
    with pytest.raises(InvalidNamespace):
        sshsig.sign(node_key, DATA, "")


# -- properties -----------------------------------------------------------------------------


@given(
    seed=st.binary(min_size=32, max_size=32),
    data=st.binary(max_size=2048),
    namespace=st.text(min_size=1, max_size=40),
)
def test_sign_verify_round_trip(seed: bytes, data: bytes, namespace: str) -> None:
    key = NodeKey.from_seed(seed)
    armored = sshsig.sign(key, data, namespace)
    assert all(len(line) <= 70 for line in armored.splitlines())
    assert sshsig.verify(armored, data, namespace) == key.public


@given(
    data=st.binary(min_size=1, max_size=256),
    position=st.integers(min_value=0),
    bit=st.integers(0, 7),
)
def test_any_flipped_bit_in_the_data_is_caught(data: bytes, position: int, bit: int) -> None:
    key = NodeKey.from_seed(bytes(32))
    armored = sshsig.sign(key, data)
    i = position % len(data)
    tampered = data[:i] + bytes([data[i] ^ (1 << bit)]) + data[i + 1 :]
    with pytest.raises(InvalidSignature):
        sshsig.verify(armored, tampered)


@given(position=st.integers(min_value=0), bit=st.integers(0, 7))
def test_any_flipped_bit_in_the_blob_is_caught(position: int, bit: int) -> None:
    key = NodeKey.from_seed(bytes(32))
    blob = dearmour(sshsig.sign(key, DATA).encode(), "SSH SIGNATURE")
    i = position % len(blob)
    tampered = blob[:i] + bytes([blob[i] ^ (1 << bit)]) + blob[i + 1 :]
    with pytest.raises(BadSignature):
        sshsig.verify(armour(tampered, "SSH SIGNATURE"), DATA)


def test_armour_is_base64_of_the_blob(node_key: NodeKey) -> None:
    armored = sshsig.sign(node_key, DATA)
    lines = armored.splitlines()
    assert lines[0] == "-----BEGIN SSH SIGNATURE-----"
    assert lines[-1] == "-----END SSH SIGNATURE-----"
    assert binascii.a2b_base64("".join(lines[1:-1])).startswith(b"SSHSIG\0\0\0\1")
