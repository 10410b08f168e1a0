"""Review R4: `hooks install --server --update-hook` ("instead of pre-receive") over a server
whose mindgit pre-receive is installed, and the other way round: both hooks run, and the
install says so."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Result
from tests.sync.conftest import Nodes

Mg = Callable[..., Result]


def bare(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", "--bare", "--initial-branch=main", str(path)], check=True)
    return path


def test_update_hook_over_an_installed_pre_receive_says_both_run(
    nodes: Nodes, mg: Mg, tmp_path: Path
) -> None:
    alpha = nodes.make("alpha")
    server = bare(tmp_path / "shared.git")
    store = ("--store", str(alpha.path))
    assert mg(*store, "hooks", "install", "--server", str(server)).code == 0
    res = mg(*store, "hooks", "install", "--server", str(server), "--update-hook")
    assert res.code == 0
    pre_receive = server / "hooks" / "pre-receive"
    assert (
        f"mindgit: warning: {pre_receive}, mindgit's pre-receive hook, is still installed and "
        "runs too: it refuses a whole push before the update hook judges any ref" in res.err
    )
    assert (server / "hooks" / "update").is_file() and pre_receive.is_file()
    # What it warns of: a push of a good ref and a bad one lands neither, not the good one.
    alpha.fork("good")
    alpha.think("signed by alpha", experiment="good")
    untrusted = nodes.make("untrusted")
    untrusted.fork("bad")
    untrusted.think("signed by a key the server does not trust", experiment="bad")
    subprocess.run(
        ["git", "--git-dir", str(untrusted.path), "push", "-q", str(alpha.path), "bad:bad"],
        check=True,
    )
    pushed = subprocess.run(
        ["git", "--git-dir", str(alpha.path), "push", str(server), "good", "bad"],
        capture_output=True,
        text=True,
    )
    assert pushed.returncode != 0 and "pre-receive hook declined" in pushed.stderr
    heads = subprocess.run(
        ["git", "--git-dir", str(server), "for-each-ref", "refs/heads"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert heads.stdout == ""
    # And the other way round, in --json too.
    res = mg(*store, "hooks", "install", "--server", str(server), "--json")
    assert res.code == 0
    assert json.loads(res.out)["other_hooks"] == [str(server / "hooks" / "update")]
    assert "mindgit's update hook, is still installed and runs too" in res.err


def test_a_server_hook_of_anothers_is_not_said_to_be_mindgits(
    nodes: Nodes, mg: Mg, tmp_path: Path
) -> None:
    alpha = nodes.make("alpha")
    server = bare(tmp_path / "shared.git")
    theirs = server / "hooks" / "pre-receive"
    theirs.write_text("#!/bin/sh\nexit 0\n")
    theirs.chmod(0o755)
    res = mg(
        "--store",
        str(alpha.path),
        "hooks",
        "install",
        "--server",
        str(server),
        "--update-hook",
        "--json",
    )
    assert res.code == 0 and res.err == ""
    assert json.loads(res.out)["other_hooks"] == []
    assert theirs.read_text() == "#!/bin/sh\nexit 0\n"
