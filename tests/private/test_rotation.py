"""Key rotation: the node's own store, the announcement on refs/keys/announce, and peers that
learn the new key over plain `git fetch`."""

from __future__ import annotations

import functools
import stat
import subprocess
from pathlib import Path

import pygit2
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mindgit.identity import sshsig
from mindgit.identity.keys import NodeKey
from mindgit.identity.rotation import (
    PROOF_NAMESPACE,
    BadRotation,
    RotationRecord,
    check_proof,
    is_retired_name,
    prove,
    retired_name,
)
from mindgit.identity.trust import check_node_name
from mindgit.ipld import dagjson
from mindgit.store import rotations
from mindgit.store.private import reveal, think_private
from mindgit.store.refs import RefLocked, update_ref
from mindgit.store.repository import Store, init_store, open_store
from mindgit.store.retired import RECORD_FILE
from mindgit.store.rotations import (
    ANNOUNCE_REF,
    PROOF_FILE,
    TRUST_JOURNAL,
    UntrustedRotation,
    apply_rotations,
    read_announcement,
    rotate_key,
)
from mindgit.store.verify import verify_commits
from tests.conftest import fsck, git
from tests.private.conftest import Nodes, fetch

A = NodeKey.from_seed(bytes([1]) * 32)
B = NodeKey.from_seed(bytes([2]) * 32)
C = NodeKey.from_seed(bytes([3]) * 32)
HEADS = ("0" * 40, "f" * 64)


def names(store: Store) -> dict[str, str]:
    return {n.name: n.did for n in store.trust.nodes()}


# -- records ----------------------------------------------------------------------------------


def test_record_round_trip_and_proof() -> None:
    record = RotationRecord(A.public, B.public, "alpha", HEADS)
    data = record.to_bytes()
    assert dagjson.decode(data) == {
        "heads": list(HEADS),
        "name": "alpha",
        "new": B.public.did,
        "old": A.public.did,
        "type": "key-rotation",
        "v": 2,
    }
    assert RotationRecord.parse(data) == record
    proof = prove(record, B)
    check_proof(record, proof)
    with pytest.raises(BadRotation, match="new key"):
        prove(record, C)
    with pytest.raises(BadRotation, match="not by the new key"):
        check_proof(record, sshsig.sign(C, data, PROOF_NAMESPACE))
    with pytest.raises(BadRotation, match="proof"):
        check_proof(RotationRecord(A.public, B.public, "beta", HEADS), proof)


def test_proof_is_a_plain_ssh_signature(tmp_path: Path) -> None:
    record = RotationRecord(A.public, B.public, "alpha", HEADS)
    (tmp_path / "record").write_bytes(record.to_bytes())
    (tmp_path / "proof").write_text(prove(record, B))
    (tmp_path / "allowed").write_text(f'new namespaces="{PROOF_NAMESPACE}" {B.public.openssh}\n')
    with open(tmp_path / "record", "rb") as stdin:
        check = subprocess.run(
            [
                *("ssh-keygen", "-Y", "verify", "-f", str(tmp_path / "allowed"), "-I", "new"),
                *("-n", PROOF_NAMESPACE, "-s", str(tmp_path / "proof")),
            ],
            stdin=stdin,
            capture_output=True,
        )
    assert check.returncode == 0, check.stderr


@settings(max_examples=40, deadline=None)
@given(
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=32, max_size=32),
    st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True),
)
def test_any_record_round_trips(old_seed: bytes, new_seed: bytes, name: str) -> None:
    old, new = NodeKey.from_seed(old_seed).public, NodeKey.from_seed(new_seed).public
    assume(old != new)
    record = RotationRecord(old, new, name, HEADS)
    data = record.to_bytes()
    assert RotationRecord.parse(data) == record
    assert dagjson.encode(dagjson.decode(data)) == data


_R: dict[str, dagjson.Encodable] = {
    "heads": [],
    "name": "a",
    "new": "x",
    "old": "y",
    "type": "key-rotation",
    "v": 2,
}


@pytest.mark.parametrize(
    ("node", "match"),
    [
        ([], "a map of exactly"),
        ({"name": "a", "new": "x", "old": "y", "type": "key-rotation", "v": 1}, "a map of exactly"),
        ({**_R, "type": "other"}, "type 'other'"),
        ({**_R, "v": 1}, "version 1"),
        ({**_R, "name": 5}, "'name' is a string"),
        (_R, "not an ed25519"),
        ({**_R, "old": A.public.did, "new": B.public.did, "heads": "0" * 40}, "list of commit"),
        ({**_R, "old": A.public.did, "new": B.public.did, "heads": [1]}, "list of commit"),
        ({**_R, "old": A.public.did, "new": B.public.did, "heads": ["HEAD"]}, "hex commit id"),
        ({**_R, "old": A.public.did, "new": B.public.did, "heads": ["A" * 40]}, "hex commit id"),
        ({**_R, "old": A.public.did, "new": B.public.did, "heads": ["f" * 40, "0" * 40]}, "sorted"),
        ({**_R, "old": A.public.did, "new": B.public.did, "heads": ["0" * 40] * 2}, "distinct"),
    ],
)
def test_bad_records_are_refused(node: dagjson.Encodable, match: str) -> None:
    with pytest.raises(BadRotation, match=match):
        RotationRecord.parse(dagjson.encode(node))


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("type", "k" * 60_000, "type 'kkkk"),
        ("v", "2" * 60_000, "version '2222"),
        ("v", [[[[[]]]]] * 100, "version a list"),
        ("v", {"x": 1}, "version a map"),
    ],
    ids=["long type", "long version", "list version", "map version"],
)
def test_a_peers_bad_field_is_quoted_briefly(
    field: str, value: dagjson.Encodable, shown: str
) -> None:
    # A peer's record (read up to 64 KiB) was quoted whole: a 60 KB line on a pull.
    node: dict[str, dagjson.Encodable] = {
        **_R,
        "old": A.public.did,
        "new": B.public.did,
        field: value,
    }
    with pytest.raises(BadRotation) as info:
        RotationRecord.parse(dagjson.encode(node))
    assert shown in str(info.value) and len(str(info.value)) < 160, str(info.value)[:200]


def test_record_refuses_same_keys_bad_names_and_non_canonical_bytes() -> None:
    with pytest.raises(BadRotation, match="same"):
        RotationRecord(A.public, A.public, "alpha", HEADS)
    good = RotationRecord(A.public, B.public, "alpha", HEADS).to_bytes()
    with pytest.raises(BadRotation, match="invalid DAG-JSON"):
        RotationRecord.parse(good.replace(b"{", b"{ ", 1))
    bad_name = dagjson.encode(
        {
            "heads": [],
            "name": "no spaces",
            "new": B.public.did,
            "old": A.public.did,
            "type": "key-rotation",
            "v": 2,
        }
    )
    with pytest.raises(BadRotation, match="invalid node name"):
        RotationRecord.parse(bad_name)


def test_retired_names() -> None:
    assert retired_name("beta", {"beta"}) == "beta.retired-1"
    assert retired_name("beta", {"beta", "beta.retired-1"}) == "beta.retired-2"
    long = "n" * 64
    assert check_node_name(retired_name(long, set())) == "n" * 54 + ".retired-1"
    assert is_retired_name("beta.retired-12") and not is_retired_name("beta")
    assert not is_retired_name("beta.retired-0") and not is_retired_name(".retired-1")


# -- this node ------------------------------------------------------------------------------


def test_rotate_keeps_the_old_key_and_announces_the_new(nodes: Nodes) -> None:
    alpha, _beta = nodes("alpha", "beta")
    _, before = think_private(alpha, "sealed to the old key", (), ["beta"])
    old = alpha.public_key
    head_before = alpha.head()
    r = rotate_key(alpha)
    assert (r.old, r.name, r.retired_as) == (old, "alpha", "alpha.retired-1")
    assert alpha.public_key == r.new != old
    again = open_store(alpha.path)
    assert again.public_key == r.new and again.key_path == alpha.path / "mindgit" / "node.key"
    assert stat.S_IMODE(again.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(r.retired_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(r.retired_key.parent.stat().st_mode) == 0o700
    assert NodeKey.load(r.retired_key).public == old
    assert names(alpha)["alpha"] == r.new.did and names(alpha)["alpha.retired-1"] == old.did
    assert not (alpha.path / "mindgit" / "pending.key").exists()
    assert not (alpha.path / "mindgit" / TRUST_JOURNAL).exists()

    # Old private thoughts stay readable; new ones are sealed to the new key.
    assert reveal(alpha, before)["text"] == "sealed to the old key"
    _, after = think_private(alpha, "sealed to the new key")
    assert reveal(open_store(alpha.path), after)["text"] == "sealed to the new key"

    # The announcement: signed by the old key, holding the record and the new key's proof.
    tip = git("--git-dir", str(alpha.path), "rev-parse", ANNOUNCE_REF).strip()
    assert tip == r.commit
    assert read_announcement(alpha, tip) == RotationRecord(old, r.new, "alpha", (head_before,))
    assert alpha.trust.get("alpha.retired-1").heads == (head_before,)
    assert alpha.trust.get("alpha").heads is None
    listing = git("--git-dir", str(alpha.path), "ls-tree", "--name-only", ANNOUNCE_REF)
    assert listing.split() == sorted([PROOF_FILE, RECORD_FILE])
    assert git("--git-dir", str(alpha.path), "log", "--format=%G? %GK", ANNOUNCE_REF).split() == [
        "G",
        old.fingerprint,
    ]
    assert git("--git-dir", str(alpha.path), "log", "-1", "--format=%G? %GK", "main").split() == [
        "G",
        r.new.fingerprint,
    ]
    assert verify_commits(alpha.repo, alpha.trust, [alpha.head()]).ok
    fsck(alpha.path)


def test_rotate_twice_reads_thoughts_for_every_old_key(nodes: Nodes) -> None:
    (alpha,) = nodes("alpha")
    _, first = think_private(alpha, "first key")
    r1 = rotate_key(alpha)
    _, second = think_private(alpha, "second key")
    r2 = rotate_key(alpha)
    assert r2.old == r1.new and r2.retired_as == "alpha.retired-2"
    assert [reveal(alpha, c)["text"] for c in (first, second)] == ["first key", "second key"]
    log = git("--git-dir", str(alpha.path), "log", "--format=%s", ANNOUNCE_REF).splitlines()
    assert log == ["keys: rotate alpha", "keys: rotate alpha"]


def test_rotate_a_store_using_an_external_key(tmp_path: Path) -> None:
    external = tmp_path / "id_ed25519"
    A.save(external, comment="shared identity")
    alpha = init_store(tmp_path / "alpha", "alpha", key_file=external)
    _, cid = think_private(alpha, "before")
    r = rotate_key(alpha)
    assert alpha.config_get("mindgit.keyfile") is None
    assert alpha.key_path == alpha.path / "mindgit" / "node.key"
    assert NodeKey.load(external).public == A.public  # other stores may still use it
    assert open_store(alpha.path).public_key == r.new
    assert reveal(alpha, cid)["text"] == "before"


def interrupt_rotation(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Start ``rotate_key`` and stop it, as Ctrl-C would, once it has announced the new key and
    before it has switched to it."""

    def crash(*_: object, **__: object) -> str:
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(rotations, "_move_trust", crash)
        with pytest.raises(KeyboardInterrupt):
            rotate_key(store)


def test_an_interrupted_rotation_finishes_with_the_same_key(
    nodes: Nodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    (alpha,) = nodes("alpha")
    interrupt_rotation(alpha, monkeypatch)
    announced = read_announcement(alpha, alpha.resolve(ANNOUNCE_REF))
    assert open_store(alpha.path).public_key == announced.old  # not switched yet
    r = rotate_key(open_store(alpha.path))
    assert (r.old, r.new) == (announced.old, announced.new)
    assert git("--git-dir", str(alpha.path), "rev-list", "--count", ANNOUNCE_REF).strip() == "1"


def test_a_rotation_stopped_by_a_held_lock_says_to_run_it_again_and_then_finishes(
    nodes: Nodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The new key was saved and the old one retired before the lock stopped it: the hint only
    # said to remove the lock, not that running the command again finishes this rotation.
    (alpha,) = nodes("alpha")
    old = alpha.public_key
    monkeypatch.setattr(rotations, "update_ref", functools.partial(update_ref, wait=0.2))
    lock = alpha.path / "refs" / "keys" / "announce.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("")
    with pytest.raises(RefLocked) as info:
        rotate_key(alpha)
    assert info.value.hint is not None
    assert "run `mindgit keys rotate` again: it finishes the rotation it started" in info.value.hint
    pending = NodeKey.load(alpha.path / "mindgit" / "pending.key").public
    lock.unlink()
    r = rotate_key(open_store(alpha.path))
    assert (r.old, r.new) == (old, pending)


def test_a_thought_sealed_to_the_key_of_an_interrupted_rotation_opens(
    nodes: Nodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    alpha, beta = nodes("alpha", "beta")
    interrupt_rotation(alpha, monkeypatch)
    # The announcement travelled before alpha finished: beta seals to the new key only.
    fetch(beta, alpha, f"{ANNOUNCE_REF}:refs/keys/peers/alpha")
    assert [o.status for o in apply_rotations(beta, ["refs/keys/peers/alpha"])] == ["applied"]
    _, cid = think_private(beta, "for alpha's next key", (), ["alpha"])
    fetch(alpha, beta, "main:refs/remotes/beta/main")
    alpha = open_store(alpha.path)
    assert reveal(alpha, cid, "refs/remotes/beta/main")["text"] == "for alpha's next key"
    rotate_key(alpha)  # finished: the key is now the current one, and still opens it
    assert reveal(open_store(alpha.path), cid, "refs/remotes/beta/main")["text"] == (
        "for alpha's next key"
    )


# -- peers ----------------------------------------------------------------------------------


def test_a_peer_accepts_a_rotation_signed_by_the_trusted_key(nodes: Nodes) -> None:
    alpha, beta = nodes("alpha", "beta")
    alpha.think("signed by the old key")
    old = alpha.public_key
    r = rotate_key(alpha)
    alpha.think("signed by the new key")
    fetch(beta, alpha, f"{ANNOUNCE_REF}:refs/keys/peers/alpha")
    fetch(beta, alpha, "main:refs/remotes/alpha/main")
    out = apply_rotations(beta, ["refs/keys/peers/alpha"])
    assert [(o.status, o.name, o.new) for o in out] == [("applied", "alpha", r.new)]
    assert names(beta)["alpha"] == r.new.did and names(beta)["alpha.retired-1"] == old.did
    # Both the old and the new commits verify on the peer.
    assert verify_commits(beta.repo, beta.trust, [beta.resolve("refs/remotes/alpha/main")]).ok
    # Applying again changes nothing.
    again = apply_rotations(beta, ["refs/keys/peers/alpha"])
    assert [o.status for o in again] == ["already"]
    # The peer now seals to the new key, and alpha reads it.
    _, cid = think_private(beta, "for alpha's new key", (), ["alpha"])
    fetch(alpha, beta, "main:refs/remotes/beta/main")
    assert reveal(alpha, cid, "refs/remotes/beta/main")["text"] == "for alpha's new key"


def test_a_chain_of_rotations_is_applied_in_order(nodes: Nodes) -> None:
    alpha, beta = nodes("alpha", "beta")
    first = rotate_key(alpha)
    second = rotate_key(alpha)
    fetch(beta, alpha, f"{ANNOUNCE_REF}:refs/keys/peers/alpha")
    out = apply_rotations(beta, ["refs/keys/peers/alpha"])
    assert [o.status for o in out] == ["applied", "applied"]
    assert names(beta)["alpha"] == second.new.did
    assert names(beta)["alpha.retired-1"] == first.old.did
    assert names(beta)["alpha.retired-2"] == first.new.did


def test_a_peer_keeps_its_own_name_for_the_node(nodes: Nodes, tmp_path: Path) -> None:
    (alpha,) = nodes("alpha")
    beta = init_store(tmp_path / "beta", "beta")
    beta.trust.add(alpha.public_key, "friend")
    r = rotate_key(alpha)
    fetch(beta, alpha, f"{ANNOUNCE_REF}:refs/keys/peers/alpha")
    apply_rotations(beta, ["refs/keys/peers/alpha"])
    assert names(beta)["friend"] == r.new.did and "alpha" not in names(beta)


def test_a_rotation_by_an_untrusted_key_is_refused(nodes: Nodes) -> None:
    beta, gamma = nodes("beta", "gamma", trust=False)
    rotate_key(gamma)
    fetch(beta, gamma, f"{ANNOUNCE_REF}:refs/keys/peers/gamma")
    before = beta.trust.export()
    with pytest.raises(UntrustedRotation, match="does not trust") as info:
        apply_rotations(beta, ["refs/keys/peers/gamma"])
    assert "mindgit trust add" in (info.value.hint or "")
    assert beta.trust.export() == before
    out = apply_rotations(beta, ["refs/keys/peers/gamma"], strict=False)
    assert [o.status for o in out] == ["refused"]
    assert beta.trust.export() == before


def test_a_rotation_signed_by_a_retired_key_is_refused(nodes: Nodes, tmp_path: Path) -> None:
    alpha, beta = nodes("alpha", "beta")
    r = rotate_key(alpha)
    fetch(beta, alpha, f"{ANNOUNCE_REF}:refs/keys/peers/alpha")
    apply_rotations(beta, ["refs/keys/peers/alpha"])
    # Whoever holds the retired key (say, a thief) announces a key of their own.
    mallory = init_store(tmp_path / "mallory", "alpha", key_file=r.retired_key)
    rotate_key(mallory)
    fetch(beta, mallory, f"{ANNOUNCE_REF}:refs/keys/peers/mallory")
    before = beta.trust.export()
    with pytest.raises(UntrustedRotation, match=r"already retired as alpha\.retired-1"):
        apply_rotations(beta, ["refs/keys/peers/mallory"])
    assert beta.trust.export() == before


def _forge(store: Store, files: dict[str, bytes]) -> str:
    tb = store.repo.TreeBuilder()
    for name, data in files.items():
        tb.insert(name, store.repo.create_blob(data), 0o100644)
    return store.write_commit(tb.write(), [], "keys: forged")


def test_forged_announcements_are_refused(nodes: Nodes) -> None:
    alpha, beta = nodes("alpha", "beta")
    record = RotationRecord(alpha.public_key, B.public, "alpha", HEADS)
    cases = {
        "no proof": {RECORD_FILE: record.to_bytes()},
        "extra file": {
            RECORD_FILE: record.to_bytes(),
            PROOF_FILE: prove(record, B).encode(),
            "x": b"",
        },
        "proof by another key": {
            RECORD_FILE: record.to_bytes(),
            PROOF_FILE: prove(RotationRecord(A.public, C.public, "alpha", HEADS), C).encode(),
        },
        "not by the old key": {
            RECORD_FILE: RotationRecord(A.public, B.public, "alpha", HEADS).to_bytes(),
            PROOF_FILE: prove(RotationRecord(A.public, B.public, "alpha", HEADS), B).encode(),
        },
    }
    expected = {
        "no proof": "the tree holds",
        "extra file": "the tree holds",
        "proof by another key": "the new key's proof",
        "not by the old key": "not by the old key",
    }
    before = beta.trust.export()
    for label, files in cases.items():
        commit = _forge(alpha, files)
        git("--git-dir", str(alpha.path), "update-ref", "refs/keys/forged", commit)
        fetch(beta, alpha, "+refs/keys/forged:refs/keys/forged")
        with pytest.raises(BadRotation) as info:
            apply_rotations(beta, ["refs/keys/forged"])
        assert info.value.what == commit[:12], label
        assert expected[label] in info.value.reason, label
        out = apply_rotations(beta, ["refs/keys/forged"], strict=False)
        assert [o.status for o in out] == ["refused"], label
    assert beta.trust.export() == before


def test_an_interrupted_trust_update_is_finished_on_the_next_call(nodes: Nodes) -> None:
    alpha, beta = nodes("alpha", "beta")
    old = alpha.public_key
    # The state a crash leaves between "forget the old key" and "trust it as retired".
    (beta.path / "mindgit" / TRUST_JOURNAL).write_bytes(
        dagjson.encode(
            {
                "heads": list(HEADS),
                "name": "alpha",
                "new": B.public.did,
                "old": old.did,
                "retired": "alpha.retired-1",
            }
        )
    )
    beta.trust.remove("alpha")
    assert apply_rotations(beta, []) == []
    assert names(beta)["alpha"] == B.public.did and names(beta)["alpha.retired-1"] == old.did
    assert beta.trust.get("alpha.retired-1").heads == HEADS
    assert not (beta.path / "mindgit" / TRUST_JOURNAL).exists()


def test_a_damaged_journal_is_reported(nodes: Nodes) -> None:
    (beta,) = nodes("beta")
    (beta.path / "mindgit" / TRUST_JOURNAL).write_bytes(b"{}")
    with pytest.raises(BadRotation, match="damaged"):
        apply_rotations(beta, [])


def test_verify_accepts_a_rotation_announcement_and_names_a_forged_one(tmp_path: Path) -> None:
    """The announcement ref is verified like any other: signed by a trusted key, well-formed."""
    from mindgit.store.refs import read_ref
    from mindgit.store.repository import init_store
    from mindgit.store.rotations import ANNOUNCE_REF, rotate_key
    from mindgit.store.verify import verify_commits

    store = init_store(tmp_path / "rot", "rot")
    rotate_key(store)
    tip = read_ref(store.repo, ANNOUNCE_REF)
    assert tip is not None
    assert verify_commits(store.repo, store.trust, [tip]).ok
    # the same tree with the record altered (proof no longer matches), re-signed by the node
    commit = store.repo[tip]
    tb = store.repo.TreeBuilder(commit.tree)
    data = store.repo[commit.tree["rotation.json"].id].read_raw().replace(b"rot", b"ROT", 1)
    tb.insert("rotation.json", store.repo.create_blob(data), pygit2.enums.FileMode.BLOB)
    forged = store.write_commit(tb.write(), [tip], "forged")
    report = verify_commits(store.repo, store.trust, [forged])
    assert not report.ok and report.problems[0].object == "rotation.json"


def test_untrusting_a_node_drops_the_keys_it_rotated_away_from(tmp_path: Path) -> None:
    from mindgit.store.refs import read_ref
    from mindgit.store.repository import init_store
    from mindgit.store.rotations import ANNOUNCE_REF, apply_rotations, rotate_key

    alpha = init_store(tmp_path / "a", "alpha")
    beta = init_store(tmp_path / "b", "beta")
    beta.trust.add(alpha.public_key, "alpha")
    old = alpha.public_key
    rotate_key(alpha)
    subprocess.run(
        [
            "git",
            "--git-dir",
            str(beta.path),
            "fetch",
            "-q",
            str(alpha.path),
            f"{ANNOUNCE_REF}:refs/keys/peers/alpha",
        ],
        check=True,
    )
    tip = read_ref(beta.repo, "refs/keys/peers/alpha")
    assert tip is not None
    apply_rotations(beta, [tip])
    assert beta.trust.find(old) is not None  # kept, retired, so old history verifies
    beta.untrust("alpha")
    assert beta.trust.find(old) is None and beta.trust.find(alpha.public_key) is None


def test_a_huge_announcement_blob_is_refused_before_it_is_read(tmp_path: Path) -> None:
    from mindgit.identity.rotation import BadRotation
    from mindgit.store.repository import init_store
    from mindgit.store.rotations import check_rotation_tree

    store = init_store(tmp_path / "h", "h")
    tb = store.repo.TreeBuilder()
    tb.insert("rotation.json", store.repo.create_blob(b"0" * (1 << 20)), pygit2.enums.FileMode.BLOB)
    tb.insert("proof.sig", store.repo.create_blob(b"x"), pygit2.enums.FileMode.BLOB)
    problems = list(check_rotation_tree(store.repo, store.repo[tb.write()].peel(pygit2.Tree)))
    assert problems and "over" in problems[0][1]
    assert BadRotation is not None


def test_a_rotation_to_a_key_removed_on_purpose_is_refused(nodes: Nodes) -> None:
    alpha, beta, mallory = nodes("alpha", "beta", "mallory")
    beta.untrust("mallory")
    # alpha's trusted key announces mallory's key as its successor (mallory signs the proof).
    record = RotationRecord(alpha.public_key, mallory.public_key, "alpha", ())
    tb = alpha.repo.TreeBuilder()
    tb.insert(RECORD_FILE, alpha.repo.create_blob(record.to_bytes()), 0o100644)
    tb.insert(PROOF_FILE, alpha.repo.create_blob(prove(record, mallory.key).encode()), 0o100644)
    commit = alpha.write_commit(tb.write(), [], "keys: rotate alpha")
    alpha.repo.references.create(ANNOUNCE_REF, pygit2.Oid(hex=commit))
    fetch(beta, alpha, f"{ANNOUNCE_REF}:refs/keys/peers/alpha")
    before = beta.trust.export()
    with pytest.raises(UntrustedRotation, match="removed from trust on purpose"):
        apply_rotations(beta, ["refs/keys/peers/alpha"])
    assert beta.trust.export() == before
    out = apply_rotations(beta, ["refs/keys/peers/alpha"], strict=False)
    assert [o.status for o in out] == ["refused"]
    assert beta.trust.find(mallory.public_key) is None
