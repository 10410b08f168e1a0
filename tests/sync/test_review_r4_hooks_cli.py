"""Review R4: `hooks install` without --server, given a server's option."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import Result
from tests.snapshots import changed, snapshot
from tests.sync.conftest import Nodes

Mg = Callable[..., Result]


def at(nodes: Nodes, name: str) -> tuple[str, str]:
    return "--store", str(nodes[name].path)


# -- hooks install --------------------------------------------------------------------------


def test_a_server_option_without_server_is_said_in_english(nodes: Nodes, mg: Mg) -> None:
    alpha = nodes.make("alpha")
    before = snapshot(alpha.path)
    res = mg(*at(nodes, "alpha"), "hooks", "install", "--trust", "x")
    assert res.code == 2
    assert "--trust can only go with --server PATH" in res.err  # was "--trust only go with"
    res = mg(*at(nodes, "alpha"), "hooks", "install", "--update-hook", "--allow-rewind")
    assert res.code == 2
    assert "--update-hook, --allow-rewind can only go with --server PATH" in res.err
    assert changed(before, alpha.path) == []
