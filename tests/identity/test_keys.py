"""PublicKey (did:key, OpenSSH lines, fingerprints) and NodeKey (OpenSSH private key files)."""

from __future__ import annotations

import binascii
import os
import pickle
import stat
from pathlib import Path

import nacl.bindings
import nacl.public
import nacl.signing
import pytest
from hypothesis import given
from hypothesis import strategies as st
from multiformats import multibase, multicodec

from mindgit.identity import _base58
from mindgit.identity._wire import armour, string, u32
from mindgit.identity.keys import (
    KeyFileCorrupt,
    KeyFileEncrypted,
    KeyFileExists,
    KeyFileInsecure,
    KeyFileMissing,
    KeyFileUnreadable,
    KeyFileUnsupported,
    KeyFileUnwritable,
    MalformedKey,
    NodeKey,
    PublicKey,
    decode_private_key,
    encode_private_key,
    is_valid_point,
)

from .tools import ok, run, ssh_keygen_key

seeds = st.binary(min_size=32, max_size=32)

# From the did:key method's published examples: an ed25519 did:key, its raw key (base58) and
# the X25519 key agreement key derived from it.
VECTOR_DID = "did:key:z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7th"
VECTOR_RAW_B58 = "8HH5gYEeNc3z7PYXmd54d4x6qAfCNrqQqEB3nS7Zfu7K"
VECTOR_X25519_B58 = "79CXkde3j8TNuMXxPdV7nLUrT2g7JAEjH5TreyVY7GEZ"


# -- PublicKey ------------------------------------------------------------------------------


def test_did_key_vector() -> None:
    key = PublicKey.parse(VECTOR_DID)
    assert key.raw == _base58.decode(VECTOR_RAW_B58)
    assert key.did == VECTOR_DID
    assert key.box_public() == _base58.decode(VECTOR_X25519_B58)
    assert PublicKey(key.raw).did == VECTOR_DID


@given(seeds)
def test_did_and_openssh_round_trip(seed: bytes) -> None:
    key = NodeKey.from_seed(seed).public
    assert key.did.startswith("did:key:z6Mk")
    assert PublicKey.parse(key.did) == key
    assert PublicKey.parse(key.openssh) == key
    assert PublicKey.parse(f"  {key.openssh} some comment with spaces\n") == key


@given(seeds)
def test_did_agrees_with_multiformats(seed: bytes) -> None:
    key = NodeKey.from_seed(seed).public
    codec = multicodec.get("ed25519-pub")
    prefix = bytes([0xED, 0x01])
    assert codec.code == 0xED
    assert key.did == "did:key:" + multibase.encode(prefix + key.raw, "base58btc")
    assert multibase.decode(key.did.removeprefix("did:key:")) == prefix + key.raw


def test_did_is_computed_once(node_key: NodeKey) -> None:
    key = PublicKey(node_key.public.raw)
    assert key.did is key.did


def test_value_semantics(node_key: NodeKey) -> None:
    a = PublicKey(node_key.public.raw)
    b = PublicKey.parse(node_key.public.did)
    assert a == b and hash(a) == hash(b)
    assert {a: 1}[b] == 1
    assert pickle.loads(pickle.dumps(a)) == a
    assert repr(a) == f"PublicKey({a.did!r})"
    assert str(a) == a.did


def test_fingerprint_and_line_match_ssh_keygen(tmp_path: Path) -> None:
    path = ssh_keygen_key(tmp_path, comment="someone@host")
    line = (tmp_path / "id.pub").read_text()
    key = PublicKey.parse(line)
    assert line.startswith(key.openssh + " ")
    printed = ok("ssh-keygen", "-lf", tmp_path / "id.pub").decode().split()
    assert printed[1] == key.fingerprint
    assert NodeKey.load(path).public == key


def test_box_keys_pair_up(node_key: NodeKey, other_key: NodeKey) -> None:
    mine = nacl.public.PrivateKey(node_key.box_private())
    assert bytes(mine.public_key) == node_key.public.box_public()
    theirs = nacl.public.PrivateKey(other_key.box_private())
    sealed = nacl.public.Box(mine, nacl.public.PublicKey(other_key.public.box_public())).encrypt(
        b"hi"
    )
    opened = nacl.public.Box(theirs, nacl.public.PublicKey(node_key.public.box_public())).decrypt(
        sealed
    )
    assert opened == b"hi"
    anonymous = nacl.public.SealedBox(nacl.public.PublicKey(other_key.public.box_public())).encrypt(
        b"x"
    )
    assert nacl.public.SealedBox(theirs).decrypt(anonymous) == b"x"


def _did(payload: bytes) -> str:
    return "did:key:z" + _base58.encode(payload)


def _ssh(blob: bytes) -> str:
    return "ssh-ed25519 " + binascii.b2a_base64(blob, newline=False).decode()


GOOD_RAW = NodeKey.from_seed(bytes(32)).public.raw
# y = 0 decodes to a point of order 4: the right length, but not a usable key.
SMALL_ORDER = bytes(32)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "garbage",
        "did:web:example.com",
        "did:key:",
        "did:key:6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7th",
        "did:key:z0OIl",
        _did(b"\xe7\x01" + bytes(33)),  # secp256k1-pub
        _did(b"\xed\x01" + GOOD_RAW[:31]),
        _did(b"\xed\x01" + GOOD_RAW + b"\0"),
        _did(b"\xed\x01" + SMALL_ORDER),
        "ssh-ed25519",
        "ssh-ed25519 !!!notbase64",
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7",
        _ssh(string(b"ssh-rsa") + string(GOOD_RAW)),
        _ssh(string(b"ssh-ed25519") + string(GOOD_RAW[:31])),
        _ssh(string(b"ssh-ed25519") + string(GOOD_RAW) + b"extra"),
        _ssh(string(b"ssh-ed25519") + u32(99)),
        _ssh(string(b"ssh-ed25519") + string(SMALL_ORDER)),
    ],
)
def test_parse_refuses_malformed_keys(text: str) -> None:
    with pytest.raises(MalformedKey) as info:
        PublicKey.parse(text)
    assert info.value.reason
    assert info.value.hint


@pytest.mark.parametrize("raw", [b"", b"short", bytes(33), bytearray(32)])
def test_constructor_refuses_wrong_sizes(raw: bytes) -> None:
    with pytest.raises(MalformedKey):
        PublicKey(raw)


def test_box_public_refuses_a_small_order_key() -> None:
    with pytest.raises(MalformedKey):
        PublicKey(SMALL_ORDER).box_public()


@given(st.binary(min_size=32, max_size=32))
def test_is_valid_point_is_libsodiums_check(raw: bytes) -> None:
    expected = bool(nacl.bindings.crypto_core_ed25519_is_valid_point(raw))
    # Asked twice: the second answer comes from the memo and must be the same.
    assert is_valid_point(raw) is expected
    assert is_valid_point(raw) is expected


def test_a_key_parsed_again_is_not_checked_again(
    node_key: NodeKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[bytes] = []
    check = nacl.bindings.crypto_core_ed25519_is_valid_point

    def counting(raw: bytes) -> bool:
        calls.append(raw)
        return bool(check(raw))

    monkeypatch.setattr(nacl.bindings, "crypto_core_ed25519_is_valid_point", counting)
    is_valid_point.cache_clear()
    did, line = node_key.public.did, node_key.public.openssh
    assert PublicKey.parse(did) == PublicKey.parse(line) == PublicKey.parse(did)
    assert calls == [node_key.public.raw]
    # A refused key stays refused, however often it is asked about.
    for _ in range(2):
        with pytest.raises(MalformedKey):
            PublicKey.parse(_did(b"\xed\x01" + SMALL_ORDER))
    assert calls == [node_key.public.raw, SMALL_ORDER]


# -- NodeKey --------------------------------------------------------------------------------


def test_sign_is_plain_ed25519(node_key: NodeKey) -> None:
    signature = node_key.sign(b"data")
    assert len(signature) == 64
    nacl.signing.VerifyKey(node_key.public.raw).verify(b"data", signature)


def test_generate_gives_distinct_keys() -> None:
    assert NodeKey.generate().public != NodeKey.generate().public


def test_node_key_is_never_printed_or_pickled(node_key: NodeKey) -> None:
    seed_hex = bytes(range(32)).hex()
    for text in (repr(node_key), str(node_key), f"{node_key}"):
        assert node_key.public.did in text
        assert seed_hex not in text
    with pytest.raises(TypeError):
        pickle.dumps(node_key)


def test_seed_must_be_32_bytes() -> None:
    with pytest.raises(ValueError):
        NodeKey(b"short")


# -- key files ------------------------------------------------------------------------------


def test_save_load_round_trip(tmp_path: Path, node_key: NodeKey) -> None:
    path = tmp_path / "node.key"
    node_key.save(path, comment="alpha")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = NodeKey.load(path)
    assert loaded.public == node_key.public
    assert loaded.comment == "alpha"
    assert loaded.sign(b"x") == node_key.sign(b"x")
    assert loaded.box_private() == node_key.box_private()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["node.key"]


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077, 0o277])
def test_save_is_0600_whatever_the_umask(tmp_path: Path, node_key: NodeKey, umask: int) -> None:
    old = os.umask(umask)
    try:
        node_key.save(tmp_path / "k")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600
    assert NodeKey.load(tmp_path / "k").public == node_key.public


def test_ssh_keygen_reads_our_key(tmp_path: Path, node_key: NodeKey) -> None:
    path = tmp_path / "node.key"
    node_key.save(path, comment="alpha@mindgit")
    assert (
        ok("ssh-keygen", "-y", "-f", path).decode().split()[:2] == node_key.public.openssh.split()
    )
    listed = ok("ssh-keygen", "-lf", path).decode().split()
    assert listed[1] == node_key.public.fingerprint
    assert listed[2] == "alpha@mindgit"


def test_we_read_ssh_keygen_keys(tmp_path: Path) -> None:
    path = ssh_keygen_key(tmp_path, comment="made by ssh-keygen")
    key = NodeKey.load(path)
    assert key.public == PublicKey.parse((tmp_path / "id.pub").read_text())
    assert key.comment == "made by ssh-keygen"


def test_our_file_is_byte_identical_to_ssh_keygen_but_for_the_checkint(tmp_path: Path) -> None:
    path = ssh_keygen_key(tmp_path, comment="c")
    original = path.read_bytes()
    key = NodeKey.load(path)
    blob = binascii.a2b_base64(b"".join(original.splitlines()[1:-1]))
    # The private section starts after the header fields; its first u32 is the random checkint.
    header_len = len(b"openssh-key-v1\0") + 3 * 4 + 8 + 4 + 4 + len(key.public.ssh_blob) + 4
    checkint = int.from_bytes(blob[header_len : header_len + 4], "big")
    assert encode_private_key(key._seed, key.public, "c", checkint) == original


def test_save_refuses_to_overwrite(tmp_path: Path, node_key: NodeKey, other_key: NodeKey) -> None:
    path = tmp_path / "node.key"
    node_key.save(path)
    before = path.read_bytes()
    with pytest.raises(KeyFileExists) as info:
        other_key.save(path)
    assert info.value.path == path
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["node.key"]


def test_save_refuses_a_dangling_symlink(tmp_path: Path, node_key: NodeKey) -> None:
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(KeyFileExists):
        node_key.save(tmp_path / "link")
    assert not (tmp_path / "elsewhere").exists()


def test_save_into_a_missing_directory(tmp_path: Path, node_key: NodeKey) -> None:
    with pytest.raises(KeyFileUnwritable):
        node_key.save(tmp_path / "nope" / "node.key")


def test_load_missing(tmp_path: Path) -> None:
    with pytest.raises(KeyFileMissing) as info:
        NodeKey.load(tmp_path / "absent")
    assert "ssh-keygen" in (info.value.hint or "")


def test_load_a_directory(tmp_path: Path) -> None:
    with pytest.raises(KeyFileUnreadable):
        NodeKey.load(tmp_path)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o700 | 0o044])
def test_load_refuses_keys_others_can_read(tmp_path: Path, node_key: NodeKey, mode: int) -> None:
    path = tmp_path / "node.key"
    node_key.save(path)
    path.chmod(mode)
    with pytest.raises(KeyFileInsecure) as info:
        NodeKey.load(path)
    assert info.value.mode == mode
    assert info.value.hint == f"run: chmod 600 {path}"


def test_load_accepts_0400(tmp_path: Path, node_key: NodeKey) -> None:
    path = tmp_path / "node.key"
    node_key.save(path)
    path.chmod(0o400)
    assert NodeKey.load(path).public == node_key.public


def test_load_refuses_passphrase_keys(tmp_path: Path) -> None:
    path = tmp_path / "enc"
    ok("ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f", path)
    with pytest.raises(KeyFileEncrypted) as info:
        NodeKey.load(path)
    assert "ssh-keygen -p" in (info.value.hint or "")
    assert info.value.cipher == "aes256-ctr"


def test_load_refuses_other_key_types(tmp_path: Path) -> None:
    path = ssh_keygen_key(tmp_path, key_type="ecdsa")
    with pytest.raises(KeyFileUnsupported) as info:
        NodeKey.load(path)
    assert info.value.key_type == "ecdsa-sha2-nistp256"


SEED = bytes(range(32))
PK = nacl.bindings.crypto_sign_seed_keypair(SEED)[0]
OTHER_PK = nacl.bindings.crypto_sign_seed_keypair(bytes(32))[0]


def build_keyfile(
    *,
    check1: int = 7,
    check2: int = 7,
    header_type: bytes = b"ssh-ed25519",
    header_pk: bytes = PK,
    private_type: bytes = b"ssh-ed25519",
    pk: bytes = PK,
    sk: bytes = SEED + PK,
    comment: bytes = b"",
    padding: bytes | None = None,
    cipher: bytes = b"none",
    kdf: bytes = b"none",
    count: int = 1,
    magic: bytes = b"openssh-key-v1\0",
    trailer: bytes = b"",
) -> bytes:
    """An openssh-key-v1 file with any field set to anything, to test every check."""
    private = (
        u32(check1) + u32(check2) + string(private_type) + string(pk) + string(sk) + string(comment)
    )
    if padding is None:
        padding = bytes(range(1, -len(private) % 8 + 1))
    private += padding
    blob = (
        magic
        + string(cipher)
        + string(kdf)
        + string(b"")
        + u32(count)
        + string(string(header_type) + string(header_pk))
        + string(private)
        + trailer
    )
    return armour(blob, "OPENSSH PRIVATE KEY").encode()


def test_builder_makes_a_valid_file() -> None:
    assert decode_private_key(build_keyfile(comment=b"ok"), Path("k")) == (SEED, "ok")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (build_keyfile(check2=8), "check-ints differ"),
        (build_keyfile(padding=b"\x01\x02\x04\x04\x05"), "bad padding"),
        (build_keyfile(private_type=b"ssh-rsa"), "private key type"),
        (build_keyfile(header_pk=OTHER_PK), "disagree"),
        (build_keyfile(pk=OTHER_PK, sk=SEED + OTHER_PK), "disagree"),
        (build_keyfile(sk=SEED + OTHER_PK), "disagree"),
        (build_keyfile(sk=bytes(32) + PK), "seed does not produce"),
        (build_keyfile(sk=SEED), "wrong length"),
        (build_keyfile(count=2), "exactly one"),
        (build_keyfile(trailer=b"\0"), "unexpected bytes"),
        (build_keyfile(padding=b""), "multiple of 8"),
        (build_keyfile(magic=b"openssh-key-v2\0"), "magic"),
        (build_keyfile(comment=b"\xff\xfe"), "not UTF-8"),
        (build_keyfile(header_pk=PK[:31]), "public key"),
        (build_keyfile()[:-60] + b"\n-----END OPENSSH PRIVATE KEY-----\n", None),
        (b"", "does not start"),
        (
            b"-----BEGIN OPENSSH PRIVATE KEY-----\n!!!!\n-----END OPENSSH PRIVATE KEY-----\n",
            "base64",
        ),
        (b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n", "does not end"),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "PEM"),
        (
            b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEGNeuK7ivAgsxY7CcoPiPKuOn0FiyDQw25dDjYgCZ4s x\n",
            "public key",
        ),
        (b"\x00\x01binary", None),
    ],
)
def test_load_refuses_corrupt_files(tmp_path: Path, data: bytes, reason: str | None) -> None:
    path = tmp_path / "node.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, data)
    os.close(fd)
    with pytest.raises(KeyFileCorrupt) as info:
        NodeKey.load(path)
    if reason is not None:
        assert reason in info.value.reason
    assert info.value.path == path


def test_load_refuses_encrypted_by_header_alone(tmp_path: Path) -> None:
    path = tmp_path / "k"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, build_keyfile(cipher=b"aes256-ctr", kdf=b"bcrypt"))
    os.close(fd)
    with pytest.raises(KeyFileEncrypted):
        NodeKey.load(path)


def test_load_refuses_huge_files(tmp_path: Path) -> None:
    path = tmp_path / "k"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"A" * (65 * 1024))
    os.close(fd)
    with pytest.raises(KeyFileCorrupt, match="too large"):
        NodeKey.load(path)


def test_ssh_keygen_also_refuses_differing_checkints(tmp_path: Path) -> None:
    path = tmp_path / "k"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, build_keyfile(check2=8))
    os.close(fd)
    assert run("ssh-keygen", "-y", "-f", path).returncode != 0
