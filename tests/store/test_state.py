from __future__ import annotations

import pygit2
import pytest

from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID
from mindgit.store import layout
from mindgit.store.repository import Store
from mindgit.store.state import (
    Block,
    SchemaError,
    State,
    check_thought,
    make_thought,
    parse_manifest,
)
from mindgit.store.verify import verify_commits


def test_manifest_without_memories_has_only_the_three_keys() -> None:
    m = State().manifest()
    assert m.data == b'{"genome":{},"schema":1,"thoughts":[]}'
    assert str(m.cid) == str(CID.of(m.data))


def memory_state(store: Store) -> tuple[State, dict[CID, bytes]]:
    human = Block.encode({"label": "human", "value": "First name: Ada"})
    tools = Block.encode({"tools": ["search"]})
    state = store.state().with_memories({"human": human.cid}).with_data({"agent": tools.cid})
    return state, {human.cid: human.data, tools.cid: tools.data}


def test_memories_and_data_roundtrip_and_verify(store: Store) -> None:
    state, blocks = memory_state(store)
    commit = store.commit_state(state, blocks, "memories")
    snap = store.snapshot()
    assert snap.state == state
    assert snap.manifest.cid == commit.manifest
    node = dagjson.decode(snap.manifest.data)
    assert isinstance(node, dict) and set(node) == {
        "data",
        "genome",
        "memories",
        "schema",
        "thoughts",
    }
    human = state.memory("human")
    block = dagjson.decode(layout.read_block(store.repo, snap.tree, human))
    assert isinstance(block, dict) and block["value"] == "First name: Ada"
    assert verify_commits(store.repo, store.trust, [store.head()]).ok
    # an edit is a new block; the old one leaves the tree
    new = Block.encode({"label": "human", "value": "First name: Grace"})
    store.commit_state(state.with_memories({"human": new.cid}), {new.cid: new.data}, "edit")
    tree = store.snapshot().tree
    assert sorted(str(e.name) for e in tree["blocks"].peel(pygit2.Tree)) == sorted(
        [str(new.cid), str(state.data[0][1])]
    )
    assert verify_commits(store.repo, store.trust, [store.head()]).ok


def test_missing_and_extra_blocks_are_named(store: Store) -> None:
    state, blocks = memory_state(store)
    store.commit_state(state, blocks, "memories")
    head = store.head()
    commit = store.repo[head].peel(pygit2.Commit)
    sub = store.repo.TreeBuilder(commit.tree["blocks"].peel(pygit2.Tree))
    sub.remove(str(state.memory("human")))
    sub.insert(str(CID.of(b"{}")), store.repo.create_blob(b"{}"), pygit2.enums.FileMode.BLOB)
    root = store.repo.TreeBuilder(commit.tree)
    root.insert("blocks", sub.write(), pygit2.enums.FileMode.TREE)
    oid = store.write_commit(root.write(), [head], "broken")
    report = verify_commits(store.repo, store.trust, [oid])
    reasons = sorted(p.reason for p in report.problems)
    assert reasons == ["linked from the manifest but missing", "not linked from the manifest"]


@pytest.mark.parametrize(
    "manifest",
    [
        b'{"genome":{},"schema":2,"thoughts":[]}',
        b'{"genome":{},"schema":1}',
        b'{"extra":1,"genome":{},"schema":1,"thoughts":[]}',
        b'{"genome":{},"memories":{},"schema":1,"thoughts":[]}',
        b'{"genome":{},"memories":{"../x":{"/":"baguqeera4vd5tybgxaub4elwag6v7yhswhflfyopogr7r32b7dpt5mqfmmoq"}},"schema":1,"thoughts":[]}',
        b'{"genome":{},"memories":{"h":"not a link"},"schema":1,"thoughts":[]}',
        b'{"genome":{},"schema":1,"thoughts":["x"]}',
        b'{"genome":{"x":{"type":"float","value":"a"}},"schema":1,"thoughts":[]}',
        b'{"genome": {},"schema":1,"thoughts":[]}',
        b"not json",
    ],
)
def test_bad_manifests_are_refused(manifest: bytes) -> None:
    with pytest.raises(SchemaError):
        parse_manifest(manifest)


def test_thought_types() -> None:
    note = make_thought("hello", ["b", "a"])
    assert dagjson.decode(note.data) == {"tags": ["a", "b"], "text": "hello", "type": "note"}
    for bad in (
        b'{"type":"alien"}',
        b'{"tags":[],"text":"x","type":"note","x":1}',
        b'{"tags":["b","a"],"text":"x","type":"note"}',
        b'{"tags":[],"text":1,"type":"note"}',
        b"[]",
    ):
        with pytest.raises(SchemaError):
            check_thought(CID.of(bad), bad)


def test_diff_reports_memory_changes(store: Store) -> None:
    from mindgit.store.history import diff

    state, blocks = memory_state(store)
    store.commit_state(state, blocks, "memories")
    new = Block.encode({"label": "human", "value": "First name: Grace"})
    store.commit_state(state.with_memories({"human": new.cid}), {new.cid: new.data}, "edit")
    d = diff(store, "main~1", "main")
    assert [m.name for m in d.memories] == ["human"] and not d.data and not d.genes
    assert d.memories[0].new == (new.cid, new.data)


def test_manifest_with_a_null_bound_is_not_canonical() -> None:
    data = b'{"genome":{"x":{"max":null,"type":"float","value":1}},"schema":1,"thoughts":[]}'
    with pytest.raises(SchemaError, match="canonical"):
        parse_manifest(data)


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_gene_nodes: st.SearchStrategy[dict[str, dagjson.Encodable]] = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("float"), "value": st.floats(-10, 10)},
        optional={"min": st.just(-10.0), "max": st.just(10.0), "scale": st.floats(0.1, 2)},
    ),
    st.fixed_dictionaries(
        {"type": st.just("int"), "value": st.integers(-5, 5)}, optional={"min": st.just(-5)}
    ),
    st.fixed_dictionaries({"type": st.just("bool"), "value": st.booleans()}),
    st.fixed_dictionaries(
        {
            "type": st.just("str"),
            "value": st.text(st.characters(exclude_categories=["Cs"]), max_size=5),
        }
    ),
)


@given(st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), _gene_nodes, max_size=6))
def test_any_manifest_that_parses_reencodes_to_the_same_bytes(
    genome: dict[str, dict[str, dagjson.Encodable]],
) -> None:
    try:
        data = dagjson.encode({"genome": genome, "schema": 1, "thoughts": []})
    except dagjson.DagJsonEncodeError:
        return  # not a DAG-JSON value at all (e.g. -0.0): nothing to parse
    try:
        state = parse_manifest(data)
    except SchemaError:
        return
    assert state.manifest().data == data


@pytest.mark.parametrize(
    "link",
    [
        CID(1, 0x0129, 0x00, b"inline"),  # identity hash
        CID(1, 0x0129, 0x13, bytes(64)),  # sha2-512
        CID(1, 0x55, 0x12, bytes(32)),  # raw codec
        CID(1, 0x0129, 0x12, bytes(20)),  # a short "sha2-256"
    ],
)
@pytest.mark.parametrize("where", ["thoughts", "memories", "data"])
def test_links_name_blocks_a_store_can_hold(link: CID, where: str) -> None:
    node: dict[str, dagjson.Node] = {"genome": {}, "schema": 1, "thoughts": []}
    if where == "thoughts":
        node["thoughts"] = [link]
    else:
        node[where] = {"notes": link}
    with pytest.raises(SchemaError, match="not a CIDv1 dag-json sha2-256 block"):
        parse_manifest(dagjson.encode(node))
    good = CID.of(b'{"text":"x","type":"note"}')
    fine: dict[str, dagjson.Node] = {"genome": {}, "schema": 1, "thoughts": [good]}
    assert parse_manifest(dagjson.encode(fine)).thoughts == {good}
