from __future__ import annotations

import subprocess
from pathlib import Path

import pygit2

from mindgit.identity.keys import NodeKey
from mindgit.store.genome import Gene
from mindgit.store.repository import Store, init_store
from mindgit.store.verify import verify_commits
from tests.conftest import git


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
    tree = str(store.repo[head].tree.id)
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
    thoughts = store.repo.TreeBuilder(store.repo[commit.tree["thoughts"].id])
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
    oid = store.write_commit(store.repo[head].tree.id, [head], "lie", fake)
    store.repo.references.create("refs/heads/main", oid, force=True)
    assert any("Mindgit-State says" in p for p in verify_all(store))


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
    blob = store.snapshot().tree["thoughts"][str(cid)].id
    hexid = str(blob)
    (copy / "objects" / hexid[:2] / hexid[2:]).unlink()
    assert verify_all(store) == []
    other = Store(copy)
    report = verify_commits(other.repo, other.trust, [other.head()])
    assert any("missing" in p.reason for p in report.problems)
