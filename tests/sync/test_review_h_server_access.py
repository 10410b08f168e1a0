"""A server's repository as its admin meets it: owned by the user git serves it as, read by a
hook that user runs.

Bugs: `mindgit hooks install --server PATH` on a repository another user owns (root installing
into the `git` user's repository) said "PATH is not a git repository" with a hint to `git init
--bare` it: libgit2 opens no repository another user owns, and its refusal was read as "none".
And a `mindgit/` directory the hook's user may not search (made under a umask of 027 by another
user) made every push fail with "remote: mindgit: error: Permission denied: <the server's own
path to the trust file>", not as a trust file that cannot be read, named by its place in the
repository as the hook's other errors name it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mindgit.store.repository import Store
from mindgit.sync.hooks import install_server
from tests.adapters.test_read_only_target import bound_by_modes
from tests.conftest import Mg, git
from tests.sync.test_hooks_server import push, refs


def test_a_trust_directory_the_hook_cannot_search(server: Path, store: Store) -> None:
    prefix = bound_by_modes()
    if prefix is None:
        pytest.skip("running as root without setpriv: file modes cannot bind the hook")
    receive_pack = " ".join([*prefix, shutil.which("git-receive-pack") or "git-receive-pack"])
    store.think("one more")
    before = refs(server)
    trust_dir = server / "mindgit"
    trust_dir.chmod(0o000)
    try:
        argv = ["git", "--git-dir", str(store.path), "push", "--receive-pack", receive_pack]
        proc = subprocess.run(
            [*argv, str(server), "main"],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        trust_dir.chmod(0o755)
    assert proc.returncode != 0
    said = [ln for ln in proc.stderr.splitlines() if ln.startswith("remote: mindgit:")]
    assert len(said) == 1, proc.stderr
    assert "cannot read trust file mindgit/allowed_signers: Permission denied" in said[0]
    assert str(server) not in said[0]
    assert refs(server) == before
    # Readable again, the same push lands.
    assert push(store, str(server), "main").returncode == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a repository to another user")
@pytest.mark.parametrize("bare", [True, False])
def test_install_into_a_repository_another_user_owns(
    store: Store, mg: Mg, tmp_path: Path, bare: bool
) -> None:
    server = tmp_path / "shared.git"
    git("init", "-q", *(["--bare"] if bare else []), str(server))
    for root, dirs, files in os.walk(server):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            os.lchown(name, 65534, 65534)
    listing = sorted(str(p) for p in server.rglob("*"))
    trust = tmp_path / "allowed_signers"
    trust.write_text(store.trust.export())

    r = mg("--store", str(store.path), "hooks", "install", "--server", str(server))
    r2 = mg("hooks", "install", "--server", str(server), "--trust", str(trust), "--allow-rewind")
    for result in (r, r2):
        assert result.code == 1, result
        assert "not a git repository" not in result.err
        assert "owned by" in result.err and "safe.directory" in result.err, result.err
        assert len(result.err.strip().splitlines()) == 1
    assert sorted(str(p) for p in server.rglob("*")) == listing


def test_the_trust_directory_is_as_readable_as_the_trust_file(store: Store, tmp_path: Path) -> None:
    # An admin's umask of 077 made `mindgit/` 0700 around a 0644 trust file: the user git runs
    # the hook as, if not the installer, could read neither.
    server = tmp_path / "shared.git"
    git("init", "-q", "--bare", str(server))
    old = os.umask(0o077)
    try:
        install_server(server, trust_text=store.trust.export(), python=sys.executable)
    finally:
        os.umask(old)
    assert (server / "mindgit").stat().st_mode & 0o777 == 0o755
    assert (server / "mindgit" / "allowed_signers").stat().st_mode & 0o777 == 0o644
    # One the admin made otherwise is left as it is.
    (server / "mindgit").chmod(0o750)
    install_server(server, trust_text=store.trust.export(), python=sys.executable)
    assert (server / "mindgit").stat().st_mode & 0o777 == 0o750
