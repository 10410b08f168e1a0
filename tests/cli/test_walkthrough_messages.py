"""Messages a new user met in a walkthrough, each saying what to run or what is wrong."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Mg
from tests.snapshots import changed, snapshot


def two_stores(mg: Mg, tmp_path: Path) -> tuple[str, str, str]:
    a, b = str(tmp_path / "alpha"), str(tmp_path / "beta")
    assert mg("init", a, "--name", "alpha").code == 0
    bdid = mg("init", b, "--name", "beta").out.strip()
    return a, b, bdid


def test_trust_hints_name_the_commands(mg: Mg, tmp_path: Path) -> None:
    a, _, bdid = two_stores(mg, tmp_path)
    assert mg("--store", a, "trust", "add", bdid, "--name", "beta").code == 0
    before = snapshot(Path(a))
    r = mg("--store", a, "trust", "add", bdid, "--name", "b2")
    assert r.code == 1
    assert r.err.endswith(
        "(hint: to rename it, run `mindgit trust remove beta`, then add it again)\n"
    ), r.err
    other = mg("init", str(tmp_path / "gamma"), "--name", "gamma").out.strip()
    r = mg("--store", a, "trust", "add", other, "--name", "beta")
    assert r.code == 1
    assert r.err.endswith(
        "(hint: choose another name, or run `mindgit trust remove beta` first)\n"
    ), r.err
    r = mg("--store", a, "trust", "remove", "nosuch")
    assert r.code == 1
    assert r.err.endswith("(hint: `mindgit trust list` shows the trusted nodes' names and ids)\n")
    assert changed(before, Path(a)) == []
