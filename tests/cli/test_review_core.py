"""A fresh user's review of the core commands: init, genome, config. Real stores, real git."""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.store.repository import Store
from tests.conftest import Mg, fsck, git
from tests.snapshots import changes, snapshot


def one_error(code: int, err: str, want: int) -> None:
    assert code == want, err
    assert err.startswith("mindgit: error: ") and err.count("\n") == 1, err
    assert "internal error" not in err, err


# -- init through a link to nothing ------------------------------------------------------------


@pytest.mark.parametrize("where", ["dangling", "dangling/sub", "loop", "loop/sub"])
def test_init_through_a_link_to_nothing_is_refused(tmp_path: Path, mg: Mg, where: str) -> None:
    # Each was an internal error (exit 3): libgit2's mkdir failing on the link, or Python's
    # resolve() on the loop.
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    before = snapshot(tmp_path)
    r = mg("init", str(tmp_path / where), "--name", "alpha")
    one_error(r.code, r.err, 1)
    assert "symbolic link to nothing" in r.err
    assert changes(before, snapshot(tmp_path)) == []


def test_init_through_a_link_to_a_directory_still_works(tmp_path: Path, mg: Mg) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert mg("init", str(tmp_path / "link"), "--name", "alpha").code == 0
    assert Store(tmp_path / "real").name == "alpha"


# -- a node name edited badly ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "x<y>", "a b"])
def test_a_node_name_edited_badly_is_bad_config_and_writes_nothing(
    store: Store, mg: Mg, name: str
) -> None:
    # "" and "x<y>" were internal errors after the state's tree was written (libgit2 takes no
    # such commit author); "a b" signed commits whose author no trust file line can name.
    git("--git-dir", str(store.path), "config", "mindgit.name", name)
    before = snapshot(store.path)
    for args in (("think", "hello"), ("genome", "set", "x=1"), ("id",)):
        r = mg("--store", str(store.path), *args)
        one_error(r.code, r.err, 1)
        assert "mindgit.name" in r.err and "is not a node name" in r.err
    assert changes(before, snapshot(store.path)) == []
    fsck(store.path)
