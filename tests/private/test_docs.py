"""docs/privacy.md's command lines run as written, with real nodes, and print what the page says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

DOC = (ROOT / "docs" / "privacy.md").read_text()


def _run(line: str, cwd: Path, store: Path) -> str:
    bindir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "MINDGIT_STORE": str(store),
    }
    proc = subprocess.run(
        ["bash", "-c", line], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )
    assert proc.returncode == 0, (line, proc.stderr)
    return proc.stdout


def _did(work: Path, name: str) -> str:
    return _run("mindgit id --json", work, work / name).split('"did": "')[1].split('"')[0]


def test_the_first_example_runs_between_real_nodes(tmp_path: Path) -> None:
    first = re.findall(r"^```\n(mindgit think .*?)```", DOC, re.S | re.M)[0].splitlines()
    alpha = tmp_path / "alpha"
    for name in ("alpha", "beta", "gamma", "delta"):
        _run(f"mindgit init {name} --name {name}", tmp_path, tmp_path / name)
    for name in ("beta", "gamma", "delta"):
        _run(f"mindgit trust add {_did(tmp_path, name)} --name {name}", tmp_path, alpha)
    (tmp_path / "note.txt").write_text("under the fourth stone\n")

    *on_alpha, apply = first
    assert apply.startswith("mindgit keys apply FETCH_HEAD")
    printed = {}
    cid = ""
    for line in on_alpha:
        printed[line.split("#")[0].strip()] = out = _run(
            line.replace("<cid>", cid), tmp_path, alpha
        )
        if line.startswith("mindgit think"):
            cid = cid or out.strip()
    shown = printed["mindgit show"]
    assert "the key is under the third stone  (private, 3 recipients)" in shown
    assert "under the fourth stone  (private, 2 recipients)" in shown
    assert _run("mindgit trust list", tmp_path, alpha).count("alpha.retired-1") == 1

    # Another node accepts the rotation, fetched by hand as the comment says.
    beta = tmp_path / "beta"
    old_did = re.search(r"alpha\.retired-1\t(\S+)", _run("mindgit trust list", tmp_path, alpha))
    assert old_did
    _run(f"mindgit trust add {old_did[1]} --name alpha", tmp_path, beta)
    _run(f"mindgit remote add alpha file://{alpha} --node alpha", tmp_path, beta)
    _run(f"git --git-dir={beta} fetch -q alpha refs/keys/announce", tmp_path, beta)
    _run(apply.split("#")[0], tmp_path, beta)
    trusted = _run("mindgit trust list", tmp_path, beta)
    assert f"alpha.retired-1\t{old_did[1]}" in trusted
    assert f"alpha\t{_did(tmp_path, 'alpha')}" in trusted

    # A node that is not a recipient sees the shape the page gives, not the text.
    gamma = tmp_path / "gamma"
    _run(f"mindgit trust add {_did(tmp_path, 'alpha')} --name alpha", tmp_path, gamma)
    _run(f"mindgit remote add alpha file://{alpha} --node alpha", tmp_path, gamma)
    _run("mindgit pull alpha", tmp_path, gamma)
    theirs = _run("mindgit show refs/peers/alpha/heads/main", tmp_path, gamma)
    assert "private (2 recipients)" in theirs and "fourth stone" not in theirs


def test_trust_list_after_a_rotation_reads_as_the_page_shows(tmp_path: Path) -> None:
    blocks = re.findall(r"```sh\n(.*?)```", DOC, re.S)
    [block] = [b for b in blocks if "mindgit trust list" in b]
    alpha = tmp_path / "alpha"
    _run("mindgit init alpha --name alpha", tmp_path, alpha)
    head = _run("git --git-dir=alpha rev-parse --short=12 refs/heads/main", tmp_path, alpha)
    out = _run(block, tmp_path, alpha)
    assert re.search(
        rf"^alpha\.retired-1\tdid:key:z6Mk\S+\tSHA256:\S+\thistory below {head.strip()}$", out, re.M
    ), out
