"""What is typed on the command line is checked by one function per kind, for every command.
A node (a did:key, an OpenSSH line or a name) that no node could be is a usage error (exit 2),
one line naming the option, reported by --json under the library error's own type; text that is
not UTF-8 is one too. Nothing changes on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mindgit.adapters.agentfile import import_af
from mindgit.store.repository import Store
from tests.conftest import FIXTURES, Mg
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


def test_text_typed_that_is_not_utf8_is_one_usage_error_for_every_command(
    store: Store, tmp_path: Path
) -> None:
    # `think TEXT` and `block set LABEL VALUE` each had their own check and wording.
    import_af(store, FIXTURES / "agent-files" / "memgpt_agent.af", name="agent")
    before = snapshot(store.path)
    for what, args in (
        ("TEXT", [b"think", b"caf\xe9"]),
        ("VALUE", [b"block", b"set", b"human", b"caf\xe9", b"-e", b"agent"]),
    ):
        r = subprocess.run(
            [os.fsencode(sys.executable), b"-m", b"mindgit", b"--store", bytes(store.path), *args],
            capture_output=True,
            check=False,
        )
        assert r.returncode == 2
        assert (
            r.stderr == f"mindgit: error: {what} is not UTF-8 text; nothing was changed\n".encode()
        )
    assert changes(before, snapshot(store.path)) == []
