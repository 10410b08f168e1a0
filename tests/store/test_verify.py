from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pygit2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.identity.keys import NodeKey
from mindgit.ipld.cid import CID
from mindgit.store import history
from mindgit.store.genome import Gene
from mindgit.store.repository import Store, init_store
from mindgit.store.verify import Verifier, _tree_entries, verify_commits, walk
from tests.conftest import git

T = TypeVar("T")


def verify_all(store: Store) -> list[str]:
    report = verify_commits(store.repo, store.trust, [store.head()])
    return [str(p) for p in report.problems]


def populated(store: Store) -> Store:
    store.think("a thought", ["t"])
    store.set_genes([Gene.make("x", "float", 0.5, min=-1, max=1)])
    return store


def test_clean_history_verifies(store: Store) -> None:
    assert verify_all(populated(store)) == []


def raw_commit(store: Store, tree: str, parents: list[str], message: str) -> str:
    args = ["--git-dir", str(store.path), "commit-tree", tree, "-m", message]
    for p in parents:
        args += ["-p", p]
    return git(*args).strip()


def test_unsigned_commit_is_named(store: Store) -> None:
    populated(store)
    head = store.head()
    tree = str(store.repo[head].peel(pygit2.Commit).tree.id)
    oid = raw_commit(store, tree, [head], "sneaky")
    store.repo.references.create("refs/heads/main", oid, force=True)
    problems = verify_all(store)
    assert problems == [f"{oid[:12]}: unsigned commit"]


def test_untrusted_signer_is_named(store: Store, tmp_path: Path) -> None:
    other = init_store(tmp_path / "beta", "beta")
    other.think("from beta")
    # bring beta's commit into alpha's object store
    git("--git-dir", str(store.path), "fetch", str(other.path), "main:refs/heads/beta")
    report = verify_commits(store.repo, store.trust, [store.head("beta")])
    reasons = [p.reason for p in report.problems]
    assert any("untrusted key " + other.public_key.did in r for r in reasons)
    store.trust.add(other.public_key, "beta")
    assert verify_commits(store.repo, store.trust, [store.head("beta")]).ok


def test_tampered_thought_blob_is_named(store: Store) -> None:
    _, cid = store.think("original")
    head = store.head()
    # Re-sign a tree whose thought blob was swapped for other bytes under the same name.
    bad_blob = store.repo.create_blob(b'{"tags":[],"text":"tampered","type":"note"}')
    commit = store.repo[head]
    thoughts = store.repo.TreeBuilder(commit.tree["thoughts"].id)
    thoughts.insert(str(cid), bad_blob, pygit2.enums.FileMode.BLOB)
    root = store.repo.TreeBuilder(commit.tree)
    root.insert("thoughts", thoughts.write(), pygit2.enums.FileMode.TREE)
    oid = store.write_commit(root.write(), [head], "tamper")
    store.repo.references.create("refs/heads/main", oid, force=True)
    problems = verify_all(store)
    assert len(problems) == 1 and f"thought {cid}" in problems[0] and "hash to" in problems[0]


def test_valid_signature_over_altered_content(store: Store) -> None:
    populated(store)
    head = store.head()
    _kind, raw = store.repo.read(head)
    altered = raw.replace(b"genome: set", b"genome: SET")
    oid = store.repo.write(pygit2.enums.ObjectType.COMMIT, altered)
    store.repo.references.create("refs/heads/main", str(oid), force=True)
    problems = verify_all(store)
    assert any("bad signature" in p for p in problems)


def test_non_canonical_manifest_is_named(store: Store) -> None:
    populated(store)
    head = store.head()
    commit = store.repo[head]
    data = store.repo[commit.tree["manifest.json"].id].read_raw()
    spaced = data.replace(b'"schema":1', b'"schema": 1')
    root = store.repo.TreeBuilder(commit.tree)
    root.insert("manifest.json", store.repo.create_blob(spaced), pygit2.enums.FileMode.BLOB)
    oid = store.write_commit(root.write(), [head], "spaces")
    store.repo.references.create("refs/heads/main", oid, force=True)
    problems = verify_all(store)
    assert len(problems) == 1 and "manifest" in problems[0]


def test_wrong_state_trailer_is_named(store: Store) -> None:
    populated(store)
    head = store.head()
    from mindgit.ipld.cid import CID

    fake = CID.of(b"{}")
    oid = store.write_commit(store.repo[head].peel(pygit2.Commit).tree.id, [head], "lie", fake)
    store.repo.references.create("refs/heads/main", oid, force=True)
    assert any("Mindgit-State says" in p for p in verify_all(store))


def test_a_long_state_trailer_is_quoted_cut(store: Store) -> None:
    """The signer chose the trailer: a 200,000-character one made a verify line as long."""
    populated(store)
    head = store.head()
    tree = store.repo[head].peel(pygit2.Commit).tree.id
    oid = store.write_commit(tree, [head], "x\n\nMindgit-State: " + "b" * 200_000)
    store.repo.references.create("refs/heads/main", oid, force=True)
    (problem,) = [p for p in verify_all(store) if "Mindgit-State says" in p]
    assert f"Mindgit-State says {'b' * 80!r}... (200000 characters) but the manifest is " in problem
    assert len(problem) < 250


def test_removed_trust_makes_old_commits_fail(store: Store, tmp_path: Path) -> None:
    other_key = NodeKey.generate()
    store.trust.add(other_key.public, "gamma")
    store._key = other_key  # this node now signs as gamma
    store.think("signed by gamma")
    assert verify_all(store) == []
    store.trust.remove("gamma")
    assert any("untrusted key" in p for p in verify_all(store))


def test_git_verify_commit_agrees(store: Store, tmp_path: Path) -> None:
    populated(store)
    signers = tmp_path / "allowed"

    def git_verify() -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [
                "git",
                "--git-dir",
                str(store.path),
                "-c",
                "gpg.format=ssh",
                "-c",
                f"gpg.ssh.allowedSignersFile={signers}",
                "verify-commit",
                "main",
            ],
            capture_output=True,
        )

    signers.write_text(store.trust.export())
    out = git_verify()
    assert out.returncode == 0 and b'Good "git" signature' in out.stderr
    signers.write_text("")
    assert git_verify().returncode != 0


def test_one_process_verifying_two_copies_sees_each_ones_objects(
    store: Store, tmp_path: Path
) -> None:
    import shutil

    _, cid = store.think("present here, gone in the copy")
    copy = tmp_path / "copy"
    shutil.copytree(store.path, copy)
    hexid = str(_thought_blob(store, cid))
    (copy / "objects" / hexid[:2] / hexid[2:]).unlink()
    assert verify_all(store) == []
    other = Store(copy)
    report = verify_commits(other.repo, other.trust, [other.head()])
    assert any("missing" in p.reason for p in report.problems)


# ---- the verifier's shortcuts agree with checking each commit afresh ----------------------------


def _side_commit(store: Store, build: Callable[[pygit2.Commit], pygit2.Oid], message: str) -> str:
    """A signed commit on top of main whose tree ``build`` makes; main does not move."""
    head = store.head()
    return store.write_commit(build(_object(store, head, pygit2.Commit)), [head], message)


def _object(store: Store, oid: str | pygit2.Oid, kind: type[T]) -> T:
    obj = store.repo[oid]
    assert isinstance(obj, kind)
    return obj


def _thought_blob(store: Store, cid: CID) -> pygit2.Oid:
    thoughts = _object(store, store.snapshot().tree["thoughts"].id, pygit2.Tree)
    return thoughts[str(cid)].id


def _with_manifest(
    store: Store, commit: pygit2.Commit, edit: Callable[[bytes], bytes]
) -> pygit2.Oid:
    data = store.repo[commit.tree["manifest.json"].id].read_raw()
    root = store.repo.TreeBuilder(commit.tree)
    root.insert("manifest.json", store.repo.create_blob(edit(data)), pygit2.enums.FileMode.BLOB)
    return root.write()


def _with_thought(store: Store, commit: pygit2.Commit, name: str, blob: pygit2.Oid) -> pygit2.Oid:
    thoughts = store.repo.TreeBuilder(commit.tree["thoughts"].id)
    thoughts.insert(name, blob, pygit2.enums.FileMode.BLOB)
    root = store.repo.TreeBuilder(commit.tree)
    root.insert("thoughts", thoughts.write(), pygit2.enums.FileMode.TREE)
    return root.write()


def test_a_history_verified_in_one_run_gets_the_verdicts_of_fresh_checks(
    store: Store, tmp_path: Path
) -> None:
    """One Verifier reuses what it checked (trees, blobs, the last manifest, one changed gene);
    each commit must get exactly the result a verifier that has seen nothing gives it."""
    stranger = init_store(tmp_path / "stranger", "stranger")
    tips = []
    _, first = store.think("first", ["t"])
    _, second = store.think("second", ["t"])
    first_blob = _thought_blob(store, first)
    for i in range(12):
        store.set_genes(
            [
                Gene.make("x", "float", i / 16, min=-1, max=1),
                Gene.make(f"g{i % 3}", "int", i, min=0, max=20),
                Gene.make("on", "bool", i % 2 == 0),
            ][: 1 + i % 3]
        )
        if i % 4 == 3:
            _, latest = store.think(f"thought {i}")
        if i == 9:
            store.forget(latest)
        edits: list[Callable[[pygit2.Commit], pygit2.Oid]] = [
            lambda c: _with_manifest(store, c, lambda d: d.replace(b'"value":', b'"value": ', 1)),
            lambda c: _with_manifest(store, c, lambda d: d.replace(b'"max":1,', b'"max":0,', 1)),
            lambda c: _with_manifest(
                store, c, lambda d: d.replace(b'"type":"bool"', b'"type":"boo"')
            ),
            # thought 'second' named by the bytes of 'first': checked before, under another name
            lambda c: _with_thought(store, c, str(second), first_blob),
            lambda c: _with_thought(store, c, str(first), store.repo.create_blob(b'{"x":1}')),
        ]
        tips.append(_side_commit(store, edits[i % len(edits)], f"bad {i}"))
    stranger_key = stranger.key
    good_key = store.key
    store._key = stranger_key
    tips.append(
        store.write_commit(
            store.repo[store.head()].peel(pygit2.Commit).tree.id, [store.head()], "stranger"
        )
    )
    store._key = good_key
    tips.append(store.head())

    report = verify_commits(store.repo, store.trust, tips)
    assert len(report.results) == 32
    for result in report.results:
        fresh = Verifier(store.repo, store.trust).check_commit(result.commit)
        assert result == fresh
    # `log` checks newest first: each state has a thought fewer or a gene changed
    for entry in history.log(store):
        fresh = Verifier(store.repo, store.trust).check_commit(entry.commit)
        assert entry.problems == tuple(p.reason for p in fresh.problems)
    reasons = " ".join(p.reason for p in report.problems)
    for expected in ("canonical", "above max", "unknown type", "hash to", "untrusted key"):
        assert expected in reasons
    assert sum(not r.ok for r in report.results) == 13


def test_a_blob_checked_under_one_name_is_refused_under_another(store: Store) -> None:
    _, first = store.think("first")
    _, second = store.think("second")
    blob = _thought_blob(store, first)
    oid = _side_commit(store, lambda c: _with_thought(store, c, str(second), blob), "swap")
    report = verify_commits(store.repo, store.trust, [store.head(), oid])
    assert [str(p) for p in report.problems] == [
        f"{oid[:12]} (thought {second}): bytes hash to {first}, not to their name"
    ]


def test_a_commit_whose_tree_is_missing_is_named(store: Store) -> None:
    head = store.head()
    missing = "0123456789abcdef0123456789abcdef01234567"
    raw = f"tree {missing}\nparent {head}\nauthor a <a> 0 +0000\ncommitter a <a> 0 +0000\n\nx\n"
    oid = str(store.repo.write(pygit2.enums.ObjectType.COMMIT, raw.encode()))
    result = Verifier(store.repo, store.trust).check_commit(oid)
    assert [p.reason for p in result.problems] == [
        "unsigned commit",
        f"tree {missing} is missing",
    ]


def test_a_commit_that_does_not_start_with_its_tree_is_named(store: Store) -> None:
    raw = b"author a <a> 0 +0000\ncommitter a <a> 0 +0000\n\nx\n"
    oid = str(store.repo.write(pygit2.enums.ObjectType.COMMIT, raw))
    result = Verifier(store.repo, store.trust).check_commit(oid)
    assert [p.reason for p in result.problems] == [
        "unsigned commit",
        "malformed commit: it does not start with its tree",
    ]


def test_a_malformed_tree_is_named(store: Store) -> None:
    head = store.head()
    bad_tree = store.repo.write(pygit2.enums.ObjectType.TREE, b"100644 manifest.json\0short")
    raw = f"tree {bad_tree}\nparent {head}\nauthor a <a> 0 +0000\ncommitter a <a> 0 +0000\n\nx\n"
    oid = str(store.repo.write(pygit2.enums.ObjectType.COMMIT, raw.encode()))
    result = Verifier(store.repo, store.trust).check_commit(oid)
    assert result.problems[-1].reason == f"tree {bad_tree} is not a well-formed tree"


def test_a_thought_name_that_is_not_utf8_is_named_not_linked(store: Store) -> None:
    populated(store)
    commit = _object(store, store.head(), pygit2.Commit)
    thoughts = _object(store, commit.tree["thoughts"].id, pygit2.Tree)
    entries = b"".join(f"100644 {e.name}\0".encode() + e.id.raw for e in thoughts)
    blob = store.repo.create_blob(b'{"tags":[],"text":"x","type":"note"}')
    odd = store.repo.write(pygit2.enums.ObjectType.TREE, entries + b"100644 \xff\xfe\0" + blob.raw)
    root = store.repo.TreeBuilder(commit.tree)
    root.insert("thoughts", odd, pygit2.enums.FileMode.TREE)
    oid = store.write_commit(root.write(), [str(commit.id)], "odd name")
    result = Verifier(store.repo, store.trust).check_commit(oid)
    assert [(p.object, p.reason) for p in result.problems] == [
        ("thoughts/\\xff\\xfe", "not linked from the manifest")
    ]


def _reference_entries(raw: bytes) -> dict[str, tuple[bytes, int]] | None:
    """A tree's entries read one by one, as git's format says: <octal mode> <name>\\0<20 bytes>."""
    entries = {}
    order: list[tuple[bytes, bool]] = []
    at = 0
    while at < len(raw):
        space = raw.find(b" ", at)
        nul = raw.find(b"\0", space + 1) if space >= 0 else -1
        mode = raw[at:space] if space >= 0 else b""
        if nul < 0 or nul + 21 > len(raw) or not (5 <= len(mode) <= 6):
            return None
        if any(c not in b"01234567" for c in mode):
            return None
        name = raw[space + 1 : nul]
        is_dir = int(mode, 8) & 0o170000 == 0o40000
        if order:
            # git's base_name_compare: bytes up to the shorter length, then the next byte, a
            # directory's name going on with "/" and a file's ending
            last, last_dir = order[-1]
            n = min(len(last), len(name))
            if last[:n] == name[:n]:
                a = last[n] if len(last) > n else (0x2F if last_dir else 0)
                b = name[n] if len(name) > n else (0x2F if is_dir else 0)
                if a >= b:
                    return None
            elif last[:n] > name[:n]:
                return None
        order.append((name, is_dir))
        text = name.decode("utf-8", errors="backslashreplace")
        if text in entries:
            return None
        entries[text] = (raw[nul + 1 : nul + 21], int(mode, 8))
        at = nul + 21
    return entries


_tree_entry = st.builds(
    lambda mode, name, oid: mode + b" " + name + b"\0" + oid,
    st.sampled_from([b"100644", b"40000", b"100755", b"120000", b"160000", b"1006440", b"644"]),
    st.binary(max_size=12).filter(lambda n: b"\0" not in n),
    st.binary(min_size=20, max_size=20),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(_tree_entry, st.binary(max_size=24)), max_size=6).map(b"".join),
)
def test_tree_entries_are_read_as_the_format_says(raw: bytes) -> None:
    assert _tree_entries(raw) == _reference_entries(raw)


def test_tree_entries_agree_with_pygit2(store: Store) -> None:
    populated(store)
    store.think("another", ["t"])
    tree = _object(store, store.snapshot().tree["thoughts"].id, pygit2.Tree)
    _, raw = store.repo.read(tree.id)
    assert _tree_entries(raw) == {str(e.name): (e.id.raw, int(e.filemode)) for e in tree}


# ---- a linear history is walked by reading each commit once -------------------------------------


def _raw_commit(store: Store, tree: str, parents: list[str], extra: str = "") -> str:
    lines = [f"tree {tree}", *(f"parent {p}" for p in parents)]
    text = "\n".join(lines) + f"\n{extra}author a <a> 0 +0000\ncommitter a <a> 0 +0000\n\nx\n"
    return str(store.repo.write(pygit2.enums.ObjectType.COMMIT, text.encode()))


def test_a_linear_history_is_verified_in_walk_order_from_one_read_each(store: Store) -> None:
    populated(store)
    store.think("more")
    head = store.head()
    chain = Verifier(store.repo, store.trust).linear_history([head])
    assert chain == list(walk(store.repo, [head])) and len(chain) == 4
    report = verify_commits(store.repo, store.trust, [head])
    assert [r.commit for r in report.results] == chain and report.ok


def test_a_history_with_a_merge_is_left_to_libgit2s_walk(store: Store) -> None:
    populated(store)
    head = store.head()
    tree = str(store.repo[head].peel(pygit2.Commit).tree.id)
    side = store.write_commit(tree, [head], "side")
    merge = store.write_commit(tree, [head, side], "merge")
    top = store.write_commit(tree, [merge], "top")
    assert Verifier(store.repo, store.trust).linear_history([top]) is None
    report = verify_commits(store.repo, store.trust, [top])
    assert [r.commit for r in report.results] == list(walk(store.repo, [top]))
    assert report.ok
    # two tips, or commits to hide: libgit2 walks
    assert Verifier(store.repo, store.trust).linear_history([top, side]) is None
    shown = verify_commits(store.repo, store.trust, [top], [side])
    assert [r.commit for r in shown.results] == list(walk(store.repo, [top], [side]))


def test_a_commit_git_would_not_parse_or_a_grafted_store_is_left_to_libgit2(store: Store) -> None:
    head = store.head()
    tree = str(store.repo[head].peel(pygit2.Commit).tree.id)
    odd = _raw_commit(store, tree, [head], extra="parent nothex\n")
    assert Verifier(store.repo, store.trust).linear_history([odd]) is None
    missing = _raw_commit(store, tree, ["0123456789abcdef0123456789abcdef01234567"])
    assert Verifier(store.repo, store.trust).linear_history([missing]) is None
    with pytest.raises(KeyError):  # libgit2's NotFoundError
        list(walk(store.repo, [missing]))
    # verify names the parent the walk could not find, as it names a damaged one.
    report = verify_commits(store.repo, store.trust, [missing])
    assert "0123456789ab: object missing" in [str(p) for p in report.problems]
    fine = _raw_commit(store, tree, [head])
    assert Verifier(store.repo, store.trust).linear_history([fine]) == [head, fine]
    (store.path / "info").mkdir(exist_ok=True)
    (store.path / "info" / "grafts").write_text(f"{fine}\n")
    assert Verifier(store.repo, store.trust).linear_history([fine]) is None


def test_a_linked_thought_filed_as_a_directory_is_named(store: Store) -> None:
    _, cid = store.think("a thought")
    empty = store.repo.TreeBuilder().write()

    def as_directory(commit: pygit2.Commit) -> pygit2.Oid:
        thoughts = store.repo.TreeBuilder(commit.tree["thoughts"].id)
        thoughts.insert(str(cid), empty, pygit2.enums.FileMode.TREE)
        root = store.repo.TreeBuilder(commit.tree)
        root.insert("thoughts", thoughts.write(), pygit2.enums.FileMode.TREE)
        return root.write()

    oid = _side_commit(store, as_directory, "a directory")
    report = verify_commits(store.repo, store.trust, [store.head(), oid])
    assert [str(p) for p in report.problems] == [f"{oid[:12]} (thought {cid}): not a regular file"]
