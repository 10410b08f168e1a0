"""The gate (mindgit.sync.gate) called directly on a repository: ref policy, sizes, names, kinds.

The same checks run against real pushes in test_hooks_server.py; here each rule is pinned down
on its own, with builders other hook tests share.
"""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mindgit.identity.gitsig import add_gpgsig
from mindgit.identity.keys import NodeKey
from mindgit.identity.sshsig import sign
from mindgit.identity.trust import TrustStore
from mindgit.ipld.cid import CID
from mindgit.store.genome import Gene
from mindgit.store.repository import Store, init_store
from mindgit.store.rotations import rotate_key
from mindgit.store.verify import Problem
from mindgit.sync.gate import (
    DEFAULT_MAX_OBJECT_BYTES,
    ZERO_OID,
    RefUpdate,
    UpdateRefused,
    accepted_heads,
    check_commits,
    check_update,
    check_updates,
    name_problem,
)
from tests.conftest import git

BLOB = b"100644"
TREE = b"40000"


# ---- builders (shared by the other hook tests) ------------------------------------------------


def populated(store: Store) -> Store:
    store.think("a thought", ["t"])
    store.set_genes([Gene.make("x", "float", 0.5, min=-1, max=1)])
    return store


def raw_tree(repo: pygit2.Repository, entries: list[tuple[bytes, bytes, pygit2.Oid]]) -> pygit2.Oid:
    """A tree written byte for byte, so names libgit2 and git refuse to create can be made."""
    data = b"".join(mode + b" " + name + b"\0" + oid.raw for mode, name, oid in entries)
    oid: pygit2.Oid = repo.odb.write(pygit2.enums.ObjectType.TREE, data)
    return oid


def tree_entries(tree: pygit2.Tree) -> list[tuple[bytes, bytes, pygit2.Oid]]:
    out = []
    for e in tree:
        mode = TREE if e.filemode == pygit2.enums.FileMode.TREE else BLOB
        out.append((mode, e.raw_name or b"", e.id))
    return out


def with_entry(store: Store, name: bytes, *, nested: bool, blob: bytes = b"x") -> str:
    """A signed commit on top of the head whose tree gains an entry ``name`` (in thoughts/ when
    ``nested``). No ref moves: it is what a push would offer."""
    repo = store.repo
    head = store.head()
    commit = repo[head].peel(pygit2.Commit)
    evil = (BLOB, name, repo.create_blob(blob))
    root = tree_entries(commit.tree)
    if nested:
        thoughts = repo[commit.tree["thoughts"].id]
        assert isinstance(thoughts, pygit2.Tree)
        sub = raw_tree(repo, sorted([*tree_entries(thoughts), evil], key=lambda e: e[1]))
        root = [(m, n, sub if n == b"thoughts" else o) for m, n, o in root]
    else:
        root = sorted([*root, evil], key=lambda e: e[1] + (b"/" if e[0] == TREE else b""))
    return signed_raw_commit(store, raw_tree(repo, root), [head], "evil entry")


def signed_raw_commit(store: Store, tree: pygit2.Oid, parents: list[str], message: str) -> str:
    """A commit signed by the store's key, written byte for byte: libgit2 would parse the tree
    first and refuse some of the hostile ones."""
    who = f"{store.name} <{store.public_key.did}> 1700000000 +0000"
    content = f"tree {tree}\n" + "".join(f"parent {p}\n" for p in parents)
    content += f"author {who}\ncommitter {who}\n\n{message}\n"
    raw = add_gpgsig(content.encode(), sign(store.key, content.encode()))
    return str(store.repo.odb.write(pygit2.enums.ObjectType.COMMIT, raw))


def unsigned(store: Store) -> str:
    """An unsigned commit on top of the head (no ref moves)."""
    head = store.head()
    tree = str(store.repo[head].tree.id)
    return git(
        "--git-dir", str(store.path), "commit-tree", tree, "-p", head, "-m", "sneaky"
    ).strip()


def reasons(problems: list[Problem]) -> list[str]:
    return [p.reason for p in problems]


# ---- ref policy -------------------------------------------------------------------------------


def test_a_signed_update_passes(store: Store) -> None:
    old = store.head()
    populated(store)
    assert check_update(store.repo, store.trust, "refs/heads/main", old, store.head()) == []


def test_zero_ids_mean_create_and_delete() -> None:
    assert RefUpdate.of("refs/heads/x", ZERO_OID, "ab" * 20) == RefUpdate(
        "refs/heads/x", None, "ab" * 20
    )
    assert RefUpdate.of("refs/heads/x", "ab" * 20, ZERO_OID).new is None


@pytest.mark.parametrize(
    "ref",
    ["refs/tags/v1", "refs/notes/commits", "HEAD", "refs/heads/", "refs/remotes/origin/main"],
)
def test_refs_outside_the_accepted_namespaces_are_refused(store: Store, ref: str) -> None:
    problems = check_update(store.repo, store.trust, ref, None, store.head())
    assert any("outside the namespaces" in r for r in reasons(problems))


@pytest.mark.parametrize("ref", ["refs/heads/a..b", "refs/heads/x.lock", "refs/heads/-x/.y"])
def test_malformed_ref_names_are_refused(store: Store, ref: str) -> None:
    problems = check_update(store.repo, store.trust, ref, None, store.head())
    assert any("is not one mindgit accepts" in r for r in reasons(problems))


def test_deletion_is_refused_unless_allowed(store: Store) -> None:
    head = store.head()
    refused = check_update(store.repo, store.trust, "refs/heads/main", head, ZERO_OID)
    assert reasons(refused) == [
        "deleting refs/heads/main is refused (the server does not allow deletions)"
    ]
    allowed = check_update(
        store.repo, store.trust, "refs/heads/main", head, ZERO_OID, allow_delete=True
    )
    assert allowed == []


def test_rewind_names_both_heads_unless_allowed(store: Store) -> None:
    old = store.head()
    populated(store)
    new = store.head()
    problems = check_update(store.repo, store.trust, "refs/heads/main", new, old)
    assert len(problems) == 1
    assert problems[0].commit == old and new in problems[0].reason and old in problems[0].reason
    assert (
        check_update(store.repo, store.trust, "refs/heads/main", new, old, allow_rewind=True) == []
    )


def test_a_diverged_head_is_a_rewind_too(store: Store) -> None:
    base = store.head()
    store.think("one")
    ours = store.head()
    store.fork("other", start=base)
    store.think("two", experiment="other")
    theirs = store.head("other")
    problems = check_update(store.repo, store.trust, "refs/heads/main", ours, theirs)
    assert any("rewinds refs/heads/main" in r for r in reasons(problems))


def test_a_missing_or_non_commit_target_is_named(store: Store) -> None:
    missing = "1" * 40
    problems = check_update(store.repo, store.trust, "refs/heads/main", None, missing)
    assert reasons(problems) == ["is not a commit (the new value of refs/heads/main)"]
    blob = str(store.repo.create_blob(b"{}"))
    problems = check_update(store.repo, store.trust, "refs/heads/x", None, blob)
    assert reasons(problems) == ["is not a commit (the new value of refs/heads/x)"]


def test_the_tip_must_be_the_kind_its_namespace_holds(store: Store) -> None:
    head = store.head()
    problems = check_update(store.repo, store.trust, "refs/runs/abcdef012345", None, head)
    assert reasons(problems) == [
        "refs/runs/abcdef012345 must point at a run generation commit (generation.json)"
    ]
    problems = check_update(store.repo, store.trust, "refs/fitness/x", None, head)
    assert "must point at a fitness module commit" in reasons(problems)[0]


def test_accepted_heads_ignore_other_namespaces(store: Store) -> None:
    head = store.head()
    store.think("new")
    store.repo.references.create("refs/quarantine/peer/heads/main", store.head())
    store.repo.references.create("refs/heads/main", head, force=True)
    assert accepted_heads(store.repo) == [head]


def test_commits_behind_a_quarantine_ref_are_still_checked(store: Store) -> None:
    """A fetch's own namespace never makes its commits count as accepted."""
    head = store.head()
    bad = unsigned(store)
    store.repo.references.create("refs/quarantine/peer/heads/main", bad)
    problems = check_update(store.repo, store.trust, "refs/heads/main", head, bad)
    assert reasons(problems) == ["unsigned commit"]


def test_update_refused_error_carries_the_problems() -> None:
    problems = [Problem("a" * 40, "unsigned commit"), Problem("b" * 40, "bad signature: x")]
    error = UpdateRefused(problems)
    assert error.problems == tuple(problems)
    assert "aaaaaaaaaaaa: unsigned commit" in str(error) and "1 more" in str(error)


def test_several_updates_check_each_commit_once(store: Store) -> None:
    base = store.head()
    bad = unsigned(store)
    updates = [
        RefUpdate("refs/heads/main", base, bad),
        RefUpdate("refs/heads/copy", None, bad),
    ]
    problems = check_updates(store.repo, store.trust, updates)
    assert [(p.commit, p.reason) for p in problems] == [(bad, "unsigned commit")]


# ---- names and sizes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "words"),
    [
        (b"", "empty"),
        (b"..", "escape"),
        (b".", "escape"),
        (b"a/b", "path separator"),
        (b"a\\b", "path separator"),
        (b".git", "git directory"),
        (b".GIT", "git directory"),
        (b".git. ", "git directory"),
        (b"GIT~1", "git directory"),
        (b"a\0b", "NUL"),
    ],
)
def test_name_problem(name: bytes, words: str) -> None:
    problem = name_problem(name)
    assert problem is not None and words in problem


@given(st.binary(min_size=1, max_size=8).filter(lambda b: b[:1] not in (b".", b"g", b"G")))
def test_ordinary_names_pass(name: bytes) -> None:
    assert (name_problem(name) is None) == (
        b"/" not in name and b"\\" not in name and b"\0" not in name
    )


def test_cid_names_pass() -> None:
    assert name_problem(str(CID.of(b"{}")).encode()) is None


@pytest.mark.parametrize("name", [b"..", b".git", b"a/b", b"", b"."])
@pytest.mark.parametrize("nested", [False, True])
def test_hostile_entry_names_anywhere_are_refused(store: Store, name: bytes, nested: bool) -> None:
    populated(store)
    old = store.head()
    new = with_entry(store, name, nested=nested)
    problems = check_update(store.repo, store.trust, "refs/heads/main", old, new)
    where = "thoughts/" if nested else ""
    hits = [p for p in problems if p.object == where + name.decode() and p.commit == new]
    if name == b"":
        # libgit2 cannot even parse such a tree: that alone refuses it, and nothing reads on.
        assert [p.commit for p in problems] == [new]
        assert problems[0].object == ("thoughts" if nested else None)
        assert "cannot be parsed" in problems[0].reason
        return
    assert hits and name_problem(name) == hits[0].reason


def test_an_object_over_the_limit_is_refused_and_nothing_else_is_read(store: Store) -> None:
    old = store.head()
    new = with_entry(populated(store), b"big", nested=True, blob=b"\0" * 5000)
    problems = check_update(
        store.repo, store.trust, "refs/heads/main", old, new, max_object_bytes=4096
    )
    # Only the size is reported: the content checks (which read blobs) never ran.
    assert [(p.object, p.reason) for p in problems] == [
        (
            "thoughts/big",
            f"blob {_big_blob(store, new)} is 5000 bytes, over the 4096-byte limit",
        )
    ]


def test_the_default_limit_leaves_room_for_the_largest_module() -> None:
    assert DEFAULT_MAX_OBJECT_BYTES >= 2 * (16 << 20)


def test_a_gitlink_entry_is_refused(store: Store) -> None:
    head = store.head()
    commit = store.repo[head].peel(pygit2.Commit)
    entries = [*tree_entries(commit.tree), (b"160000", b"sub", pygit2.Oid(hex=head))]
    oid = store.write_commit(raw_tree(store.repo, sorted(entries, key=lambda e: e[1])), [head], "x")
    problems = check_update(store.repo, store.trust, "refs/heads/main", head, oid)
    assert any(p.object == "sub" and "gitlink" in p.reason for p in problems)


def test_unwalkable_history_is_a_problem_not_a_crash(store: Store) -> None:
    problems = check_commits(store.repo, store.trust, ["2" * 40])
    assert len(problems) == 1 and "cannot be walked" in problems[0].reason


# ---- key rotations ----------------------------------------------------------------------------


def test_a_rotation_signed_by_its_old_key_passes(store: Store) -> None:
    rotation = rotate_key(store)
    problems = check_update(store.repo, store.trust, "refs/keys/announce", None, rotation.commit)
    assert problems == []


def test_a_rotation_signed_by_another_trusted_key_is_refused(store: Store, tmp_path: Path) -> None:
    rotation = rotate_key(store)
    # Re-sign the same announcement tree with another key this store trusts.
    other = NodeKey.generate()
    store.trust.add(other.public, "other")
    commit = store.repo[rotation.commit].peel(pygit2.Commit)
    store._key = other
    forged = store.write_commit(commit.tree_id, [], "keys: rotate alpha")
    problems = check_update(store.repo, store.trust, "refs/keys/announce", None, forged)
    assert reasons(problems) == [
        f"the rotation is signed by {other.public.did}, not by its old key"
    ]


def test_server_trust_can_live_anywhere(tmp_path: Path, store: Store) -> None:
    trust = TrustStore(tmp_path / "allowed")
    problems = check_commits(store.repo, trust, [store.head()])
    assert any("untrusted key" in r for r in reasons(problems))
    trust.add(store.public_key, "alpha")
    assert check_commits(store.repo, trust, [store.head()]) == []


def test_other_store_history_is_checked_in_full(tmp_path: Path) -> None:
    alpha = init_store(tmp_path / "a", "alpha")
    beta = init_store(tmp_path / "b", "beta")
    beta.think("from beta")
    git("--git-dir", str(alpha.path), "fetch", str(beta.path), "main:refs/quarantine/beta")
    tip = str(alpha.repo.references["refs/quarantine/beta"].target)
    problems = check_update(alpha.repo, alpha.trust, "refs/heads/beta", None, tip)
    # Both of beta's commits (its init and its thought), each named.
    assert len({p.commit for p in problems}) == 2
    assert all("untrusted key " + beta.public_key.did in p.reason for p in problems)


def _big_blob(store: Store, commit: str) -> pygit2.Oid:
    head = store.repo[commit].peel(pygit2.Commit)
    thoughts = store.repo[head.tree["thoughts"].id]
    assert isinstance(thoughts, pygit2.Tree)
    return thoughts["big"].id


def test_an_unwalkable_history_says_why(store: Store) -> None:
    """A commit that is not there is named missing; one libgit2 cannot parse, malformed (both
    were "objects are missing")."""
    problems = check_commits(store.repo, store.trust, ["2" * 40])
    assert [p.reason for p in problems] == [
        f"history cannot be walked: commit {'2' * 40} is missing"
    ]
    tree = store.repo[store.head()].peel(pygit2.Commit).tree_id
    bad = store.repo.odb.write(
        pygit2.enums.ObjectType.COMMIT, f"tree {tree}\nparent not-an-id\n\nx\n".encode()
    )
    problems = check_commits(store.repo, store.trust, [str(bad)])
    assert len(problems) == 1
    assert problems[0].reason.startswith(
        "history cannot be walked: a commit it reaches is malformed ("
    ), problems[0].reason
    assert "missing" not in problems[0].reason
