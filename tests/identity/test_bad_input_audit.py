"""Bad input to `mindgit trust` and `mindgit keys`, as a careless user or an attacker types it.

Every refusal is one line on stderr with the exit code of the policy (2: the command line itself
is wrong, such as a malformed key or a name no node can have; 1: the operation failed), and not
one byte under the store changes. A private key pasted where a public one belongs is never
echoed back. A key file damaged on disk is reported as damaged, never as a passphrase or another
key type. A key rotation killed (SIGKILL) at any step finishes when run again.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mindgit.identity._wire import string, u32
from mindgit.identity.keys import (
    KeyFileCorrupt,
    KeyFileEncrypted,
    KeyFileUnsupported,
    NodeKey,
    encode_private_key,
)
from mindgit.identity.trust import TrustStore
from mindgit.store.repository import Store, init_store
from tests.cli.test_bad_input_audit import assert_one_error_line, fill, run_bytes
from tests.conftest import FIXTURES, Mg, git
from tests.snapshots import changes, snapshot

SEED = bytes(range(7, 39))
STOLEN = NodeKey.from_seed(SEED)
# The same private key in the forms a user may paste: an OpenSSH key file, PKCS#8 PEM (what
# `openssl genpkey -algorithm ed25519` writes: a fixed 16-byte prefix, then the seed), and the
# base64 body of that PEM alone.
OPENSSH_PRIVATE = encode_private_key(SEED, STOLEN.public, "", 1234).decode()
PKCS8_BODY = base64.b64encode(bytes.fromhex("302e020100300506032b657004220420") + SEED).decode()
PKCS8_PEM = f"-----BEGIN PRIVATE KEY-----\n{PKCS8_BODY}\n-----END PRIVATE KEY-----\n"


@pytest.fixture
def alpha(tmp_path: Path) -> Store:
    store = init_store(tmp_path / "alpha", "alpha")
    store.think("hello")
    return store


@pytest.fixture
def beta(tmp_path: Path) -> Store:
    return init_store(tmp_path / "beta", "beta")


def _x25519_did() -> str:
    # A did:key of multicodec x25519-pub (0xec): a real did:key, but not an ed25519 key.
    from mindgit.identity import _base58

    return "did:key:z" + _base58.encode(b"\xec\x01" + bytes(range(32)))


USAGE_CASES: list[tuple[tuple[str, ...], str]] = [
    (("trust", "add", "@did_cut", "--name", "x"), "not an ed25519 public key"),
    (("trust", "add", "@ssh_cut", "--name", "x"), "not an ed25519 public key"),
    (("trust", "add", "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ", "--name", "x"), "ssh-rsa"),
    (("trust", "add", "@x25519", "--name", "x"), "multicodec"),
    (("trust", "add", "did:web:example.com", "--name", "x"), "did:key method"),
    (("trust", "add", "@did @did", "--name", "x"), "not base58btc"),
    (("trust", "add", "@did\n@did", "--name", "x"), "one key on one line"),
    (("trust", "add", "@did\x1b[31m", "--name", "x"), "not base58btc"),
    (("trust", "add", "", "--name", "x"), "not an ed25519 public key"),
    (("trust", "add", "@did", "--name", ""), "invalid node name"),
    (("trust", "add", "@did", "--name", "be\x1bta"), "invalid node name"),
    (("trust", "add", "@did", "--name", "b" * 65), "invalid node name"),
    (("trust", "add", "@did", "--name", "a b"), "invalid node name"),
    (("trust", "remove", "did:key:z6MkNOTAKEY"), "not an ed25519 public key"),
    (("trust", "remove", "did:web:example.com"), "did:key method"),
    (("trust", "remove", ""), "invalid node name"),
    (("trust", "remove", "be\nta"), "invalid node name"),
    (("trust", "remove", "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ"), "ssh-rsa"),
]

FAILED_CASES: list[tuple[tuple[str, ...], str]] = [
    # Trusting this node's own key under a second name, or another key under its name.
    (("trust", "add", "@self", "--name", "self"), "already trusted as 'alpha'"),
    (("trust", "add", "@did", "--name", "alpha"), "already trusted with another key"),
    # The only trusted key is this node's own: it cannot be removed, by name or by did.
    (("trust", "remove", "alpha"), "this node's own key"),
    (("trust", "remove", "@self"), "this node's own key"),
    # A key that is not trusted.
    (("trust", "remove", "beta"), "no trusted node 'beta'"),
    (("trust", "remove", "@did"), "no trusted node"),
    (("trust", "remove", "@openssh"), "no trusted node"),
    (("keys", "apply", "nosuch"), "unknown"),
    (("keys", "apply", "main"), "refused key rotation"),
]


def _words(alpha: Store, beta: Store) -> dict[str, str]:
    did, ssh = beta.public_key.did, beta.public_key.openssh
    return {
        "@did_cut": did[:30],
        "@ssh_cut": ssh[:40],
        "@x25519": _x25519_did(),
        "@did": did,
        "@self": alpha.public_key.did,
        "@openssh": ssh,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    USAGE_CASES + FAILED_CASES,
    ids=[" ".join(c).encode("unicode_escape").decode()[:50] for c, _ in USAGE_CASES + FAILED_CASES],
)
def test_bad_input_is_refused_with_the_policys_code_and_changes_nothing(
    alpha: Store, beta: Store, mg: Mg, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    before = snapshot(tmp_path)
    r = mg("--store", str(alpha.path), *fill(args, _words(alpha, beta)))
    expected = 2 if (args, message) in USAGE_CASES else 1
    assert r.code == expected, (args, r.err)
    assert_one_error_line(r.code, r.err)
    assert message in r.err, r.err
    assert changes(before, snapshot(tmp_path)) == []


def test_trust_remove_takes_the_openssh_line_trust_add_takes(
    alpha: Store, beta: Store, mg: Mg
) -> None:
    # It was refused as "invalid node name of 80 characters", exit 2.
    line = f"{beta.public_key.openssh} beta@host"
    assert mg("--store", str(alpha.path), "trust", "add", line, "--name", "beta").code == 0
    r = mg("--store", str(alpha.path), "trust", "remove", line)
    assert r.code == 0, r.err
    assert "no longer trusted: beta" in r.err
    assert alpha.trust.find(beta.public_key) is None


def test_a_key_or_name_that_is_not_utf8_is_a_usage_error(alpha: Store, tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    did = alpha.public_key.did.encode()
    for args in (
        (b"trust", b"add", b"\xff", b"--name", b"x"),
        (b"trust", b"add", did[:-1] + b"\xe9", b"--name", b"x"),
        (b"trust", b"add", did, b"--name", b"caf\xe9"),
        (b"trust", b"remove", b"caf\xe9"),
    ):
        r = run_bytes("--store", str(alpha.path), *args)
        assert r.returncode == 2, (args, r.stderr)
        assert_one_error_line(r.returncode, r.stderr.decode("utf-8", "replace"))
    assert changes(before, snapshot(tmp_path)) == []


@pytest.mark.parametrize(
    "pasted",
    [OPENSSH_PRIVATE, PKCS8_PEM, PKCS8_BODY, PKCS8_BODY + " my key"],
    ids=["openssh-file", "pkcs8-pem", "pkcs8-body", "pkcs8-body-comment"],
)
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_pasted_private_key_is_never_echoed(
    alpha: Store, mg: Mg, tmp_path: Path, pasted: str, as_json: bool
) -> None:
    # MalformedKey quoted the first 77 characters of what it was given: a PKCS#8 key's seed
    # starts at its 22nd base64 character, so most of a pasted private key went to stderr.
    before = snapshot(tmp_path)
    json_flag = ["--json"] if as_json else []
    commands = [["trust", "add", "--name", "x", *json_flag, "--", pasted]]
    if len(pasted) > 64:  # a name of up to 64 characters is quoted, whatever it is
        commands.append(["trust", "remove", *json_flag, "--", pasted])
    for args in commands:
        r = mg("--store", str(alpha.path), *args)
        assert r.code == 2, r.err
        assert_one_error_line(r.code, r.err)
        secret = base64.b64encode(SEED).decode()
        for text in (r.err, r.out):
            assert PKCS8_BODY[16:] not in text and secret[:12] not in text
            for line in OPENSSH_PRIVATE.splitlines()[2:]:
                assert line[:20] not in text
    assert changes(before, snapshot(tmp_path)) == []


def test_a_public_key_in_an_error_is_still_quoted(alpha: Store, beta: Store, mg: Mg) -> None:
    # Public text stays quoted: the user sees which key was wrong.
    did = beta.public_key.did[:-3]
    r = mg("--store", str(alpha.path), "trust", "add", did, "--name", "x")
    assert r.code == 2 and repr(did) in r.err


def _write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.write(fd, data)
    os.close(fd)


def _keyfile_with(cipher: bytes = b"none", kdf: bytes = b"none", key_type: bytes = b"") -> bytes:
    """A one-key OpenSSH file whose cipher, kdf or public key type was damaged."""
    good = encode_private_key(SEED, STOLEN.public, "", 99)
    from mindgit.identity._wire import armour, dearmour

    blob = dearmour(good.strip(), "OPENSSH PRIVATE KEY")
    magic = b"openssh-key-v1\0"
    rest = blob[len(magic) + len(string(b"none")) * 2 + len(string(b"")) :]
    if key_type:
        public = string(key_type) + string(STOLEN.public.raw)
        # count, then the public key string: replace it
        old_public = string(STOLEN.public.ssh_blob)
        assert rest[4 : 4 + len(old_public)] == old_public
        rest = u32(1) + string(public) + rest[4 + len(old_public) :]
    return armour(
        magic + string(cipher) + string(kdf) + string(b"") + rest, "OPENSSH PRIVATE KEY"
    ).encode()


@pytest.mark.parametrize(
    "data",
    [
        _keyfile_with(cipher=b"nonf"),
        _keyfile_with(cipher=b"aes256-ctr", kdf=b"none"),
        _keyfile_with(kdf=b"bcrypu"),
        _keyfile_with(key_type=b"ssh-ed25518"),
        _keyfile_with(key_type=b"soh-ed25519"),
    ],
    ids=["cipher", "cipher-without-kdf", "kdf", "key-type", "key-type-2"],
)
def test_a_damaged_key_file_is_corrupt_not_encrypted_or_another_type(
    tmp_path: Path, data: bytes
) -> None:
    # One flipped bit in "none" was "passphrase-protected (nonf)" with the hint to remove the
    # passphrase; in "ssh-ed25519" it was "a soh-ed25519 key" with the hint to make a new key
    # (a new node id). Both are damage: the hint must say to restore the file.
    path = tmp_path / "k"
    _write_private(path, data)
    with pytest.raises(KeyFileCorrupt) as info:
        NodeKey.load(path)
    assert "restore the key from a backup" in (info.value.hint or "")


def test_real_passphrases_and_key_types_are_still_named(tmp_path: Path) -> None:
    path = tmp_path / "k"
    _write_private(path, _keyfile_with(cipher=b"aes256-ctr", kdf=b"bcrypt"))
    with pytest.raises(KeyFileEncrypted):
        NodeKey.load(path)
    _write_private(path, _keyfile_with(key_type=b"ssh-rsa"))
    with pytest.raises(KeyFileUnsupported):
        NodeKey.load(path)


def test_every_single_bit_flip_of_a_key_file_is_refused_as_corrupt_or_loads_the_same_key(
    tmp_path: Path,
) -> None:
    good = encode_private_key(SEED, STOLEN.public, "alpha", 5)
    path = tmp_path / "k"
    for i in range(len(good)):
        for bit in range(8):
            damaged = bytearray(good)
            damaged[i] ^= 1 << bit
            _write_private(path, bytes(damaged))
            try:
                loaded = NodeKey.load(path)
            except KeyFileCorrupt:
                continue
            # Only the comment, or base64 bits that decode to the same bytes, are unchecked.
            assert loaded.public == STOLEN.public, (i, bit)


@pytest.mark.parametrize("damage", ["mode", "bytes", "empty", "missing", "directory"])
def test_a_bad_node_key_file_stops_every_key_command_and_changes_nothing(
    alpha: Store, mg: Mg, tmp_path: Path, damage: str
) -> None:
    key = alpha.path / "mindgit" / "node.key"
    if damage == "mode":
        key.chmod(0o644)
    elif damage == "bytes":
        data = bytearray(key.read_bytes())
        data[200] ^= 0x10
        _write_private(key, bytes(data))
    elif damage == "empty":
        _write_private(key, b"")
    elif damage == "missing":
        key.unlink()
    else:
        key.unlink()
        key.mkdir(mode=0o700)
    before = snapshot(tmp_path)
    for args in (["keys", "rotate"], ["keys", "list"], ["think", "x"], ["id"]):
        r = mg("--store", str(alpha.path), *args)
        assert r.code == 1, (args, r.err)
        assert_one_error_line(r.code, r.err)
        assert "node.key" in r.err
    assert changes(before, snapshot(tmp_path)) == []


def test_a_bad_retired_key_file_is_one_line_after_the_listing(alpha: Store, mg: Mg) -> None:
    # It stopped the whole listing; the keys that load are listed now (exit 1 all the same).
    assert mg("--store", str(alpha.path), "keys", "rotate").code == 0
    (retired,) = (alpha.path / "mindgit" / "retired").glob("*.key")
    retired.chmod(0o640)
    before = snapshot(alpha.path)
    r = mg("--store", str(alpha.path), "keys", "list")
    assert r.code == 1 and "accessible by other users" in r.err and str(retired) in r.err
    assert r.out.startswith("current\tdid:key:") and r.out.count("\n") == 1, r.out
    assert_one_error_line(r.code, r.err)
    assert changes(before, snapshot(alpha.path)) == []


# -- a rotation killed with SIGKILL -----------------------------------------------------------

# Runs `mindgit keys rotate`, stopping dead at one step: it writes its pid to a marker file and
# sleeps, so the test can kill -9 it exactly there.
DRIVER = r"""
import os, sys, time
from mindgit.cli import main as cli_main
from mindgit.identity.trust import TrustStore
from mindgit.store import rotations

point, marker = os.environ["PAUSE_POINT"], os.environ["PAUSE_MARKER"]

def pause():
    with open(marker + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(marker + ".tmp", marker)
    time.sleep(600)

def before(module, name, when=lambda *a, **k: True):
    real = getattr(module, name)
    def wrapper(*a, **k):
        if when(*a, **k):
            pause()
        return real(*a, **k)
    setattr(module, name, wrapper)

if point == "new-key-saved":
    before(rotations, "_retire_key_file")
elif point == "old-key-retired":
    before(rotations, "_announce")
elif point == "announced":
    before(rotations, "_move_trust")
elif point == "trust-half-moved":
    before(TrustStore, "add")
elif point == "trust-moved":
    before(rotations.os, "replace", lambda src, dst: str(dst).endswith("node.key"))
sys.exit(cli_main.run(sys.argv[1:]))
"""

POINTS = ["new-key-saved", "old-key-retired", "announced", "trust-half-moved", "trust-moved"]


def _kill_rotation_at(store: Store, point: str, tmp_path: Path) -> None:
    marker = tmp_path / f"paused-{point}"
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, "--store", str(store.path), "keys", "rotate"],
        env={**os.environ, "PAUSE_POINT": point, "PAUSE_MARKER": str(marker)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the rotation never reached " + point
            time.sleep(0.02)
        os.kill(int(marker.read_text()), signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL


def _trusted(store_path: Path) -> dict[str, str]:
    return {n.name: n.did for n in TrustStore(store_path / "mindgit" / "allowed_signers").nodes()}


# Run again after the trust file was moved, rotate_key named the node by the old key's entry,
# by then "alpha.retired-1", and reported {"name": "alpha.retired-1"}.
@pytest.mark.parametrize("point", POINTS)
def test_a_rotation_killed_at_any_step_finishes_when_run_again(
    alpha: Store, mg: Mg, tmp_path: Path, point: str
) -> None:
    old = alpha.public_key
    _kill_rotation_at(alpha, point, tmp_path)
    r = mg("--store", str(alpha.path), "keys", "rotate", "--json")
    assert r.code == 0, r.err
    done = json.loads(r.out)
    assert done["old"] == old.did and done["new"] != old.did
    assert (done["name"], done["retired_as"]) == ("alpha", "alpha.retired-1")
    key = NodeKey.load(alpha.path / "mindgit" / "node.key")
    assert key.public.did == done["new"]
    assert not (alpha.path / "mindgit" / "pending.key").exists()
    assert NodeKey.load(Path(done["retired_key"])).public == old
    assert _trusted(alpha.path) == {"alpha.retired-1": old.did, "alpha": done["new"]}
    count = git("--git-dir", str(alpha.path), "rev-list", "--count", "refs/keys/announce")
    assert count.strip() == "1"
    assert mg("--store", str(alpha.path), "think", "after").code == 0
    assert mg("--store", str(alpha.path), "verify").code == 0
    # Run again, a finished rotation is a new one: it starts from the key now in use.
    assert mg("--store", str(alpha.path), "keys", "rotate").code == 0


@pytest.mark.parametrize("point", ["new-key-saved", "announced", "trust-moved"])
def test_a_store_never_writes_a_commit_its_own_verify_refuses_after_a_killed_rotation(
    alpha: Store, mg: Mg, tmp_path: Path, point: str
) -> None:
    # Killed after the trust file moved and before node.key was replaced, the store kept
    # signing with the old key, now trusted only below the rotation's heads: `think` exited 0
    # and wrote a commit that `verify` (and so every peer's pull) refuses, for good.
    # Now nothing is signed until the rotation is finished, at any point it was stopped.
    _kill_rotation_at(alpha, point, tmp_path)
    before = snapshot(alpha.path)
    for args in (("think", "between"), ("genome", "set", "x=1")):
        r = mg("--store", str(alpha.path), *args)
        assert_one_error_line(r.code, r.err)
        assert "key rotation is unfinished" in r.err, r.err
        assert f"mindgit --store {alpha.path} keys rotate" in r.err, r.err
    assert changes(before, snapshot(alpha.path)) == []
    assert mg("--store", str(alpha.path), "keys", "rotate").code == 0
    assert mg("--store", str(alpha.path), "think", "between").code == 0
    assert mg("--store", str(alpha.path), "verify").code == 0


def test_keys_rotate_with_a_corrupt_trust_file_changes_nothing(
    alpha: Store, mg: Mg, tmp_path: Path
) -> None:
    # It failed on the trust file only after writing pending.key, the retired key and the
    # announcement on refs/keys/announce, which a push then carries to every peer.
    with open(alpha.path / "mindgit" / "allowed_signers", "a") as f:
        f.write("garbage line here\n")
    before = snapshot(tmp_path)
    r = mg("--store", str(alpha.path), "keys", "rotate")
    assert_one_error_line(r.code, r.err)
    assert "allowed_signers:2" in r.err
    assert changes(before, snapshot(tmp_path)) == []


def test_no_command_writes_an_object_while_a_rotation_is_unfinished(
    alpha: Store, mg: Mg, tmp_path: Path
) -> None:
    # Review: import, import-af and fitness add checked the key only as they signed, after
    # writing their objects (exit 1, but objects left behind).
    car = tmp_path / "main.car"
    assert mg("--store", str(alpha.path), "export", "--car", str(car)).code == 0
    shutil.copy(alpha.path / "mindgit" / "node.key", alpha.pending_key_path)
    before = snapshot(alpha.path)
    for args in (
        ("import", str(car), "--as", "copy"),
        ("import-af", str(FIXTURES / "agent-files" / "memgpt_agent.af")),
        ("fitness", "add", str(FIXTURES / "fitness" / "rastrigin.wat")),
    ):
        r = mg("--store", str(alpha.path), *args)
        assert_one_error_line(r.code, r.err)
        assert "key rotation is unfinished" in r.err, (args, r.err)
    assert changes(before, snapshot(alpha.path)) == []
