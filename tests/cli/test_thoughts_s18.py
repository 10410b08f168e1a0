"""`show` of many thoughts reads and decodes each once.

`show` checks the state it shows (its signature line), which reads, hashes and decodes every
thought; it then read and decoded each one again to print it (50,000 thoughts: 9.2 s). The
check now hands over the thoughts it found good; only the others are read again, as before, so
a damaged one is shown or refused exactly as it was.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pygit2
import pytest

from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID
from mindgit.store.objects import as_commit
from mindgit.store.repository import Store
from mindgit.store.state import State, make_thought
from tests.conftest import Mg


def _add(store: Store, cid: CID, data: bytes) -> None:
    def change(state: State) -> tuple[State, Mapping[CID, bytes]]:
        return state.with_thoughts(state.thoughts | {cid}), {cid: data}

    store.update(change, "think: as given")


def _decodes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    seen: list[bytes] = []
    real = dagjson.decode

    def counting(data: bytes) -> Any:
        seen.append(bytes(data))
        return real(data)

    monkeypatch.setattr(dagjson, "decode", counting)
    return seen


@pytest.mark.parametrize("as_json", [False, True])
def test_show_decodes_each_thought_once(
    store: Store, mg: Mg, monkeypatch: pytest.MonkeyPatch, as_json: bool
) -> None:
    blocks = [make_thought(f"thought {i}", ["s18"]) for i in range(30)]
    store.update(
        lambda s: (
            s.with_thoughts(s.thoughts | {b.cid for b in blocks}),
            {b.cid: b.data for b in blocks},
        ),
        "many",
    )
    seen = _decodes(monkeypatch)
    r = mg("--store", str(store.path), "show", *(["--json"] if as_json else []))
    assert r.code == 0, r.err
    for b in blocks:
        assert seen.count(b.data) == 1, b.cid
        assert str(b.cid) in r.out
    if as_json:
        shown = json.loads(r.out)
        assert shown["signature"] == "good"
        texts = {t["cid"]: t["text"] for t in shown["thoughts"]}
        assert texts == {str(b.cid): json.loads(b.data)["text"] for b in blocks}


def test_show_of_bytes_under_another_cid_names_them_damaged_and_warns(store: Store, mg: Mg) -> None:
    """Not vouched for by the check: read from the tree, and shown as damaged, never as the
    thought its name says (they were shown as it, beside the warning)."""
    store.think("first")
    named = make_thought("the name").cid
    impostor = make_thought("the impostor")
    _add(store, named, impostor.data)
    r = mg("--store", str(store.path), "show")
    assert r.code == 0, r.err
    damaged = f"(damaged: its bytes hash to {impostor.cid}, not to its name)"
    assert f"  {named}  {damaged}" in r.out.splitlines()
    assert "the impostor" not in r.out and "first" in r.out
    assert "this state does not verify" in r.err and "not to their name" in r.err
    doc = json.loads(mg("--store", str(store.path), "show", "--json").out)
    assert doc["signature"] == "invalid"
    error = f"its bytes hash to {impostor.cid}, not to its name"
    assert {"cid": str(named), "type": None, "error": error} in doc["thoughts"]


def test_diff_of_bytes_under_another_cid_names_them_damaged(store: Store, mg: Mg) -> None:
    """diff checked nothing: a relaying peer's text under another node's thought was printed
    as that thought, exit 0, with no warning."""
    store.think("first")
    before = store.head()
    named = make_thought("wire the money to alice").cid
    impostor = make_thought("wire the money to mallory")
    _add(store, named, impostor.data)
    r = mg("--store", str(store.path), "diff", before, "main")
    assert r.code == 0, r.err
    assert r.out.splitlines() == [
        f"+ thought {named}  (damaged: its bytes hash to {impostor.cid}, not to its name)"
    ]
    doc = json.loads(mg("--store", str(store.path), "diff", before, "main", "--json").out)
    assert doc["thoughts_added"] == [
        {
            "cid": str(named),
            "type": None,
            "error": f"its bytes hash to {impostor.cid}, not to its name",
        }
    ]


def test_show_of_a_thought_not_a_regular_file_fails_naming_it(store: Store, mg: Mg) -> None:
    store.think("first")
    block = make_thought("run me")
    _add(store, block.cid, block.data)
    repo = store.repo
    head = as_commit(repo[store.head()])
    assert head is not None
    sub = repo[head.tree["thoughts"].id]
    assert isinstance(sub, pygit2.Tree)
    tb = repo.TreeBuilder(sub)
    tb.insert(str(block.cid), sub[str(block.cid)].id, pygit2.enums.FileMode.BLOB_EXECUTABLE)
    root = repo.TreeBuilder(head.tree)
    root.insert("thoughts", tb.write(), pygit2.enums.FileMode.TREE)
    commit = store.write_commit(root.write(), [str(head.id)], "exec", None)
    repo.references["refs/heads/main"].set_target(commit)
    for args in ([], ["--json"]):
        r = mg("--store", str(store.path), "show", *args)
        assert r.code == 1
        assert f"thought {block.cid} in tree " in r.err and "is not a regular file" in r.err
