"""The gate's size and name scan reads a tree of plain files and directories with harmless
names from its bytes, and any other through libgit2: on any tree, hostile or not, both ways
must find the same problems in the same order and judge it unsafe alike."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mindgit.sync.gate import _Scanner

LIMIT = 64
NAMES = [b"a", b"b.json", b"states", b"x-1", b"Z_9", b"bafyabc", b"c+d=e"]
HOSTILE = [b".git", b"..", b".", b"GIT~1", b"a/b", b"a\\b", b".hidden", b"\xc3\xa9", b"-x", b""]
MODES = [b"100644", b"40000", b"100755", b"120000", b"160000", b"100664", b"040000", b"644"]


class _ThroughLibgit2(_Scanner):
    """The scan as it was before trees were read from their bytes."""

    def _plain_entries(self, oid: pygit2.Oid) -> list[tuple[bytes, bytes, bytes]] | None:
        return None


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> pygit2.Repository:
    path: Path = tmp_path_factory.mktemp("scan")
    return pygit2.init_repository(str(path), bare=True)


def _entry_target(repo: pygit2.Repository, data: st.DataObject, depth: int, mode: bytes) -> bytes:
    how = data.draw(st.integers(0, 5))
    if how == 0:
        return data.draw(st.binary(min_size=20, max_size=20))  # missing
    if mode in (b"40000", b"040000") and depth < 2 and how < 4:
        return _tree(repo, data, depth + 1).raw
    size = data.draw(st.sampled_from([0, 5, LIMIT, LIMIT + 1]))
    return repo.odb.write(pygit2.enums.ObjectType.BLOB, b"x" * size).raw


def _tree(repo: pygit2.Repository, data: st.DataObject, depth: int = 0) -> pygit2.Oid:
    entries = []
    for _ in range(data.draw(st.integers(0, 4))):
        mode = data.draw(st.sampled_from(MODES[:2] * 3 + MODES[2:]))
        name = data.draw(st.sampled_from(NAMES * 2 + HOSTILE))
        entries.append((mode, name, _entry_target(repo, data, depth, mode)))
    if data.draw(st.booleans()):
        entries.sort(key=lambda e: e[1])
    raw = b"".join(mode + b" " + name + b"\0" + oid for mode, name, oid in entries)
    if data.draw(st.integers(0, 9)) == 0:
        raw = raw[: data.draw(st.integers(0, len(raw)))]  # cut anywhere
    return repo.odb.write(pygit2.enums.ObjectType.TREE, raw)


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_the_raw_scan_finds_what_libgit2s_finds(
    repo: pygit2.Repository, data: st.DataObject
) -> None:
    top = _tree(repo, data)
    fast, slow = _Scanner(repo, LIMIT), _ThroughLibgit2(repo, LIMIT)
    assert list(fast._tree(top, "")) == list(slow._tree(top, ""))
    assert fast.unsafe == slow.unsafe
    assert fast.seen == slow.seen


def test_a_plain_tree_is_read_from_its_bytes(repo: pygit2.Repository) -> None:
    blob = repo.odb.write(pygit2.enums.ObjectType.BLOB, b"x" * (LIMIT + 1))
    sub = repo.odb.write(pygit2.enums.ObjectType.TREE, b"100644 big\0" + blob.raw)
    top = repo.odb.write(pygit2.enums.ObjectType.TREE, b"40000 d\0" + sub.raw)
    scanner = _Scanner(repo, LIMIT)
    assert scanner._plain_entries(top) == [(b"40000", b"d", sub.raw)]
    assert list(scanner._tree(top, "")) == [
        (blob.raw, "d/big", f"blob {blob} is {LIMIT + 1} bytes, over the {LIMIT}-byte limit")
    ]
    assert scanner.unsafe
