"""A new state written on a base state whose thought (or block) entry is not a regular file.

read_thought, read_block, show, cat and export refuse such an entry (a symlink, an executable,
a gitlink); a write on top of the state (think, a gene set) copied the entry into the new
state as it was, signing a state that every reader then refused.
"""

from __future__ import annotations

import pytest

from mindgit.store import layout
from mindgit.store.repository import Store
from tests.adapters.test_car_cat_modes import ABSENT, ODD_MODES, commit_odd_entry
from tests.conftest import Mg
from tests.snapshots import changed, snapshot


@pytest.mark.parametrize("kind", sorted(ODD_MODES))
def test_think_on_a_state_holding_an_odd_thought_is_refused(
    store: Store, mg: Mg, kind: str
) -> None:
    _, cid = store.think("the garden is quiet")
    oid = ABSENT if kind == "gitlink" else None
    tree = commit_odd_entry(store, f"{layout.THOUGHTS}/{cid}", ODD_MODES[kind], oid)
    before = snapshot(store.path)
    r = mg(f"--store={store.path}", "think", "another thought")
    assert r.code == 1, (r.out, r.err)
    assert r.err == (f"mindgit: error: thought {cid} in tree {tree} is not a regular file\n"), r.err
    r = mg(f"--store={store.path}", "genome", "set", "x=1")
    assert r.code == 1 and "is not a regular file" in r.err, r.err
    assert not changed(before, store.path)
