"""`export --car` and `cat` of a state or history with an object in a pack cut short said
"object X is missing (run `git fsck` on the store)": libgit2 leaves such a pack out whole, so
its objects read as absent. When a pack index lists the object, the line now says it cannot be
read and names the pack, with `git fsck` and docs/store.md's repair as the hint (as `show` does):
exit 1, nothing written. An object gone after a partial repair is still said to be missing.

Real stores, packed by the real git and cut with truncate (packs only: a loose object cut short
hangs libgit2).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.store.repository import init_store
from tests.conftest import Mg, git
from tests.snapshots import changed, snapshot
from tests.store.test_truncated_pack import HINT, cut_alone, pack_cause, set_aside, the_pack
from tests.store.test_truncated_pack_state import packed_alone

# What export --car calls the object packed alone (packed_alone's case).
CAR_WHAT = {
    "thoughts": "the thoughts tree of tree {tree}: object",
    "manifest": "the manifest of commit {head}: object",
    "thought": "block {cid}: object",
}


def unreadable(store: Path, what: str, oid: str) -> str:
    return (
        f"mindgit: error: {what} {oid} cannot be read: {pack_cause(the_pack(store))} "
        f"(hint: {HINT.format(store=store.resolve())})\n"
    )


def names(store: Path, head: str, what: str) -> dict[str, str]:
    """The head, its tree and (from packed_alone's ``thought <cid>: object``) the thought."""
    tree = git("--git-dir", str(store), "rev-parse", f"{head}^{{tree}}").strip()
    cid = what.split()[1].rstrip(":") if what.startswith("thought ") else ""
    return {"head": head, "tree": tree, "cid": cid}


@pytest.mark.parametrize("case", list(CAR_WHAT))
def test_export_car_names_the_pack_cut_short(tmp_path: Path, mg: Mg, case: str) -> None:
    store = tmp_path / "s"
    head, oid, alone = packed_alone(store, case)
    what = CAR_WHAT[case].format(**names(store, head, alone))
    out = tmp_path / "out.car"
    before = snapshot(store)
    r = mg("--store", str(store), "export", "--car", str(out))
    assert (r.code, r.out, r.err) == (1, "", unreadable(store, what, oid))
    assert not out.exists()
    assert changed(before, store) == []


def test_cat_of_a_thought_in_a_pack_cut_short_names_the_pack(tmp_path: Path, mg: Mg) -> None:
    store = tmp_path / "s"
    head, oid, alone = packed_alone(store, "thought")
    cid = names(store, head, alone)["cid"]
    before = snapshot(store)
    r = mg("--store", str(store), "cat", cid)
    assert (r.code, r.out, r.err) == (1, "", unreadable(store, f"block {cid}: object", oid))
    assert changed(before, store) == []


@pytest.fixture
def parent_cut(tmp_path: Path) -> tuple[Path, str]:
    """A store of loose objects but for the head's parent commit, alone in a pack cut short:
    (the store, the parent)."""
    path = tmp_path / "s"
    store = init_store(path, "alpha")
    store.think("first")
    parent = store.head()
    store.think("second")
    cut_alone(path, parent)
    return path, parent


def test_export_car_history_names_the_pack_of_a_commit_cut_short(
    parent_cut: tuple[Path, str], mg: Mg, tmp_path: Path
) -> None:
    store, parent = parent_cut
    out = tmp_path / "out.car"
    before = snapshot(store)
    r = mg("--store", str(store), "export", "--car", str(out), "--history")
    assert (r.code, r.out, r.err) == (1, "", unreadable(store, "the history: object", parent))
    assert not out.exists()
    assert changed(before, store) == []
    # Gone (the pack set aside, as a partial repair leaves it): missing, as it was.
    set_aside(store)
    r = mg("--store", str(store), "export", "--car", str(out), "--history")
    assert (r.code, r.out) == (1, "")
    assert r.err == (
        f"mindgit: error: the history: object {parent} is missing (run `git fsck` on the store)\n"
    )
    assert not out.exists()


def test_cat_whose_search_reaches_a_commit_cut_short_names_the_pack(
    parent_cut: tuple[Path, str], mg: Mg, tmp_path: Path
) -> None:
    """A CID the head's state does not hold is looked for in the older states."""
    store, parent = parent_cut
    other = init_store(tmp_path / "other", "beta")
    other.think("elsewhere")
    r = mg("--store", str(other.path), "export", "--car", str(tmp_path / "other.car"))
    cid = r.out.split()[0]
    before = snapshot(store)
    r = mg("--store", str(store), "cat", cid)
    assert (r.code, r.out, r.err) == (1, "", unreadable(store, "the history: object", parent))
    assert changed(before, store) == []
