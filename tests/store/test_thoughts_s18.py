"""A think writes from the bytes of the state it adds to, parsing none of its links.

Each think decoded the whole manifest (a CID parsed per thought), encoded it again and looked
every thought up in the thoughts tree: on 50,000 thoughts 1.5 s, half of it parsing CIDs.
layout.add_thought writes the same objects from the manifest's link texts and the tree's raw
entries; on any doubt it leaves the state to the parsing path, which says what is wrong as it
did. Each case here is written both ways and compared.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pygit2
import pytest

from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID
from mindgit.store import layout
from mindgit.store.genome import Gene
from mindgit.store.objects import as_commit
from mindgit.store.repository import Store
from mindgit.store.state import Block, State, make_thought
from tests.conftest import Mg


def _head_tree(store: Store) -> pygit2.Tree:
    commit = as_commit(store.repo[store.head()])
    assert commit is not None
    return layout.commit_tree(store.repo, commit)


def _parsed(store: Store, block: Block) -> tuple[pygit2.Oid, Block]:
    """What the parsing path writes for the head's state with ``block`` added."""
    base = _head_tree(store)
    old, _ = layout.read_state(store.repo, base)
    new = old.with_thoughts(old.thoughts | {block.cid})
    return layout.write_state(store.repo, new, {block.cid: block.data}, base)


def _add(store: Store, blocks: Mapping[CID, bytes], message: str = "add") -> None:
    def change(state: State) -> tuple[State, Mapping[CID, bytes]]:
        return state.with_thoughts(state.thoughts | set(blocks)), blocks

    store.update(change, message)


def _many(store: Store, n: int) -> list[Block]:
    blocks = [make_thought(f"thought {i}", ["s18"]) for i in range(n)]
    _add(store, {b.cid: b.data for b in blocks}, "many")
    return sorted(blocks, key=lambda b: str(b.cid))


def _same_both_ways(store: Store, block: Block) -> None:
    fast = layout.add_thought(store.repo, _head_tree(store), block)
    assert fast is not None
    tree, manifest = _parsed(store, block)
    assert fast == (tree, manifest)


def test_the_same_tree_wherever_the_thought_sorts(store: Store) -> None:
    blocks = _many(store, 12)
    texts = [str(b.cid) for b in blocks]
    found = {"first": False, "middle": False, "last": False}
    for i in range(400):
        block = make_thought(f"new {i}")
        place = (
            "first"
            if str(block.cid) < texts[0]
            else "last"
            if str(block.cid) > texts[-1]
            else "middle"
        )
        if not found[place]:
            found[place] = True
            _same_both_ways(store, block)
    assert all(found.values())


def test_the_same_tree_with_genes_memories_and_data(store: Store) -> None:
    store.set_genes([Gene.make("curiosity", "float", 0.5, min=0, max=1)])
    _many(store, 3)
    memory = Block.encode({"value": "a memory"})
    data = Block.encode({"tool": "x"})

    def change(state: State) -> tuple[State, Mapping[CID, bytes]]:
        with_blocks = state.with_memories({"persona": memory.cid}).with_data({"t": data.cid})
        return with_blocks, {memory.cid: memory.data, data.cid: data.data}

    store.update(change, "blocks")
    _same_both_ways(store, make_thought("beside blocks", ["a", "b"]))


def test_think_decodes_no_manifest(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    _many(store, 20)
    fresh = Store(store.path)  # nothing known in-process of the state
    decoded: list[bytes] = []
    real = dagjson.decode

    def counting(data: bytes) -> Any:
        decoded.append(bytes(data))
        return real(data)

    monkeypatch.setattr(dagjson, "decode", counting)
    block = make_thought("one more")
    want = _parsed(fresh, block)
    decoded.clear()
    commit, cid = fresh.think("one more")
    assert cid == block.cid and commit.manifest == want[1].cid
    assert str(_head_tree(fresh).id) == str(want[0])
    assert not any(b'"thoughts":' in d and d.count(b'{"/":') > 1 for d in decoded), decoded
    assert fresh.state().thoughts == store.state().thoughts


def test_think_after_think_in_one_process(store: Store) -> None:
    """The state an update wrote is still kept for the next one in the same process."""
    _many(store, 5)
    store.think("a")
    store.think("b")
    store.set_genes([Gene.make("g", "float", 0.1, min=0, max=1)])
    texts = sorted(json.loads(d)["text"] for _, d in store.thoughts())
    assert texts == sorted(["a", "b", *(f"thought {i}" for i in range(5))])


def test_thinking_a_thought_already_there_changes_nothing(store: Store, mg: Mg) -> None:
    _many(store, 3)
    store.think("twice")
    head = store.head()
    r = mg("--store", str(store.path), "think", "twice")
    assert r.code == 1 and "nothing changed" in r.err
    assert store.head() == head


def _set_tree(store: Store, tree: pygit2.Oid) -> None:
    commit = store.write_commit(tree, [store.head()], "edited")
    store.repo.references["refs/heads/main"].set_target(commit)


def _with_thoughts_tree(store: Store, edit: Callable[[pygit2.TreeBuilder], None]) -> None:
    base = _head_tree(store)
    sub = store.repo[base[layout.THOUGHTS].id]
    assert isinstance(sub, pygit2.Tree)
    tb = store.repo.TreeBuilder(sub)
    edit(tb)
    root = store.repo.TreeBuilder(base)
    root.insert(layout.THOUGHTS, tb.write(), layout.TREE)
    _set_tree(store, root.write())


def _with_manifest(store: Store, data: bytes) -> None:
    root = store.repo.TreeBuilder(_head_tree(store))
    root.insert(layout.MANIFEST, store.repo.create_blob(data), layout.BLOB)
    _set_tree(store, root.write())


def _refused_both_ways(store: Store) -> str:
    """The error a think meets, the same with and without add_thought."""
    block = make_thought("refused")
    assert layout.add_thought(store.repo, _head_tree(store), block) is None
    head = store.head()
    with pytest.raises(Exception) as fast:
        store.think("refused")
    with pytest.raises(Exception) as parsed:
        store.update(
            lambda s: (s.with_thoughts(s.thoughts | {block.cid}), {block.cid: block.data}),
            "think: refused",
        )
    assert type(fast.value) is type(parsed.value)
    assert str(fast.value) == str(parsed.value)
    assert store.head() == head
    return str(fast.value)


def test_a_thought_not_a_regular_file_is_refused_as_before(store: Store) -> None:
    blocks = _many(store, 4)
    name = str(blocks[1].cid)

    def executable(tb: pygit2.TreeBuilder) -> None:
        entry = tb.get(name)
        assert entry is not None
        tb.insert(name, entry.id, pygit2.enums.FileMode.BLOB_EXECUTABLE)

    _with_thoughts_tree(store, executable)
    assert "is not a regular file" in _refused_both_ways(store)


def test_a_linked_thought_missing_from_the_tree_is_refused_as_before(store: Store) -> None:
    blocks = _many(store, 4)
    _with_thoughts_tree(store, lambda tb: tb.remove(str(blocks[2].cid)))
    assert "neither new nor in the base state" in _refused_both_ways(store)


@pytest.mark.parametrize("edit", ["unsorted", "repeated", "v0 link", "base58 spelling"])
def test_a_manifest_with_bad_links_is_refused_as_before(store: Store, edit: str) -> None:
    blocks = _many(store, 3)
    data = _head_tree(store)[layout.MANIFEST]
    manifest = store.repo[data.id].read_raw()
    texts = [str(b.cid).encode() for b in blocks]
    if edit == "unsorted":
        manifest = manifest.replace(texts[0], b"@").replace(texts[1], texts[0])
        manifest = manifest.replace(b"@", texts[1])
    elif edit == "repeated":
        manifest = manifest.replace(texts[1], texts[0])
    elif edit == "v0 link":
        manifest = manifest.replace(texts[0], b"QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG")
    else:
        manifest = manifest.replace(texts[0], ("z" + _b58(blocks[0].cid.to_bytes())).encode())
    _with_manifest(store, manifest)
    assert "manifest" in _refused_both_ways(store)


def test_an_unlinked_entry_is_dropped_as_before(store: Store) -> None:
    """The parsing path keeps only the linked thoughts; add_thought leaves such a tree to it."""
    _many(store, 3)
    stray = make_thought("stray")
    blob = store.repo.create_blob(stray.data)
    _with_thoughts_tree(store, lambda tb: tb.insert(str(stray.cid), blob, layout.BLOB))
    block = make_thought("after the stray")
    assert layout.add_thought(store.repo, _head_tree(store), block) is None
    want = _parsed(store, block)
    store.think("after the stray")
    assert str(_head_tree(store).id) == str(want[0])
    assert stray.cid not in store.state().thoughts


def test_a_first_thought_is_written_as_before(store: Store) -> None:
    block = make_thought("the first")
    assert layout.add_thought(store.repo, _head_tree(store), block) is None
    want = _parsed(store, block)
    store.think("the first")
    assert str(_head_tree(store).id) == str(want[0])


def _b58(raw: bytes) -> str:
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    n = int.from_bytes(raw, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = alphabet[r] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


def test_a_thought_also_linked_as_a_memory_is_written_as_before(store: Store) -> None:
    """write_state takes the new thought's bytes for a block of the same CID: left to it."""
    _many(store, 2)
    block = make_thought("also a memory")
    _add(store, {make_thought("x").cid: make_thought("x").data})

    def change(state: State) -> tuple[State, Mapping[CID, bytes]]:
        return state.with_memories({"m": block.cid}), {block.cid: block.data}

    store.update(change, "memory")
    assert layout.add_thought(store.repo, _head_tree(store), block) is None
    want = _parsed(store, block)
    store.think("also a memory")
    assert str(_head_tree(store).id) == str(want[0])
