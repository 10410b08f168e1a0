"""Export: the CAR holds exactly the state's blocks as stored, and IPLD tools nobody here wrote
(@ipld/car, @ipld/dag-json) read it, re-encode every block to the same bytes and walk it whole."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pygit2
import pytest

from mindgit.adapters.car_export import BlockNotFound, cat, export
from mindgit.adapters.car_history import HISTORY_TYPE, HistoryBlock, NotAStateCommit, state_history
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID, RAW, CIDMismatch
from mindgit.store import layout
from mindgit.store.repository import Store, UnknownRef
from mindgit.store.state import Block, State, make_thought
from tests.adapters.test_car_builders import car_sections, export_bytes, rich_store
from tests.ipld.conftest import JsIpld, js_ipld  # noqa: F401


@pytest.fixture
def rich(store: Store) -> Store:
    return rich_store(store)


def stored_blocks(store: Store, rev: str) -> dict[CID, bytes]:
    """The state's blocks read straight from its git tree."""
    snap = store.snapshot(rev)
    blocks = {snap.manifest.cid: snap.manifest.data}
    for cid in snap.state.thoughts:
        blocks[cid] = layout.read_thought(store.repo, snap.tree, cid)
    for cid in snap.state.blocks:
        blocks[cid] = layout.read_block(store.repo, snap.tree, cid)
    return blocks


def test_plain_export_is_the_state_exactly_as_stored(rich: Store) -> None:
    out = io.BytesIO()
    summary = export(rich, "dreamer", out)
    roots, sections = car_sections(out.getvalue())
    snap = rich.snapshot("dreamer")
    assert roots == (snap.manifest.cid,) == (summary.root,)
    assert summary.state == summary.root and summary.commit == snap.commit
    assert dict(sections) == stored_blocks(rich, "dreamer")
    assert len(sections) == summary.blocks == 1 + 2 + 2  # manifest, two thoughts, memory + data
    assert summary.bytes == len(out.getvalue()) and summary.states == 1
    assert sections[0][0] == snap.manifest.cid  # the root block comes first


def test_export_defaults_to_the_current_experiment(rich: Store) -> None:
    assert car_sections(export_bytes(rich))[0] == (rich.snapshot().manifest.cid,)


def test_history_export_holds_every_state_once_and_links_them(rich: Store) -> None:
    out = io.BytesIO()
    summary = export(rich, "dreamer", out, history=True)
    roots, sections = car_sections(out.getvalue())
    cids = [cid for cid, _ in sections]
    assert len(cids) == len(set(cids)) == summary.blocks
    blocks = dict(sections)
    commits = [str(c.id) for c in rich.repo.walk(pygit2.Oid(hex=rich.resolve("dreamer")))]
    for commit in commits:
        assert stored_blocks(rich, commit).items() <= blocks.items()
    assert summary.states == len({rich.snapshot(c).manifest.cid for c in commits})
    history: dict[CID, Any] = {
        cid: node
        for cid, data in sections
        if isinstance(node := dagjson.decode(data), dict) and node.get("type") == HISTORY_TYPE
    }
    assert len(history) == len(commits)
    head = history[roots[0]]
    assert head["state"] == rich.snapshot("dreamer").manifest.cid == summary.state
    # No clock, no node id, no signature: only what the history says.
    for node in history.values():
        assert set(node) == {"message", "parents", "schema", "state", "type"}
        assert "did:key" not in dagjson.encode(node).decode()
    # The head's parents chain down to the parentless init commit.
    cid, steps = roots[0], 0
    while history[cid]["parents"]:
        (cid,) = history[cid]["parents"]
        steps += 1
    assert steps == len(commits) - 1 and history[cid]["message"] == "init: alpha"


def test_history_messages_drop_the_state_trailer_only(rich: Store) -> None:
    blocks = [
        HistoryBlock.decode(h.block.cid, h.block.data)
        for h in state_history(rich.repo, [rich.resolve("dreamer")])
    ]
    texts = [block.message for block in blocks]
    assert "edit memory\n\nWhy: she said so\nSeen-By: alpha" in texts
    assert "memories\n\nbody" in texts
    assert not any("Mindgit-State" in t for t in texts)


def test_history_cids_do_not_depend_on_who_or_when(tmp_path: Path) -> None:
    from mindgit.store.repository import init_store

    roots = []
    for name in ("one", "two"):
        store = init_store(tmp_path / name, "same")
        store.think("a")
        store.think("b")
        roots.append(car_sections(export_bytes(store, history=True))[0])
    # Different keys, different commit times, same content: the same history DAG.
    assert roots[0] == roots[1]


def test_an_old_state_shared_by_two_commits_is_written_once(store: Store) -> None:
    commit, cid = store.think("come and go")
    store.forget(cid)
    store.think("come and go")  # the same state as two commits ago
    _, sections = car_sections(export_bytes(store, history=True))
    cids = [c for c, _ in sections]
    assert len(cids) == len(set(cids))
    assert commit.manifest in cids


def check_in_js(js: JsIpld, car: bytes, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "export.car"
    path.write_bytes(car)
    report: dict[str, Any] = js.json("check-blocks.mjs", "--car", str(path))
    return report


@pytest.mark.parametrize("history", [False, True], ids=["plain", "history"])
def test_javascript_ipld_reads_the_export_whole(
    rich: Store,
    js_ipld: JsIpld,  # noqa: F811
    tmp_path: Path,
    history: bool,
) -> None:
    car = export_bytes(rich, "dreamer", history=history)
    roots, sections = car_sections(car)
    report = check_in_js(js_ipld, car, tmp_path)
    assert report["roots"] == [str(r) for r in roots]
    blocks = report["blocks"]
    assert isinstance(blocks, list) and len(blocks) == len(sections)
    for block in blocks:
        assert block["error"] is None, block
        assert block["hash_ok"] and block["decoded"] and block["identical"], block
        assert block["computed"] == block["cid"] == block["reencoded_cid"]
    # Every link reachable from the root is present, and every block is reachable.
    assert report["missing"] == []
    assert sorted(report["reachable"]) == sorted(str(c) for c, _ in sections)


def test_export_of_an_unknown_rev_is_refused(store: Store) -> None:
    with pytest.raises(UnknownRef):
        export(store, "nope", io.BytesIO())


def test_history_through_a_commit_without_a_state_is_refused(store: Store) -> None:
    repo = store.repo
    tb = repo.TreeBuilder()
    tb.insert("notes.txt", repo.create_blob(b"not a state"), layout.BLOB)
    odd = store.write_commit(tb.write(), [store.head()], "odd")
    tree, manifest = layout.write_state(repo, State(), {})
    top = store.write_commit(tree, [odd], "state again", manifest.cid)
    assert car_sections(export_bytes(store, top))[0] == (manifest.cid,)  # plain is fine
    with pytest.raises(NotAStateCommit) as caught:
        export(store, top, io.BytesIO(), history=True)
    assert caught.value.commit == odd


def test_a_corrupt_stored_thought_is_not_exported(store: Store) -> None:
    """A blob whose bytes do not match its CID name must not leave as if it did."""
    real = make_thought("real")
    fake = make_thought("fake")
    repo = store.repo
    thoughts = repo.TreeBuilder()
    thoughts.insert(str(real.cid), repo.create_blob(fake.data), layout.BLOB)
    manifest = State(thoughts=frozenset({real.cid})).manifest()
    root = repo.TreeBuilder()
    root.insert(layout.MANIFEST, repo.create_blob(manifest.data), layout.BLOB)
    root.insert(layout.THOUGHTS, thoughts.write(), layout.TREE)
    commit = store.write_commit(root.write(), [store.head()], "corrupt", manifest.cid)
    with pytest.raises(CIDMismatch):
        export(store, commit, io.BytesIO())


def test_a_missing_stored_thought_is_reported(store: Store) -> None:
    real = make_thought("real")
    manifest = State(thoughts=frozenset({real.cid})).manifest()
    root = store.repo.TreeBuilder()
    root.insert(layout.MANIFEST, store.repo.create_blob(manifest.data), layout.BLOB)
    commit = store.write_commit(root.write(), [store.head()], "hollow", manifest.cid)
    with pytest.raises(layout.StateNotFound):
        export(store, commit, io.BytesIO())


def test_cat_finds_every_kind_of_block(rich: Store) -> None:
    car = export_bytes(rich, "dreamer", history=True)
    _, sections = car_sections(car)
    for cid, data in sections:
        assert cat(rich, cid) == data
    # Blocks of states that are only in history (the forgotten thought) too.
    old = rich.snapshot("dreamer~3").state.thoughts - rich.snapshot("dreamer").state.thoughts
    assert old and all(cat(rich, c) == dict(sections)[c] for c in old)


def test_cat_of_a_cid_not_in_the_store(store: Store) -> None:
    absent = Block.encode({"not": "here"}).cid
    with pytest.raises(BlockNotFound) as caught:
        cat(store, absent)
    assert caught.value.cid == absent
    with pytest.raises(BlockNotFound, match="only DAG-JSON"):
        cat(store, CID.of(b"raw bytes", RAW))


def test_manifest_links_split_thoughts_from_named_blocks() -> None:
    from mindgit.adapters.car_export import manifest_links
    from mindgit.store.genome import parse_assignment

    thoughts = sorted((make_thought(f"t{i}").cid for i in range(5)), key=str)
    named = Block.encode({"x": 1}).cid
    other = Block.encode({"y": 2}).cid
    state = (
        State(thoughts=frozenset(thoughts))
        .with_genome(State().genome.with_genes(parse_assignment("thoughts=[0.1,0.2]", None)))
        .with_memories({"thoughts": named, "a": other})
        .with_data({"thoughts": named})
    )
    blocks, links = manifest_links(state.manifest().data)
    assert blocks == sorted([str(named), str(other)]) and list(links) == [str(c) for c in thoughts]
    assert manifest_links(State().manifest().data)[0] == []
