"""Known correctness bugs of the command line, each pinned by a test that failed before its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Mg
from tests.snapshots import changed, snapshot

# -- init with an empty path ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("new", "--name", "a", "--key", ""), "--key is empty"),
        (("", "--name", "a"), "PATH is empty"),
    ],
)
def test_init_with_an_empty_path_is_a_usage_error(
    mg: Mg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], named: str
) -> None:
    # click's Path('') is '.': --key '' read the working directory as the key ("cannot read
    # node key .", exit 1), and init '' made a store in it.
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    r = mg("init", *args)
    assert r.code == 2, r.err
    assert r.err.startswith(f"mindgit: error: {named}") and r.err.count("\n") == 1, r.err
    assert r.out == ""
    assert changed(before, tmp_path) == []
