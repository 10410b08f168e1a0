"""The streamed pack writer: stock git reads, verifies and fscks what it writes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pygit2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mindgit.store.packs import (
    OBJ_BLOB,
    OBJ_TREE,
    PackWriteError,
    PackWriter,
    git_oid,
    tree_bytes,
)
from tests.conftest import fsck, git


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    path = tmp_path / "repo.git"
    git("init", "--bare", "-q", str(path))
    return path


def test_git_reads_verifies_and_fscks_the_pack(bare: Path) -> None:
    # Sizes around the object header's varint steps (4 bits, then 7 per byte) and zlib's
    # small/large paths.
    blobs = [
        bytes([i % 251]) * n for i, n in enumerate((0, 1, 15, 16, 2047, 2048, 4096, 4097, 300_000))
    ]
    with PackWriter(bare / "objects") as pack:
        oids = [pack.add(OBJ_BLOB, b) for b in blobs]
        assert pack.add(OBJ_BLOB, blobs[3]) == oids[3] and len(pack) == len(blobs)  # once
        tree = pack.add(OBJ_TREE, tree_bytes([(f"b{i}", False, o) for i, o in enumerate(oids)]))
        path = pack.finish()
    assert path is not None and path.with_suffix(".idx").exists()
    assert not list((bare / "objects" / "pack").glob("tmp_*"))
    out = git("--git-dir", str(bare), "verify-pack", "-v", str(path.with_suffix(".idx")))
    assert f"{tree.hex()} tree" in out
    for blob, oid in zip(blobs, oids, strict=True):
        assert oid == git_oid(OBJ_BLOB, blob)
        shown = subprocess.run(
            ["git", "--git-dir", str(bare), "cat-file", "blob", oid.hex()],
            capture_output=True,
            check=True,
        ).stdout
        assert shown == blob
    written = pygit2.Repository(str(bare))[pygit2.Oid(raw=tree)]
    assert isinstance(written, pygit2.Tree)
    assert sorted(str(e.name) for e in written) == sorted(f"b{i}" for i in range(len(blobs)))
    git("--git-dir", str(bare), "update-ref", "refs/tags/t", tree.hex())
    fsck(bare)


def test_an_empty_or_abandoned_pack_leaves_nothing(bare: Path) -> None:
    with PackWriter(bare / "objects") as pack:
        assert pack.finish() is None
    with pytest.raises(RuntimeError), PackWriter(bare / "objects") as pack:
        pack.add(OBJ_BLOB, b"never published")
        raise RuntimeError("interrupted")
    assert list((bare / "objects" / "pack").iterdir()) == []
    with pytest.raises(PackWriteError):
        pack.add(OBJ_BLOB, b"too late")


names = st.text(
    st.characters(codec="utf-8", exclude_characters="/\0"), min_size=1, max_size=12
).filter(
    # libgit2 refuses ".", "..", and anything a filesystem could take for .git ("GIT~1", ".Git ")
    lambda n: n not in (".", "..") and "git" not in n.lower()
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(names, st.booleans(), min_size=1, max_size=12))
def test_tree_bytes_sorts_as_libgit2_does(bare: Path, entries: dict[str, bool]) -> None:
    repo = pygit2.Repository(str(bare))
    blob = repo.create_blob(b"x")
    subtree = repo.TreeBuilder()
    subtree.insert("x", blob, pygit2.enums.FileMode.BLOB)
    sub = subtree.write()
    builder = repo.TreeBuilder()
    ours = []
    for name, is_tree in entries.items():
        oid = sub if is_tree else blob
        builder.insert(
            name, oid, pygit2.enums.FileMode.TREE if is_tree else pygit2.enums.FileMode.BLOB
        )
        ours.append((name, is_tree, oid.raw))
    theirs = builder.write()
    assert git_oid(OBJ_TREE, tree_bytes(ours)) == theirs.raw
