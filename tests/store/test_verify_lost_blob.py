"""verify of a state that lost its manifest or a thought said only "(manifest.json): blob
missing": no id for `git fsck` or the repair, and no word of the pack cut short that held it
(libgit2 leaves such a pack out whole, with no error), where a thoughts tree lost the same way
was named with its pack. The blob is now named by id, with the damaged pack and the next step
when an index lists it; nothing on disk changes.

Real stores, packed by the real git and cut with truncate; a loose object is deleted whole (one
cut short hangs libgit2 1.9, see test_truncated_loose_object.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mindgit.store.repository import init_store, open_store
from tests.conftest import Mg, git
from tests.snapshots import changed, snapshot
from tests.store.test_truncated_pack import pack_cause, set_aside, the_pack
from tests.store.test_truncated_pack_state import packed_alone

NEXT = (
    "; `git fsck` names what is damaged, and docs/store.md, 'A store damaged on disk', says "
    "how to repair it"
)
# What the FAIL line names, by case of test_truncated_pack_state.CASES.
WHERE = {"manifest": "manifest.json", "thought": "thought {cid}"}


def thought_cid(store: Path, head: str) -> str:
    return git("--git-dir", str(store), "ls-tree", "--name-only", f"{head}:thoughts").split()[0]


@pytest.mark.parametrize("case", list(WHERE))
def test_a_blob_in_a_pack_cut_short_is_named_with_its_pack(
    tmp_path: Path, mg: Mg, case: str
) -> None:
    store = tmp_path / "s"
    head, oid, _ = packed_alone(store, case)
    pack = the_pack(store)
    where = WHERE[case].format(cid=thought_cid(store, head))
    before = snapshot(store)
    reason = f"blob {oid} is missing or cannot be read: {pack_cause(pack)}{NEXT}"
    r = mg("--store", str(store), "verify")
    assert r.code == 1, r
    assert r.out == f"FAIL {head[:12]} ({where}): {reason}\n"
    r = mg("--store", str(store), "verify", "--json")
    assert r.code == 1, r
    [commit] = [c for c in json.loads(r.out)["commits"] if not c["ok"]]
    assert commit["problems"] == [{"object": where, "reason": reason}]
    assert [p.reason for p in open_store(store).verify().problems] == [reason]
    assert changed(before, store) == []


@pytest.mark.parametrize("case", list(WHERE))
def test_a_blob_gone_after_a_partial_repair_is_named_missing(
    tmp_path: Path, mg: Mg, case: str
) -> None:
    """The pack set aside with its index: nothing on disk holds the blob, so no pack is named
    (and no repair of one offered)."""
    store = tmp_path / "s"
    head, oid, _ = packed_alone(store, case)
    set_aside(store)
    where = WHERE[case].format(cid=thought_cid(store, head))
    before = snapshot(store)
    r = mg("--store", str(store), "verify", "--all")
    assert r.code == 1, r
    assert r.out == f"FAIL {head[:12]} ({where}): blob {oid} is missing or cannot be read\n"
    assert changed(before, store) == []


def test_a_deleted_loose_thought_is_named_by_id(tmp_path: Path, mg: Mg) -> None:
    path = tmp_path / "s"
    store = init_store(path, "alpha")
    store.think("first")
    head = store.head()
    cid = thought_cid(path, head)
    oid = git("--git-dir", str(path), "rev-parse", f"{head}:thoughts/{cid}").strip()
    (path / "objects" / oid[:2] / oid[2:]).unlink()
    before = snapshot(path)
    r = mg("--store", str(path), "verify")
    assert r.code == 1, r
    assert r.out == f"FAIL {head[:12]} (thought {cid}): blob {oid} is missing or cannot be read\n"
    assert changed(before, path) == []
