"""Names typed on the command line of push, pull, sync and remote remove: one that no peer (or
no experiment) can have is a usage error (exit 2, one line, nothing changed); a well-formed name
of none is the command's own error (exit 1).

Bug: `push 'a b'`, `pull 'a b'`, `sync alpha 'a b'` and `remote remove 'a b'` said "no peer
named 'a b'" and exited 1, and `push beta -- -x` said "invalid experiment name '-x'" and exited
1, as if a store could have held them."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Mg
from tests.snapshots import changed, snapshot
from tests.sync.conftest import Nodes


@pytest.mark.parametrize(
    ("args", "kind"),
    [
        (("push", "a b"), "InvalidPeerName"),
        (("pull", "a/b"), "InvalidPeerName"),
        (("pull", "../beta"), "InvalidPeerName"),
        (("sync", "beta", "a b"), "InvalidPeerName"),
        (("remote", "remove", "a b"), "InvalidPeerName"),
        (("push", "beta", "--", "-x"), "RefError"),
        (("push", "beta", "a b"), "RefError"),
        (("push", "beta", "HEAD"), "RefError"),
    ],
)
def test_a_name_nothing_could_be_is_a_usage_error_and_changes_nothing(
    pair: Nodes, mg: Mg, args: tuple[str, ...], kind: str
) -> None:
    alpha = pair["alpha"]
    before = snapshot(alpha.path)
    r = mg("--store", str(alpha.path), *args)
    assert r.code == 2, r
    assert r.err.count("\n") == 1 and r.err.startswith("mindgit: error: "), r.err
    assert changed(before, alpha.path) == []
    at = 2 if args[0] == "remote" else 1  # --json before the names: "--" ends the options
    r = mg("--store", str(alpha.path), *args[:at], "--json", *args[at:])
    assert r.code == 2 and json.loads(r.out)["type"] == kind, r


@pytest.mark.parametrize(
    "args",
    [
        ("push", "gamma"),
        ("pull", "gamma"),
        ("sync", "beta", "gamma"),
        ("remote", "remove", "gamma"),
        ("push", "beta", "nosuch"),
    ],
)
def test_a_well_formed_name_of_nothing_is_exit_1(
    pair: Nodes, mg: Mg, args: tuple[str, ...]
) -> None:
    alpha = pair["alpha"]
    before = snapshot(alpha.path)
    r = mg("--store", str(alpha.path), *args)
    assert r.code == 1, r
    assert r.err.count("\n") == 1 and r.err.startswith("mindgit: error: "), r.err
    assert changed(before, alpha.path) == []


@pytest.mark.parametrize("command", [("pull", "beta"), ("sync", "beta")])
@pytest.mark.parametrize("fitness", ["", "  "])
def test_an_empty_fitness_is_a_usage_error_and_changes_nothing(
    pair: Nodes, mg: Mg, command: tuple[str, ...], fitness: str
) -> None:
    # An empty path is the working directory: a merge the pull needed would have failed on it.
    alpha = pair["alpha"]
    before = snapshot(alpha.path)
    r = mg("--store", str(alpha.path), *command, "--fitness", fitness)
    assert r.code == 2, r
    assert r.err == "mindgit: error: --fitness is empty: give a module's name, CID or path\n"
    assert changed(before, alpha.path) == []
