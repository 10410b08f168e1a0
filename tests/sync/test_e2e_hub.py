"""A shared server set up as docs/hooks.md and docs/ci.md say, then cloned as a team member would.

The docs' lines are run as written (the server path aside): a node pushes to it, and a plain
``git clone`` of it must check out ``main``, the branch ``git merge`` and ``mindgit git-setup``
work on. Set up with a bare ``git init`` (HEAD at git's default ``master``) the clone checked
out nothing.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sync.conftest import Nodes

_DOCS = Path(__file__).resolve().parents[2] / "docs"


def _server_lines(doc: str) -> list[list[str]]:
    text = (_DOCS / doc).read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    [block] = [b for b in blocks if "hooks install --server /srv/minds.git" in b]
    return [shlex.split(line) for line in block.splitlines() if line.strip()]


@pytest.mark.parametrize("doc", ["hooks.md", "ci.md"])
def test_a_clone_of_the_documented_server_checks_out_main(
    doc: str, nodes: Nodes, tmp_path: Path
) -> None:
    alpha = nodes.make("alpha")
    alpha.think("on main")
    trust = tmp_path / "allowed_signers"
    exported = subprocess.run(
        [sys.executable, "-m", "mindgit", "--store", str(alpha.path), "trust", "export"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    trust.write_text(exported)
    server = tmp_path / "minds.git"
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    for argv in _server_lines(doc):
        argv = [str(server) if a == "/srv/minds.git" else a for a in argv]
        if argv[0] == "mindgit":
            argv = [sys.executable, "-m", "mindgit", *argv[1:]]
        subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, check=True)

    add = [sys.executable, "-m", "mindgit", "--store", str(alpha.path)]
    subprocess.run([*add, "remote", "add", "hub", str(server)], check=True, capture_output=True)
    pushed = subprocess.run([*add, "push", "hub", "main"], capture_output=True, text=True)
    assert pushed.returncode == 0, pushed.stderr

    clone = tmp_path / "clone"
    done = subprocess.run(
        ["git", "clone", str(server), str(clone)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "nonexistent ref" not in done.stderr, done.stderr
    branch = subprocess.run(
        ["git", "symbolic-ref", "--short", "HEAD"], cwd=clone, capture_output=True, text=True
    )
    assert branch.stdout.strip() == "main"
    assert (clone / "manifest.json").is_file()
