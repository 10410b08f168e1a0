"""`mindgit keys list` with a key file that cannot be used: every key that loads is listed, and
each damaged file is named on its own line on stderr, exit 1 (so scripts notice). One damaged
retired key failed the whole listing; nothing on disk changes either way."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from mindgit.identity.keys import KeyFileCorrupt, KeyFileInsecure
from mindgit.store.private import listed_keys
from mindgit.store.repository import Store, init_store
from mindgit.store.rotations import rotate_key
from tests.conftest import Mg


def _damage(path: Path, how: str) -> None:
    if how == "mode":
        path.chmod(0o640)
    elif how == "bytes":
        path.write_bytes(b"-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n")
    elif how == "pipe":
        path.unlink()
        os.mkfifo(path, 0o600)
    else:
        path.unlink()
        path.mkdir(mode=0o700)


@pytest.fixture
def rotated(tmp_path: Path) -> tuple[Store, Path, Path]:
    """A store rotated twice: its two retired key files, in the order they are listed (by
    name)."""
    store = init_store(tmp_path / "alpha", "alpha")
    first, second = sorted([rotate_key(store).retired_key, rotate_key(store).retired_key])
    return store, first, second


def snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """Every entry under ``root``: its mode, and a regular file's content (tests.snapshots reads
    every file, and would wait for ever on the named pipe)."""
    seen: dict[str, tuple[object, ...]] = {}
    for path in sorted(root.rglob("*")):
        mode = path.lstat().st_mode
        data = hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(mode) else None
        seen[str(path.relative_to(root))] = (mode, data)
    return seen


def _lines(out: str) -> list[list[str]]:
    return [line.split("\t") for line in out.splitlines()]


@pytest.mark.parametrize("how", ["mode", "bytes", "pipe", "directory"])
def test_a_damaged_retired_key_is_named_and_the_others_listed(
    rotated: tuple[Store, Path, Path], mg: Mg, how: str
) -> None:
    store, first, second = rotated
    good = rotated_dids(store, second)
    _damage(first, how)
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "keys", "list")
    assert r.code == 1, r
    assert _lines(r.out) == [
        ["current", store.public_key.did, str(store.key_path)],
        ["retired", good, str(second)],
    ]
    assert r.err.count("\n") == 1 and r.err.startswith("mindgit: error: "), r.err
    assert str(first) in r.err and "internal error" not in r.err
    assert snapshot(store.path) == before


def rotated_dids(store: Store, path: Path) -> str:
    # A retired key's file is named by its did's multibase part.
    return "did:key:" + path.stem


def test_the_json_document_holds_the_keys_and_the_damaged_files(
    rotated: tuple[Store, Path, Path], mg: Mg
) -> None:
    store, first, second = rotated
    first.chmod(0o644)
    second.write_bytes(b"junk")
    second.chmod(0o600)
    r = mg("--store", str(store.path), "keys", "list", "--json")
    assert r.code == 1, r
    doc = json.loads(r.out)
    assert doc["type"] == "KeyFileInsecure" and str(first) in doc["error"]
    assert doc["keys"] == [
        {"status": "current", "did": store.public_key.did, "path": str(store.key_path)}
    ]
    assert [d["path"] for d in doc["damaged"]] == [str(first), str(second)]
    assert "accessible by other users" in doc["damaged"][0]["error"]
    assert "corrupt" in doc["damaged"][1]["error"]
    # Each damaged file is its own line on stderr.
    lines = r.err.splitlines()
    assert len(lines) == 2 and str(first) in lines[0] and str(second) in lines[1], r.err


def test_a_damaged_current_key_hides_not_the_retired_ones(
    rotated: tuple[Store, Path, Path], mg: Mg
) -> None:
    store, first, second = rotated
    key = store.key_path
    key.chmod(0o644)
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "keys", "list")
    assert r.code == 1, r
    assert [(row[0], row[2]) for row in _lines(r.out)] == [
        ("retired", str(first)),
        ("retired", str(second)),
    ]
    assert r.err.count("\n") == 1 and str(key) in r.err, r.err
    assert snapshot(store.path) == before


def test_listed_keys_gives_the_keys_and_the_errors(rotated: tuple[Store, Path, Path]) -> None:
    store, first, second = rotated
    first.write_bytes(b"junk")
    keys, broken = listed_keys(store)
    assert [(k.status, k.path) for k in keys] == [
        ("current", store.key_path),
        ("retired", second),
    ]
    assert [(type(e), e.path) for e in broken] == [(KeyFileCorrupt, first)]
    second.chmod(0o604)
    assert [type(e) for e in listed_keys(store)[1]] == [KeyFileCorrupt, KeyFileInsecure]


def test_with_every_key_readable_the_listing_is_as_before(
    rotated: tuple[Store, Path, Path], mg: Mg
) -> None:
    store, first, second = rotated
    r = mg("--store", str(store.path), "keys", "list", "--json")
    assert r.code == 0 and r.err == "", r
    assert [(k["status"], k["path"]) for k in json.loads(r.out)] == [
        ("current", str(store.key_path)),
        ("retired", str(first)),
        ("retired", str(second)),
    ]
