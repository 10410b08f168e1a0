"""The client side: the pre-push hook on real `git push`, `mindgit hooks install`, the hook
scripts as shipped in hooks/, what a hook reads from git, and the pre-commit manifest."""

from __future__ import annotations

import io
import os
import shlex
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pygit2
import pytest

from mindgit.errors import UsageError
from mindgit.identity.keys import NodeKey
from mindgit.identity.trust import TrustFileCorrupt, TrustFileUnreadable
from mindgit.store.repository import Store
from mindgit.store.settings import BadConfigValue
from mindgit.sync.gate import DEFAULT_MAX_OBJECT_BYTES, RefUpdate
from mindgit.sync.hooks import (
    HOOK_NAMES,
    EmptyTrust,
    HookExists,
    HookInputError,
    NoServerTrust,
    NotARepository,
    PushedRef,
    hook_script,
    hooks_dir,
    install_hook,
    install_server,
    parse_pushed_refs,
    parse_ref_updates,
    read_policy,
)
from tests.conftest import ROOT, git
from tests.sync import forge
from tests.sync.test_hooks_gate import populated
from tests.sync.test_hooks_server import push, refs

ZERO = "0" * 40


@dataclass
class Result:
    code: int
    out: str
    err: str


Cli = Callable[..., Result]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """`mindgit ARGS...` in-process."""
    from mindgit.cli.main import run

    def call(*args: str, stdin: str | None = None) -> Result:
        if stdin is not None:
            # As git gives it: bytes behind a text stream (the hook reads the bytes).
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
        capsys.readouterr()
        code = run(list(args))
        cap = capsys.readouterr()
        return Result(code, cap.out, cap.err)

    return call


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """A plain bare repository with no hook: only the client's pre-push stands guard."""
    path = tmp_path / "remote.git"
    git("init", "-q", "--bare", str(path))
    return path


@pytest.fixture
def guarded(store: Store, cli: Cli) -> Store:
    result = cli("--store", str(store.path), "hooks", "install")
    assert result.code == 0, result.err
    return store


# ---- pre-push on real pushes ------------------------------------------------------------------


def test_install_writes_an_executable_pre_push_naming_this_python(guarded: Store) -> None:
    hook = guarded.path / "hooks" / "pre-push"
    assert hook.stat().st_mode & stat.S_IXUSR
    assert hook.read_text() == hook_script("pre-push", sys.executable)


def test_signed_commits_are_pushed(guarded: Store, remote: Path) -> None:
    populated(guarded)
    proc = push(guarded, str(remote), "main")
    assert proc.returncode == 0, proc.stderr
    assert refs(remote) == {"refs/heads/main": guarded.head()}


def test_an_unsigned_commit_is_not_pushed(guarded: Store, remote: Path) -> None:
    populated(guarded)
    assert push(guarded, str(remote), "main").returncode == 0
    before = refs(remote)
    bad = forge.unsigned(guarded, "main")
    forge.point(guarded, "main", bad)
    proc = push(guarded, str(remote), "main")
    assert proc.returncode != 0
    assert f"mindgit: refused: {bad}: unsigned commit" in proc.stderr
    assert "failed to push" in proc.stderr
    assert refs(remote) == before


@pytest.mark.parametrize("build", ["stranger", "bad_cid", "altered"])
def test_unverifiable_commits_are_not_pushed(guarded: Store, remote: Path, build: str) -> None:
    if build == "stranger":
        bad = forge.signed_by(guarded, "main", NodeKey.generate())
        words = "signed by untrusted key"
    elif build == "bad_cid":
        bad = forge.bad_cid(guarded, "main", guarded.key)
        words = "hash to"
    else:
        bad = forge.altered(guarded, "main")
        words = "bad signature"
    forge.point(guarded, "main", bad)
    proc = push(guarded, str(remote), "main")
    assert proc.returncode != 0
    assert f"mindgit: refused: {bad}" in proc.stderr and words in proc.stderr
    assert refs(remote) == {}


def test_only_the_commits_the_remote_lacks_are_checked(guarded: Store, remote: Path) -> None:
    """A commit the remote already holds is not this push's business."""
    old = forge.unsigned(guarded, "main")
    forge.point(guarded, "main", old)
    proc = subprocess.run(
        ["git", "--git-dir", str(guarded.path), "push", "--no-verify", str(remote), "main"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    guarded.think("signed, on top")
    proc = push(guarded, str(remote), "main")
    assert proc.returncode == 0, proc.stderr
    assert refs(remote)["refs/heads/main"] == guarded.head()


def test_deleting_a_remote_ref_pushes_no_commit(guarded: Store, remote: Path) -> None:
    guarded.fork("scratch", switch=False)
    assert push(guarded, str(remote), "main", "scratch").returncode == 0
    proc = push(guarded, str(remote), ":refs/heads/scratch")
    assert proc.returncode == 0, proc.stderr
    assert set(refs(remote)) == {"refs/heads/main"}


def test_pre_push_honours_the_store_size_limit(guarded: Store, remote: Path) -> None:
    guarded.config_set("mindgit.maxObjectBytes", "64k")
    bad = forge.huge_thought(guarded, "main", guarded.key, size=1 << 20)
    forge.point(guarded, "main", bad)
    proc = push(guarded, str(remote), "main")
    assert proc.returncode != 0 and "over the 65536-byte limit" in proc.stderr


# ---- installing -------------------------------------------------------------------------------


def test_a_foreign_hook_is_kept_unless_forced(store: Store, cli: Cli) -> None:
    hook = store.path / "hooks" / "pre-push"
    hook.write_text("#!/bin/sh\necho mine\n")
    result = cli("--store", str(store.path), "hooks", "install")
    assert result.code == 1 and "is not a mindgit hook" in result.err
    assert hook.read_text() == "#!/bin/sh\necho mine\n"
    with pytest.raises(HookExists):
        install_hook(store.repo, "pre-push", None)
    result = cli("--store", str(store.path), "hooks", "install", "--force")
    assert result.code == 0
    assert hook.read_text() == hook_script("pre-push", sys.executable)


def test_a_server_with_a_foreign_hook_is_left_exactly_as_it_was(
    store: Store, cli: Cli, tmp_path: Path
) -> None:
    # The trust file and the policy were written first, then the hook refused: "nothing was
    # changed" was not so.
    server = tmp_path / "shared.git"
    git("init", "-q", "--bare", str(server))
    hook = server / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho mine\n")
    config = (server / "config").read_bytes()
    result = cli(
        "--store", str(store.path), "hooks", "install", "--server", str(server),
        "--allow-delete", "--max-object-bytes", "1M",
    )  # fmt: skip
    assert result.code == 1 and "is not a mindgit hook" in result.err
    assert hook.read_text() == "#!/bin/sh\necho mine\n"
    assert (server / "config").read_bytes() == config
    assert not (server / "mindgit").exists()


def test_our_own_hook_is_replaced_quietly(store: Store) -> None:
    install_hook(store.repo, "pre-push", None)
    path = install_hook(store.repo, "pre-push", "/opt/py/bin/python3")
    assert "MINDGIT_PYTHON=/opt/py/bin/python3\n" in path.read_text()


def test_core_hooks_path_is_where_git_looks(store: Store, tmp_path: Path) -> None:
    store.repo.config["core.hooksPath"] = str(tmp_path / "shared-hooks")
    assert hooks_dir(store.repo) == tmp_path / "shared-hooks"
    path = install_hook(store.repo, "pre-push", None)
    assert path == tmp_path / "shared-hooks" / "pre-push"
    store.repo.config["core.hooksPath"] = "relative"
    assert hooks_dir(store.repo) == store.path / "relative"


@pytest.mark.parametrize(
    "flag", [["--trust", "x"], ["--update-hook"], ["--allow-rewind"], ["--max-object-bytes", "1M"]]
)
def test_server_options_need_a_server(store: Store, cli: Cli, flag: list[str]) -> None:
    result = cli("--store", str(store.path), "hooks", "install", *flag)
    assert result.code == 2 and "only go with --server" in result.err


def test_server_install_from_a_store_trusts_what_it_trusts(
    store: Store, cli: Cli, tmp_path: Path
) -> None:
    server = tmp_path / "shared.git"
    git("init", "-q", "--bare", str(server))
    result = cli(
        "--store",
        str(store.path),
        "hooks",
        "install",
        "--server",
        str(server),
        "--max-object-bytes",
        "1M",
        "--allow-delete",
        "--json",
    )
    assert result.code == 0, result.err
    import json

    out = json.loads(result.out)
    assert out["hooks"] == [str(server / "hooks" / "pre-receive")]
    assert out["trusted"] == 1 and out["allow_delete"] and not out["allow_rewind"]
    assert out["max_object_bytes"] == 1 << 20
    assert (server / "mindgit" / "allowed_signers").read_text() == store.trust.export()
    policy = read_policy(pygit2.Repository(str(server)))
    assert (policy.allow_delete, policy.max_object_bytes) == (True, 1 << 20)
    # Installing again without options keeps the trust and the policy that are there.
    assert cli("hooks", "install", "--server", str(server)).code == 0
    assert read_policy(pygit2.Repository(str(server))).allow_delete


def test_server_install_with_update_hook(store: Store, cli: Cli, tmp_path: Path) -> None:
    server = tmp_path / "shared.git"
    git("init", "-q", "--bare", str(server))
    trust = tmp_path / "allowed"
    trust.write_text(store.trust.export())
    result = cli(
        "hooks", "install", "--server", str(server), "--trust", str(trust), "--update-hook"
    )
    assert result.code == 0, result.err
    assert (server / "hooks" / "update").read_text() == hook_script("update", sys.executable)
    assert not (server / "hooks" / "pre-receive").exists()


def test_server_install_refusals(store: Store, cli: Cli, tmp_path: Path) -> None:
    server = tmp_path / "shared.git"
    git("init", "-q", "--bare", str(server))
    outside = cli("hooks", "install", "--server", str(server))
    assert outside.code == 1 and "no trust file at" in outside.err
    with pytest.raises(NoServerTrust):
        install_server(server)
    with pytest.raises(TrustFileUnreadable) as missing:
        install_server(server, trust_file=tmp_path / "missing")
    # Not "check its permissions": there is no file; say how to make one.
    assert "mindgit trust export" in (missing.value.hint or "")
    empty = tmp_path / "empty"
    empty.write_text("")
    with pytest.raises(EmptyTrust):
        install_server(server, trust_file=empty)
    with pytest.raises(EmptyTrust):
        install_server(server, trust_text="# nobody\n")
    corrupt = tmp_path / "corrupt"
    corrupt.write_text("did:key:z6Mk this is not a key\n")
    with pytest.raises(TrustFileCorrupt):
        install_server(server, trust_file=corrupt)
    with pytest.raises(NotARepository):
        install_server(tmp_path / "nowhere", trust_text=store.trust.export())
    with pytest.raises(UsageError):
        install_server(server, trust_text=store.trust.export(), hooks=("pre-push",))
    bad_size = cli("hooks", "install", "--server", str(server), "--max-object-bytes", "lots")
    assert bad_size.code == 2
    # Nothing was written by any refusal.
    assert not (server / "mindgit").exists()
    assert not (server / "hooks" / "pre-receive").exists()


def test_a_python_path_with_spaces_and_quotes_is_quoted(store: Store, tmp_path: Path) -> None:
    odd = tmp_path / "it's a dir" / "py thon"
    odd.parent.mkdir()
    # A wrapper, not a symlink: a venv's python finds its venv from the path it is run by.
    odd.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    odd.chmod(0o755)
    server = tmp_path / "shared.git"
    git("init", "-q", "--bare", str(server))
    install_server(server, trust_text=store.trust.export(), python=str(odd))
    # No mindgit on the PATH: only the recorded interpreter can run it.
    bad = forge.unsigned(store, "main")
    forge.point(store, "main", bad)
    proc = subprocess.run(
        ["git", "--git-dir", str(store.path), "push", str(server), "main"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": "/usr/bin:/bin"},
    )
    assert f"mindgit: refused: {bad}: unsigned commit" in proc.stderr


# ---- the scripts and what git hands them ------------------------------------------------------


@pytest.mark.parametrize("name", HOOK_NAMES)
def test_shipped_scripts_are_the_installer_s(name: str) -> None:
    shipped = ROOT / "hooks" / name
    assert shipped.read_text() == hook_script(name)
    assert shipped.stat().st_mode & stat.S_IXUSR
    subprocess.run(["sh", "-n", str(shipped)], check=True)


def test_unknown_hook_name() -> None:
    with pytest.raises(UsageError):
        hook_script("post-receive")


def test_parse_ref_updates() -> None:
    new = "a" * 40
    lines = [f"{ZERO} {new} refs/heads/main\n", "\n", f"{new} {ZERO} refs/heads/old\n"]
    assert parse_ref_updates("pre-receive", lines) == [
        RefUpdate("refs/heads/main", None, new),
        RefUpdate("refs/heads/old", new, None),
    ]


@pytest.mark.parametrize(
    "line", ["only two", f"{ZERO} {'g' * 40} refs/heads/x", f"{ZERO} abc refs/heads/x", "a b c d"]
)
def test_bad_pre_receive_input(line: str) -> None:
    with pytest.raises(HookInputError):
        parse_ref_updates("pre-receive", [line])


def test_parse_pushed_refs() -> None:
    sha = "b" * 40
    assert parse_pushed_refs([f"refs/heads/main {sha} refs/heads/main {ZERO}\n"]) == [
        PushedRef("refs/heads/main", sha, "refs/heads/main", None)
    ]
    assert parse_pushed_refs([f"(delete) {ZERO} refs/heads/x {sha}"]) == [
        PushedRef("(delete)", None, "refs/heads/x", sha)
    ]
    with pytest.raises(HookInputError):
        parse_pushed_refs([f"refs/heads/main {sha} refs/heads/main"])


def test_hook_command_refuses_bad_input(
    store: Store, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = cli("hook", "update", "refs/heads/x")
    assert result.code == 2 and "takes <ref> <old> <new>" in result.err
    result = cli("hook", "pre-push")
    assert result.code == 2
    server = tmp_path / "s.git"
    git("init", "-q", "--bare", str(server))
    install_server(server, trust_text=store.trust.export())
    monkeypatch.setenv("GIT_DIR", str(server))
    result = cli("hook", "pre-receive", stdin="garbage\n")
    assert result.code == 1 and "cannot read 'garbage'" in result.err


def test_hook_command_accepts_and_refuses(
    store: Store, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hidden command as git runs it, on a store acting as its own server."""
    server = tmp_path / "s.git"
    git("init", "-q", "--bare", str(server))
    install_server(server, trust_text=store.trust.export())
    git("--git-dir", str(server), "fetch", "-q", str(store.path), "main:refs/heads/main")
    populated(store)
    git("--git-dir", str(server), "fetch", "-q", str(store.path), "main:refs/incoming")
    new = store.head()
    old = refs(server)["refs/heads/main"]
    monkeypatch.setenv("GIT_DIR", str(server))
    ok = cli("hook", "pre-receive", stdin=f"{old} {new} refs/heads/main\n")
    # Accepted, git would move the ref; a push back to the old head is then a rewind.
    git("--git-dir", str(server), "update-ref", "refs/heads/main", new, old)
    rewind = cli("hook", "update", "refs/heads/main", new, old)
    assert (ok.code, ok.err) == (0, "")
    assert rewind.code == 1 and "mindgit: refused:" in rewind.err and "rewinds" in rewind.err


def test_policy_config_must_parse(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
    assert read_policy(repo).max_object_bytes == DEFAULT_MAX_OBJECT_BYTES
    repo.config["mindgit.allowRewind"] = "maybe"
    # Bad data in the repository's config (exit 1), not a wrong command line (exit 2).
    with pytest.raises(BadConfigValue, match="allowRewind") as raised:
        read_policy(repo)
    assert raised.value.exit_code == 1
    repo.config["mindgit.allowRewind"] = "true"
    repo.config["mindgit.maxObjectBytes"] = "lots"
    with pytest.raises(BadConfigValue, match="maxObjectBytes"):
        read_policy(repo)


# ---- the pre-commit framework -----------------------------------------------------------------


def test_pre_commit_manifest(store: Store, cli: Cli) -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    for line in [
        "- id: mindgit-verify",
        "  entry: mindgit verify --all",
        "  language: python",
        "  pass_filenames: false",
        "  always_run: true",
        "  stages: [pre-push, manual]",
    ]:
        assert line + "\n" in text
    # pre-commit (a dev dependency) reads the manifest with its own loader, as users' installs do.
    from pre_commit.clientlib import load_manifest  # type: ignore[import-untyped]

    (hook,) = load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))
    assert hook["entry"] == "mindgit verify --all" and hook["stages"] == ["pre-push", "manual"]
    # The entry is a command that works: clean store passes, a tampered one fails.
    populated(store)
    entry = ["verify", "--all"]
    assert cli("--store", str(store.path), *entry).code == 0
    forge.point(store, "main", forge.unsigned(store, "main"))
    failed = cli("--store", str(store.path), *entry)
    assert failed.code == 1 and "unsigned commit" in failed.out


def test_docs_hooks_install_commands_run_as_written(store: Store, tmp_path: Path) -> None:
    text = (ROOT / "docs" / "hooks.md").read_text()
    block = text.split("## On a server: pre-receive\n\n```sh\n", 1)[1].split("```", 1)[0]
    assert block == (
        "git init --bare --initial-branch=main /srv/minds.git\n"
        "mindgit hooks install --server /srv/minds.git --trust allowed_signers\n"
    )
    (tmp_path / "allowed_signers").write_text(store.trust.export())
    script = block.replace("/srv/", f"{tmp_path}/srv/")
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]}
    proc = subprocess.run(
        ["bash", "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    server = tmp_path / "srv" / "minds.git"
    installed = (server / "hooks" / "pre-receive").read_text()
    # The recorded Python is the one the `mindgit` on PATH runs with (python or python3).
    recorded = shlex.split(installed.split("MINDGIT_PYTHON=", 1)[1].splitlines()[0])[0]
    assert Path(recorded).resolve() == Path(sys.executable).resolve()
    assert installed == hook_script("pre-receive", recorded)
    populated(store)
    assert push(store, str(server), "main").returncode == 0
    forge.point(store, "main", forge.unsigned(store, "main"))
    assert push(store, str(server), "main").returncode != 0
