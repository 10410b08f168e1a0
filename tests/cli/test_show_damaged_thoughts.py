"""`show` and `diff` of a state holding a thought that is not DAG-JSON, or a note without its text.

A peer's one junk block stopped `show` with an error naming no thought (the whole state hidden),
and a note without "text" or "tags" was a KeyError: an internal error, exit 3. Each is now shown
as a damaged thought, named, beside the others; the state's own problems are still warned of.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from mindgit.ipld.cid import CID
from mindgit.store.repository import Store
from mindgit.store.state import State
from tests.conftest import Mg

JUNK = {
    "not DAG-JSON": b'{"type":"note","junk":',
    "a note without its text": b'{"tags":[],"type":"note"}',
}


def _add(store: Store, data: bytes) -> CID:
    cid = CID.of(data)

    def change(state: State) -> tuple[State, Mapping[CID, bytes]]:
        return state.with_thoughts(state.thoughts | {cid}), {cid: data}

    store.update(change, "think: a damaged thought")
    return cid


@pytest.mark.parametrize("kind", sorted(JUNK))
def test_show_names_the_damaged_thought_and_shows_the_rest(store: Store, mg: Mg, kind: str) -> None:
    store.think("the garden is quiet")
    before = store.head()
    cid = _add(store, JUNK[kind])
    r = mg(f"--store={store.path}", "show")
    assert r.code == 0, r.err
    assert "the garden is quiet" in r.out
    line = next(line for line in r.out.splitlines() if str(cid) in line)
    assert "(damaged: " in line, r.out
    r = mg(f"--store={store.path}", "show", "--json")
    assert r.code == 0, r.err
    shown = {t["cid"]: t for t in json.loads(r.out)["thoughts"]}
    assert "error" in shown[str(cid)] and "text" not in shown[str(cid)]
    r = mg(f"--store={store.path}", "diff", before, store.head())
    assert r.code == 0 and str(cid) in r.out, (r.code, r.err)
