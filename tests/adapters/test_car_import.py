"""Import: verify everything, then write; round trips keep CIDs; bad CARs change nothing."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pygit2
import pytest

from mindgit.adapters.car_export import BlockNotFound, cat
from mindgit.adapters.car_history import HistoryBlock, HistoryFormatError
from mindgit.adapters.car_import import (
    CarIncomplete,
    CarInvalidState,
    CarRootError,
    ImportSummary,
    UnsupportedBlock,
    import_car,
)
from mindgit.adapters.car_spool import SpoolError
from mindgit.ipld import dagjson
from mindgit.ipld.car import CarHeaderError, CarSectionError, CarTruncated
from mindgit.ipld.cid import CID, DAG_CBOR, RAW, CIDMismatch
from mindgit.store import layout
from mindgit.store.refs import RefError, RefLocked, locked_ref
from mindgit.store.repository import HEADS, Store, init_store
from mindgit.store.state import Block, State
from mindgit.store.verify import verify_commits
from tests.adapters.test_car_builders import (
    car_sections,
    export_bytes,
    make_car,
    rich_store,
    store_fingerprint,
)
from tests.conftest import FIXTURES, fsck, git


@pytest.fixture
def source(store: Store) -> Store:
    return rich_store(store)


@pytest.fixture
def target(tmp_path: Path) -> Store:
    return init_store(tmp_path / "beta", "beta")


def load(
    store: Store, car: bytes, experiment: str = "copy", *, spool_dir: Path | None = None
) -> ImportSummary:
    return import_car(store, io.BytesIO(car), experiment=experiment, spool_dir=spool_dir)


def assert_verified(store: Store) -> None:
    tips = [store.head(e) for e in store.experiments()]
    report = verify_commits(store.repo, store.trust, tips)
    assert report.ok, report.problems
    fsck(store.path)


def test_plain_round_trip_keeps_the_manifest_cid(source: Store, target: Store) -> None:
    car = export_bytes(source, "dreamer")
    summary = load(target, car, "dreamer-copy")
    snap = target.snapshot("dreamer-copy")
    assert snap.manifest.cid == source.snapshot("dreamer").manifest.cid == summary.state
    assert snap.manifest.data == source.snapshot("dreamer").manifest.data
    assert summary.changed and summary.created and not summary.history
    assert (summary.states, summary.commits, summary.blocks, summary.ignored) == (1, 1, 5, 0)
    commit = target.repo[summary.commit].peel(pygit2.Commit)
    assert commit.parents == []
    assert target.head("dreamer-copy") == summary.commit
    assert_verified(target)
    # Exporting it again gives the same CAR, byte for byte.
    assert export_bytes(target, "dreamer-copy") == car


def test_the_imported_tree_is_the_one_the_store_itself_writes(source: Store, target: Store) -> None:
    load(target, export_bytes(source, "dreamer"))
    snap = target.snapshot("copy")
    blocks = {cid: layout.read_thought(target.repo, snap.tree, cid) for cid in snap.state.thoughts}
    blocks |= {cid: layout.read_block(target.repo, snap.tree, cid) for cid in snap.state.blocks}
    tree, _ = layout.write_state(target.repo, snap.state, blocks)
    assert tree == snap.tree.id


def test_history_round_trip_rebuilds_the_chain(source: Store, target: Store) -> None:
    car = export_bytes(source, "dreamer", history=True)
    summary = load(target, car, "dreamer")
    assert summary.history and summary.created and summary.changed
    original = [c for c in source.repo.walk(pygit2.Oid(hex=source.resolve("dreamer")))]
    rebuilt = [c for c in target.repo.walk(pygit2.Oid(hex=target.resolve("dreamer")))]
    assert summary.commits == len(original) == len(rebuilt)

    def manifest(store: Store, c: pygit2.Commit) -> CID:
        return store.snapshot(str(c.id)).manifest.cid

    assert [manifest(source, c) for c in original] == [manifest(target, c) for c in rebuilt]
    assert [len(c.parents) for c in original] == [len(c.parents) for c in rebuilt]
    assert [c.message for c in original] == [c.message for c in rebuilt]
    assert_verified(target)
    # The rebuilt history exports to the very same CAR: same history blocks, same root.
    assert export_bytes(target, "dreamer", history=True) == car


def test_a_merge_keeps_its_parents_in_order(store: Store, target: Store) -> None:
    store.think("on main")
    store.fork("side", switch=False)
    store.think("side thought", experiment="side")
    store.think("main thought")
    ours, theirs = store.head("main"), store.head("side")
    union = store.state("main").with_thoughts(
        store.state("main").thoughts | store.state("side").thoughts
    )
    blocks = {c: store.thought(c, "side") for c in store.state("side").thoughts}
    tree, manifest = layout.write_state(store.repo, union, blocks, store.snapshot("main").tree)
    merge = store.write_commit(tree, [ours, theirs], "merge side", manifest.cid)
    car = export_bytes(store, merge, history=True)
    summary = load(target, car, "merged")
    rebuilt = target.repo[summary.commit].peel(pygit2.Commit)
    assert len(rebuilt.parents) == 2
    firsts = [target.snapshot(str(p)).manifest.cid for p in rebuilt.parent_ids]
    assert firsts == [store.snapshot(ours).manifest.cid, store.snapshot(theirs).manifest.cid]
    assert export_bytes(target, "merged", history=True) == car
    assert_verified(target)


def test_an_experiment_locked_by_another_writer_gets_nothing(source: Store, target: Store) -> None:
    car = export_bytes(source, "dreamer")
    target.lock_wait = 0.2
    for experiment in ("main", "fresh"):
        with locked_ref(target.repo, HEADS + experiment):
            before = store_fingerprint(target)
            with pytest.raises(RefLocked):
                load(target, car, experiment)
            assert store_fingerprint(target) == before
    assert load(target, car, "main").changed


def test_blocks_may_come_in_any_order(source: Store, target: Store) -> None:
    roots, sections = car_sections(export_bytes(source, "dreamer", history=True))
    summary = load(target, make_car(roots, reversed(sections)))
    assert summary.state == source.snapshot("dreamer").manifest.cid


def test_importing_the_same_car_again_changes_nothing(source: Store, target: Store) -> None:
    for history in (False, True):
        car = export_bytes(source, "dreamer", history=history)
        name = f"copy-{history}"
        first = load(target, car, name)
        before = store_fingerprint(target)
        again = load(target, car, name)
        assert not again.changed and not again.created and again.commits == 0
        assert again.commit == first.commit == target.head(name)
        assert store_fingerprint(target) == before


def test_import_into_an_existing_experiment_commits_on_top(source: Store, target: Store) -> None:
    target.think("beta's own thought")
    head = target.head("main")
    summary = load(target, export_bytes(source, "dreamer"), "main")
    assert summary.changed and not summary.created
    commit = target.repo[summary.commit].peel(pygit2.Commit)
    assert [str(p) for p in commit.parent_ids] == [head]
    assert target.snapshot("main").manifest.cid == source.snapshot("dreamer").manifest.cid
    assert_verified(target)


def test_history_into_an_existing_experiment_keeps_both_histories(
    source: Store, target: Store
) -> None:
    head = target.head("main")
    summary = load(target, export_bytes(source, "dreamer", history=True), "main")
    commit = target.repo[summary.commit].peel(pygit2.Commit)
    assert len(commit.parents) == 2
    assert str(commit.parent_ids[0]) == head
    chain = target.repo[commit.parent_ids[1]].peel(pygit2.Commit)
    assert chain.message.startswith("edit memory")
    assert (
        summary.commits
        == len(list(source.repo.walk(pygit2.Oid(hex=source.resolve("dreamer"))))) + 1
    )
    assert_verified(target)
    assert not load(target, export_bytes(source, "dreamer", history=True), "main").changed


def test_an_empty_state_imports(store: Store, target: Store) -> None:
    summary = load(target, export_bytes(store), "empty")
    assert summary.state == State().manifest().cid and summary.blocks == 1
    assert_verified(target)


def test_blocks_nothing_links_to_are_ignored(source: Store, target: Store) -> None:
    roots, sections = car_sections(export_bytes(source, "dreamer"))
    stray = Block.encode({"stray": True})
    summary = load(target, make_car(roots, [*sections, (stray.cid, stray.data)]))
    assert summary.ignored == 1
    with pytest.raises(BlockNotFound):
        cat(target, stray.cid)


def test_duplicate_sections_are_allowed(source: Store, target: Store) -> None:
    roots, sections = car_sections(export_bytes(source, "dreamer"))
    summary = load(target, make_car(roots, sections + sections))
    assert summary.blocks == len(sections) and summary.ignored == 0


def test_the_spool_directory_is_removed(source: Store, target: Store, tmp_path: Path) -> None:
    parent = tmp_path / "spool"
    parent.mkdir()
    load(target, export_bytes(source, "dreamer"), spool_dir=parent)
    roots, sections = car_sections(export_bytes(source, "dreamer"))
    with pytest.raises(CarIncomplete):
        load(target, make_car(roots, sections[:-1]), "other", spool_dir=parent)
    assert list(parent.iterdir()) == []


def test_blocks_wait_in_a_private_directory(source: Store, target: Store, tmp_path: Path) -> None:
    parent = tmp_path / "spool"
    parent.mkdir()
    seen: list[int] = []

    class Watched(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            if not seen:
                (spool,) = parent.iterdir()
                seen.append(spool.stat().st_mode & 0o777)
            return super().read(n)

    import_car(target, Watched(export_bytes(source)), experiment="x", spool_dir=parent)
    assert seen == [0o700] and list(parent.iterdir()) == []


def test_a_spool_directory_that_cannot_be_made_is_one_error(
    source: Store, target: Store, tmp_path: Path
) -> None:
    before = store_fingerprint(target)
    with pytest.raises(SpoolError, match="cannot spool"):
        load(target, export_bytes(source), spool_dir=tmp_path / "absent")
    assert store_fingerprint(target) == before


def test_a_bad_experiment_name_is_refused_before_reading(target: Store) -> None:
    class Unread(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            raise AssertionError("the CAR was read")

    with pytest.raises(RefError):
        import_car(target, Unread(), experiment="bad..name")


# -- bad CARs: one clear error each, and nothing written ----------------------------------


def rewrite_block(
    sections: list[tuple[CID, bytes]], cid: CID, data: bytes
) -> list[tuple[CID, bytes]]:
    """Replace block ``cid`` by ``data`` under its new CID, and relink its manifest."""
    new = CID.of(data)
    out = []
    for c, d in sections:
        if c == cid:
            out.append((new, data))
        else:
            out.append((c, d.replace(str(cid).encode(), str(new).encode())))
    return out


def plain(source: Store) -> tuple[tuple[CID, ...], list[tuple[CID, bytes]]]:
    return car_sections(export_bytes(source, "dreamer"))


def bad_block(source: Store) -> bytes:
    roots, sections = plain(source)
    changed = [(c, d.replace(b"flight", b"fright")) for c, d in sections]
    assert changed != sections
    return make_car(roots, changed)


def root_block_missing(source: Store) -> bytes:
    roots, sections = plain(source)
    return make_car(roots, sections[1:])


def truncated(source: Store) -> bytes:
    return export_bytes(source, "dreamer")[:-7]


def missing_block(source: Store) -> bytes:
    roots, sections = plain(source)
    return make_car(roots, [s for i, s in enumerate(sections) if i != 2])


def missing_parent(source: Store) -> bytes:
    roots, sections = car_sections(export_bytes(source, "dreamer", history=True))
    first = next(c for c, d in sections if b'"parents":[]' in d)
    return make_car(roots, [s for s in sections if s[0] != first])


def unknown_codec(source: Store) -> bytes:
    roots, sections = plain(source)
    return make_car(roots, [*sections, (CID.of(b"\x00\x01", RAW), b"\x00\x01")])


def unknown_hash(source: Store) -> bytes:
    roots, sections = plain(source)
    odd = CID(1, sections[1][0].codec, 0x13, bytes(64))  # sha2-512
    return make_car(roots, [*sections, (odd, b"{}")])


def cbor_root(source: Store) -> bytes:
    cid = CID.of(b"\xa0", DAG_CBOR)
    return make_car([cid], [(cid, b"\xa0")])


def wrong_header(source: Store) -> bytes:
    car = export_bytes(source, "dreamer")
    # Header: {"roots": [...], "version": 1}; the last byte of it is the version.
    length = car[0]
    return car[:length] + b"\x02" + car[length + 1 :]


def huge_varint(source: Store) -> bytes:
    car = export_bytes(source, "dreamer")
    header_end = 1 + car[0]
    return car[:header_end] + b"\xff" * 11 + b"\x01"


def not_a_state_root(source: Store) -> bytes:
    other = Block.encode({"hello": "world", "schema": 1})
    return make_car([other.cid], [(other.cid, other.data)])


def two_roots(source: Store) -> bytes:
    roots, sections = plain(source)
    return make_car([roots[0], sections[1][0]], sections)


def bad_schema_manifest(source: Store) -> bytes:
    _, sections = plain(source)
    node = dagjson.decode(sections[0][1])
    assert isinstance(node, dict)
    node["schema"] = 2
    new = Block.encode(node)
    return make_car([new.cid], [(new.cid, new.data), *sections[1:]])


def unsorted_manifest(source: Store) -> bytes:
    _, sections = plain(source)
    node = dagjson.decode(sections[0][1])
    assert isinstance(node, dict) and isinstance(node["thoughts"], list)
    node["thoughts"] = list(reversed(node["thoughts"]))
    new = Block.encode(node)
    return make_car([new.cid], [(new.cid, new.data), *sections[1:]])


def bad_thought(source: Store) -> bytes:
    _, sections = plain(source)
    thought = next(c for c, d in sections if b'"type":"note"' in d)
    broken = rewrite_block(sections, thought, b'{"text":"no type"}')
    manifest = broken[0]
    return make_car([CID.of(manifest[1])], [(CID.of(manifest[1]), manifest[1]), *broken[1:]])


def bad_history_block(source: Store) -> bytes:
    roots, sections = car_sections(export_bytes(source, "dreamer", history=True))
    head = dict(sections)[roots[0]]
    node = dagjson.decode(head)
    assert isinstance(node, dict)
    node["committer"] = "did:key:z6Mk..."
    new = Block.encode(node)
    return make_car([new.cid], [*sections, (new.cid, new.data)])


def link_outside_the_state(source: Store) -> bytes:
    outside = Block.encode({"outside": True})
    memory = Block.encode({"see": outside.cid})
    manifest = State().with_memories({"m": memory.cid}).manifest()
    return make_car(
        [manifest.cid],
        [(b.cid, b.data) for b in (manifest, memory, outside)],
    )


def non_canonical_block(source: Store) -> bytes:
    data = b'{ "genome":{},"schema":1,"thoughts":[]}'
    cid = CID.of(data)
    return make_car([cid], [(cid, data)])


BAD_CARS = {
    "bad block": (bad_block, CIDMismatch),
    "truncated section": (truncated, CarTruncated),
    "missing linked block": (missing_block, CarIncomplete),
    "missing root block": (root_block_missing, CarIncomplete),
    "missing history parent": (missing_parent, CarIncomplete),
    "unknown codec": (unknown_codec, UnsupportedBlock),
    "unknown hash": (unknown_hash, UnsupportedBlock),
    "root of another codec": (cbor_root, CarRootError),
    "wrong header": (wrong_header, CarHeaderError),
    "huge varint": (huge_varint, CarSectionError),
    "root not a state": (not_a_state_root, CarRootError),
    "two roots": (two_roots, CarRootError),
    "manifest failing the schema": (bad_schema_manifest, CarInvalidState),
    "manifest with unsorted thoughts": (unsorted_manifest, CarInvalidState),
    "thought failing the schema": (bad_thought, CarInvalidState),
    "history block with a clock": (bad_history_block, HistoryFormatError),
    "link outside the state": (link_outside_the_state, CarInvalidState),
    "non-canonical root": (non_canonical_block, CarRootError),
}


@pytest.mark.parametrize("case", sorted(BAD_CARS))
def test_a_bad_car_is_refused_and_nothing_is_written(
    case: str, source: Store, target: Store
) -> None:
    build, error = BAD_CARS[case]
    car = build(source)
    target.think("beta was here")
    before = store_fingerprint(target)
    for experiment in ("main", "fresh"):
        with pytest.raises(error) as caught:
            load(target, car, experiment)
        assert type(caught.value) is error
        message = str(caught.value)
        assert "\n" not in message and len(message) < 400
        assert store_fingerprint(target) == before


def test_the_ipld_codec_fixtures_car_is_refused_cleanly(target: Store) -> None:
    before = store_fingerprint(target)
    car = (FIXTURES / "ipld-codec-fixtures" / "fixtures.car").read_bytes()
    with pytest.raises(CarRootError, match="0 roots"):
        load(target, car)
    assert store_fingerprint(target) == before


def test_the_fixtures_blocks_under_a_root_are_refused_for_their_codec(target: Store) -> None:
    from mindgit.ipld.car import CarReader

    sections = list(
        CarReader(io.BytesIO((FIXTURES / "ipld-codec-fixtures" / "fixtures.car").read_bytes()))
    )
    json_root = next(c for c, _ in sections if c.codec == 0x0129)
    with pytest.raises(UnsupportedBlock, match=r"dag-cbor|dag-pb"):
        load(target, make_car([json_root], sections))


def test_history_helpers_refuse_what_they_cannot_carry() -> None:
    state = State().manifest().cid
    with pytest.raises(HistoryFormatError, match="NUL"):
        HistoryBlock(state, (), "a\0b")
    with pytest.raises(HistoryFormatError, match="twice"):
        HistoryBlock(state, (state, state), "x")
    with pytest.raises(HistoryFormatError, match="limit"):
        HistoryBlock(state, (), "x" * ((64 << 10) + 1))
    with pytest.raises(HistoryFormatError, match="DAG-JSON manifest"):
        HistoryBlock(CID.of(b"x", RAW), (), "x")
    good = HistoryBlock(state, (), "m").encode()
    assert HistoryBlock.decode(good.cid, good.data) == HistoryBlock(state, (), "m")
    node = dagjson.decode(good.data)
    assert isinstance(node, dict)
    for key, value in (("schema", 2), ("schema", True), ("parents", "x"), ("message", 3)):
        changed = Block.encode({**node, key: value})
        with pytest.raises(HistoryFormatError):
            HistoryBlock.decode(changed.cid, changed.data)


def test_an_old_unreachable_object_an_import_reuses_is_freshened(
    source: Store, target: Store
) -> None:
    # git gc prunes unreachable objects older than gc.pruneExpire by their file's mtime (a
    # loose object's, or its pack's): an import reusing one must make it recent, as git does.
    car = export_bytes(source, "dreamer")
    load(target, car, "first")
    packs = sorted((Path(target.path) / "objects" / "pack").glob("*.pack"))
    assert len(packs) == 1
    long_ago = time.time() - 90 * 24 * 3600
    os.utime(packs[0], (long_ago, long_ago))
    git("--git-dir", str(target.path), "update-ref", "-d", f"{HEADS}first")
    target.repo.free()  # libgit2 remembers when it last freshened a pack
    load(target, car, "second")
    assert packs[0].stat().st_mtime > time.time() - 3600
    assert_verified(target)
