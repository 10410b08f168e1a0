"""A peer name that cannot be one says why (`x.lock` looked valid by the rule the hint gave);
a well-formed name of no peer points to `remote list` and the closest name when peers exist
(it said "add one with `mindgit remote add`" to a typo)."""

from __future__ import annotations

import pytest

from tests.conftest import Mg
from tests.snapshots import changed, snapshot
from tests.sync.conftest import Nodes

RULE = (
    "(hint: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, "
    "with no '..' and not ending with '.' or '.lock')"
)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("x.lock", "it ends with '.lock', which git keeps for its lock files"),
        ("x.", "it ends with '.'"),
        ("a..b", "it holds '..'"),
        ("a b", "' ' is not allowed in one"),
        (".x", "it starts with '.'"),
        ("a" * 65, "it is 65 characters long, over 64"),
    ],
)
def test_remote_add_says_what_is_wrong_with_the_name(
    pair: Nodes, mg: Mg, name: str, why: str
) -> None:
    alpha = pair["alpha"]
    before = snapshot(alpha.path)
    r = mg("--store", str(alpha.path), "remote", "add", name, "/tmp/x")
    assert r.code == 2
    assert r.err == f"mindgit: error: invalid peer name {name!r}: {why} {RULE}\n"
    assert changed(before, alpha.path) == []


def test_a_typo_of_a_peer_is_pointed_at_the_peer(pair: Nodes, mg: Mg) -> None:
    alpha = pair["alpha"]
    r = mg("--store", str(alpha.path), "pull", "bta")
    assert r.code == 1
    assert r.err == (
        "mindgit: error: no peer named 'bta' (peers: beta) "
        f"(hint: did you mean 'beta'? `mindgit --store {alpha.path} remote list` shows the peers)\n"
    )
    r = mg("--store", str(alpha.path), "push", "zzz")
    assert r.code == 1
    assert r.err == (
        "mindgit: error: no peer named 'zzz' (peers: beta) "
        f"(hint: `mindgit --store {alpha.path} remote list` shows the peers)\n"
    )


def test_with_no_peers_it_says_how_to_add_one(nodes: Nodes, mg: Mg) -> None:
    alpha = nodes.make("alpha")
    r = mg("--store", str(alpha.path), "pull", "beta")
    assert r.code == 1
    assert r.err == (
        "mindgit: error: no peer named 'beta' (peers: none yet) "
        f"(hint: add one with `mindgit --store {alpha.path} remote add NAME URL`)\n"
    )
