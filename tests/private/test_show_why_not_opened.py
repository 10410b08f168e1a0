"""`show` of a private thought this node cannot open says why: a key file that did not load
(named, with what is wrong with it) or not being a recipient (and who can open it).

Bug: both read "private (N recipients)", so a node whose key file was damaged (a bad restore, a
stray write) could not tell that from a thought never sealed to it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mindgit.identity.keys import KeyFileError, NodeKey
from mindgit.store.private import reveal, think_private
from mindgit.store.repository import Store, init_store
from mindgit.store.rotations import rotate_key
from tests.conftest import Mg
from tests.private.conftest import Nodes, fetch
from tests.snapshots import changed, snapshot

SECRET = "the key is under the third stone"


def test_a_non_recipient_is_told_so_and_who_can_open_it(nodes: Nodes, mg: Mg) -> None:
    alpha, beta, delta = nodes("alpha", "beta", "delta")
    cid = mg("--store", str(alpha.path), "think", SECRET, "--private", "--to", "beta").out.strip()
    fetch(delta, alpha, "main:refs/remotes/alpha/main")
    shown = mg("--store", str(delta.path), "show", "refs/remotes/alpha/main")
    assert shown.code == 0, shown.err
    # Recipients are listed by did:key order, each by the name delta trusts it as.
    order = sorted([(alpha.public_key.did, "alpha"), (beta.public_key.did, "beta")])
    names = ", ".join(name for _, name in order)
    assert (
        f"{cid}  private (2 recipients): this node is not a recipient; {names} can open it\n"
        in (shown.out)
    )
    assert "key file" not in shown.out and SECRET not in shown.out + shown.err
    data = json.loads(
        mg("--store", str(delta.path), "show", "--json", "refs/remotes/alpha/main").out
    )
    [thought] = data["thoughts"]
    assert thought["readable"] is False and "key_file" not in thought
    assert thought["sealed_to"] == [{"key": did, "name": name} for did, name in order]


def test_an_untrusted_recipient_is_named_by_its_did(nodes: Nodes, mg: Mg) -> None:
    alpha, _beta = nodes("alpha", "beta")
    (delta,) = nodes("delta", trust=False)
    cid = mg("--store", str(alpha.path), "think", SECRET, "--private", "--to", "beta").out.strip()
    fetch(delta, alpha, "main:refs/remotes/alpha/main")
    shown = mg("--store", str(delta.path), "show", "refs/remotes/alpha/main")
    assert f"{cid}  private (2 recipients): this node is not a recipient; did:key:" in shown.out
    assert alpha.public_key.did in shown.out


def test_a_damaged_key_file_is_named_not_taken_for_not_a_recipient(nodes: Nodes, mg: Mg) -> None:
    alpha, _beta = nodes("alpha", "beta")
    cid = mg("--store", str(alpha.path), "think", SECRET, "--private", "--to", "beta").out.strip()
    key = alpha.key_path
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n")  # a stray write
    before = snapshot(alpha.path)

    shown = mg("--store", str(alpha.path), "show")
    assert shown.code == 0, shown.err
    [line] = [line for line in shown.out.splitlines() if cid in line]
    assert line.startswith(
        f"  {cid}  private (2 recipients): not opened: this node's key file is damaged or "
        f"unusable: node key {key} is corrupt: "
    ), line
    assert "(hint: restore the key from a backup" in line
    assert "not a recipient" not in shown.out and SECRET not in shown.out + shown.err
    [thought] = json.loads(mg("--store", str(alpha.path), "show", "--json").out)["thoughts"]
    assert thought["readable"] is False and thought["key_file"] == str(key)
    assert "key file is damaged" in thought["error"] and "sealed_to" not in thought
    assert changed(before, alpha.path) == []


def test_a_damaged_retired_key_is_named_only_for_the_thoughts_sealed_to_it(
    nodes: Nodes, mg: Mg
) -> None:
    alpha, beta = nodes("alpha", "beta")
    _, first = think_private(alpha, "sealed to the first key")
    rotation = rotate_key(alpha)
    rotation.retired_key.chmod(0o644)  # a backup restored with the wrong mode: unusable
    # A thought beta sealed to itself alone, brought into alpha's state: not alpha's to open,
    # and the damaged file (named by another key's did) has nothing to do with it.
    _, theirs = think_private(beta, "beta's own")
    fetch(alpha, beta, "main:refs/remotes/beta/main")

    shown = mg("--store", str(alpha.path), "show", "--json")
    assert shown.code == 0, shown.err
    [thought] = [t for t in json.loads(shown.out)["thoughts"] if t["cid"] == str(first)]
    assert thought["key_file"] == str(rotation.retired_key)
    assert "is accessible by other users" in thought["error"]
    assert thought["hint"] == f"run: chmod 600 {rotation.retired_key}"

    shown = mg("--store", str(alpha.path), "show", "--json", "refs/remotes/beta/main")
    [thought] = [t for t in json.loads(shown.out)["thoughts"] if t["cid"] == str(theirs)]
    assert "key_file" not in thought
    assert thought["error"] == "this node is not a recipient; beta can open it"


def test_a_damaged_external_key_in_a_folder_named_retired_is_named(tmp_path: Path, mg: Mg) -> None:
    # `init --key` keeps the key where the user has it, in a folder of any name. reveal told a
    # retired key's file by its folder's name, and took this node's own key for a retired one
    # named by no recipient's did: "not a recipient", not the damaged file and its repair.
    key_file = tmp_path / "retired" / "node.key"
    key_file.parent.mkdir()
    NodeKey.generate().save(key_file)
    alpha = init_store(tmp_path / "alpha", "alpha", key_file=key_file)
    _, cid = think_private(alpha, SECRET)
    key_file.chmod(0o644)  # a backup restored with the wrong mode: unusable
    before = snapshot(alpha.path)

    with pytest.raises(KeyFileError) as refused:
        reveal(Store(alpha.path), cid)
    assert refused.value.path == key_file and "is accessible by other users" in str(refused.value)
    shown = mg("--store", str(alpha.path), "show", "--json")
    [thought] = json.loads(shown.out)["thoughts"]
    assert thought["key_file"] == str(key_file)
    assert changed(before, alpha.path) == []
