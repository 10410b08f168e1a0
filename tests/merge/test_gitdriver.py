"""Stock `git merge` in a plain clone of a store, through the driver git-setup registers: the same
state as `mindgit merge`, and failures that leave git's conflict state intact."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.run import start_run
from mindgit.ipld.cid import CID
from mindgit.merge import MergeConflict, merge
from mindgit.merge.gitdriver import (
    ATTRIBUTE_LINE,
    HOOK_MARK,
    REFSPECS,
    UNMERGED_BASES,
    MalformedManifest,
    NotAClone,
    UnmergedBases,
    git_setup,
    merge_files,
)
from mindgit.store import layout
from mindgit.store.generation import RunParams
from mindgit.store.genome import Gene
from mindgit.store.refs import update_ref
from mindgit.store.repository import HEADS, Store
from mindgit.store.state import State
from tests.conftest import Mg, fsck, git
from tests.merge.conftest import (
    HOSTILE,
    RASTRIGIN,
    block,
    diverge,
    set_data,
    set_memories,
    x,
)

USER = ("-c", "user.name=Ada", "-c", "user.email=ada@example.invalid")


def clone(store: Store, to: Path) -> Path:
    git("clone", "-q", str(store.path), str(to))
    git_setup(to, command=f"{shlex.quote(sys.executable)} -P -m mindgit")
    return to


def git_merge(work: Path, rev: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *USER, "merge", "--no-edit", rev], cwd=work, capture_output=True, text=True
    )


def tree_of(path: Path, rev: str, *, bare: bool = False) -> str:
    where = ("--git-dir", str(path)) if bare else ("-C", str(path))
    return git(*where, "rev-parse", f"{rev}^{{tree}}").strip()


def manifest_cid(path: Path, rev: str, *, bare: bool = False) -> CID:
    where = ("--git-dir", str(path)) if bare else ("-C", str(path))
    data = subprocess.run(
        ["git", *where, "cat-file", "blob", f"{rev}:manifest.json"], capture_output=True, check=True
    ).stdout
    return CID.of(data)


def driver(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    prefix = f"{shlex.quote(sys.executable)} -P -m mindgit"
    return subprocess.run(
        [*shlex.split(prefix), "merge-driver", *args], cwd=cwd, capture_output=True, text=True
    )


def test_git_merge_gives_the_same_state_as_mindgit_merge(rastrigin: Store, tmp_path: Path) -> None:
    store = rastrigin
    store.set_genes([x(f"x{i}", 1.5) for i in range(4)])
    store.think("shared")
    # The clone finds the module the way mindgit does: through main's latest run.
    start_run(store, "rastrigin", RunParams(population=4, generations=2, seed=5))
    diverge(
        store,
        ours=[x("x0", 1.0), x("x1", 0.1), x("x3", 1.0)],
        theirs=[x("x0", 0.0), x("x1", 2.0), x("x2", 3.0)],
    )
    store.think("a dream", experiment="dreamer")
    store.think("a plan", experiment="main")
    shared = next(c for c, b in store.thoughts() if b"shared" in b)
    store.forget(shared, experiment="dreamer")
    work = clone(store, tmp_path / "work")
    assert git("-C", str(work), "for-each-ref", "--format=%(refname)", "refs/runs/").strip()

    proc = git_merge(work, "origin/dreamer")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    out = merge(store, "dreamer")

    assert out.module is not None and out.candidates_scored == 4
    assert manifest_cid(work, "HEAD") == out.manifest
    assert out.commit is not None
    assert git("-C", str(work), "rev-parse", "HEAD:thoughts") == git(
        "--git-dir", str(store.path), "rev-parse", f"{out.commit}:thoughts"
    )
    assert tree_of(work, "HEAD") == tree_of(store.path, out.commit, bare=True)
    assert shared not in store.state().thoughts
    assert git("-C", str(work), "status", "--porcelain") == ""
    assert "kept theirs for x0: fitness" in proc.stderr


def test_memory_conflicts_under_git_match_after_the_hook(store: Store, tmp_path: Path) -> None:
    from tests.merge.conftest import ONEMAX

    set_memories(store, {"human": block("base"), "notes": block("same")})
    set_data(store, {"tools": block("t0")})
    store.fork("dreamer", switch=False)
    # theirs: a new human, and notes moved to another block; ours: another human, and a second
    # name for the block theirs stopped using (git alone would drop that block).
    set_memories(store, {"human": block("theirs"), "notes": block("new")}, experiment="dreamer")
    set_data(store, {"tools": block("t1")}, experiment="dreamer")
    set_memories(store, {"human": block("ours"), "notes": block("same"), "copy": block("same")})
    work = clone(store, tmp_path / "work")
    git("-C", str(work), "config", "mindgit.fitness", str(ONEMAX))

    proc = git_merge(work, "origin/dreamer")
    assert proc.returncode == 0, proc.stderr
    out = merge(store, "dreamer", fitness=str(ONEMAX))

    assert manifest_cid(work, "HEAD") == out.manifest
    assert out.commit is not None
    assert tree_of(work, "HEAD") == tree_of(store.path, out.commit, bare=True)
    assert "tidied" in proc.stderr
    assert git("-C", str(work), "status", "--porcelain") == ""
    parents = git("-C", str(work), "log", "-1", "--format=%P").split()
    assert parents[1] == git("-C", str(work), "rev-parse", "origin/dreamer").strip()
    # The tidied commit replaces git's merge commit with the same author, parents and message.
    fmt = "--format=%an <%ae> %ad %P %B"
    assert git("-C", str(work), "log", "-1", fmt, "HEAD") == git(
        "-C", str(work), "log", "-1", fmt, "HEAD@{1}"
    )


def conflicting_clone(store: Store, tmp_path: Path) -> Path:
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x0", 0.0)], start=[x("x0", 3.0)])
    return clone(store, tmp_path / "work")


def assert_conflict_left_for_git(work: Path, proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode != 0
    assert git("-C", str(work), "diff", "--name-only", "--diff-filter=U").split() == [
        "manifest.json"
    ]
    # The driver left %A alone: the work tree holds our manifest, nothing lost.
    assert (work / "manifest.json").read_bytes() == subprocess.run(
        ["git", "-C", str(work), "cat-file", "blob", "HEAD:manifest.json"],
        capture_output=True,
        check=True,
    ).stdout
    head = git("-C", str(work), "rev-parse", "HEAD")
    git("-C", str(work), "merge", "--abort")
    assert git("-C", str(work), "rev-parse", "HEAD") == head


def test_conflicts_with_no_fitness_stop_git_with_the_patterns(store: Store, tmp_path: Path) -> None:
    work = conflicting_clone(store, tmp_path)
    proc = git_merge(work, "origin/dreamer")
    assert "both sides changed 1 pattern(s) differently (x0)" in proc.stderr
    assert_conflict_left_for_git(work, proc)


def test_a_clone_set_up_before_the_post_commit_hook_is_told_at_a_conflict(
    store: Store, tmp_path: Path
) -> None:
    # Its merge committed by hand after the conflict is not tidied: thoughts/ may keep the
    # envelope of a thought that stayed forgotten.
    work = conflicting_clone(store, tmp_path)
    proc = git_merge(work, "origin/dreamer")
    assert "older than its post-commit hook" not in proc.stderr
    git("-C", str(work), "merge", "--abort")
    (work / ".git" / "hooks" / "post-commit").unlink()
    proc = git_merge(work, "origin/dreamer")
    assert "both sides changed 1 pattern(s) differently (x0)" in proc.stderr
    assert "older than its post-commit hook" in proc.stderr
    assert "run `mindgit git-setup` again" in proc.stderr
    assert_conflict_left_for_git(work, proc)


def test_a_module_that_traps_everywhere_stops_git(store: Store, tmp_path: Path) -> None:
    work = conflicting_clone(store, tmp_path)
    git("-C", str(work), "config", "mindgit.fitness", str(HOSTILE / "unreachable.wat"))
    proc = git_merge(work, "origin/dreamer")
    assert "failed on all 2 candidate merge(s)" in proc.stderr
    assert_conflict_left_for_git(work, proc)


def write(path: Path, state: State | bytes) -> Path:
    path.write_bytes(state if isinstance(state, bytes) else state.manifest().data)
    return path


@pytest.mark.parametrize(
    ("side", "bad"),
    [
        ("base", b"{not json"),
        ("ours", b'{"genome":{},"schema":2,"thoughts":[]}'),
        ("theirs", b'{"genome": {}, "schema": 1, "thoughts": []}'),
        ("ours", b""),
    ],
)
def test_a_malformed_manifest_leaves_ours_untouched(tmp_path: Path, side: str, bad: bytes) -> None:
    good = State().with_genome(State().genome.with_genes(x("x0", 1.0)))
    files = {
        "base": write(tmp_path / "O", State()),
        "ours": write(tmp_path / "A", good),
        "theirs": write(tmp_path / "B", State()),
    }
    write(files[side], bad)
    before = files["ours"].read_bytes()
    with pytest.raises(MalformedManifest) as e:
        merge_files(files["base"], files["ours"], files["theirs"], repo_dir=tmp_path)
    assert e.value.side == side
    assert files["ours"].read_bytes() == before
    proc = driver(
        *(str(files[k]) for k in ("base", "ours", "theirs")), "manifest.json", cwd=tmp_path
    )
    assert proc.returncode == 1
    assert f"{side} manifest" in proc.stderr and "not a valid mindgit manifest" in proc.stderr
    assert files["ours"].read_bytes() == before


def test_the_driver_merges_files_and_needs_no_repository_without_conflicts(tmp_path: Path) -> None:
    base = State().with_genome(State().genome.with_genes(x("x0", 0.0), x("x1", 0.0)))
    ours = base.with_genome(base.genome.with_genes(x("x0", 1.0)))
    theirs = base.with_genome(base.genome.with_genes(x("x1", 2.0)))
    a = write(tmp_path / "A", ours)
    proc = driver(
        str(write(tmp_path / "O", base)), str(a), str(write(tmp_path / "B", theirs)), cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    merged = base.with_genome(base.genome.with_genes(x("x0", 1.0), x("x1", 2.0)))
    assert a.read_bytes() == merged.manifest().data
    # An empty base file: no common ancestor (git merge --allow-unrelated-histories).
    only_x0 = State().with_genome(State().genome.with_genes(x("x0", 1.0)))
    only_x1 = State().with_genome(State().genome.with_genes(x("x1", 2.0)))
    write(a, only_x0)
    result = merge_files(
        write(tmp_path / "O", b""), a, write(tmp_path / "B", only_x1), repo_dir=tmp_path
    )
    assert result.manifest == merged.manifest().cid == CID.of(a.read_bytes())


def test_driver_usage_errors(tmp_path: Path, mg: Mg) -> None:
    r = mg("merge-driver", str(tmp_path / "O"))
    assert r.code == 2 and "usage: mindgit merge-driver" in r.err
    r = mg("merge-driver", "--tidy", str(tmp_path / "O"))
    assert r.code == 2
    r = mg("merge-driver", "--tidy", "--virtual-base")
    assert r.code == 2


def test_git_setup_is_idempotent_and_keeps_the_work_tree_clean(
    store: Store, tmp_path: Path, mg: Mg
) -> None:
    work = tmp_path / "work"
    git("clone", "-q", str(store.path), str(work))
    r = mg("git-setup", str(work), "--json")
    assert r.code == 0, r.err
    r = mg("git-setup", str(work))
    assert r.code == 0, r.err
    attributes = (work / ".git" / "info" / "attributes").read_text().splitlines()
    assert attributes.count(ATTRIBUTE_LINE) == 1
    fetch = git("-C", str(work), "config", "--get-all", "remote.origin.fetch").split()
    assert fetch == ["+refs/heads/*:refs/remotes/origin/*", *REFSPECS]
    assert (
        git("-C", str(work), "config", "merge.mindgit.driver")
        .strip()
        .endswith("merge-driver %O %A %B %P")
    )
    # git merges a criss-cross history's merge bases with the driver this one names.
    assert git("-C", str(work), "config", "merge.mindgit.recursive").strip() == "mindgit-bases"
    assert (
        git("-C", str(work), "config", "merge.mindgit-bases.driver")
        .strip()
        .endswith("merge-driver --virtual-base %O %A %B %P")
    )
    assert git("-C", str(work), "check-attr", "merge", "manifest.json").strip() == (
        "manifest.json: merge: mindgit"
    )
    assert git("-C", str(work), "status", "--porcelain") == ""
    assert HOOK_MARK in (work / ".git" / "hooks" / "post-merge").read_text()


def test_git_setup_in_a_linked_worktree_registers_where_git_reads(
    store: Store, tmp_path: Path, mg: Mg
) -> None:
    # The attributes and hooks went to .git/worktrees/<name>/, which git reads for neither:
    # setup said it registered the driver, and git merged manifest.json as text.
    work = tmp_path / "work"
    git("clone", "-q", str(store.path), str(work))
    tree = tmp_path / "tree"
    git("-C", str(work), "worktree", "add", "-q", str(tree), "-b", "other")
    r = mg("git-setup", str(tree), "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["attributes"] == str(work / ".git" / "info" / "attributes")
    assert git("-C", str(tree), "check-attr", "merge", "manifest.json").strip() == (
        "manifest.json: merge: mindgit"
    )
    hooks = git("-C", str(tree), "rev-parse", "--git-path", "hooks").strip()
    assert (Path(tree, hooks) / "post-merge").is_file()
    assert (Path(tree, hooks) / "post-commit").is_file()


def test_git_setup_with_core_hooks_path_says_no_hook_runs(
    store: Store, tmp_path: Path, mg: Mg
) -> None:
    # git runs no hook from .git/hooks when core.hooksPath is set: setup installed both there and
    # reported them installed, and no merge was ever tidied.
    work = tmp_path / "work"
    git("clone", "-q", str(store.path), str(work))
    mine = tmp_path / "my-hooks"
    git("-C", str(work), "config", "core.hooksPath", str(mine))
    r = mg("git-setup", str(work), "--no-fetch", "--json")
    assert r.code == 0, r.err
    done = json.loads(r.out)
    assert (done["hook"], done["commit_hook"], done["hooks_path"]) == (None, None, str(mine))
    assert not (work / ".git" / "hooks" / "post-merge").exists() and not mine.exists()
    r = mg("git-setup", str(work), "--no-fetch")
    assert r.code == 0 and f"core.hooksPath is set ({mine})" in r.err
    assert "merge-driver --tidy" in r.err


def test_git_setup_leaves_a_foreign_hook_alone(store: Store, tmp_path: Path) -> None:
    work = tmp_path / "work"
    git("clone", "-q", str(store.path), str(work))
    hook = work / ".git" / "hooks" / "post-merge"
    hook.write_text("#!/bin/sh\necho mine\n")
    result = git_setup(work, fetch=False)
    assert result.hook is None and hook.read_text() == "#!/bin/sh\necho mine\n"


def test_git_setup_refuses_what_is_not_a_clone(store: Store, tmp_path: Path) -> None:
    with pytest.raises(NotAClone, match="bare repository"):
        git_setup(store.path)
    plain = tmp_path / "plain"
    git("init", "-q", str(plain))
    with pytest.raises(NotAClone, match="no remote 'origin'"):
        git_setup(plain)
    assert git_setup(plain, fetch=False).refspecs == ()
    empty = tmp_path / "empty"
    empty.mkdir()
    os.environ.pop("GIT_DIR", None)
    with pytest.raises(NotAClone, match="not inside a git repository"):
        git_setup(empty, fetch=False)


def test_git_setup_whose_fetch_fails_writes_nothing(store: Store, tmp_path: Path, mg: Mg) -> None:
    # The fetch ran last: a remote that moved left the driver registered without its post-merge
    # hook (forgotten thoughts' envelopes then stayed in thoughts/ after merges), under an
    # error that said only git's last words ("and the repository exists.").
    work = tmp_path / "work"
    git("clone", "-q", str(store.path), str(work))
    git("-C", str(work), "remote", "set-url", "origin", str(tmp_path / "moved"))
    config = (work / ".git" / "config").read_bytes()
    r = mg("git-setup", str(work))
    assert r.code == 1
    assert "`git fetch origin` failed: fatal: '" in r.err
    assert "does not appear to be a git repository" in r.err and "--no-fetch" in r.err
    assert (work / ".git" / "config").read_bytes() == config
    assert not (work / ".git" / "info" / "attributes").exists()
    assert not (work / ".git" / "hooks" / "post-merge").exists()
    r = mg("git-setup", str(work), "--remote", "nope")
    assert r.code == 1 and "`git remote -v`" in r.err and "--no-fetch" in r.err
    assert (work / ".git" / "config").read_bytes() == config


def test_criss_cross_histories_merge_the_same_under_git(store: Store, tmp_path: Path) -> None:
    store.set_genes([x("x0", 0.0), x("x1", 0.0), x("x2", 0.0)])
    store.fork("dreamer", switch=False)
    store.set_genes([x("x0", 1.0)])
    store.set_genes([x("x1", 1.0)], experiment="dreamer")
    a, b = store.head("main"), store.head("dreamer")
    merge(store, b, into="main")
    merge(store, a, into="dreamer")
    store.set_genes([x("x2", 2.0)])
    store.set_genes([x("x0", -1.0)], experiment="dreamer")
    work = clone(store, tmp_path / "work")
    proc = git_merge(work, "origin/dreamer")
    assert proc.returncode == 0, proc.stderr
    out = merge(store, "dreamer")
    assert len(out.bases) == 2
    assert manifest_cid(work, "HEAD") == out.manifest
    assert out.commit is not None
    assert tree_of(work, "HEAD") == tree_of(store.path, out.commit, bare=True)


def test_git_setup_names_this_node_and_only_its_runs_decide(
    rastrigin: Store, tmp_path: Path
) -> None:
    from mindgit.identity.keys import NodeKey

    store = rastrigin
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x0", 0.0)], start=[x("x0", 3.0)])
    start_run(store, "rastrigin", RunParams(population=4, generations=2, seed=5), experiment="main")
    work = tmp_path / "work"
    git("clone", "-q", str(store.path), str(work))
    command = f"{shlex.quote(sys.executable)} -P -m mindgit"
    # The remote is this node's own store on this machine: its key is the clone's node.
    result = git_setup(work, command=command)
    assert result.node == store.public_key
    assert git("-C", str(work), "config", "mindgit.node").strip() == store.public_key.did
    # Another node's clone of the same store: the run is not its own, so it decides nothing.
    stranger = NodeKey.generate().public
    assert git_setup(work, command=command, node=stranger).node == stranger
    proc = git_merge(work, "origin/dreamer")
    assert "both sides changed 1 pattern(s) differently (x0)" in proc.stderr
    assert "only if this node signed it" in proc.stderr
    assert_conflict_left_for_git(work, proc)
    # No node at all: the same.
    git("-C", str(work), "config", "--unset", "mindgit.node")
    proc = git_merge(work, "origin/dreamer")
    assert_conflict_left_for_git(work, proc)
    # Its own node again: its run decides.
    git_setup(work, command=command, node=store.public_key)
    proc = git_merge(work, "origin/dreamer")
    assert proc.returncode == 0, proc.stderr
    assert "(run " in proc.stderr


def test_git_setup_does_not_guess_a_node_for_a_remote_elsewhere(
    store: Store, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    git("clone", "-q", str(store.path), str(work))
    git("-C", str(work), "remote", "set-url", "origin", "ssh://example.invalid/alpha")
    result = git_setup(work, fetch=False, command="mindgit")
    assert result.node is None
    assert git("-C", str(work), "config", "--get", "mindgit.node", check=False) == ""
    # A relative path is the store's as git reads it: from the work tree.
    git("-C", str(work), "remote", "set-url", "origin", os.path.relpath(store.path, work))
    assert git_setup(work, fetch=False, command="mindgit").node == store.public_key


def test_git_setup_cli_refuses_a_bad_node(mg: Mg, store: Store, tmp_path: Path) -> None:
    work = tmp_path / "work"
    git("clone", "-q", str(store.path), str(work))
    r = mg("git-setup", str(work), "--no-fetch", "--node", "did:key:zNope", "--json")
    assert r.code == 2 and "not an ed25519 public key" in r.err  # a usage error
    assert git("-C", str(work), "config", "--get", "merge.mindgit.driver", check=False) == ""
    r = mg("git-setup", str(work), "--no-fetch", "--json")
    assert r.code == 0 and f'"node": "{store.public_key.did}"' in r.out


def fitness_ref(work: Path, name: str, module: bytes, *, lose_module: bool = False) -> None:
    """A module stored in the clone as ``refs/fitness/<name>`` under rastrigin's fitness.json
    (so under rastrigin's CID) but with ``module`` as its bytes; ``lose_module``: its blob is
    then deleted, as a broken or partial copy would lose it."""
    w = ("-C", str(work))
    blob = git(*w, "hash-object", "-w", "--stdin", input=module).strip()
    meta = git(*w, "rev-parse", "refs/fitness/rastrigin:fitness.json").strip()
    listing = f"100644 blob {meta}\tfitness.json\n100644 blob {blob}\tmodule.wasm\n"
    tree = git(*w, "mktree", input=listing.encode()).strip()
    commit = git(*w, *USER, "commit-tree", "-m", name, tree).strip()
    git(*w, "update-ref", f"refs/fitness/{name}", commit)
    if lose_module:
        (work / ".git" / "objects" / blob[:2] / blob[2:]).unlink()


@pytest.mark.parametrize(
    ("module", "says"),
    [
        ("nosuch", "no fitness module named 'nosuch'"),
        ("corrupt", "refs/fitness/corrupt: the module's bytes do not hash to"),
        ("lost", "refs/fitness/lost: module.wasm cannot be read"),
        (str(HOSTILE / "infinite_loop.wat"), "ran out of fuel"),
    ],
)
def test_a_module_the_driver_cannot_use_leaves_a_git_conflict(
    rastrigin: Store, tmp_path: Path, module: str, says: str
) -> None:
    work = conflicting_clone(rastrigin, tmp_path)
    fitness_ref(work, "corrupt", b"(module)")
    fitness_ref(work, "lost", b"(module (memory 1))", lose_module=True)
    git("-C", str(work), "config", "mindgit.fitness", module)
    proc = git_merge(work, "origin/dreamer")
    assert "mindgit: error: " in proc.stderr and says in proc.stderr, proc.stderr
    assert "internal error" not in proc.stderr
    assert_conflict_left_for_git(work, proc)


def test_a_git_merge_in_a_signing_clone_passes_mindgit_verify_and_fsck(
    store: Store, tmp_path: Path, mg: Mg
) -> None:
    from tests.merge.conftest import ONEMAX

    set_memories(store, {"human": block("base")})
    store.fork("dreamer", switch=False)
    set_memories(store, {"human": block("theirs"), "plan": block("p")}, experiment="dreamer")
    store.set_genes([x("x0", 2.0)], experiment="dreamer")
    set_memories(store, {"human": block("ours"), "copy": block("base")})
    work = clone(store, tmp_path / "work")
    trust = store.path / "mindgit" / "allowed_signers"
    w = ("-C", str(work))
    git(*w, "config", "mindgit.fitness", str(ONEMAX))
    proc = git_merge(work, "origin/dreamer")
    assert proc.returncode == 0, proc.stderr
    # git's own commit is unsigned unless the clone signs: verify says so, it does not pass it.
    r = mg("--store", str(work), "verify", "--trust", str(trust))
    assert r.code == 1 and "unsigned commit" in r.out + r.err
    git(*w, "reset", "-q", "--hard", "ORIG_HEAD")  # as before the merge
    for key, value in [
        ("gpg.format", "ssh"),
        ("user.signingkey", str(store.key_path)),
        ("commit.gpgsign", "true"),
        ("user.name", store.name),
        ("user.email", store.public_key.did),
    ]:
        git(*w, "config", key, value)
    proc = git_merge(work, "origin/dreamer")
    assert proc.returncode == 0 and "tidied" in proc.stderr, proc.stderr
    assert len(git(*w, "log", "-1", "--format=%P").split()) == 2
    r = mg("--store", str(work), "verify", "--trust", str(trust))
    assert r.code == 0, r.out + r.err
    fsck(work / ".git")
    out = merge(store, "dreamer", fitness=str(ONEMAX))
    assert out.commit is not None
    assert tree_of(work, "HEAD") == tree_of(store.path, out.commit, bare=True)


def test_a_file_that_is_not_a_manifest_is_left_as_a_git_conflict(
    store: Store, tmp_path: Path
) -> None:
    work = clone(store, tmp_path / "work")
    w = ("-C", str(work))
    # Someone routes every file through the driver, and both sides change a plain text file.
    with open(work / ".git" / "info" / "attributes", "a", encoding="utf-8") as f:
        f.write("* merge=mindgit\n")
    for branch, text in [("main", "base\n"), ("-b side", "theirs\n"), ("main", "ours\n")]:
        git(*w, "checkout", "-q", *branch.split())
        (work / "notes.txt").write_text(text)
        git(*w, "add", "notes.txt")
        git(*w, *USER, "commit", "-q", "-m", text.strip())
    proc = git_merge(work, "side")
    assert proc.returncode != 0
    assert git(*w, "diff", "--name-only", "--diff-filter=U").split() == ["notes.txt"]
    assert "not a valid mindgit manifest" in proc.stderr
    assert (work / "notes.txt").read_text() == "ours\n"


def set_at(store: Store, experiment: str, gene: Gene, when: int) -> str:
    """Commit ``gene`` on ``experiment`` with commit time ``when`` (the order of merge bases
    git merges into its virtual base goes by commit time)."""
    head = store.head(experiment)
    snap = store.snapshot(head)
    state = snap.state.with_genome(snap.state.genome.with_genes(gene))
    tree, manifest = layout.write_state(store.repo, state, {}, snap.tree)
    commit = store.write_commit(tree, [head], f"set {gene.name}", manifest.cid, when=when)
    update_ref(store.repo, HEADS + experiment, commit, head, message="set", committer="t <t@t>")
    return commit


def criss_cross_with_conflicting_bases(store: Store) -> None:
    """main and dreamer merge each other's x0 conflict (rastrigin keeps main's 1.0 over
    dreamer's older 2.0), then main sets x0 back to 2.0 while dreamer sets 3.0. The two merge
    bases conflict on x0: only fitness merges them into the virtual base (x0 = 1.0), from which
    both sides changed x0, differently."""
    add_fitness(store, RASTRIGIN)
    store.set_genes([x("x0", 0.0), x("x1", 0.0)])
    store.fork("dreamer", switch=False)
    now = int(time.time())
    b = set_at(store, "dreamer", x("x0", 2.0), now - 20)  # the older base: git's first
    a = set_at(store, "main", x("x0", 1.0), now - 10)
    merge(store, b, into="main", fitness="rastrigin")
    merge(store, a, into="dreamer", fitness="rastrigin")
    store.set_genes([x("x0", 2.0)])
    store.set_genes([x("x0", 3.0)], experiment="dreamer")


def test_merge_bases_git_cannot_merge_are_a_conflict_not_a_guess(
    store: Store, tmp_path: Path
) -> None:
    criss_cross_with_conflicting_bases(store)
    with pytest.raises(MergeConflict):
        merge(store, "dreamer", dry_run=True)  # no module decides the merge bases' conflict
    work = clone(store, tmp_path / "work")
    proc = git_merge(work, "origin/dreamer")
    # git merged the bases with the driver; when that fails it must not go on from a guessed
    # base (one base's manifest, from which main's x0 = 2.0 looked unchanged: x0 = 3.0 won).
    assert "merge bases" in proc.stderr, proc.stderr
    assert_conflict_left_for_git(work, proc)


def test_merge_bases_with_conflicts_merge_by_fitness_under_git(
    store: Store, tmp_path: Path
) -> None:
    criss_cross_with_conflicting_bases(store)
    work = clone(store, tmp_path / "work")
    git("-C", str(work), "config", "mindgit.fitness", "rastrigin")
    proc = git_merge(work, "origin/dreamer")
    assert proc.returncode == 0, proc.stderr
    out = merge(store, "dreamer", fitness="rastrigin")
    assert len(out.bases) == 2 and out.commit is not None
    assert manifest_cid(work, "HEAD") == out.manifest
    assert tree_of(work, "HEAD") == tree_of(store.path, out.commit, bare=True)


def test_a_virtual_base_the_driver_could_not_merge_stops_every_merge_that_reads_it(
    tmp_path: Path,
) -> None:
    base = State().with_genome(State().genome.with_genes(x("x0", 0.0)))
    ours = base.with_genome(base.genome.with_genes(x("x0", 1.0)))
    theirs = base.with_genome(base.genome.with_genes(x("x0", 2.0)))
    git("init", "-q", str(tmp_path))  # a repository that configures no module
    a = write(tmp_path / "A", ours)
    files = (write(tmp_path / "O", base), a, write(tmp_path / "B", theirs))
    # Merging merge bases: a failure leaves the mark, with the reason, where git reads the result.
    with pytest.raises(MergeConflict):
        merge_files(*files, repo_dir=tmp_path, virtual_base=True)
    mark = a.read_bytes()
    assert mark.startswith(UNMERGED_BASES) and b"(x0)" in mark
    # Any merge that gets the mark as a side or a base stops, and says why; a nested merge of
    # bases passes it on.
    for i in range(3):
        paths = [write(tmp_path / n, s) for n, s in zip("OAB", (base, ours, ours), strict=True)]
        write(paths[i], mark)
        before = paths[1].read_bytes()
        with pytest.raises(UnmergedBases) as e:
            merge_files(*paths, repo_dir=tmp_path)
        assert "(x0)" in e.value.reason and paths[1].read_bytes() == before
        write(paths[i], mark)
        with pytest.raises(UnmergedBases):
            merge_files(*paths, repo_dir=tmp_path, virtual_base=True)
        assert paths[1].read_bytes() == mark


def test_a_fast_forward_to_a_merge_commit_is_not_rewritten(store: Store, tmp_path: Path) -> None:
    from tests.merge.conftest import ONEMAX

    set_memories(store, {"human": block("base")})
    store.fork("dreamer", switch=False)
    set_memories(store, {"human": block("theirs")}, experiment="dreamer")
    set_memories(store, {"human": block("ours")})
    work = clone(store, tmp_path / "work")
    w = ("-C", str(work))
    git(*w, "config", "mindgit.fitness", str(ONEMAX))
    # A merge committed by hand (no post-merge hook runs) on a local branch keeps both blocks.
    git(*w, "checkout", "-q", "-b", "feat")
    subprocess.run(["git", *w, *USER, "merge", "--no-commit", "origin/dreamer"], check=True)
    git(*w, *USER, "commit", "-q", "--no-edit")
    feat = git(*w, "rev-parse", "feat").strip()
    git(*w, "checkout", "-q", "main")
    proc = git_merge(work, "feat")
    assert proc.returncode == 0 and "Fast-forward" in proc.stdout, proc.stdout + proc.stderr
    assert "tidied" not in proc.stderr
    assert git(*w, "rev-parse", "HEAD").strip() == feat  # what a fast-forward promises


def test_a_clone_set_up_before_the_bases_driver_is_told_to_set_up_again(
    rastrigin: Store, tmp_path: Path
) -> None:
    diverge(rastrigin, ours=[x("x0", 1.0)], theirs=[x("x1", 0.0)])
    work = clone(rastrigin, tmp_path / "work")
    warning = "run `mindgit git-setup` again"
    git("-C", str(work), "config", "--unset", "merge.mindgit.recursive")
    proc = git_merge(work, "origin/dreamer")
    assert proc.returncode == 0, proc.stderr
    assert warning in proc.stderr
    git("-C", str(work), "reset", "-q", "--hard", "HEAD~1")
    git_setup(work, command=f"{shlex.quote(sys.executable)} -P -m mindgit")
    proc = git_merge(work, "origin/dreamer")
    assert proc.returncode == 0, proc.stderr
    assert warning not in proc.stderr


def test_git_setup_whose_fetch_fails_hides_a_long_secret(
    store: Store, tmp_path: Path, mg: Mg
) -> None:
    # git names a git:// URL's host with its userinfo on ("unable to look up user:secret@host");
    # git's line was cut at 300 characters before the credentials were hidden, and a cut that
    # took the '@' left the secret's start in the error.
    secret = "s3cr3t" * 70
    work = tmp_path / "work"
    git("clone", "-q", str(store.path), str(work))
    git(
        "-C", str(work), "remote", "set-url", "origin", f"git://user:{secret}@nonexistent.invalid/x"
    )
    r = mg("git-setup", str(work))
    assert r.code == 1, r.err
    assert "`git fetch origin` failed" in r.err
    assert "s3cr3t" not in r.err + r.out
