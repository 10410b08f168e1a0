"""A state's directory checked against the last one found clean (only the entries that differ)
must give the verdict a verifier that has seen nothing gives: every edit, hostile or not."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pygit2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.ipld.cid import CID
from mindgit.store import layout
from mindgit.store.repository import Store, init_store
from mindgit.store.state import State, make_thought
from mindgit.store.verify import Verifier, walk

TREE_KIND = pygit2.enums.ObjectType.TREE
BLOB_MODE = b"100644"


@dataclass(frozen=True)
class Draft:
    """A state commit to be: the thoughts tree's entries as written (in this order, however
    hostile) and the links its manifest holds."""

    entries: tuple[tuple[bytes, bytes, bytes], ...]  # (mode, name, raw blob id)
    links: frozenset[CID]


@dataclass(frozen=True)
class Material:
    store: Store
    state: State
    base: Draft
    spare: tuple[CID, ...]  # thoughts stored but not in the base state
    blob_of: dict[CID, bytes]
    junk: bytes  # a blob whose bytes are canonical DAG-JSON but not a thought
    junk_cid: CID


def _sorted(entries: list[tuple[bytes, bytes, bytes]]) -> tuple[tuple[bytes, bytes, bytes], ...]:
    return tuple(sorted(entries, key=lambda e: e[1]))


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> Material:
    store = init_store(tmp_path_factory.mktemp("incremental") / "s", "alpha")
    blocks = [make_thought(f"thought {i}", ["t"]) for i in range(10)]
    repo = store.repo
    blob_of = {b.cid: repo.create_blob(b.data).raw for b in blocks}
    base_cids = [b.cid for b in blocks[:6]]
    store.update(
        lambda s: (
            s.with_thoughts(s.thoughts | set(base_cids)),
            {b.cid: b.data for b in blocks[:6]},
        ),
        "base",
    )
    head = repo[store.head()].peel(pygit2.Commit)
    state, _ = layout.read_state(repo, head.tree)
    base = Draft(
        _sorted([(BLOB_MODE, str(c).encode(), blob_of[c]) for c in base_cids]),
        frozenset(base_cids),
    )
    junk_data = b'{"not":"a thought"}'
    junk_cid = CID.of(junk_data)
    return Material(
        store,
        state,
        base,
        tuple(b.cid for b in blocks[6:]),
        blob_of,
        repo.create_blob(junk_data).raw,
        junk_cid,
    )


# Each edit turns a draft into another; those marked hostile make a state verify refuses.
EDITS = (
    "add",  # a thought: entry and link
    "remove",  # a thought: entry and link
    "add_entry",  # hostile: an entry the manifest does not link
    "add_link",  # hostile: a link with no entry
    "drop_entry",  # hostile
    "drop_link",  # hostile
    "swap_blob",  # hostile: an entry names another thought's blob
    "junk_blob",  # hostile: a block that is no thought, under its own CID
    "missing_blob",  # hostile: the blob is not in the store
    "upper_name",  # hostile: the name spelled in base32 upper case (the same CID, another text)
    "bad_name",  # hostile: a name of a CID's length that is not a CID
    "short_name",  # hostile: a name of another length
    "mode",  # hostile: an entry of another mode
    "duplicate",  # hostile: an entry twice
    "unsorted",  # hostile: two entries out of order
    "misplaced",  # hostile: a thought put in another's place, out of order
)
MODES = (b"100755", b"120000", b"40000", b"160000", b"100664")


def _edit(m: Material, draft: Draft, edit: str, pick: int) -> Draft:
    entries = list(draft.entries)
    links = set(draft.links)
    spare = [
        c for c in m.spare if c not in links and str(c).encode() not in {e[1] for e in entries}
    ]
    if not entries and edit not in ("add", "add_entry", "add_link"):
        edit = "add"
    if not spare and edit in ("add", "add_entry", "add_link", "misplaced"):
        edit = "remove"
    if not entries:
        return draft
    at = pick % len(entries)
    mode, name, blob = entries[at]
    if edit == "add":
        cid = spare[pick % len(spare)]
        entries.append((BLOB_MODE, str(cid).encode(), m.blob_of[cid]))
        links.add(cid)
    elif edit == "remove":
        del entries[at]
        links = {c for c in links if str(c).encode() != name}
    elif edit == "add_entry":
        cid = spare[pick % len(spare)]
        entries.append((BLOB_MODE, str(cid).encode(), m.blob_of[cid]))
    elif edit == "add_link":
        links.add(spare[pick % len(spare)])
    elif edit == "drop_entry":
        del entries[at]
    elif edit == "drop_link":
        links = {c for c in links if str(c).encode() != name}
    elif edit == "swap_blob":
        other = entries[(at + 1) % len(entries)][2]
        entries[at] = (mode, name, other if other != blob else m.junk)
    elif edit == "junk_blob":
        entries.append((BLOB_MODE, str(m.junk_cid).encode(), m.junk))
        links.add(m.junk_cid)
    elif edit == "missing_blob":
        entries[at] = (mode, name, bytes(19) + bytes([pick % 256]))
    elif edit == "upper_name":
        entries[at] = (mode, name.upper(), blob)
    elif edit == "bad_name":
        entries[at] = (mode, name[:-1] + (b"0" if name[-1:] != b"0" else b"1"), blob)
    elif edit == "short_name":
        entries[at] = (mode, name[:-1], blob)
    elif edit == "mode":
        entries[at] = (MODES[pick % len(MODES)], name, blob)
    elif edit == "duplicate":
        entries.insert(at, entries[at])
        return Draft(tuple(entries), frozenset(links))  # left as written
    elif edit == "misplaced":
        cid = spare[pick % len(spare)]
        entries[at] = (BLOB_MODE, str(cid).encode(), m.blob_of[cid])
        links = {c for c in links if str(c).encode() != name} | {cid}
        return Draft(tuple(entries), frozenset(links))  # left where the other was
    elif edit == "unsorted" and len(entries) > 1:
        entries[at], entries[at - 1] = entries[at - 1], entries[at]
        return Draft(tuple(entries), frozenset(links))
    # In git's order: a directory's name compared as if it ended in "/".
    return Draft(
        tuple(sorted(entries, key=lambda e: e[1] + (b"/" if e[0] == b"40000" else b""))),
        frozenset(links),
    )


def _commit(m: Material, draft: Draft, parent: str) -> str:
    repo = m.store.repo
    thoughts = repo.odb.write(
        TREE_KIND, b"".join(mode + b" " + name + b"\0" + oid for mode, name, oid in draft.entries)
    )
    manifest = m.state.with_thoughts(draft.links).manifest()
    root = repo.odb.write(
        TREE_KIND,
        BLOB_MODE
        + b" manifest.json\0"
        + repo.create_blob(manifest.data).raw
        + b"40000 thoughts\0"
        + thoughts.raw,
    )
    return m.store.write_commit(root, [parent], "edit", manifest.cid)


def _fresh(m: Material, oid: str) -> list[tuple[str | None, str]]:
    """The verdict of a verifier that has seen nothing."""
    result = Verifier(m.store.repo, m.store.trust).check_commit(oid)
    return [(p.object, p.reason) for p in result.problems]


def _chain(m: Material, steps: list[tuple[str, int]]) -> Iterator[str]:
    draft, parent = m.base, m.store.head()
    for edit, pick in steps:
        draft = _edit(m, draft, edit, pick)
        parent = _commit(m, draft, parent)
        yield parent


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(EDITS), st.integers(0, 1000)), min_size=1, max_size=6))
def test_a_chain_of_edits_is_judged_as_from_nothing_in_either_order(
    material: Material, steps: list[tuple[str, int]]
) -> None:
    commits = [material.store.head(), *_chain(material, steps)]
    fresh = {c: _fresh(material, c) for c in commits}
    for order in (commits, commits[::-1]):  # verify's order, then log's
        v = Verifier(material.store.repo, material.store.trust)
        for c in order:
            assert [(p.object, p.reason) for p in v.check_commit(c).problems] == fresh[c], c


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(EDITS), st.integers(0, 1000), st.sampled_from(["add", "remove"]))
def test_one_edit_after_a_clean_neighbour_is_judged_as_from_nothing(
    material: Material, edit: str, pick: int, first: str
) -> None:
    """The shape verify and log meet most: a clean state, then one edit of it."""
    clean = _commit(material, _edit(material, material.base, first, pick), material.store.head())
    assert _fresh(material, clean) == []
    edited = _commit(material, _edit(material, _draft_of(material, clean), edit, pick), clean)
    v = Verifier(material.store.repo, material.store.trust)
    assert v.check_commit(clean).ok
    assert [(p.object, p.reason) for p in v.check_commit(edited).problems] == _fresh(
        material, edited
    )


def _draft_of(m: Material, oid: str) -> Draft:
    repo = m.store.repo
    tree = repo[oid].peel(pygit2.Commit).tree
    state, _ = layout.read_state(repo, tree)
    sub = repo[tree[layout.THOUGHTS].id]
    assert isinstance(sub, pygit2.Tree)
    return Draft(_sorted([(BLOB_MODE, e.raw_name or b"", e.id.raw) for e in sub]), state.thoughts)


def test_each_hostile_edit_after_a_clean_state_is_refused_as_from_nothing(
    material: Material,
) -> None:
    """Every hostile edit, at every place (the property tests draw them at random)."""
    refused = set()
    for edit in EDITS:
        for pick in range(len(material.base.entries) * len(material.spare)):
            draft = _edit(material, material.base, edit, pick)
            oid = _commit(material, draft, material.store.head())
            fresh = _fresh(material, oid)
            if fresh:
                refused.add(edit)
            v = Verifier(material.store.repo, material.store.trust)
            assert v.check_commit(material.store.head()).ok
            assert [(p.object, p.reason) for p in v.check_commit(oid).problems] == fresh
    assert refused == set(EDITS) - {"add", "remove"}


def test_a_chain_of_thinks_parses_one_thoughts_tree(tmp_path: Path) -> None:
    """Each state after the first is checked from the entries it does not share with the last
    one checked, whichever order they come in (the whole tree of every state was parsed: a
    commit adding one thought to n thoughts cost n)."""
    store = init_store(tmp_path / "s", "alpha")
    store.think("thought 0")
    (first,) = _thoughts(store)
    for i in range(1, 12):
        store.think(f"thought {i}")
    # The first thought, not any: forgetting the last one made would bring back the tree
    # of the commit before it (15 distinct trees, 1 run in 12).
    store.forget(first)
    for i in range(3):
        store.think(f"later {i}")
    commits = [c for c in walk(store.repo, [store.head()]) if _thoughts(store, c)]
    assert len(commits) == 16
    trees = {store.repo[c].peel(pygit2.Commit).tree[layout.THOUGHTS].id.raw for c in commits}
    assert len(trees) == 16
    for order in (commits, commits[::-1]):  # verify's order, then log's
        v = Verifier(store.repo, store.trust)
        assert all(v.check_commit(c).ok for c in order)
        assert len(trees & v._entries.keys()) == 1


def _thoughts(store: Store, rev: str | None = None) -> frozenset[CID]:
    tree = store.repo[rev or store.head()].peel(pygit2.Commit).tree
    return layout.read_state(store.repo, tree)[0].thoughts


def test_a_chain_of_memory_edits_checks_the_blocks_directory_as_from_nothing(
    tmp_path: Path,
) -> None:
    """Memories and data blocks are opaque (no thought schema): the blocks directory takes the
    same shortcut, and a hostile edit there is still named as a verifier from nothing names it."""
    from mindgit.ipld import dagjson

    store = init_store(tmp_path / "s", "alpha")
    for i in range(8):
        data = dagjson.encode({"value": f"memory {i}"})

        def change(
            s: State, name: str = f"m{i % 5}", data: bytes = data
        ) -> tuple[State, dict[CID, bytes]]:
            cid = CID.of(data)
            return s.with_memories({**dict(s.memories), name: cid}), {cid: data}

        store.update(change, f"memory {i}")
    repo = store.repo
    head = repo[store.head()].peel(pygit2.Commit)
    blocks = repo[head.tree[layout.BLOCKS].id]
    assert isinstance(blocks, pygit2.Tree)
    entries = sorted((e.raw_name or b"", e.id.raw) for e in blocks)
    (first, one), (second, two) = entries[0], entries[1]
    # Each block's bytes under the other's name.
    swapped = b"".join(
        BLOB_MODE + b" " + name + b"\0" + {first: two, second: one}.get(name, oid)
        for name, oid in entries
    )
    root = b"".join(
        (b"40000 " if e.name != "manifest.json" else BLOB_MODE + b" ")
        + (e.raw_name or b"")
        + b"\0"
        + (repo.odb.write(TREE_KIND, swapped).raw if e.name == layout.BLOCKS else e.id.raw)
        for e in head.tree
    )
    hostile = store.write_commit(repo.odb.write(TREE_KIND, root), [str(head.id)], "swapped")
    commits = [*walk(repo, [store.head()]), hostile]
    fresh = {c: _fresh_of(store, c) for c in commits}
    assert fresh[hostile] and not any(fresh[c] for c in commits[:-1])
    trees = {
        repo[c].peel(pygit2.Commit).tree[layout.BLOCKS].id.raw
        for c in commits[:-1]
        if layout.BLOCKS in repo[c].peel(pygit2.Commit).tree
    }
    for order in (commits, commits[::-1]):
        v = Verifier(repo, store.trust)
        for c in order:
            assert [(p.object, p.reason) for p in v.check_commit(c).problems] == fresh[c]
    v = Verifier(repo, store.trust)
    assert all(v.check_commit(c).ok for c in commits[:-1])
    assert len(trees) == 8
    assert len(trees & v._entries.keys()) == 1


def _fresh_of(store: Store, oid: str) -> list[tuple[str | None, str]]:
    result = Verifier(store.repo, store.trust).check_commit(oid)
    return [(p.object, p.reason) for p in result.problems]
