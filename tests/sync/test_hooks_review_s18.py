"""`mindgit hooks install --server` on repositories an admin made by hand (review s18, H6).

Bugs: (1) `--server PATH` where PATH was no repository yet, inside one (a home directory's
dotfiles repository, `/srv` kept in git), gated that enclosing repository, writing its hook and
trust file, exit 0: libgit2 searched upwards from PATH. (2) A non-bare server whose
`core.hooksPath` is relative got its pre-receive under the work tree, where git never looks for
a hook a push runs (receive-pack runs in the git dir): every push went through unchecked, an
unsigned commit included. (3) A hooks directory that could not be written (read-only, a
dangling link), a trust directory that could not be made, or a git config that could not be
locked failed the install after the trust file and the policy had been replaced ("nothing was
changed", exit 1), or with an internal error (exit 3) for the config; a dangling link's reason
was "File exists". Each now fails before anything is in place, naming what is wrong.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mindgit.store.repository import Store, init_store
from tests.conftest import git
from tests.sync import forge


def mindgit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mindgit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = init_store(tmp_path / "alpha", "alpha")
    s.think("hello")
    return s


@pytest.fixture
def trust(tmp_path: Path, store: Store) -> Path:
    path = tmp_path / "allowed_signers"
    path.write_text(store.trust.export())
    return path


def listing(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for a directory or a link)."""
    out: dict[str, bytes | None] = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = p.read_bytes() if p.is_file() and not p.is_symlink() else None
    return out


def test_a_directory_inside_another_repository_is_not_a_server(tmp_path: Path, trust: Path) -> None:
    home = tmp_path / "home"
    git("init", "-q", str(home))
    meant = home / "srv" / "minds.git"
    meant.mkdir(parents=True)
    before = listing(home)
    r = mindgit("hooks", "install", "--server", str(meant), "--trust", str(trust))
    assert r.returncode == 1, r
    assert f"{meant} is not a git repository" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert listing(home) == before
    assert not (home / ".git" / "hooks" / "pre-receive").exists()
    assert not (home / ".git" / "mindgit").exists()


def test_a_bare_repository_s_subdirectory_is_not_the_repository(
    tmp_path: Path, trust: Path
) -> None:
    server = tmp_path / "shared.git"
    git("init", "-q", "--bare", str(server))
    before = listing(server)
    r = mindgit("hooks", "install", "--server", str(server / "objects"), "--trust", str(trust))
    assert r.returncode == 1, r
    assert "is not a git repository" in r.stderr
    assert listing(server) == before


def test_a_non_bare_server_with_a_relative_hooks_path_is_gated(
    tmp_path: Path, store: Store, trust: Path
) -> None:
    server = tmp_path / "work"
    git("init", "-q", "--initial-branch=other", str(server))
    git("-C", str(server), "config", "receive.denyCurrentBranch", "ignore")
    git("-C", str(server), "config", "core.hooksPath", "myhooks")
    r = mindgit("hooks", "install", "--server", str(server), "--trust", str(trust))
    assert r.returncode == 0, r
    # Where receive-pack looks: relative to the git dir, not the work tree.
    hook = server / ".git" / "myhooks" / "pre-receive"
    assert hook.is_file(), r.stderr
    assert not (server / "myhooks").exists()

    bad = forge.unsigned(store, "main")
    forge.point(store, "main", bad)
    pushed = subprocess.run(
        ["git", "--git-dir", str(store.path), "push", str(server), "main"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert pushed.returncode != 0, pushed.stderr
    assert f"mindgit: refused: {bad}: unsigned commit" in pushed.stderr
    assert git("-C", str(server), "for-each-ref") == ""


def test_a_pre_push_hook_of_a_non_bare_repository_still_goes_under_its_work_tree(
    tmp_path: Path,
) -> None:
    import pygit2

    from mindgit.sync.hooks import hooks_dir

    work = tmp_path / "work"
    git("init", "-q", str(work))
    git("-C", str(work), "config", "core.hooksPath", "myhooks")
    repo = pygit2.Repository(str(work))
    assert hooks_dir(repo, "pre-push") == work / "myhooks"
    assert hooks_dir(repo, "pre-receive") == work / ".git" / "myhooks"
    assert hooks_dir(repo, "update") == work / ".git" / "myhooks"


def _no_install(
    server: Path, r: subprocess.CompletedProcess[str], before: dict[str, bytes | None]
) -> None:
    assert r.returncode == 1, r
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "nothing was changed" in r.stderr
    assert listing(server) == before


def test_a_dangling_hooks_link_changes_nothing_and_is_named(tmp_path: Path, trust: Path) -> None:
    server = tmp_path / "shared.git"
    git("init", "-q", "--bare", str(server))
    git("--git-dir", str(server), "config", "mindgit.allowRewind", "true")
    gone = tmp_path / "gone" / "hooks"
    (server / "hooks").rename(tmp_path / "old-hooks")
    (server / "hooks").symlink_to(gone)
    before = listing(server)
    r = mindgit(
        "hooks", "install", "--server", str(server), "--trust", str(trust), "--no-allow-rewind"
    )
    _no_install(server, r, before)
    assert f"{server / 'hooks'} is a symbolic link to {gone}, which does not exist" in r.stderr
    assert "File exists" not in r.stderr
    assert git("--git-dir", str(server), "config", "mindgit.allowRewind").strip() == "true"


def test_a_hooks_path_that_is_a_file_changes_nothing(tmp_path: Path, trust: Path) -> None:
    server = tmp_path / "shared.git"
    git("init", "-q", "--bare", str(server))
    git("--git-dir", str(server), "config", "core.hooksPath", "not-a-dir")
    (server / "not-a-dir").write_text("x")
    before = listing(server)
    r = mindgit("hooks", "install", "--server", str(server), "--trust", str(trust))
    _no_install(server, r, before)
    assert "not-a-dir is not a directory" in r.stderr


def test_a_trust_directory_that_cannot_be_made_writes_no_hook(tmp_path: Path, trust: Path) -> None:
    server = tmp_path / "shared.git"
    git("init", "-q", "--bare", str(server))
    (server / "mindgit").write_text("a file where the trust directory goes")
    before = listing(server)
    r = mindgit("hooks", "install", "--server", str(server), "--trust", str(trust))
    _no_install(server, r, before)
    assert f"cannot write {server / 'mindgit' / 'allowed_signers'}" in r.stderr
    assert "mindgit is not a directory" in r.stderr
    assert not (server / "hooks" / "pre-receive").exists()


def test_a_config_that_cannot_be_locked_writes_no_trust_nor_hook(
    tmp_path: Path, trust: Path
) -> None:
    server = tmp_path / "shared.git"
    git("init", "-q", "--bare", str(server))
    # Another git holds the config's lock: the policy cannot be written.
    (server / "config.lock").write_text("")
    before = listing(server)
    r = mindgit(
        "hooks", "install", "--server", str(server), "--trust", str(trust), "--allow-rewind"
    )
    _no_install(server, r, before)
    assert "internal error" not in r.stderr
    assert f"cannot write {server / 'config'}" in r.stderr
    assert not (server / "mindgit").exists()
    assert not (server / "hooks" / "pre-receive").exists()


def test_a_dangling_hooks_link_of_a_store_is_named(tmp_path: Path, store: Store) -> None:
    gone = tmp_path / "gone"
    (store.path / "hooks").rename(tmp_path / "old-hooks")
    (store.path / "hooks").symlink_to(gone)
    r = mindgit("--store", str(store.path), "hooks", "install")
    assert r.returncode == 1, r
    assert f"is a symbolic link to {gone}, which does not exist" in r.stderr
    assert not gone.exists()


# ---- a hook that is a symbolic link ----------------------------------------------------------
#
# Bug: docs/hooks.md says a symlink is never replaced without --force, but one to a script
# mindgit wrote (the shipped hooks/pre-receive, a copy kept for many repositories) read as
# mindgit's own and was replaced by a file, exit 0: the repository left whatever kept its
# hooks in step. Now refused as any other hook in the way is, the link named.

SHIPPED = Path(__file__).resolve().parents[2] / "hooks"


def test_a_linked_server_hook_is_not_replaced(tmp_path: Path, trust: Path) -> None:
    server = tmp_path / "shared.git"
    git("init", "-q", "--bare", str(server))
    hook = server / "hooks" / "pre-receive"
    hook.symlink_to(SHIPPED / "pre-receive")
    before = listing(server)
    r = mindgit("hooks", "install", "--server", str(server), "--trust", str(trust))
    _no_install(server, r, before)
    assert f"{hook} is a symbolic link to {SHIPPED / 'pre-receive'}" in r.stderr
    assert hook.is_symlink()

    r = mindgit("hooks", "install", "--server", str(server), "--trust", str(trust), "--force")
    assert r.returncode == 0, r
    assert not hook.is_symlink() and hook.is_file()


def test_a_linked_pre_push_hook_is_not_replaced(store: Store) -> None:
    hook = store.path / "hooks" / "pre-push"
    hook.symlink_to(SHIPPED / "pre-push")
    r = mindgit("--store", str(store.path), "hooks", "install")
    assert r.returncode == 1, r
    assert f"is a symbolic link to {SHIPPED / 'pre-push'}; nothing was changed" in r.stderr
    assert hook.is_symlink() and hook.resolve() == SHIPPED / "pre-push"


# ---- an install with no trust ----------------------------------------------------------------
#
# Bug: `hooks install --server` outside a store, with no --trust, for a repository with no trust
# file, failed as "no trust file at PATH; every push is refused": the hook's words, which told
# the admin the server was locked, when nothing had been written and every push still went
# through unchecked.


def test_an_install_with_no_trust_does_not_say_pushes_are_refused(tmp_path: Path) -> None:
    server = tmp_path / "shared.git"
    git("init", "-q", "--bare", str(server))
    before = listing(server)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    r = mindgit("hooks", "install", "--server", str(server), cwd=outside)
    assert r.returncode == 1, r
    trust = server / "mindgit" / "allowed_signers"
    assert f"no trust file at {trust}, and no --trust given; nothing was changed" in r.stderr
    assert "every push is refused" not in r.stderr
    assert "mindgit trust export > allowed_signers" in r.stderr
    assert listing(server) == before

    # An unsigned push still goes through: nothing gates it, as the message now says.
    store = init_store(tmp_path / "alpha", "alpha")
    store.think("hello")
    bad = forge.unsigned(store, "main")
    forge.point(store, "main", bad)
    git("--git-dir", str(store.path), "push", "-q", str(server), "main")
