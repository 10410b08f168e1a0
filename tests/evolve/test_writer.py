"""The pack writer, checked by stock git: verify-pack, cat-file, fsck."""

from __future__ import annotations

from pathlib import Path

import pygit2

from mindgit.evolve.writer import write_pack
from mindgit.store.packs import OBJ_BLOB, OBJ_COMMIT, OBJ_TREE, git_oid, tree_bytes
from mindgit.store.repository import Store
from tests.conftest import fsck, git


def test_stock_git_reads_the_packs(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
    blobs = [b"", b"x", b"hello\n" * 1000, bytes(range(256)) * 300, b"y" * 70000]
    objects = [(OBJ_BLOB, b, git_oid(OBJ_BLOB, b)) for b in blobs]
    entries = [(f"b{i}", False, oid) for i, (_, _, oid) in enumerate(objects)]
    tree = tree_bytes(entries)
    objects.append((OBJ_TREE, tree, git_oid(OBJ_TREE, tree)))
    objects.append(objects[1])  # a duplicate is written once
    write_pack(Path(repo.path) / "objects", objects)
    (idx,) = (Path(repo.path) / "objects" / "pack").glob("*.idx")
    out = git("verify-pack", "-v", str(idx))
    assert out.strip().endswith(": ok")
    for data, (_, _, oid) in zip(blobs, objects, strict=False):
        assert repo[pygit2.Oid(raw=oid)].read_raw() == data
        assert git("--git-dir", repo.path, "cat-file", "-s", oid.hex()) == f"{len(data)}\n"
    listing = git("--git-dir", repo.path, "ls-tree", git_oid(OBJ_TREE, tree).hex())
    assert [line.split("\t")[1] for line in listing.splitlines()] == [f"b{i}" for i in range(5)]
    fsck(Path(repo.path))


def test_trees_sort_like_git(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
    blob = repo.create_blob(b"x")
    sub = repo.TreeBuilder()
    sub.insert("f", blob, pygit2.enums.FileMode.BLOB)
    sub_id = sub.write()
    # A tree sorts as if its name ended in "/": "a.b" < "a/" < "a0".
    names = [("a0", False), ("a", True), ("a.b", False), ("a-b", True)]
    tb = repo.TreeBuilder()
    entries = []
    for name, is_tree in names:
        oid = sub_id if is_tree else blob
        tb.insert(name, oid, pygit2.enums.FileMode.TREE if is_tree else pygit2.enums.FileMode.BLOB)
        entries.append((name, is_tree, oid.raw))
    expected = repo[tb.write()].read_raw()
    assert tree_bytes(entries) == expected


def test_stray_temporary_files_do_not_trouble_fsck(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
    pack_dir = Path(repo.path) / "objects" / "pack"
    pack_dir.mkdir(parents=True, exist_ok=True)
    (pack_dir / "tmp_pack_abc123").write_bytes(b"PACK\0\0\0\2 torn")
    fsck(Path(repo.path))


def test_parts_are_written_whole_and_in_order(tmp_path: Path) -> None:
    from mindgit.evolve.writer import _write_file

    parts = [bytes([i % 251]) * (i % 7) for i in range(2000)] + [b"x" * 200_000]
    _write_file(tmp_path, tmp_path / "out", parts, True)
    assert (tmp_path / "out").read_bytes() == b"".join(parts)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_generation_commits_are_the_commits_the_store_would_write(store: Store) -> None:
    from mindgit.evolve.writer import signed_commit

    head = store.head()
    tree = str(store.repo[head].peel(pygit2.Commit).tree.id)
    trailers = {"Mindgit-Run": "0123456789ab", "Mindgit-Generation": "3"}
    written = store.write_commit(tree, [head], "evolve: a message", None, trailers, when=1700000000)
    made = signed_commit(store, tree, [head], "evolve: a message", trailers, when=1700000000)
    assert store.repo[written].read_raw() == made
    assert git_oid(OBJ_COMMIT, made).hex() == written
