"""The gate's size and name scan reads a tree of plain files and directories with harmless
names from its bytes, and any other through libgit2: on any tree, hostile or not, both ways
must find the same problems in the same order and judge it unsafe alike. It reads the tree of
a commit a trusted key signed, and of no other."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mindgit.identity.gitsig import add_gpgsig
from mindgit.identity.keys import NodeKey
from mindgit.identity.sshsig import sign
from mindgit.identity.trust import TrustStore
from mindgit.sync.gate import _Scanner

LIMIT = 64
COMMIT_LIMIT = 4096
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


def no_trust(repo: pygit2.Repository) -> TrustStore:
    """A trust store naming no key (its file is absent)."""
    return TrustStore(Path(repo.path) / "no_allowed_signers")


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
    fast, slow = _Scanner(repo, LIMIT, no_trust(repo)), _ThroughLibgit2(repo, LIMIT, no_trust(repo))
    assert list(fast._tree(top, "")) == list(slow._tree(top, ""))
    assert fast.unsafe == slow.unsafe
    assert fast.seen == slow.seen


def test_a_plain_tree_is_read_from_its_bytes(repo: pygit2.Repository) -> None:
    blob = repo.odb.write(pygit2.enums.ObjectType.BLOB, b"x" * (LIMIT + 1))
    sub = repo.odb.write(pygit2.enums.ObjectType.TREE, b"100644 big\0" + blob.raw)
    top = repo.odb.write(pygit2.enums.ObjectType.TREE, b"40000 d\0" + sub.raw)
    scanner = _Scanner(repo, LIMIT, no_trust(repo))
    assert scanner._plain_entries(top) == [(b"40000", b"d", sub.raw)]
    assert list(scanner._tree(top, "")) == [
        (blob.raw, "d/big", f"blob {blob} is {LIMIT + 1} bytes, over the {LIMIT}-byte limit")
    ]
    assert scanner.unsafe


def raw_commit(repo: pygit2.Repository, tree: pygit2.Oid, key: NodeKey | None) -> str:
    """A commit of ``tree``, which need not exist nor be a tree, unsigned or signed by ``key``."""
    body = b"tree %s\nauthor a <a@b> 1 +0000\ncommitter a <a@b> 1 +0000\n\nt\n" % str(tree).encode()
    if key is not None:
        body = add_gpgsig(body, sign(key, body))
    return str(repo.odb.write(pygit2.enums.ObjectType.COMMIT, body))


def test_only_a_trusted_keys_commits_have_their_trees_read(
    repo: pygit2.Repository, tmp_path: Path
) -> None:
    # A tree holding a '..' entry and a blob over the limit, a tree that is absent, one that is
    # no tree: each is named under a trusted key's commit, and under no other, whose tree the
    # scan leaves unread (its signature is named by the content checks). The limit lets a
    # signed commit through.
    trust = TrustStore(tmp_path / "allowed_signers")
    trusted, stranger = NodeKey.generate(), NodeKey.generate()
    trust.add(trusted.public, "alpha")
    big = repo.odb.write(pygit2.enums.ObjectType.BLOB, b"x" * (COMMIT_LIMIT + 1))
    hostile = repo.odb.write(pygit2.enums.ObjectType.TREE, b"100644 ..\0" + big.raw)
    absent = pygit2.Oid(hex="1" * 40)
    not_a_tree = repo.odb.write(pygit2.enums.ObjectType.TREE, b"not a tree at all")
    expected = {
        hostile: ["tree entry name '..' would escape its directory", f"blob {big} is"],
        absent: [f"tree {absent} is missing"],
        not_a_tree: [f"tree {not_a_tree} cannot be parsed"],
    }
    for tree, reasons in expected.items():
        for key in (None, stranger):
            commit = raw_commit(repo, tree, key)
            scanner = _Scanner(repo, COMMIT_LIMIT, trust)
            assert list(scanner.commit(commit)) == []
            assert scanner.seen == set() and not scanner.unsafe
            assert scanner.signed == {commit: None}
        commit = raw_commit(repo, tree, trusted)
        scanner = _Scanner(repo, COMMIT_LIMIT, trust)
        found = [problem.reason for _, problem in scanner.commit(commit)]
        assert len(found) == len(reasons), found
        assert all(f.startswith(r) for f, r in zip(found, reasons, strict=True)), found
        assert scanner.signed == {commit: trusted.public}
