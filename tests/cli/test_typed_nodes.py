"""A node typed on the command line (a did:key, an OpenSSH line or a name) is checked by one
function for every command that takes one: a key or a name no node could have is a usage error
(exit 2), one line naming the option, reported by --json under the library error's own type;
nothing changes on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mindgit.store.repository import Store
from tests.conftest import Mg
from tests.snapshots import changes, snapshot

BAD_KEY = "did:key:z6MkNOTAKEY"


def commands(store: Store, tmp_path: Path) -> dict[str, list[str]]:
    cid = str(store.think("a thought", [])[1])
    return {
        "--to": ["think", "secret", "--private", "--to", "@"],
        "--with": ["share", cid, "--with", "@"],
        "--node": ["remote", "add", "beta", str(tmp_path / "beta"), "--node", "@"],
    }


@pytest.mark.parametrize(
    ("typed", "kind", "problem"),
    [
        (BAD_KEY, "MalformedKey", "not an ed25519 public key"),
        ("be ta", "InvalidNodeName", "invalid node name"),
        ("", "InvalidNodeName", "invalid node name"),
    ],
)
def test_a_node_no_node_could_be_is_one_usage_error_naming_its_option(
    store: Store, mg: Mg, tmp_path: Path, typed: str, kind: str, problem: str
) -> None:
    # `think --to` and `share --with` said it without the option and, in --json, under a type
    # of their own (MalformedRecipientKey, InvalidRecipientName); `remote add --node` took a
    # name no node can have for one not yet trusted.
    for flag, args in commands(store, tmp_path).items():
        args = [typed if a == "@" else a for a in args]
        before = snapshot(store.path)
        r = mg("--store", str(store.path), *args)
        assert r.code == 2 and r.out == "", (flag, r.err)
        assert r.err.count("\n") == 1
        assert r.err.startswith(f"mindgit: error: {flag}: {problem}"), (flag, r.err)
        r = mg("--store", str(store.path), *args, "--json")
        assert r.code == 2 and json.loads(r.out)["type"] == kind, (flag, r.out)
        assert changes(before, snapshot(store.path)) == [], flag


def test_git_setup_names_its_option_too(mg: Mg, tmp_path: Path) -> None:
    r = mg("git-setup", str(tmp_path), "--node", BAD_KEY, "--json")
    assert r.code == 2 and json.loads(r.out)["type"] == "MalformedKey"
    assert r.err.startswith("mindgit: error: --node: not an ed25519 public key")
