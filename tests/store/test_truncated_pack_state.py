"""A state whose objects are in a pack cut short (or gone after a partial repair).

libgit2 leaves such a pack out whole, with no error: its objects read as absent. `show` of a
state whose thoughts tree was there failed with "internal error: KeyError" (exit 3), as did
every writer building on it; the manifest, a thought and the state's own tree were said to be
missing, with no word of the pack. Each is now one line naming the object and, when a pack
index lists it, the damaged pack, with `git fsck` and docs/store.md's repair as the hint.

Real stores, packed by the real git and cut with truncate (packs only: a loose object cut short
hangs libgit2 1.9, see test_truncated_loose_object.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mindgit.store.layout import StateNotFound, StateUnreadable
from mindgit.store.repository import init_store, open_store
from tests.conftest import Mg, git
from tests.snapshots import changed, snapshot
from tests.store.test_truncated_pack import HINT, cut_alone, pack_cause, set_aside, the_pack

# What each case packs alone (a `git rev-parse` of the head), and what the error calls it.
CASES = {
    "thoughts": ("{head}^{{tree}}:thoughts", "thoughts: tree"),
    "manifest": ("{head}^{{tree}}:manifest.json", "manifest.json: object"),
    "thought": ("{head}^{{tree}}:thoughts/{cid}", "thought {cid}: object"),
    "tree": ("{head}^{{tree}}", "commit {head}: tree"),
}


def packed_alone(path: Path, case: str) -> tuple[str, str, str]:
    """A store of loose objects but for one object of the head's state, alone in a pack cut
    short: (the head, the object's id, what the error calls it)."""
    store = init_store(path, "alpha")
    for text in ("first", "second"):
        store.think(text)
    head = store.head()
    cid = git("--git-dir", str(path), "ls-tree", "--name-only", f"{head}:thoughts").split()[0]
    spec, what = CASES[case]
    oid = git("--git-dir", str(path), "rev-parse", spec.format(head=head, cid=cid)).strip()
    cut_alone(path, oid)
    return head, oid, what.format(head=head, cid=cid)


@pytest.mark.parametrize("case", list(CASES))
def test_show_names_the_object_in_a_pack_cut_short(tmp_path: Path, mg: Mg, case: str) -> None:
    store = tmp_path / "s"
    _, oid, what = packed_alone(store, case)
    pack = the_pack(store)
    before = snapshot(store)
    line = (
        f"mindgit: error: {what} {oid} cannot be read: {pack_cause(pack)} "
        f"(hint: {HINT.format(store=store.resolve())})\n"
    )
    r = mg("--store", str(store), "show")
    assert (r.code, r.err, r.out) == (1, line, "")
    r = mg("--store", str(store), "show", "--json")
    assert r.code == 1 and '"type": "StateUnreadable"' in r.out
    # A writer building on the state says the same, and writes nothing.
    if case != "thought":  # a thought's blob is kept by id, unread, in the next state
        r = mg("--store", str(store), "think", "third")
        assert (r.code, r.err) == (1, line)
    assert changed(before, store) == []


@pytest.mark.parametrize("case", list(CASES))
def test_show_names_the_object_gone_after_a_partial_repair(
    tmp_path: Path, mg: Mg, case: str
) -> None:
    store = tmp_path / "s"
    _, oid, what = packed_alone(store, case)
    set_aside(store)
    before = snapshot(store)
    r = mg("--store", str(store), "show")
    assert r.code == 1, r
    assert r.err == f"mindgit: error: {what} {oid} is missing (run `git fsck` on the store)\n"
    assert changed(before, store) == []


def test_the_library_raises_state_unreadable_for_a_thoughts_tree_in_a_pack_cut_short(
    tmp_path: Path,
) -> None:
    store = tmp_path / "s"
    packed_alone(store, "thoughts")
    opened = open_store(store)
    with pytest.raises(StateUnreadable) as caught:
        list(opened.thoughts())
    assert isinstance(caught.value, StateNotFound)  # what callers already catch
    assert caught.value.hint == HINT.format(store=store.resolve())


# log and experiments listed a commit whose state holds such an object as `invalid` (a verdict
# on a sound commit: only the disk lost it) and exited 0; a commit whose bytes are damaged was
# `damaged`, exit 1, naming the object. Both now read as damaged.

REPAIR_HINT = (
    "`git --git-dir {store} fsck` names what is {what}, and docs/store.md, 'A store damaged on "
    "disk', says how to repair it"
)
MISSING = "missing: no pack index lists it and no loose file holds it"


def damage_line(store: Path, oid: str, reason: str) -> str:
    what = "missing" if reason == MISSING else "damaged"
    return (
        f"mindgit: error: the store is damaged: object {oid} cannot be read ({reason}) "
        f"(hint: {REPAIR_HINT.format(store=store, what=what)})\n"
    )


@pytest.mark.parametrize("gone", [False, True], ids=["cut", "set-aside"])
@pytest.mark.parametrize("case", list(CASES))
def test_log_and_experiments_list_the_commit_as_damaged_and_fail(
    tmp_path: Path, mg: Mg, case: str, gone: bool
) -> None:
    store = tmp_path / "s"
    head, oid, _ = packed_alone(store, case)
    reason = pack_cause(the_pack(store))
    if gone:
        set_aside(store)
        reason = MISSING
    before = snapshot(store)
    line = damage_line(store, oid, reason)

    r = mg("--store", str(store), "log")
    assert (r.code, r.err) == (1, line), r
    rows = [row.split()[:4] for row in r.out.splitlines() if not row.startswith(" ")]
    assert [(row[0], row[3]) for row in rows] == [
        (head[:12], "damaged"),
        *[(c[:12], "good") for c in history_below(store, head)],
    ]

    r = mg("--store", str(store), "log", "--json")
    assert r.code == 1
    doc = json.loads(r.out)
    assert doc["type"] == "DamagedStore"
    assert doc["error"] == f"the store is damaged: object {oid} cannot be read ({reason})"
    assert [c["signature"] for c in doc["commits"]] == ["damaged", "good", "good"]
    assert [d["object"] for d in doc["damaged"]] == [oid]

    r = mg("--store", str(store), "experiments")
    assert (r.code, r.err) == (1, line), r
    assert r.out.split()[4] == "damaged"
    assert changed(before, store) == []


def history_below(store: Path, head: str) -> list[str]:
    return git("--git-dir", str(store), "rev-list", f"{head}~1").split()


def test_a_state_whose_objects_all_read_is_not_marked(tmp_path: Path, mg: Mg) -> None:
    """The older states, which share nothing with the one cut off, list as they did."""
    store = tmp_path / "s"
    packed_alone(store, "thoughts")
    r = mg("--store", str(store), "log", "main~1")
    assert (r.code, r.err) == (0, "")
    assert [row.split()[3] for row in r.out.splitlines()] == ["good", "good"]


@pytest.mark.parametrize("gone", [False, True], ids=["cut", "set-aside"])
@pytest.mark.parametrize("case", list(CASES))
def test_the_library_log_marks_the_commit_damaged(tmp_path: Path, case: str, gone: bool) -> None:
    """What `mindgit log` lists, history.log gives: the marking lived in the CLI, and the
    library's log called the same commit `invalid`."""
    from mindgit.store import history

    store = tmp_path / "s"
    head, oid, _ = packed_alone(store, case)
    reason = pack_cause(the_pack(store))
    if gone:
        set_aside(store)
        reason = MISSING
    entries = list(history.log(open_store(store)))
    assert [(e.commit, e.status) for e in entries] == [
        (head, "damaged"),
        *[(c, "good") for c in history_below(store, head)],
    ]
    assert (oid, reason) in entries[0].damaged
    error = history.damaged_store(open_store(store), oid, reason)
    assert error.hint == REPAIR_HINT.format(store=store, what="missing" if gone else "damaged")
