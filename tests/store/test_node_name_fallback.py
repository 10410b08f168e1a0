"""A store whose mindgit.name was removed by hand signs as its folder's name, which is checked
as a configured name is: a folder `a<b` was an internal error (libgit2's "Neither `name` nor
`email` should contain angle brackets"), after the state's tree was written."""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.store.repository import NoNodeName, Store, init_store
from tests.conftest import Mg, git
from tests.snapshots import changes, snapshot


def nameless(path: Path) -> Path:
    init_store(path, "alpha")
    git("--git-dir", str(path), "config", "--unset", "mindgit.name")
    return path


@pytest.mark.parametrize("folder", ["a<b", "x y", "a\tb"])
def test_a_folder_name_that_is_no_node_name_is_refused(tmp_path: Path, mg: Mg, folder: str) -> None:
    store = nameless(tmp_path / folder)
    before = snapshot(store)
    r = mg("--store", str(store), "think", "hello")
    assert r.code == 1, r.err
    assert "mindgit.name is not set" in r.err and "config mindgit.name NAME" in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1 and "internal error" not in r.err, r.err
    assert changes(before, snapshot(store)) == []
    with pytest.raises(NoNodeName):
        _ = Store(store).name
    # Reading needs no name.
    assert mg("--store", str(store), "log").code == 0


def test_a_folder_name_that_is_a_node_name_stands_in(tmp_path: Path, mg: Mg) -> None:
    store = nameless(tmp_path / "beta.git")
    r = mg("--store", str(store), "think", "hello")
    assert r.code == 0, r.err
    assert git("--git-dir", str(store), "log", "-1", "--format=%an").strip() == "beta"
