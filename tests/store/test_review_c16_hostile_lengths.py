"""A peer's manifest or thought with 100 KB where a short word belongs (review C, pass 16).

The schema's value, a thought's type, a manifest's unknown key and a block's name were quoted
whole (``!r``) in the problem `verify`, `log` and `show` print: a signed state from a hostile or
broken peer made each a 100 KB line. They are cut as every other quoted value is
(errors.quoted). A schema above 1 is said to be newer than this mindgit reads."""

from __future__ import annotations

import pygit2
import pytest

from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID
from mindgit.store.refs import update_ref
from mindgit.store.repository import HEADS, Store
from tests.conftest import Mg

BIG = "x" * 100_000


def _commit_state(
    store: Store, manifest: dict[str, dagjson.Encodable], thoughts: list[bytes]
) -> str:
    repo = store.repo
    data = dagjson.encode(manifest)
    tree = repo.TreeBuilder()
    tree.insert("manifest.json", repo.create_blob(data), pygit2.GIT_FILEMODE_BLOB)
    if thoughts:
        folder = repo.TreeBuilder()
        for block in thoughts:
            folder.insert(str(CID.of(block)), repo.create_blob(block), pygit2.GIT_FILEMODE_BLOB)
        tree.insert("thoughts", folder.write(), pygit2.GIT_FILEMODE_TREE)
    head = store.head()
    new = store.write_commit(tree.write(), [head], "from a peer", CID.of(data))
    update_ref(repo, HEADS + "main", new, head, message="test", committer="t <t@t> 0 +0000")
    return new


def _thought(kind: str) -> bytes:
    return dagjson.encode({"tags": [], "text": "t", "type": kind})


@pytest.mark.parametrize(
    "make",
    [
        lambda: ({"genome": {}, "schema": BIG, "thoughts": []}, []),
        lambda: ({"genome": {}, "schema": 1, "thoughts": [], BIG: 1}, []),
        lambda: ({"genome": {}, "schema": 1, "thoughts": [CID.of(_thought(BIG))]}, [_thought(BIG)]),
        lambda: ({"genome": {}, "schema": 1, "thoughts": [], "data": {BIG: CID.of(b"{}")}}, []),
    ],
    ids=["schema", "unknown key", "thought type", "block name"],
)
def test_a_huge_word_in_a_peers_state_is_cut(store: Store, mg: Mg, make) -> None:  # type: ignore[no-untyped-def]
    manifest, thoughts = make()
    _commit_state(store, manifest, thoughts)
    for args in (("verify",), ("log", "-n", "1"), ("show",), ("verify", "--json")):
        r = mg("--store", str(store.path), *args)
        # verify fails it; log lists it, and show shows it with a warning, when they can.
        assert r.code == 1 if args[0] == "verify" else r.code in (0, 1), (args, r.err[:300])
        # The problem's lines (show prints a thought itself, as long as it is).
        said = [
            line
            for line in (r.out + r.err).splitlines()
            if line.lstrip().startswith(("FAIL", "!", "mindgit:", '"reason"'))
        ]
        assert said and max(len(line) for line in said) < 1_000, args


def test_a_newer_schema_is_said_to_be_newer(store: Store, mg: Mg) -> None:
    _commit_state(store, {"genome": {}, "schema": 2, "thoughts": []}, [])
    r = mg("--store", str(store.path), "verify")
    assert r.code == 1
    assert "schema 2 is newer than this mindgit reads (1): a newer mindgit wrote it" in r.out
    r = mg("--store", str(store.path), "show")
    assert r.code == 1 and "schema 2 is newer than this mindgit reads (1)" in r.err


@pytest.mark.parametrize("field", ["abi", "name"])
def test_a_huge_field_in_a_peers_fitness_module_is_cut(store: Store, mg: Mg, field: str) -> None:
    """fitness.json's abi and name were quoted whole in verify --all's problem."""
    from mindgit.store.fitness_store import FITNESS_PREFIX, fitness_node, module_cid

    repo = store.repo
    wasm = b"\x00asm\x01\x00\x00\x00"
    node: dict[str, dagjson.Encodable] = dict(fitness_node(module_cid(wasm), "m"))
    node[field] = BIG
    tree = repo.TreeBuilder()
    tree.insert("module.wasm", repo.create_blob(wasm), pygit2.GIT_FILEMODE_BLOB)
    tree.insert("fitness.json", repo.create_blob(dagjson.encode(node)), pygit2.GIT_FILEMODE_BLOB)
    commit = store.write_commit(tree.write(), [], "fitness: add m")
    update_ref(repo, FITNESS_PREFIX + "m", commit, None, message="t", committer="t <t@t> 0 +0000")
    r = mg("--store", str(store.path), "verify", "--all")
    assert r.code == 1
    fails = [line for line in r.out.splitlines() if line.startswith("FAIL")]
    assert fails and max(len(line) for line in fails) < 1_000
    assert "(100000 characters)" in r.out
