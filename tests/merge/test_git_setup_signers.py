"""git-setup points `git verify-commit` in the clone at this node's trust file: without
gpg.ssh.allowedSignersFile git refused to verify any commit there ("needs to be configured")."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from mindgit.merge.gitdriver import git_setup
from mindgit.store.repository import Store, init_store
from tests.conftest import Mg, git


def verify_commit(clone: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(clone), "verify-commit", "HEAD"], capture_output=True, text=True
    )


def test_a_clone_of_a_local_store_verifies_its_commits(store: Store, tmp_path: Path) -> None:
    store.think("signed")
    clone = tmp_path / "clone"
    git("clone", "-q", str(store.path), str(clone))
    assert verify_commit(clone).returncode != 0
    result = git_setup(clone)
    assert result.signers == store.path / "mindgit" / "allowed_signers"
    done = verify_commit(clone)
    assert done.returncode == 0, done.stderr
    assert store.public_key.did in done.stderr


def test_an_untrusted_signer_is_refused_in_the_clone(store: Store, tmp_path: Path) -> None:
    other = init_store(tmp_path / "other", "other")
    other.think("not trusted by alpha")
    clone = tmp_path / "clone"
    git("clone", "-q", str(other.path), str(clone))
    git_setup(clone, fetch=False, signers=store.path / "mindgit" / "allowed_signers")
    assert verify_commit(clone).returncode != 0


def test_a_value_the_clone_has_is_kept_and_typed_store_names_its_own(
    store: Store, tmp_path: Path, mg: Mg
) -> None:
    clone = tmp_path / "clone"
    git("clone", "-q", str(store.path), str(clone))
    git("-C", str(clone), "config", "gpg.ssh.allowedSignersFile", "/etc/mine")
    assert git_setup(clone).signers is None
    assert git("-C", str(clone), "config", "gpg.ssh.allowedSignersFile").strip() == "/etc/mine"
    other = tmp_path / "other-clone"
    git("clone", "-q", str(store.path), str(other))
    r = mg("--store", str(store.path), "git-setup", str(other), "--json")
    assert r.code == 0, r.err
    signers = str(store.path / "mindgit" / "allowed_signers")
    assert json.loads(r.out)["allowed_signers"] == signers
    assert git("-C", str(other), "config", "gpg.ssh.allowedSignersFile").strip() == signers
