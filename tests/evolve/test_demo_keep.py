"""`demo --keep DIR` refused on the command line leaves no trace: `--keep ""` (an unset
variable in `--keep "$DIR"`) made the demo node in the working directory, and a refused
`--generations` or `--seed` left a half-made store at DIR."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Mg


@pytest.fixture
def in_empty_dir(tmp_path: Path) -> Iterator[Path]:
    here = tmp_path / "cwd"
    here.mkdir()
    before = os.getcwd()
    os.chdir(here)
    try:
        yield here
    finally:
        os.chdir(before)


@pytest.mark.parametrize("keep", ["", "  "])
def test_keep_with_no_directory_is_refused(mg: Mg, in_empty_dir: Path, keep: str) -> None:
    r = mg("demo", "--keep", keep, "--generations", "1")
    assert r.code == 2, r.err
    assert r.err.strip() == "mindgit: error: --keep needs a directory", r.err
    assert list(in_empty_dir.iterdir()) == []


@pytest.mark.parametrize(
    "args, words",
    [
        (("--generations", "0"), "--generations 0"),
        (("--generations", "-1"), "--generations -1"),
        (("--seed", "-1"), "--seed -1"),
        (("--seed", str(2**53)), f"--seed {2**53}"),
    ],
)
def test_refused_parameters_make_no_node(
    mg: Mg, tmp_path: Path, args: tuple[str, ...], words: str
) -> None:
    keep = tmp_path / "node"
    r = mg("demo", "--keep", str(keep), *args)
    assert r.code == 2, r.err
    assert words in r.err and len(r.err.strip().splitlines()) == 1, r.err
    assert not keep.exists()
