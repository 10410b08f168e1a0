"""The client pre-push hook, path by path, on real `git push` from a store that has it installed.

Every push goes to a plain bare repository with no hook of its own (by path and by file://
URL), so whatever the remote ends up holding is what the client hook let through. git aborts
the whole push when pre-push exits non-zero: a refused push leaves every remote ref as it was.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mindgit.evolve.run import start_run
from mindgit.identity.keys import NodeKey
from mindgit.store.generation import RunParams
from mindgit.store.genome import Gene
from mindgit.store.repository import Store, init_store
from mindgit.store.rotations import rotate_key
from mindgit.sync.hooks import MAX_REPORTED, HookExists, hook_script, install_hook, install_server
from tests.conftest import FIXTURES, Mg, git
from tests.sync import forge
from tests.sync.test_hooks_gate import populated

RASTRIGIN = FIXTURES / "fitness" / "rastrigin.wat"
REFUSED = "mindgit: refused: "


# ---- helpers ----------------------------------------------------------------------------------


def install(store: Store, python: str | None = sys.executable) -> Path:
    return install_hook(store.repo, "pre-push", python)


def push(
    store: Store,
    url: str,
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    git_dir: bool = True,
) -> subprocess.CompletedProcess[str]:
    where = ["--git-dir", str(store.path)] if git_dir else []
    return subprocess.run(
        ["git", *where, "push", url, *args], capture_output=True, text=True, cwd=cwd, env=env
    )


def remote_refs(remote: Path) -> dict[str, str]:
    out = git("--git-dir", str(remote), "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(line.split(" ") for line in out.splitlines())


def refused(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith(REFUSED)]


def in_store(store: Store, *args: str) -> str:
    return git("--git-dir", str(store.path), *args).strip()


def plain_commit(store: Store, on: str, message: str = "plain git") -> str:
    """An unsigned commit on ``on`` (any ref or commit) with its tree, made by git itself."""
    return in_store(store, "commit-tree", f"{on}^{{tree}}", "-p", on, "-m", message)


def point(store: Store, ref: str, commit: str) -> None:
    in_store(store, "update-ref", ref, commit)


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    path = tmp_path / "remote.git"
    git("init", "-q", "--bare", str(path))
    return path


@pytest.fixture(params=["path", "file-url"])
def url(request: pytest.FixtureRequest, remote: Path) -> str:
    return str(remote) if request.param == "path" else f"file://{remote}"


@pytest.fixture
def guarded(store: Store) -> Store:
    """The store with a state on main and the pre-push hook installed."""
    populated(store)
    install(store)
    return store


# ---- one experiment, each way a commit can be wrong -------------------------------------------


def test_a_signed_experiment_is_pushed(guarded: Store, remote: Path, url: str) -> None:
    proc = push(guarded, url, "main")
    assert proc.returncode == 0, proc.stderr
    assert refused(proc) == []
    assert remote_refs(remote) == {"refs/heads/main": guarded.head()}


def test_a_commit_made_by_plain_git_is_not_pushed(guarded: Store, remote: Path, url: str) -> None:
    assert push(guarded, url, "main").returncode == 0
    before = remote_refs(remote)
    bad = plain_commit(guarded, "refs/heads/main")
    point(guarded, "refs/heads/main", bad)
    proc = push(guarded, url, "main")
    assert proc.returncode != 0
    assert refused(proc) == [f"{REFUSED}{bad}: unsigned commit"]
    assert "failed to push" in proc.stderr
    assert remote_refs(remote) == before


@pytest.mark.parametrize("kind", ["stranger", "altered", "non_canonical", "bad_cid"])
def test_an_unverifiable_commit_is_not_pushed(
    guarded: Store, remote: Path, url: str, kind: str
) -> None:
    assert push(guarded, url, "main").returncode == 0
    before = remote_refs(remote)
    if kind == "stranger":
        stranger = NodeKey.generate()
        bad = forge.signed_by(guarded, "main", stranger)
        start = f": signed by untrusted key {stranger.public.did}"
    elif kind == "altered":
        bad, start = forge.altered(guarded, "main"), ": bad signature"
    elif kind == "non_canonical":
        bad, start = forge.non_canonical_manifest(guarded, "main", guarded.key), " manifest "
    else:
        bad, start = forge.bad_cid(guarded, "main", guarded.key), " thought "
    forge.point(guarded, "main", bad)
    proc = push(guarded, url, "main")
    assert proc.returncode != 0
    (line,) = refused(proc)
    assert line.startswith(f"{REFUSED}{bad}{start}"), line
    assert remote_refs(remote) == before


def test_no_verify_skips_the_hook(guarded: Store, remote: Path) -> None:
    """Documented (docs/hooks.md): the hook is a courtesy to the server, not a defence."""
    bad = plain_commit(guarded, "refs/heads/main")
    point(guarded, "refs/heads/main", bad)
    assert push(guarded, str(remote), "main").returncode != 0
    proc = push(guarded, str(remote), "--no-verify", "main")
    assert proc.returncode == 0, proc.stderr
    assert remote_refs(remote) == {"refs/heads/main": bad}


# ---- deletions and several refs at once -------------------------------------------------------


def test_a_deletion_checks_no_commit(guarded: Store, remote: Path, url: str) -> None:
    guarded.fork("scratch", switch=False)
    assert push(guarded, url, "main", "scratch").returncode == 0
    # Unpushable commits elsewhere in the store are not this push's business.
    point(guarded, "refs/heads/main", plain_commit(guarded, "refs/heads/main"))
    point(guarded, "refs/heads/scratch", plain_commit(guarded, "refs/heads/scratch"))
    proc = push(guarded, url, ":refs/heads/scratch")
    assert proc.returncode == 0, proc.stderr
    assert set(remote_refs(remote)) == {"refs/heads/main"}
    proc = push(guarded, url, "--delete", "main")
    assert proc.returncode == 0, proc.stderr
    assert remote_refs(remote) == {}


@pytest.mark.parametrize("how", [["main", "lab"], ["refs/heads/*:refs/heads/*"], ["--atomic"]])
def test_one_bad_ref_refuses_the_whole_push(
    guarded: Store, remote: Path, url: str, how: list[str]
) -> None:
    guarded.fork("lab", switch=False)
    assert push(guarded, url, "main", "lab").returncode == 0
    before = remote_refs(remote)
    guarded.think("signed, on main")
    bad = plain_commit(guarded, "refs/heads/lab")
    point(guarded, "refs/heads/lab", bad)
    refspecs = ["--atomic", "main", "lab"] if how == ["--atomic"] else how
    proc = push(guarded, url, *refspecs)
    assert proc.returncode != 0
    assert refused(proc) == [f"{REFUSED}{bad}: unsigned commit"]
    # main's good commit did not go either: git pushes nothing once pre-push says no.
    assert remote_refs(remote) == before
    assert push(guarded, url, "main").returncode == 0
    assert remote_refs(remote)["refs/heads/main"] == guarded.head()


# ---- the other mindgit namespaces, and refs outside them --------------------------------------


@pytest.fixture
def full_store(guarded: Store) -> Store:
    """A guarded store holding a run, its fitness module and a key-rotation announcement."""
    guarded.set_genes([Gene.make("y", "float", 1.5, min=-5.12, max=5.12)])
    start_run(guarded, str(RASTRIGIN), RunParams(population=4, generations=2, seed=1))
    rotate_key(guarded)
    return guarded


def _synced(store: Store, prefix: str) -> str:
    (ref,) = [r for r in store.repo.references if r.startswith(prefix)]
    return ref


@pytest.mark.parametrize("prefix", ["refs/runs/", "refs/fitness/", "refs/keys/"])
def test_runs_fitness_modules_and_key_chains(
    full_store: Store, remote: Path, url: str, prefix: str
) -> None:
    ref = _synced(full_store, prefix)
    proc = push(full_store, url, f"{ref}:{ref}")
    assert proc.returncode == 0, proc.stderr
    assert remote_refs(remote) == {ref: in_store(full_store, "rev-parse", ref)}
    bad = plain_commit(full_store, ref)
    point(full_store, ref, bad)
    proc = push(full_store, url, f"{ref}:{ref}")
    assert proc.returncode != 0
    assert refused(proc) == [f"{REFUSED}{bad}: unsigned commit"]
    assert remote_refs(remote)[ref] != bad


def test_a_whole_store_goes_in_one_push(full_store: Store, remote: Path) -> None:
    namespaces = ("refs/heads/", "refs/runs/", "refs/fitness/", "refs/keys/")
    proc = push(full_store, str(remote), *(f"{p}*:{p}*" for p in namespaces))
    assert proc.returncode == 0, proc.stderr
    local = {r: in_store(full_store, "rev-parse", r) for r in full_store.repo.references}
    assert remote_refs(remote) == {r: c for r, c in local.items() if r.startswith(namespaces)}


def test_refs_outside_the_namespaces_have_their_commits_checked(
    guarded: Store, remote: Path
) -> None:
    """The client hook judges the commits a push sends, wherever they go; which refs a store
    may hold is the server's judgement (its pre-receive hook refuses these names)."""
    proc = push(guarded, str(remote), "main:refs/wip/x")
    assert proc.returncode == 0, proc.stderr
    bad = plain_commit(guarded, "refs/heads/main")
    point(guarded, "refs/heads/main", bad)
    proc = push(guarded, str(remote), "main:refs/wip/y", "main:refs/tags/v1")
    assert proc.returncode != 0
    assert refused(proc) == [f"{REFUSED}{bad}: unsigned commit"]
    assert set(remote_refs(remote)) == {"refs/wip/x"}


def test_an_annotated_tag_is_checked_through(guarded: Store, remote: Path) -> None:
    bad = plain_commit(guarded, "refs/heads/main")
    in_store(guarded, "tag", "-a", "-m", "a tag", "v1", bad)
    proc = push(guarded, str(remote), "refs/tags/v1")
    assert proc.returncode != 0
    assert refused(proc) == [f"{REFUSED}{bad}: unsigned commit"]
    assert remote_refs(remote) == {}


@pytest.mark.parametrize("what", ["tree", "blob", "tag of a tree"])
def test_a_ref_to_a_tree_or_blob_is_named_as_such(guarded: Store, remote: Path, what: str) -> None:
    """Not "history cannot be walked ...; objects are missing", as the walk would say."""
    spec = "main:manifest.json" if what == "blob" else "main^{tree}"
    if what.startswith("tag"):
        in_store(guarded, "tag", "-a", "-m", "a tree", "t", in_store(guarded, "rev-parse", spec))
    else:
        in_store(guarded, "tag", "t", in_store(guarded, "rev-parse", spec))
    pushed = in_store(guarded, "rev-parse", "refs/tags/t")
    proc = push(guarded, str(remote), "main", "refs/tags/t")
    assert proc.returncode != 0
    assert refused(proc) == [
        f"{REFUSED}{pushed}: is a {what}, not a commit (pushed to refs/tags/t)"
    ]
    assert remote_refs(remote) == {}


# ---- what the remote already has --------------------------------------------------------------


def test_only_commits_the_remote_lacks_are_checked(guarded: Store, remote: Path, url: str) -> None:
    old = plain_commit(guarded, "refs/heads/main")
    point(guarded, "refs/heads/main", old)
    assert push(guarded, url, "--no-verify", "main").returncode == 0
    guarded.think("signed, on top")
    guarded.think("and another")
    proc = push(guarded, url, "main")
    assert proc.returncode == 0, proc.stderr
    assert remote_refs(remote)["refs/heads/main"] == guarded.head()


def test_a_forced_push_checks_what_is_not_on_the_remote(guarded: Store, remote: Path) -> None:
    base = guarded.head()
    guarded.think("pushed, then rewound")
    assert push(guarded, str(remote), "main").returncode == 0
    point(guarded, "refs/heads/main", base)
    bad = plain_commit(guarded, "refs/heads/main")
    point(guarded, "refs/heads/main", bad)
    proc = push(guarded, str(remote), "+main")
    assert proc.returncode != 0
    assert refused(proc) == [f"{REFUSED}{bad}: unsigned commit"]
    point(guarded, "refs/heads/main", base)
    guarded.think("signed, rewritten")
    proc = push(guarded, str(remote), "+main")
    assert proc.returncode == 0, proc.stderr
    assert remote_refs(remote)["refs/heads/main"] == guarded.head()


def test_a_new_ref_has_its_whole_history_checked(guarded: Store, remote: Path) -> None:
    """git tells pre-push what the remote holds at the refs pushed, nothing more: a new ref
    built on a commit the remote holds under another name has that commit checked again (and
    refused, if it does not verify): stricter than needed, never laxer."""
    old = plain_commit(guarded, "refs/heads/main")
    point(guarded, "refs/heads/main", old)
    assert push(guarded, str(remote), "--no-verify", "main").returncode == 0
    guarded.fork("lab")
    guarded.think("signed, on lab", experiment="lab")
    proc = push(guarded, str(remote), "lab")
    assert proc.returncode != 0
    assert refused(proc) == [f"{REFUSED}{old}: unsigned commit"]
    assert set(remote_refs(remote)) == {"refs/heads/main"}


def test_a_push_of_many_bad_commits_names_the_first_few(guarded: Store, remote: Path) -> None:
    tip = "refs/heads/main"
    made: list[str] = []
    for i in range(MAX_REPORTED + 25):
        made.append(plain_commit(guarded, made[-1] if made else tip, f"plain {i}"))
    point(guarded, tip, made[-1])
    proc = push(guarded, str(remote), "main")
    assert proc.returncode != 0
    lines = refused(proc)
    assert lines[:-1] == [f"{REFUSED}{c}: unsigned commit" for c in made[:MAX_REPORTED]]
    assert lines[-1] == f"{REFUSED}... and 25 more problem(s)"
    assert remote_refs(remote) == {}


# ---- where the store is, and how the hook runs ------------------------------------------------


def test_paths_with_spaces(tmp_path: Path) -> None:
    store = init_store(tmp_path / "my stores" / "al pha", "alpha")
    populated(store)
    install(store)
    remote = tmp_path / "re mote" / "shared minds.git"
    git("init", "-q", "--bare", str(remote))
    for url in (str(remote), f"file://{remote}"):
        proc = push(store, url, "main")
        assert proc.returncode == 0, proc.stderr
    bad = plain_commit(store, "refs/heads/main")
    point(store, "refs/heads/main", bad)
    for url in (str(remote), f"file://{remote}"):
        proc = push(store, url, "main")
        assert refused(proc) == [f"{REFUSED}{bad}: unsigned commit"]
    assert remote_refs(remote) != {"refs/heads/main": bad}


@pytest.mark.parametrize("how", ["inside", "relative", "GIT_DIR"])
def test_the_hook_finds_a_bare_store_however_git_is_pointed_at_it(
    guarded: Store, remote: Path, how: str
) -> None:
    env = dict(os.environ)
    if how == "inside":
        cwd, args = guarded.path, ["push"]
    elif how == "relative":
        cwd, args = guarded.path.parent, ["--git-dir", guarded.path.name, "push"]
    else:
        cwd, args = guarded.path.parent, ["push"]
        env["GIT_DIR"] = guarded.path.name
    ok = subprocess.run(
        ["git", *args, str(remote), "main"], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    pushed = guarded.head()
    bad = plain_commit(guarded, "refs/heads/main")
    point(guarded, "refs/heads/main", bad)
    proc = subprocess.run(
        ["git", *args, str(remote), "main"], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert refused(proc) == [f"{REFUSED}{bad}: unsigned commit"]
    assert remote_refs(remote) == {"refs/heads/main": pushed}


def _wrapper(path: Path) -> Path:
    # A wrapper, not a symlink: a venv's python finds its venv from the path it is run by.
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    path.chmod(0o755)
    return path


def test_a_recorded_python_that_is_gone_says_so(
    guarded: Store, remote: Path, tmp_path: Path
) -> None:
    python = _wrapper(tmp_path / "venv python")
    install(guarded, str(python))
    bare_path = {**os.environ, "PATH": "/usr/bin:/bin"}
    assert push(guarded, str(remote), "main", env=bare_path).returncode == 0
    python.unlink()
    guarded.think("signed, after the venv moved")
    proc = push(guarded, str(remote), "main", env=bare_path)
    assert proc.returncode != 0
    assert f"{python} cannot be run" in proc.stderr and "mindgit hooks install" in proc.stderr
    assert "not found" not in proc.stderr
    assert remote_refs(remote)["refs/heads/main"] != guarded.head()


def test_a_recorded_python_that_is_gone_falls_back_to_mindgit_on_the_path(
    guarded: Store, remote: Path, tmp_path: Path
) -> None:
    python = _wrapper(tmp_path / "py")
    install(guarded, str(python))
    python.unlink()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _wrapper(bin_dir / "mindgit").write_text(
        f'#!/bin/sh\nexec "{sys.executable}" -m mindgit "$@"\n'
    )
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    bad = plain_commit(guarded, "refs/heads/main")
    point(guarded, "refs/heads/main", bad)
    proc = push(guarded, str(remote), "main", env=env)
    assert refused(proc) == [f"{REFUSED}{bad}: unsigned commit"]


def test_a_server_hook_whose_python_is_gone_says_how_to_reinstall(
    store: Store, tmp_path: Path
) -> None:
    python = _wrapper(tmp_path / "py")
    server = tmp_path / "shared.git"
    git("init", "-q", "--bare", str(server))
    install_server(server, trust_text=store.trust.export(), python=str(python))
    python.unlink()
    proc = push(store, str(server), "main", env={**os.environ, "PATH": "/usr/bin:/bin"})
    assert proc.returncode != 0
    assert f"remote: mindgit: pre-receive hook: {python} cannot be run" in proc.stderr
    assert "mindgit hooks install --server <this repository>" in proc.stderr
    assert remote_refs(server) == {}


# ---- mindgit hooks install on a store ---------------------------------------------------------


def test_install_twice_writes_the_same_hook(store: Store, mg: Mg) -> None:
    first = mg("--store", str(store.path), "hooks", "install")
    hook = store.path / "hooks" / "pre-push"
    text = hook.read_bytes()
    again = mg("--store", str(store.path), "hooks", "install")
    assert (first.code, again.code) == (0, 0), again.err
    assert hook.read_bytes() == text == hook_script("pre-push", sys.executable).encode()
    assert stat.S_IMODE(hook.stat().st_mode) == 0o755
    # No temporary file is left beside it.
    assert sorted(p.name for p in hook.parent.iterdir() if p.name.startswith(".")) == []


def test_a_dangling_symlink_is_a_foreign_hook(store: Store, mg: Mg, tmp_path: Path) -> None:
    hook = store.path / "hooks" / "pre-push"
    hook.symlink_to(tmp_path / "hook-manager" / "pre-push")
    result = mg("--store", str(store.path), "hooks", "install")
    assert result.code == 1 and "is not a mindgit hook" in result.err
    assert hook.is_symlink()
    assert mg("--store", str(store.path), "hooks", "install", "--force").code == 0
    assert not hook.is_symlink() and hook.read_text() == hook_script("pre-push", sys.executable)


def test_an_edited_mindgit_hook_is_kept_unless_forced(store: Store, mg: Mg) -> None:
    path = install(store)
    edited = path.read_text().replace("exec mindgit", "echo chained >&2\nexec mindgit")
    path.write_text(edited)
    result = mg("--store", str(store.path), "hooks", "install")
    assert result.code == 1 and "edited" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert path.read_text() == edited
    with pytest.raises(HookExists):
        install_hook(store.repo, "pre-push", "/elsewhere/python3")
    assert mg("--store", str(store.path), "hooks", "install", "--force").code == 0
    assert path.read_text() == hook_script("pre-push", sys.executable)


def test_a_hook_under_another_python_is_still_ours(store: Store) -> None:
    install(store, "/opt/old venv/bin/python3")
    path = install(store)
    assert path.read_text() == hook_script("pre-push", sys.executable)


def test_a_directory_in_the_way_is_a_clear_error(store: Store, mg: Mg) -> None:
    hook = store.path / "hooks" / "pre-push"
    hook.mkdir()
    result = mg("--store", str(store.path), "hooks", "install")
    assert result.code == 1 and "is not a mindgit hook" in result.err
    forced = mg("--store", str(store.path), "hooks", "install", "--force")
    assert forced.code == 1
    # The hook is named, not the temporary file beside it that failed to take its place.
    assert forced.err.startswith(f"mindgit: error: cannot write {hook}: ")
    assert len(forced.err.strip().splitlines()) == 1
    assert hook.is_dir() and [p.name for p in hook.parent.iterdir() if p.name[0] == "."] == []


def test_a_hooks_path_that_is_a_file_is_a_clear_error(store: Store, mg: Mg, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "hooks-file"
    not_a_dir.write_text("x")
    store.repo.config["core.hooksPath"] = str(not_a_dir)
    result = mg("--store", str(store.path), "hooks", "install")
    assert result.code == 1, result.err
    assert f"cannot write {not_a_dir / 'pre-push'}: {not_a_dir} is not a directory" in result.err
    assert not_a_dir.read_text() == "x"


@pytest.mark.parametrize("where", ["missing", "file", "plain-repo"])
def test_install_needs_a_store(mg: Mg, tmp_path: Path, where: str) -> None:
    path = tmp_path / "somewhere"
    if where == "file":
        path.write_text("x")
    elif where == "plain-repo":
        git("init", "-q", "--bare", str(path))
    result = mg("--store", str(path), "hooks", "install")
    assert result.code != 0 and "internal error" not in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert not (path / "hooks" / "pre-push").exists()


def test_a_hook_installed_before_the_missing_python_check_is_still_ours(store: Store) -> None:
    hook = store.path / "hooks" / "pre-push"
    earlier = hook_script("pre-push").replace("MINDGIT_PYTHON=''", "MINDGIT_PYTHON=/old/python3")
    hook.write_text(earlier)
    assert install(store).read_text() == hook_script("pre-push", sys.executable)
