"""Ref names that clash with packed refs (after `git gc`), and folders a failed write made.

A ref ``a/b`` cannot be beside a ref ``a``, loose or packed. Only loose ones were seen: after
``git gc`` (or mindgit's own auto gc, which packs refs) ``fork main/x`` made the folder
``refs/heads/main/`` and then failed to write the reflog, saying "File exists ... check that
the store is writable", and the empty folder it left made every later write of ``main`` fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.store.refs import RefError, RefMoved, update_ref
from mindgit.store.repository import Store
from tests.conftest import Mg, fsck, git


def refs(store: Store) -> str:
    return git("--git-dir", str(store.path), "for-each-ref")


def test_a_ref_under_a_packed_one_is_a_clash_and_changes_nothing(store: Store, mg: Mg) -> None:
    git("--git-dir", str(store.path), "gc", "-q")
    before = refs(store)
    r = mg("--store", str(store.path), "fork", "main/x", "--no-switch")
    assert r.code == 1
    assert "refs/heads/main/x clashes with an existing ref refs/heads/main" in r.err
    assert "writable" not in r.err
    assert not (store.path / "refs" / "heads" / "main").exists()
    assert refs(store) == before
    # main is still writable
    assert mg("--store", str(store.path), "think", "still fine").code == 0
    fsck(store.path)


def test_a_ref_over_packed_refs_under_its_name_is_a_clash(store: Store) -> None:
    store.fork("deep/one", switch=False)
    git("--git-dir", str(store.path), "pack-refs", "--all")
    assert not (store.path / "refs" / "heads" / "deep").exists()
    with pytest.raises(RefError, match=r"refs/heads/deep clashes with existing refs under it"):
        store.fork("deep", switch=False)
    assert store.experiments() == ["deep/one", "main"]


def test_an_empty_folder_left_where_a_ref_goes_is_no_clash(store: Store) -> None:
    # git removes such folders when it writes the ref; so does mindgit now
    (store.path / "refs" / "heads" / "zz" / "yy").mkdir(parents=True)
    store.fork("zz", switch=False)
    assert store.experiments() == ["main", "zz"]
    assert (store.path / "refs" / "heads" / "zz").is_file()
    fsck(store.path)


def test_a_folder_holding_a_file_is_still_a_clash(store: Store) -> None:
    folder = store.path / "refs" / "heads" / "ww"
    folder.mkdir(parents=True)
    (folder / "stray").write_text("not a ref\n")
    with pytest.raises(RefError, match="clashes with existing refs under it"):
        store.fork("ww", switch=False)
    assert (folder / "stray").exists()


def test_a_failed_write_removes_the_folders_it_made(store: Store) -> None:
    head = store.resolve("main")
    with pytest.raises(RefMoved):
        update_ref(
            store.repo,
            "refs/heads/new/deeper/x",
            head,
            "1" * 40,
            message="test",
            committer="t <t@example.org>",
        )
    assert not Path(store.path, "refs", "heads", "new").exists()
    store.fork("new", switch=False)  # no folder in its way
    assert "new" in store.experiments()
