"""Key rotation seen by a peer that had already trusted the new key before the announcement came.

A user told of a node's new did:key out of band (`trust add <new did> --name alpha-new`) and then
pulling the node's rotation must end up where any other peer does: the old key retired, bounded
by the record's heads, and never sealed to again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mindgit.identity.keys import KeyFileInsecure, NodeKey
from mindgit.store.private import reveal, share, think_private
from mindgit.store.repository import Store, init_store
from mindgit.store.rotations import ANNOUNCE_REF, apply_rotations, rotate_key
from mindgit.store.verify import verify_commits
from tests.conftest import Mg, git
from tests.private.conftest import Nodes, fetch
from tests.private.test_retired import RETIRED, _thief
from tests.snapshots import changes, snapshot


def _trusted(store: Store) -> dict[str, tuple[str, tuple[str, ...] | None]]:
    return {n.name: (n.did, n.heads) for n in store.trust.nodes()}


def test_a_rotation_to_a_key_trusted_already_retires_the_old_key(
    tmp_path: Path, nodes: Nodes, mg: Mg
) -> None:
    alpha, beta = nodes("alpha", "beta")
    alpha.think("signed by the old key")
    before = alpha.head()
    old = alpha.public_key
    r = rotate_key(alpha)
    # beta heard of the new key first, and trusted it under a name of its own.
    beta.trust.add(r.new, "alpha-new")
    fetch(beta, alpha, f"+{ANNOUNCE_REF}:refs/keys/peers/alpha")
    fetch(beta, alpha, "+refs/heads/main:refs/heads/alpha-main")

    result = mg("--store", str(beta.path), "keys", "apply", "refs/keys/peers/alpha", "--json")
    assert result.code == 0, result.err

    trusted = _trusted(beta)
    # The old key is no node's current key any more: it is retired, bounded by the record.
    assert trusted.get("alpha") is None, trusted
    assert trusted["alpha-new"] == (r.new.did, None)
    retired = [name for name, (did, _) in trusted.items() if did == old.did]
    assert retired == ["alpha-new.retired-1"], trusted
    assert trusted["alpha-new.retired-1"][1] == (before,)

    # alpha's history from before the rotation still verifies on beta ...
    assert verify_commits(beta.repo, beta.trust, [beta.resolve("refs/heads/alpha-main")]).ok
    # ... and what the old key signs now does not.
    evil = _thief(tmp_path, alpha, r.retired_key)
    fetch(beta, alpha, "+refs/heads/evil:refs/heads/evil")
    report = verify_commits(beta.repo, beta.trust, [evil])
    assert [p.commit for p in report.problems] == [evil]
    assert RETIRED in report.problems[0].reason

    # Nothing is sealed to the old key again.
    _, cid = think_private(beta, "for alpha", (), ["alpha-new"])
    envelope = beta.snapshot().state.thoughts
    assert cid in envelope
    refused = mg("--store", str(beta.path), "think", "x", "--private", "--to", old.did)
    assert refused.code == 1 and "retired key" in refused.err

    # Applying the announcement again changes nothing.
    again = apply_rotations(beta, ["refs/keys/peers/alpha"])
    assert [o.status for o in again] == ["already"]
    assert _trusted(beta) == trusted


def test_a_chain_ending_in_a_key_trusted_already_retires_every_old_key(
    nodes: Nodes, tmp_path: Path
) -> None:
    (alpha,) = nodes("alpha")
    alpha.think("signed by the first key")
    first = alpha.public_key
    rotate_key(alpha)
    last = rotate_key(alpha)
    observer = init_store(tmp_path / "observer", "observer")
    observer.trust.add(first, "alpha")  # met before the rotations
    observer.trust.add(last.new, "alpha-new")  # told of the newest key out of band
    fetch(observer, alpha, f"+{ANNOUNCE_REF}:refs/keys/peers/alpha")
    apply_rotations(observer, ["refs/keys/peers/alpha"])
    trusted = _trusted(observer)
    # No key alpha rotated away from is anyone's current key: each is retired, bounded.
    current = {did for name, (did, heads) in trusted.items() if heads is None}
    assert current == {observer.public_key.did, last.new.did}, trusted
    assert {name for name in trusted if name != "observer"} == {
        "alpha-new",
        "alpha-new.retired-1",
        "alpha-new.retired-2",
    }, trusted
    # alpha's history, signed by its first key before the rotations, verifies.
    fetch(observer, alpha, "+refs/heads/main:refs/heads/alpha-main")
    assert verify_commits(observer.repo, observer.trust, [observer.resolve("alpha-main")]).ok


def test_one_damaged_retired_key_does_not_hide_what_the_others_open(nodes: Nodes, mg: Mg) -> None:
    alpha, _ = nodes("alpha", "beta")
    _, first = think_private(alpha, "sealed to the first key")
    first_rotation = rotate_key(alpha)
    _, second = think_private(alpha, "sealed to the second key")
    second_rotation = rotate_key(alpha)
    # A backup restored with the wrong mode, say: ssh's rule makes the second key unusable.
    second_file = second_rotation.retired_key
    assert second_file != first_rotation.retired_key
    second_file.chmod(0o644)

    shown = mg("--store", str(alpha.path), "show", "--json")
    assert shown.code == 0, shown.err
    thoughts = {t["cid"]: t for t in json.loads(shown.out)["thoughts"]}
    # The first key is intact: its thought is read as before.
    assert thoughts[str(first)]["readable"] is True
    assert thoughts[str(first)]["text"] == "sealed to the first key"
    assert thoughts[str(second)]["readable"] is False

    # The Python API still names the key file it could not use, for the thought that needs it.
    assert reveal(alpha, first)["text"] == "sealed to the first key"
    with pytest.raises(KeyFileInsecure) as caught:
        reveal(alpha, second)
    assert caught.value.path == second_file
    # Sharing needs the thought key, so the same holds for it.
    share(alpha, first, "beta")
    with pytest.raises(KeyFileInsecure):
        share(alpha, second, "beta")


def test_a_recipient_given_as_an_openssh_line_is_that_node(nodes: Nodes, mg: Mg) -> None:
    alpha, beta, gamma = nodes("alpha", "beta", "gamma")
    # `--to` and `--with` take a node as every other node flag does: name, did:key or the
    # OpenSSH line `mindgit id` prints (it was refused as "invalid node name", exit 2).
    to = mg(
        "--store",
        str(alpha.path),
        "think",
        "for beta",
        "--private",
        "--to",
        beta.public_key.openssh,
        "--json",
    )
    assert to.code == 0, to.err
    cid = json.loads(to.out)["thought"]
    shared = mg("--store", str(alpha.path), "share", cid, "--with", gamma.public_key.openssh)
    assert shared.code == 0, shared.err
    stranger = NodeKey.generate().public.openssh
    refused = mg("--store", str(alpha.path), "think", "x", "--private", "--to", stranger)
    assert refused.code == 1 and "is not a trusted node" in refused.err


def test_untrusting_a_node_with_a_long_name_drops_its_retired_keys(
    nodes: Nodes, tmp_path: Path
) -> None:
    (alpha,) = nodes("alpha")
    observer = init_store(tmp_path / "observer", "observer")
    long_name = "n" * 60
    observer.trust.add(alpha.public_key, long_name)
    old = alpha.public_key
    rotate_key(alpha)
    fetch(observer, alpha, f"+{ANNOUNCE_REF}:refs/keys/peers/alpha")
    apply_rotations(observer, ["refs/keys/peers/alpha"])
    assert observer.trust.find(old) is not None  # retired under a name cut to fit
    observer.untrust(long_name)
    # The node is no longer trusted, and neither is any key it rotated away from.
    assert observer.trust.find(old) is None


def test_keys_apply_refuses_a_rotation_of_this_nodes_own_key_made_elsewhere(
    tmp_path: Path, mg: Mg
) -> None:
    # One identity, several stores (`init --key`): the first store rotates the shared key.
    key_file = tmp_path / "shared.key"
    NodeKey.generate().save(key_file)
    first = init_store(tmp_path / "first", "alpha", key_file=key_file)
    second = init_store(tmp_path / "second", "alpha", key_file=key_file)
    second.think("the second store's own work")
    rotate_key(first)
    fetch(second, first, f"+{ANNOUNCE_REF}:refs/keys/fetched")
    before = snapshot(second.path)

    # `pull` refuses that chain ("a rotation of this node's own key that it never made");
    # `keys apply` retired the key the second store still signs with, and its own history
    # stopped verifying.
    result = mg("--store", str(second.path), "keys", "apply", "refs/keys/fetched")
    assert result.code == 1
    assert "this node's own key" in result.err and result.err.count("\n") == 1
    assert changes(before, snapshot(second.path)) == []
    assert second.verify().ok
    # Its own rotations are still its own to apply again (nothing changes).
    rotate_key(second)
    again = mg("--store", str(second.path), "keys", "apply", ANNOUNCE_REF)
    assert again.code == 0, again.err


def test_a_damaged_announce_ref_stops_the_rotation_before_anything_is_written(
    tmp_path: Path, mg: Mg
) -> None:
    store = init_store(tmp_path / "alpha", "alpha")
    store.think("some work")
    # refs/keys/announce moved onto a commit that is no announcement (a stray update-ref).
    git("--git-dir", str(store.path), "update-ref", ANNOUNCE_REF, "refs/heads/main")
    before = snapshot(store.path)
    result = mg("--store", str(store.path), "keys", "rotate")
    assert result.code == 1
    assert ANNOUNCE_REF in result.err and result.err.count("\n") == 1
    # Nothing written: no pending key (which blocked every signing command, and the rotation
    # it asked to finish failed the same way for ever), no retired key file.
    assert changes(before, snapshot(store.path)) == []
    assert mg("--store", str(store.path), "think", "more work").code == 0


def test_a_file_where_the_retired_keys_go_stops_the_rotation_before_anything_is_written(
    tmp_path: Path, mg: Mg
) -> None:
    store = init_store(tmp_path / "alpha", "alpha")
    retired = store.path / "mindgit" / "retired"
    retired.write_bytes(b"")
    before = snapshot(store.path)
    result = mg("--store", str(store.path), "keys", "rotate")
    assert result.code == 1
    assert f"{retired} is not a directory" in result.err and result.err.count("\n") == 1
    # It said only "File exists", after saving the new key as pending.key: every signing
    # command then refused until a rotation that failed the same way was finished.
    assert changes(before, snapshot(store.path)) == []
    assert mg("--store", str(store.path), "think", "more work").code == 0


def test_a_node_whose_own_name_looks_retired_still_rotates(tmp_path: Path) -> None:
    # Node names are [A-Za-z0-9._-]{1,64}: "build.retired-2" is one (init accepts it).
    store = init_store(tmp_path / "build", "build.retired-2")
    old = store.public_key
    r = rotate_key(store)
    assert store.trust.get("build.retired-2").key == r.new
    retired = store.trust.find(old)
    assert retired is not None and retired.heads is not None
    store.think("signed by the new key")
    assert store.verify().ok


def test_trust_add_refuses_a_name_kept_for_retired_keys(nodes: Nodes, mg: Mg) -> None:
    alpha, beta = nodes("alpha", "beta", trust=False)
    before = snapshot(alpha.path)
    # Trusted under such a name, beta could never be sealed to ("a retired key") and every
    # rotation it announced would be refused ("a key already retired").
    for name in ("beta.retired-1", "build.retired-12"):
        result = mg("--store", str(alpha.path), "trust", "add", beta.public_key.did, "--name", name)
        assert result.code == 2
        assert ".retired-<n>" in result.err and result.err.count("\n") == 1
    assert changes(before, snapshot(alpha.path)) == []
    for name in ("beta.retired", "beta.retired-0", "retired-1", "beta-retired-1"):
        assert (
            mg("--store", str(alpha.path), "trust", "add", beta.public_key.did, "--name", name).code
            == 0
        )
        alpha.trust.remove(name)


def test_retired_from_knows_the_names_retired_name_gives() -> None:
    from mindgit.identity.rotation import retired_from, retired_name

    long_name = "n" * 60
    for node in ("alpha", long_name, "a.retired-1"):
        first = retired_name(node, set())
        assert retired_from(first, node)
        assert retired_from(retired_name(node, {first}), node)
    assert not retired_from("alphabet.retired-1", "alpha")
    assert not retired_from("alpha.retired-1", "alphabet")
    assert not retired_from("alpha.retired-0", "alpha")
    assert not retired_from("alpha", "alpha")


def test_init_refuses_a_name_kept_for_retired_keys(tmp_path: Path, mg: Mg) -> None:
    # As trust add does: peers would trust the node under a name marking a retired key.
    result = mg("init", str(tmp_path / "build"), "--name", "build.retired-2")
    assert result.code == 2
    assert ".retired-<n>" in result.err and result.err.count("\n") == 1
    assert not (tmp_path / "build").exists()
    assert mg("init", str(tmp_path / "ok"), "--name", "build.retired").code == 0
