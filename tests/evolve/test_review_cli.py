"""Review: evolve's command line as a user drives it, through the real `mindgit` entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Mg
from tests.snapshots import changed, snapshot


@pytest.fixture
def node(tmp_path: Path, mg: Mg, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "alpha"
    assert mg("init", str(path), "--name", "alpha").code == 0
    monkeypatch.chdir(path)
    assert mg("genome", "set", "x0=0.5", "x1=-1", "--min", "-5.12", "--max", "5.12").code == 0
    return path


@pytest.mark.parametrize("spec", ["", "  "])
def test_an_empty_fitness_is_a_wrong_command_line(node: Path, mg: Mg, spec: str) -> None:
    """As merge, pull and sync refuse it (exit 2): no module can have an empty name."""
    before = snapshot(node)
    for args in (("--fitness", spec), ("--resume", "--fitness", spec)):
        r = mg("evolve", *args, "-q")
        assert r.code == 2, r.err
        assert "--fitness is empty" in r.err and len(r.err.strip().splitlines()) == 1, r.err
    assert changed(before, node) == []


@pytest.mark.parametrize(
    ("path", "reason"), [("{tmp}", "is a directory"), ("/dev/null", "not a regular file")]
)
def test_a_fitness_path_that_is_no_file_says_what_it_is(
    node: Path, mg: Mg, tmp_path: Path, path: str, reason: str
) -> None:
    """It said "no such file" of a directory or a device that exists."""
    spec = path.format(tmp=tmp_path)
    before = snapshot(node)
    r = mg("evolve", "--fitness", spec, "-q")
    assert r.code == 1, r.err
    assert f"{spec}: {reason}" in r.err and len(r.err.strip().splitlines()) == 1, r.err
    assert changed(before, node) == []
