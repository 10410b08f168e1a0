"""Review R4 (s18): trust, key rotation and their messages, through the CLI as a user meets them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mindgit.identity.keys import NodeKey
from mindgit.identity.trust import TrustFileCorrupt, TrustStore
from tests.conftest import Mg
from tests.identity.tools import ok, ssh_keygen_key
from tests.snapshots import changed, snapshot


def _init(mg: Mg, path: Path, name: str) -> str:
    r = mg("init", str(path), "--name", name)
    assert r.code == 0, r.err
    return r.out.strip()


# -- trust add: a conflict with this node's own key, or with a retired key ---------------------


def test_trust_add_own_name_hint_is_not_a_refused_command(mg: Mg, tmp_path: Path) -> None:
    """The hint said `mindgit trust remove alpha` first, which is refused (this node's own key)."""
    a = tmp_path / "alpha"
    _init(mg, a, "alpha")
    other = _init(mg, tmp_path / "beta", "beta")
    before = snapshot(a)
    r = mg("--store", str(a), "trust", "add", other, "--name", "alpha")
    assert r.code == 1
    assert "trust remove" not in r.err, r.err
    assert r.err.endswith("(hint: alpha is this node's own name: choose another name)\n"), r.err
    assert changed(before, a) == []
    # What the old hint said to run fails:
    assert mg("--store", str(a), "trust", "remove", "alpha").code == 1


def test_trust_add_own_key_under_another_name(mg: Mg, tmp_path: Path) -> None:
    a = tmp_path / "alpha"
    own = _init(mg, a, "alpha")
    before = snapshot(a)
    r = mg("--store", str(a), "trust", "add", own, "--name", "me")
    assert r.code == 1
    assert "trust remove" not in r.err, r.err
    assert "(hint: it is this node's own key, which it trusts as alpha already)" in r.err, r.err
    assert changed(before, a) == []


def test_trust_add_peer_conflicts_keep_their_hints(mg: Mg, tmp_path: Path) -> None:
    a = tmp_path / "alpha"
    _init(mg, a, "alpha")
    beta = _init(mg, tmp_path / "beta", "beta")
    assert mg("--store", str(a), "trust", "add", beta, "--name", "beta").code == 0
    r = mg("--store", str(a), "trust", "add", beta, "--name", "b2")
    assert r.code == 1
    assert f"run `mindgit --store {a} trust remove beta`, then add it again" in r.err


def test_trust_add_retired_key_under_a_new_name(mg: Mg, tmp_path: Path) -> None:
    """A retired key's hint was to remove it and add it again: trusted for the history its
    rotation named, it would then have been trusted to sign anything."""
    a, b = tmp_path / "alpha", tmp_path / "beta"
    old = _init(mg, a, "alpha")
    _init(mg, b, "beta")
    assert mg("--store", str(a), "keys", "rotate").code == 0
    for store in (a,):  # this node's own retired key
        before = snapshot(store)
        r = mg("--store", str(store), "trust", "add", old, "--name", "old")
        assert r.code == 1
        assert "already trusted as 'alpha.retired-1', a key its node rotated away from" in r.err
        assert "trust remove" not in r.err, r.err
        assert "trust the node's current key instead" in r.err
        assert changed(before, store) == []
    listed = json.loads(mg("--store", str(a), "trust", "list", "--json").out)
    assert [n["name"] for n in listed] == ["alpha.retired-1", "alpha"]


# -- keys apply: a fork of a peer's key chain, both given at once ------------------------------


def test_keys_apply_fork_in_one_batch_is_named_a_fork(mg: Mg, tmp_path: Path) -> None:
    """Two rotations of one key given together: the second was refused as signed by 'a key
    already retired as xnode.retired-1', though this node had retired nothing (nothing was
    changed); it is the first rotation of the batch that retires it."""
    x, x2, y = tmp_path / "x", tmp_path / "x2", tmp_path / "y"
    old = _init(mg, x, "xnode")
    shutil.copytree(x, x2, symlinks=True)  # the key stolen, or shared: a second holder
    tips = []
    for store in (x, x2):
        r = mg("--store", str(store), "keys", "rotate", "--json")
        assert r.code == 0, r.err
        tips.append(json.loads(r.out)["announcement"])
    _init(mg, y, "ynode")
    assert mg("--store", str(y), "trust", "add", old, "--name", "xnode").code == 0
    for store in (x, x2):
        ok("git", "-C", y, "fetch", "-q", store, f"refs/keys/announce:refs/tmp/{store.name}")
    before = snapshot(y)
    for order in (("x", "x2"), ("x2", "x")):
        r = mg("--store", str(y), "keys", "apply", *(f"refs/tmp/{n}" for n in order))
        assert r.code == 1
        first, second = (tips[0], tips[1]) if order[0] == "x" else (tips[1], tips[0])
        assert f"refused key rotation {second[:12]}: signed by {old}, which {first[:12]} " in r.err
        assert "two rotations of one key (a fork)" in r.err, r.err
        assert "already retired" not in r.err
        assert changed(before, y) == []
    # Applied one after the other, the second is refused for a key retired here, as before.
    assert mg("--store", str(y), "keys", "apply", "refs/tmp/x").code == 0
    r = mg("--store", str(y), "keys", "apply", "refs/tmp/x2")
    assert r.code == 1
    assert f"signed by {old}, a key already retired as xnode.retired-1" in r.err


# -- a hand-written trust file whose derived name a later line gives ---------------------------


def test_derived_name_given_by_a_later_line(tmp_path: Path) -> None:
    """'dev@x.com KEY1' is node dev-x.com, derived; a later 'dev-x.com KEY2' (a file ssh-keygen
    and git read) was refused as a second key for one name: TrustFileCorrupt, so every
    command that reads trust failed. The name a line gives wins; the derived one steps aside."""
    a, b = NodeKey.from_seed(bytes(32 * [1])).public, NodeKey.from_seed(bytes(32 * [2])).public
    path = tmp_path / "allowed_signers"
    path.write_text(f"dev@x.com {a.openssh}\ndev-x.com {b.openssh}\n")
    store = TrustStore(path)
    assert [(n.name, n.key) for n in store.nodes()] == [
        (f"dev-x.com-{a.did[-8:]}", a),
        ("dev-x.com", b),
    ]
    assert store.get("dev-x.com").key == b
    # The same key given first with no name and then with one is that one node.
    path.write_text(f"dev@x.com {a.openssh}\nbob {a.openssh}\n")
    assert [(n.name, n.key) for n in TrustStore(path).nodes()] == [("bob", a)]
    # Names the file gives twice are still refused, naming the line.
    path.write_text(f"bob {a.openssh}\nbob {b.openssh}\n")
    with pytest.raises(TrustFileCorrupt) as info:
        TrustStore(path).nodes()
    assert info.value.line == 2


def test_derived_name_clash_through_the_cli(mg: Mg, tmp_path: Path) -> None:
    a = tmp_path / "alpha"
    _init(mg, a, "alpha")
    one, two = (NodeKey.from_seed(bytes(32 * [n])).public for n in (3, 4))
    with (a / "mindgit" / "allowed_signers").open("a") as f:
        f.write(f"ops@example.com {one.openssh}\nops-example.com {two.openssh}\n")
    r = mg("--store", str(a), "trust", "list", "--json")
    assert r.code == 0, r.err
    assert [n["name"] for n in json.loads(r.out)] == [
        "alpha",
        f"ops-example.com-{one.did[-8:]}",
        "ops-example.com",
    ]
    r = mg("--store", str(a), "trust", "remove", "ops-example.com")
    assert r.code == 0, r.err
    assert one.openssh in (a / "mindgit" / "allowed_signers").read_text()


# -- trust add given a key file's path ---------------------------------------------------------


def test_trust_add_a_key_file_path_says_so(mg: Mg, tmp_path: Path) -> None:
    """A path was refused as 'a text of N characters (not shown: it may be a private key)',
    with a hint about did:keys and OpenSSH lines that never said the file was the trouble."""
    a = tmp_path / "alpha"
    _init(mg, a, "alpha")
    private = ssh_keygen_key(tmp_path, "peer")
    public = tmp_path / "peer.pub"
    before = snapshot(a)
    r = mg("--store", str(a), "trust", "add", str(public), "--name", "peer")
    assert r.code == 2
    assert f"{str(public)!r} is a file; KEY is the key itself" in r.err, r.err
    assert f'`mindgit --store {a} trust add "$(cat {public})" --name peer`' in r.err, r.err
    r = mg("--store", str(a), "trust", "add", str(private), "--name", "peer", "--json")
    assert r.code == 2
    error = json.loads(r.out)
    assert error["type"] == "MalformedKey"
    assert "is a file" in error["error"]
    assert "cat" not in error["hint"]  # never a private key on a command line
    assert f"ssh-keygen -y -f {private}" in error["hint"]
    # Not a file: as before.
    r = mg("--store", str(a), "trust", "add", str(tmp_path / "nosuch"), "--name", "peer")
    assert r.code == 2
    assert "(not shown: it may be a private key)" in r.err
    assert changed(before, a) == []
    # The hint's command, run as written, trusts the key.
    line = public.read_text().strip()
    assert mg("--store", str(a), "trust", "add", line, "--name", "peer").code == 0


# -- trust add: renaming a node that rotated its key ------------------------------------------


def test_rename_hint_of_a_rotated_node_keeps_its_retired_keys(mg: Mg, tmp_path: Path) -> None:
    """The hint 'to rename it, run `mindgit trust remove pnode`, then add it again', run as
    written for a node that had rotated, removed pnode.retired-1 with it, for good (a rotation
    never brings back a key removed on purpose): its history before the rotation stopped
    verifying."""
    p, q = tmp_path / "p", tmp_path / "q"
    pdid = _init(mg, p, "pnode")
    _init(mg, q, "qnode")
    assert mg("--store", str(q), "trust", "add", pdid, "--name", "pnode").code == 0
    assert mg("--store", str(q), "remote", "add", "p", str(p), "--node", "pnode").code == 0
    assert mg("--store", str(p), "think", "one").code == 0
    assert mg("--store", str(p), "keys", "rotate").code == 0
    assert mg("--store", str(q), "pull", "p").code == 0
    assert mg("--store", str(q), "verify", "refs/peers/p/heads/main").code == 0
    new = json.loads(mg("--store", str(p), "id", "--json").out)["did"]
    before = snapshot(q)
    r = mg("--store", str(q), "trust", "add", new, "--name", "renamed")
    assert r.code == 1
    assert "trust remove" not in r.err, r.err
    assert (
        "(hint: keep the name pnode: removing it also stops trusting the keys it rotated away "
        "from (pnode.retired-1), and the history they signed stops verifying)"
    ) in r.err, r.err
    assert changed(before, q) == []
    # What the old hint said to do does lose that history:
    assert mg("--store", str(q), "trust", "remove", "pnode").code == 0
    assert mg("--store", str(q), "trust", "add", new, "--name", "renamed").code == 0
    assert mg("--store", str(q), "verify", "refs/peers/p/heads/main").code == 1
