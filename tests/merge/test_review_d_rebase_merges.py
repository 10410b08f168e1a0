"""Review D: `git rebase --rebase-merges` of a branch holding a merge made through the driver.

git's sequencer recreates the merge (running the driver on manifest.json) and commits it with
`git commit`, which runs git-setup's post-commit hook with HEAD detached: the hook tidies the
recreated merge before the rebase goes on, so the rebased branch holds the tree `mindgit merge`
writes for the same two sides, its later commits replayed on top of that.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mindgit.evolve.run import start_run
from mindgit.merge import merge
from mindgit.merge.gitdriver import HOOK_MARK, tidy_rebase
from mindgit.store.generation import RunParams
from mindgit.store.private import share
from mindgit.store.repository import Store
from mindgit.store.state import Block
from tests.conftest import Mg, fsck, git
from tests.merge.conftest import ONEMAX, block, diverge, set_memories, x
from tests.merge.test_gitdriver import USER, clone, git_merge, tree_of
from tests.private.conftest import Nodes
from tests.private.conftest import nodes as private_nodes

nodes = private_nodes


def run(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *USER, *args], cwd=work, capture_output=True, text=True)


def rev(work: Path, name: str) -> str:
    return git("-C", str(work), "rev-parse", name).strip()


def parents(work: Path, name: str) -> list[str]:
    return git("-C", str(work), "log", "-1", "--format=%P", name).split()


def record_rewrites(work: Path) -> Path:
    """Keep what git hands the post-rewrite hook (OLD NEW, a line each), then run git-setup's."""
    out = work / ".git" / "rewritten.txt"
    hook = work / ".git" / "hooks" / "post-rewrite"
    ours = hook.read_text().removeprefix("#!/bin/sh\n")
    hook.write_text(f"#!/bin/sh\ncat > '{out}'\nexec < '{out}'\n{ours}")
    return out


def rewrites(path: Path) -> dict[str, str]:
    """The commits the rebase wrote again (not those it kept: a fast-forward is OLD OLD)."""
    pairs = (line.split()[:2] for line in path.read_text().splitlines())
    return {old: new for old, new in pairs if old != new}


def assert_rebased(work: Path, proc: subprocess.CompletedProcess[str], branch: str) -> None:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (work / ".git" / "rebase-merge").exists()
    assert git("-C", str(work), "symbolic-ref", "HEAD").strip() == f"refs/heads/{branch}"
    assert git("-C", str(work), "status", "--porcelain") == ""


def diverged_clone(store: Store, tmp_path: Path, branch: str | None = "feat") -> Path:
    """main and dreamer each change memory human in the store; a clone set up with git-setup
    (ONEMAX decides), on a new ``branch`` from main (None: on main)."""
    set_memories(store, {"human": block("base"), "notes": block("same")})
    store.fork("dreamer", switch=False)
    set_memories(store, {"human": block("theirs"), "notes": block("same")}, experiment="dreamer")
    set_memories(store, {"human": block("ours"), "notes": block("same")})
    work = clone(store, tmp_path / "work")
    git("-C", str(work), "config", "mindgit.fitness", str(ONEMAX))
    if branch is not None:
        git("-C", str(work), "checkout", "-q", "-b", branch)
    return work


def memory_conflict(store: Store, tmp_path: Path) -> Path:
    """:func:`diverged_clone`, whose feat merges dreamer (git's tree merge keeps the losing
    block; the post-merge hook drops it), then gets a commit on top; main moves on in the
    store."""
    work = diverged_clone(store, tmp_path)
    proc = git_merge(work, "origin/dreamer")
    assert proc.returncode == 0 and "tidied" in proc.stderr, proc.stderr
    done = run(work, "commit", "-q", "--allow-empty", "-m", "a note on top")
    assert done.returncode == 0, done.stderr
    store.set_genes([x("x0", 1.0)])
    git("-C", str(work), "fetch", "-q", "origin")
    return work


def test_rebase_merges_recreates_the_merge_tidy(store: Store, tmp_path: Path) -> None:
    work = memory_conflict(store, tmp_path)
    old_merge, old_top = rev(work, "feat~1"), rev(work, "feat")
    log = record_rewrites(work)

    proc = run(work, "rebase", "--rebase-merges", "origin/main")

    assert_rebased(work, proc, "feat")
    out = merge(store, "dreamer", fitness=str(ONEMAX))
    assert out.commit is not None
    new_merge = rev(work, "feat~1")
    assert parents(work, new_merge) == [rev(work, "origin/main"), rev(work, "origin/dreamer")]
    assert tree_of(work, new_merge) == tree_of(store.path, out.commit, bare=True)
    assert tree_of(work, "feat") == tree_of(work, new_merge)
    assert git("-C", str(work), "log", "-1", "--format=%s", "feat") == "a note on top\n"
    # git handed the hook the commits the rebase made: the merge the tidy replaced, and the
    # note on top of it, written again on the tidied merge.
    made = rewrites(log)
    assert set(made) == {old_merge, old_top}
    assert made[old_merge] != new_merge and parents(work, made[old_merge]) == parents(
        work, new_merge
    )
    assert str(block("theirs").cid) in git("-C", str(work), "ls-tree", "-r", made[old_merge])
    assert made[old_top] != rev(work, "feat")
    # Nothing lost: the branch's reflog holds the rebase's tip, and the tip before it.
    assert rev(work, "feat@{1}") == made[old_top]
    assert rev(work, "feat@{2}") == old_top
    assert "tidy merges after rebase" in git("-C", str(work), "reflog", "-1", "feat")
    assert "1 merge(s) the rebase made tidied" in proc.stderr


def test_rebase_merges_onto_keeps_the_merge_tidy(store: Store, tmp_path: Path) -> None:
    work = memory_conflict(store, tmp_path)

    proc = run(work, "rebase", "-r", "--onto", "origin/main", "main", "feat")

    assert_rebased(work, proc, "feat")
    out = merge(store, "dreamer", fitness=str(ONEMAX))
    assert out.commit is not None
    assert tree_of(work, "feat~1") == tree_of(store.path, out.commit, bare=True)
    assert parents(work, "feat~1")[0] == rev(work, "origin/main")


def test_a_recreated_merge_that_conflicts_is_tidied_when_the_rebase_goes_on(
    store: Store, tmp_path: Path
) -> None:
    work = memory_conflict(store, tmp_path)
    git("-C", str(work), "config", "--unset", "mindgit.fitness")
    # The losing block git's tree merge keeps: the block of memory human that ours replaced.
    theirs_block = block("theirs").cid

    proc = run(work, "rebase", "-r", "origin/main")

    assert proc.returncode != 0 and (work / ".git" / "rebase-merge").exists()
    assert "both sides changed 1 pattern(s) differently" in proc.stderr
    assert (work / "blocks" / str(theirs_block)).exists()
    git("-C", str(work), "checkout", "--ours", "manifest.json")
    git("-C", str(work), "add", "manifest.json")
    done = run(work, "-c", "core.editor=true", "rebase", "--continue")

    assert_rebased(work, done, "feat")
    assert len(parents(work, "feat~1")) == 2
    names = git("-C", str(work), "ls-tree", "--name-only", "feat~1:blocks").split()
    assert str(theirs_block) not in names
    assert not (work / "blocks" / str(theirs_block)).exists()


def test_rebase_merges_keeps_a_forgotten_thought_forgotten(nodes: Nodes, tmp_path: Path) -> None:
    # ours forgot a private thought that theirs shared: git's tree merge keeps the shared
    # envelope in thoughts/, readable by its recipients, until the tidy removes it.
    from tests.merge.test_private_merge import forked

    alpha, _beta, _gamma, c1 = forked(nodes)
    alpha.forget(c1)
    _, c2 = share(alpha, c1, "beta", experiment="other")
    alpha.think("news from other", experiment="other")
    work = clone(alpha, tmp_path / "work")
    git("-C", str(work), "checkout", "-q", "-b", "feat")
    assert git_merge(work, "origin/other").returncode == 0
    run(work, "commit", "-q", "--allow-empty", "-m", "a note on top")
    alpha.set_genes([x("x0", 1.0)])
    git("-C", str(work), "fetch", "-q", "origin")

    proc = run(work, "rebase", "-r", "origin/main")

    assert_rebased(work, proc, "feat")
    out = merge(alpha, "other")
    assert out.commit is not None
    assert tree_of(work, "feat~1") == tree_of(alpha.path, out.commit, bare=True)
    for name in ("feat~1", "feat"):
        assert str(c2) not in git("-C", str(work), "ls-tree", "--name-only", f"{name}:thoughts")
    assert not (work / "thoughts" / str(c2)).exists()


# A memory the size of a Letta persona: an edit at its end leaves the block >90% similar, so
# git's rename detection pairs the two sides' blocks up as a rename (see test_review_git_renames).
TEXT = "The human is called Ada. " + " ".join(
    f"Fact {i}: something the agent learned about Ada." for i in range(60)
)


def test_rebase_merges_of_a_memory_edited_on_both_sides(store: Store, tmp_path: Path) -> None:
    def memory(text: str) -> Block:
        return Block.encode({"value": text})

    set_memories(store, {"human": memory(TEXT)})
    store.fork("dreamer", switch=False)
    set_memories(store, {"human": memory(TEXT + " Likes tea.")}, experiment="dreamer")
    set_memories(store, {"human": memory(TEXT + " Likes coffee.")})
    work = clone(store, tmp_path / "work")
    git("-C", str(work), "config", "mindgit.fitness", str(ONEMAX))
    git("-C", str(work), "checkout", "-q", "-b", "feat")
    assert git_merge(work, "origin/dreamer").returncode == 0
    store.set_genes([x("x0", 1.0)])
    git("-C", str(work), "fetch", "-q", "origin")

    proc = run(work, "rebase", "-r", "origin/main")

    assert_rebased(work, proc, "feat")
    out = merge(store, "dreamer", fitness=str(ONEMAX))
    assert out.commit is not None
    assert tree_of(work, "feat") == tree_of(store.path, out.commit, bare=True)


def test_two_merges_rebased_with_update_refs(store: Store, tmp_path: Path) -> None:
    # feat: merge dreamer, a note (branch mid points there), merge sleeper; each merge leaves
    # git's tree merge a losing block. After the rebase every commit is tidy, mid moved with it.
    set_memories(store, {"human": block("base"), "notes": block("same")})
    store.fork("dreamer", switch=False)
    store.fork("sleeper", switch=False)
    set_memories(store, {"human": block("theirs"), "notes": block("same")}, experiment="dreamer")
    set_memories(store, {"human": block("asleep"), "notes": block("z")}, experiment="sleeper")
    set_memories(store, {"human": block("ours"), "notes": block("same")})
    work = clone(store, tmp_path / "work")
    w = ("-C", str(work))
    git(*w, "config", "mindgit.fitness", str(ONEMAX))
    git(*w, "checkout", "-q", "-b", "feat")
    assert git_merge(work, "origin/dreamer").returncode == 0
    run(work, "commit", "-q", "--allow-empty", "-m", "a note between")
    git(*w, "branch", "mid")
    assert git_merge(work, "origin/sleeper").returncode == 0
    store.set_genes([x("x0", 1.0)])
    git(*w, "fetch", "-q", "origin")

    proc = run(work, "rebase", "-r", "--update-refs", "origin/main")

    assert_rebased(work, proc, "feat")
    assert "2 merge(s) the rebase made tidied" in proc.stderr
    first = merge(store, "dreamer", fitness=str(ONEMAX))
    second = merge(store, "sleeper", fitness=str(ONEMAX))
    assert first.commit is not None and second.commit is not None
    assert rev(work, "mid") == rev(work, "feat~1")
    assert tree_of(work, "mid") == tree_of(store.path, first.commit, bare=True)
    assert tree_of(work, "mid~1") == tree_of(store.path, first.commit, bare=True)
    assert tree_of(work, "feat") == tree_of(store.path, second.commit, bare=True)
    assert parents(work, "feat")[1] == rev(work, "origin/sleeper")
    assert parents(work, "mid~1") == [rev(work, "origin/main"), rev(work, "origin/dreamer")]
    fsck(work / ".git")


def test_a_clone_without_the_post_rewrite_hook_tidies_as_before(
    store: Store, tmp_path: Path
) -> None:
    # Set up before the post-rewrite hook (or with a post-rewrite hook of the user's): the
    # post-commit hook tidies the merge as the rebase makes it, and the sequencer, which keeps
    # the index it committed, stops at the next pick; `git rebase --continue` goes on.
    work = memory_conflict(store, tmp_path)
    (work / ".git" / "hooks" / "post-rewrite").unlink()

    proc = run(work, "rebase", "-r", "origin/main")

    assert proc.returncode != 0 and "a note on top" in proc.stderr
    assert "tidy blocks/ after merge" in git("-C", str(work), "reflog", "-1")
    done = run(work, "rebase", "--continue")
    assert_rebased(work, done, "feat")
    out = merge(store, "dreamer", fitness=str(ONEMAX))
    assert out.commit is not None
    assert tree_of(work, "feat~1") == tree_of(store.path, out.commit, bare=True)
    assert tree_of(work, "feat") == tree_of(work, "feat~1")


def test_git_setup_installs_the_post_rewrite_hook(store: Store, tmp_path: Path, mg: Mg) -> None:
    work = tmp_path / "work"
    git("clone", "-q", str(store.path), str(work))
    r = mg("git-setup", str(work), "--no-fetch", "--json")
    assert r.code == 0, r.err
    hook = Path(json.loads(r.out)["rewrite_hook"])
    assert hook == work / ".git" / "hooks" / "post-rewrite"
    assert HOOK_MARK in hook.read_text() and "merge-driver --tidy-rebase" in hook.read_text()
    # After `git commit --amend` (git says "amend") it does nothing, and starts no Python.
    amend = subprocess.run(["sh", str(hook), "amend"], input="", capture_output=True, text=True)
    assert (amend.returncode, amend.stdout, amend.stderr) == (0, "", "")
    # A post-rewrite hook of the user's is left alone, and setup says what that means.
    hook.write_text("#!/bin/sh\necho mine\n")
    r = mg("git-setup", str(work), "--no-fetch")
    assert r.code == 0 and "a post-rewrite hook exists already" in r.err
    assert hook.read_text() == "#!/bin/sh\necho mine\n"


def test_tidy_rebase_usage_and_lines_it_cannot_read(
    store: Store, tmp_path: Path, mg: Mg, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = mg("merge-driver", "--tidy-rebase", str(tmp_path / "O"))
    assert r.code == 2 and "--tidy-rebase takes no file arguments" in r.err
    work = memory_conflict(store, tmp_path)
    head = rev(work, "HEAD")
    monkeypatch.chdir(work)
    lines = ["", "junk", f"{head} {head}", f"{'0' * 40} not-a-commit", f"{head[:7]} abc extra"]
    done = tidy_rebase(lines)
    assert (done.merges, done.rewritten, done.head) == ((), 0, None)
    assert rev(work, "HEAD") == head and git("-C", str(work), "status", "--porcelain") == ""


def test_a_merge_made_by_hand_at_a_rebase_stop_is_tidied_when_it_ends(
    store: Store, tmp_path: Path
) -> None:
    # `git merge` at an `edit` stop of `git rebase -i`: the post-merge hook leaves it (a rebase
    # is under way), and git lists it as what the edited commit became, so the post-rewrite
    # hook tidies it, and the commit after it, when the rebase ends.
    work = diverged_clone(store, tmp_path)
    run(work, "commit", "-q", "--allow-empty", "-m", "first")
    run(work, "commit", "-q", "--allow-empty", "-m", "second")
    stop = run(work, "-c", "sequence.editor=sed -i 1s/^pick/edit/", "rebase", "-i", "main")
    assert stop.returncode == 0 and "Stopped at" in stop.stderr, stop.stderr
    assert git_merge(work, "origin/dreamer").returncode == 0

    proc = run(work, "rebase", "--continue")

    assert_rebased(work, proc, "feat")
    out = merge(store, "dreamer", fitness=str(ONEMAX))
    assert out.commit is not None
    assert parents(work, "feat~1")[1] == rev(work, "origin/dreamer")
    assert tree_of(work, "feat~1") == tree_of(store.path, out.commit, bare=True)
    assert tree_of(work, "feat") == tree_of(work, "feat~1")


def test_rebase_merges_decides_by_the_experiments_run(rastrigin: Store, tmp_path: Path) -> None:
    # No mindgit.fitness: `git merge` on main decides by main's latest run. HEAD is detached
    # while a rebase recreates the merge; the driver still merges into the branch being rebased.
    store = rastrigin
    store.set_genes([x(f"x{i}", 1.5) for i in range(3)])
    start_run(store, "rastrigin", RunParams(population=4, generations=2, seed=5))
    diverge(store, ours=[x("x0", 1.0), x("x1", 0.1)], theirs=[x("x0", 0.0), x("x1", 2.0)])
    set_memories(store, {"human": block("ours")})
    set_memories(store, {"human": block("theirs")}, experiment="dreamer")
    work = clone(store, tmp_path / "work")
    proc = git_merge(work, "origin/dreamer")
    assert proc.returncode == 0 and "scored by" in proc.stderr, proc.stderr
    store.set_genes([x("x2", 3.0)])
    git("-C", str(work), "fetch", "-q", "origin")

    proc = run(work, "rebase", "-r", "origin/main")

    assert_rebased(work, proc, "main")
    assert "(run " in proc.stderr
    out = merge(store, "dreamer")
    assert out.commit is not None and out.module is not None
    assert tree_of(work, "main") == tree_of(store.path, out.commit, bare=True)


def test_git_pull_rebase_merges_keeps_the_merge_tidy(store: Store, tmp_path: Path) -> None:
    # main holds a merge of origin/dreamer and a note on top; the store's main moved on.
    work = diverged_clone(store, tmp_path, branch=None)
    assert git_merge(work, "origin/dreamer").returncode == 0
    run(work, "commit", "-q", "--allow-empty", "-m", "a note on top")
    store.set_genes([x("x0", 1.0)])

    proc = run(work, "pull", "--rebase=merges")

    assert_rebased(work, proc, "main")
    out = merge(store, "dreamer", fitness=str(ONEMAX))
    assert out.commit is not None
    assert parents(work, "main~1") == [rev(work, "origin/main"), rev(work, "origin/dreamer")]
    assert tree_of(work, "main~1") == tree_of(store.path, out.commit, bare=True)
    assert tree_of(work, "main") == tree_of(work, "main~1")
