"""The decisive check: stock ``git verify-commit`` accepts commits mindgit signs, judged by exit code.

git prints "Good ... signature" even for a key that is not in the allowed-signers file (then
"No principal matched" and exit 1), so every verdict here is the exit code or ``%G?``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.identity import sshsig
from mindgit.identity.gitsig import add_gpgsig, split_gpgsig
from mindgit.identity.keys import NodeKey
from mindgit.identity.trust import TrustStore

from .tools import ok, run


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    ok("git", "init", "-q", path)
    return path


def make_commit(repo: Path, message: str = "a state") -> bytes:
    """An unsigned commit made by git itself; returns its raw content."""
    blob = (
        ok("git", "-C", repo, "hash-object", "-w", "--stdin", stdin=b"thought\n").decode().strip()
    )
    tree = (
        ok("git", "-C", repo, "mktree", stdin=f"100644 blob {blob}\tthought.json\n".encode())
        .decode()
        .strip()
    )
    oid = ok("git", "-C", repo, "commit-tree", tree, "-m", message).decode().strip()
    return ok("git", "-C", repo, "cat-file", "commit", oid)


def write_signed(repo: Path, content: bytes, key: NodeKey, branch: str = "signed") -> str:
    """Sign with mindgit, insert the gpgsig header, store the object and point a branch at it."""
    signed = add_gpgsig(content, sshsig.sign(key, content))
    oid = (
        ok("git", "-C", repo, "hash-object", "-t", "commit", "-w", "--stdin", stdin=signed)
        .decode()
        .strip()
    )
    ok("git", "-C", repo, "update-ref", f"refs/heads/{branch}", oid)
    return oid


def verify_commit(repo: Path, allowed: Path, oid: str) -> tuple[int, str]:
    proc = run(
        "git",
        "-C",
        repo,
        "-c",
        "gpg.format=ssh",
        "-c",
        f"gpg.ssh.allowedSignersFile={allowed}",
        "verify-commit",
        oid,
    )
    return proc.returncode, proc.stderr.decode()


def signature_status(repo: Path, allowed: Path, oid: str) -> list[str]:
    out = ok(
        "git",
        "-C",
        repo,
        "-c",
        "gpg.format=ssh",
        "-c",
        f"gpg.ssh.allowedSignersFile={allowed}",
        "log",
        "-1",
        "--format=%G?%n%GS%n%GK",
        oid,
    )
    return out.decode().splitlines()


def exported(tmp_path: Path, store: TrustStore, name: str = "exported_signers") -> Path:
    path = tmp_path / name
    path.write_text(store.export())
    return path


def test_git_verify_commit_says_good(tmp_path: Path, repo: Path, node_key: NodeKey) -> None:
    store = TrustStore(tmp_path / "allowed_signers")
    store.add(node_key.public, "alpha")
    oid = write_signed(repo, make_commit(repo), node_key)
    allowed = exported(tmp_path, store)

    code, stderr = verify_commit(repo, allowed, oid)
    assert code == 0, stderr
    assert 'Good "git" signature' in stderr
    assert node_key.public.fingerprint in stderr
    assert signature_status(repo, allowed, oid) == [
        "G",
        node_key.public.did,
        node_key.public.fingerprint,
    ]
    # The store's own file works as git's allowed-signers file too.
    assert verify_commit(repo, store.path, oid)[0] == 0
    fsck = run("git", "-C", repo, "fsck", "--strict", "--no-progress")
    assert fsck.returncode == 0, fsck.stderr.decode()
    assert b"error" not in fsck.stderr and b"warning" not in fsck.stderr, fsck.stderr.decode()


def test_git_and_mindgit_agree_on_the_payload(
    tmp_path: Path, repo: Path, node_key: NodeKey
) -> None:
    store = TrustStore(tmp_path / "allowed_signers")
    store.add(node_key.public, "alpha")
    content = make_commit(repo)
    oid = write_signed(repo, content, node_key)
    raw = ok("git", "-C", repo, "cat-file", "commit", oid)
    payload, armored = split_gpgsig(raw)
    assert payload == content and armored is not None
    signer = sshsig.verify(armored, payload)
    assert store.find(signer) == store.get("alpha")


def test_untrusted_key_fails_by_exit_code(
    tmp_path: Path, repo: Path, node_key: NodeKey, other_key: NodeKey
) -> None:
    store = TrustStore(tmp_path / "allowed_signers")
    store.add(other_key.public, "beta")
    oid = write_signed(repo, make_commit(repo), node_key)
    allowed = exported(tmp_path, store)

    code, _ = verify_commit(repo, allowed, oid)
    assert code != 0
    assert signature_status(repo, allowed, oid)[0] != "G"
    payload, armored = split_gpgsig(ok("git", "-C", repo, "cat-file", "commit", oid))
    assert armored is not None
    assert store.find(sshsig.verify(armored, payload)) is None


def test_removed_key_fails(
    tmp_path: Path, repo: Path, node_key: NodeKey, other_key: NodeKey
) -> None:
    store = TrustStore(tmp_path / "allowed_signers")
    store.add(node_key.public, "alpha")
    store.add(other_key.public, "beta")
    oid = write_signed(repo, make_commit(repo), node_key)
    assert verify_commit(repo, store.path, oid)[0] == 0
    store.remove("alpha")
    assert verify_commit(repo, store.path, oid)[0] != 0
    assert verify_commit(repo, exported(tmp_path, store), oid)[0] != 0


def test_empty_trust_file_fails(tmp_path: Path, repo: Path, node_key: NodeKey) -> None:
    oid = write_signed(repo, make_commit(repo), node_key)
    empty = exported(tmp_path, TrustStore(tmp_path / "absent"))
    assert empty.read_text() == ""
    assert verify_commit(repo, empty, oid)[0] != 0


def test_tampered_commit_fails(tmp_path: Path, repo: Path, node_key: NodeKey) -> None:
    store = TrustStore(tmp_path / "allowed_signers")
    store.add(node_key.public, "alpha")
    content = make_commit(repo, "honest message")
    signed = add_gpgsig(content, sshsig.sign(node_key, content))
    forged = signed.replace(b"honest message", b"forged message")
    oid = (
        ok("git", "-C", repo, "hash-object", "-t", "commit", "-w", "--stdin", stdin=forged)
        .decode()
        .strip()
    )
    assert verify_commit(repo, store.path, oid)[0] != 0
    payload, armored = split_gpgsig(forged)
    assert armored is not None
    with pytest.raises(sshsig.InvalidSignature):
        sshsig.verify(armored, payload)


def test_a_signature_header_with_a_space_too_many_fails_in_both(
    tmp_path: Path, repo: Path, node_key: NodeKey
) -> None:
    # "gpgsig  -----BEGIN": the signature git extracts starts with a space, which ssh-keygen
    # refuses; mindgit stripped it and called the commit good.
    store = TrustStore(tmp_path / "allowed_signers")
    store.add(node_key.public, "alpha")
    content = make_commit(repo)
    signed = add_gpgsig(content, sshsig.sign(node_key, content))
    spaced = signed.replace(b"\ngpgsig -----BEGIN", b"\ngpgsig  -----BEGIN", 1)
    assert spaced != signed
    oid = (
        ok("git", "-C", repo, "hash-object", "-t", "commit", "-w", "--stdin", stdin=spaced)
        .decode()
        .strip()
    )
    assert verify_commit(repo, store.path, oid)[0] != 0
    payload, armored = split_gpgsig(spaced)
    assert payload == content and armored is not None
    with pytest.raises(sshsig.MalformedSignature):
        sshsig.verify(armored, payload)


def test_signature_for_another_namespace_fails(
    tmp_path: Path, repo: Path, node_key: NodeKey
) -> None:
    store = TrustStore(tmp_path / "allowed_signers")
    store.add(node_key.public, "alpha")
    content = make_commit(repo)
    signed = add_gpgsig(content, sshsig.sign(node_key, content, "file"))
    oid = (
        ok("git", "-C", repo, "hash-object", "-t", "commit", "-w", "--stdin", stdin=signed)
        .decode()
        .strip()
    )
    assert verify_commit(repo, store.path, oid)[0] != 0


def test_hand_edited_trust_file_still_works_in_git(
    tmp_path: Path, repo: Path, node_key: NodeKey, other_key: NodeKey
) -> None:
    path = tmp_path / "allowed_signers"
    path.write_text(
        "# peers of this node\n"
        "\n"
        f'other@example.com namespaces="file" {other_key.public.openssh} not for git\n'
    )
    store = TrustStore(path)
    store.add(node_key.public, "alpha")
    oid = write_signed(repo, make_commit(repo), node_key)
    assert verify_commit(repo, path, oid)[0] == 0
    other_oid = write_signed(repo, make_commit(repo, "by other"), other_key, branch="other")
    assert verify_commit(repo, path, other_oid)[0] != 0
    assert [n.name for n in store.nodes()] == ["alpha"]


def test_commit_signed_by_git_verifies_in_mindgit(
    tmp_path: Path, repo: Path, node_key: NodeKey
) -> None:
    """The other direction: git signs (through ssh-keygen) with a key mindgit wrote."""
    key_path = tmp_path / "node.key"
    node_key.save(key_path, comment="alpha")
    tree = ok("git", "-C", repo, "write-tree").decode().strip()
    oid = (
        ok(
            "git",
            "-C",
            repo,
            "-c",
            "gpg.format=ssh",
            "-c",
            f"user.signingkey={key_path}",
            "commit-tree",
            "-S",
            "-m",
            "signed by git",
            tree,
        )
        .decode()
        .strip()
    )
    payload, armored = split_gpgsig(ok("git", "-C", repo, "cat-file", "commit", oid))
    assert armored is not None
    assert sshsig.verify(armored, payload) == node_key.public
