"""What mindgit prints or exports about a private thought: never its text or tags.

Beside the store search of test_no_plaintext: CAR exports (one state and the history), agent-file
exports, `log`, `cat`, `verify`, and `show`/`diff` for a node that is not a recipient (a recipient
sees the text there, by design), in text and --json. A public thought written beside it is the control wherever thoughts are shown.
"""

from __future__ import annotations

import io
from pathlib import Path

from mindgit.adapters.agentfile import export_af, import_af
from mindgit.adapters.car_export import export as export_car
from mindgit.store.private import think_private
from tests.conftest import FIXTURES, Mg
from tests.private.conftest import Nodes, fetch

SECRET = "the boat leaves at dawn 3c9e17"
SECRET_TAG = "tag-for-beta-only-8d20"
CANARY = "a public canary thought 5a7e02"
NEEDLES = (SECRET, SECRET_TAG, "leaves at dawn")


def _hidden(text: str | bytes) -> bool:
    data = text.encode() if isinstance(text, str) else text
    return not any(n.encode() in data for n in NEEDLES)


def test_exports_and_every_listing_show_no_plaintext(nodes: Nodes, mg: Mg, tmp_path: Path) -> None:
    alpha, beta, gamma = nodes("alpha", "beta", "gamma")
    import_af(alpha, FIXTURES / "agent-files" / "memgpt_agent.af", name="agent")
    alpha.switch("agent")
    _, cid = think_private(alpha, SECRET, [SECRET_TAG], ["beta"])
    _, public = alpha.think(CANARY)

    for history in (False, True):
        car = io.BytesIO()
        export_car(alpha, None, car, history=history)
        assert CANARY.encode() in car.getvalue() and _hidden(car.getvalue())
    export_af(alpha, "agent", tmp_path / "agent.af")
    assert _hidden((tmp_path / "agent.af").read_bytes())

    mine = ("--store", str(alpha.path))
    args: tuple[str, ...]
    for args in (
        ("log",),
        ("log", "--json"),
        ("verify",),
        ("verify", "--json"),
        ("cat", str(cid)),
        ("cat", str(cid), "--json"),
    ):
        r = mg(*mine, *args)
        assert r.code == 0, (args, r.err)
        assert _hidden(r.out) and _hidden(r.err), args
    assert CANARY in mg(*mine, "cat", str(public)).out  # cat does print a block's content

    # A node that is not a recipient: show and diff say "private" and nothing more.
    fetch(gamma, alpha, "+refs/heads/agent:refs/remotes/alpha/agent")
    theirs = ("--store", str(gamma.path))
    for args in (
        ("show", "refs/remotes/alpha/agent"),
        ("show", "refs/remotes/alpha/agent", "--json"),
        ("diff", "refs/remotes/alpha/agent~2", "refs/remotes/alpha/agent"),
        ("diff", "refs/remotes/alpha/agent~2", "refs/remotes/alpha/agent", "--json"),
    ):
        r = mg(*theirs, *args)
        assert r.code == 0, (args, r.err)
        assert CANARY in r.out and _hidden(r.out) and _hidden(r.err), args
        # (text diff prints a sealed thought it cannot open with no text at all)
        assert "private" in r.out or (args[0] == "diff" and "--json" not in args)

    # The control for show: a recipient does read it there.
    fetch(beta, alpha, "+refs/heads/agent:refs/remotes/alpha/agent")
    assert SECRET in mg("--store", str(beta.path), "show", "refs/remotes/alpha/agent").out
