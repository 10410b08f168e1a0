"""Review: git's rename detection must not see two content-addressed files as one file renamed.

Every file under ``blocks/`` and ``thoughts/`` is named by its CID, so an edited memory block is
a file removed and a similar file added. git's merge pairs those up as a rename by similarity,
and an edit of the same memory on both sides became a rename/rename conflict under `git merge`,
where `mindgit merge` decides the memory by fitness and succeeds.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from mindgit.merge import merge
from mindgit.merge.gitdriver import git_setup
from mindgit.store.repository import Store
from mindgit.store.state import Block
from tests.conftest import git
from tests.merge.conftest import ONEMAX, set_memories

USER = ("-c", "user.name=Ada", "-c", "user.email=ada@example.invalid")
# A memory the size of a Letta persona: an edit at its end leaves the block >90% similar.
TEXT = "The human is called Ada. " + " ".join(
    f"Fact {i}: something the agent learned about Ada." for i in range(60)
)


def memory(text: str) -> Block:
    return Block.encode({"value": text})


def clone(store: Store, to: Path) -> Path:
    git("clone", "-q", str(store.path), str(to))
    git_setup(to, command=f"{shlex.quote(sys.executable)} -m mindgit")
    git("-C", str(to), "config", "mindgit.fitness", str(ONEMAX))
    return to


def git_merge(work: Path, rev: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *USER, "merge", "--no-edit", rev], cwd=work, capture_output=True, text=True
    )


def tree(*where: str) -> str:
    return git(*where).strip()


def test_a_memory_both_sides_edited_a_little_merges_under_git(store: Store, tmp_path: Path) -> None:
    set_memories(store, {"human": memory(TEXT)})
    store.fork("dreamer", switch=False)
    set_memories(store, {"human": memory(TEXT + " Likes tea.")}, experiment="dreamer")
    set_memories(store, {"human": memory(TEXT + " Likes coffee.")})
    work = clone(store, tmp_path / "work")

    proc = git_merge(work, "origin/dreamer")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = merge(store, "dreamer", fitness=str(ONEMAX))
    assert out.commit is not None
    assert tree("-C", str(work), "rev-parse", "HEAD^{tree}") == tree(
        "--git-dir", str(store.path), "rev-parse", f"{out.commit}^{{tree}}"
    )
    assert git("-C", str(work), "status", "--porcelain") == ""


def test_a_thought_forgotten_on_both_sides_merges_under_git(store: Store, tmp_path: Path) -> None:
    # ours forgets a thought and thinks a similar one (git: a rename); theirs forgets it too
    # (git: a delete): rename/delete, a conflict, though mindgit's set rule settles it.
    store.think(TEXT)
    old = next(c for c, _ in store.thoughts())
    store.fork("dreamer", switch=False)
    store.forget(old, experiment="dreamer")
    store.think("a dream", experiment="dreamer")
    store.forget(old)
    store.think(TEXT + " Revised.")
    work = clone(store, tmp_path / "work")

    proc = git_merge(work, "origin/dreamer")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = merge(store, "dreamer")
    assert out.commit is not None
    assert tree("-C", str(work), "rev-parse", "HEAD^{tree}") == tree(
        "--git-dir", str(store.path), "rev-parse", f"{out.commit}^{{tree}}"
    )


def test_git_setup_turns_rename_detection_off(store: Store, tmp_path: Path) -> None:
    work = clone(store, tmp_path / "work")
    assert git("-C", str(work), "config", "merge.renames").strip() == "false"


def test_git_pull_of_a_diverged_experiment_merges_as_mindgit_does(
    store: Store, tmp_path: Path
) -> None:
    # git refuses to pull diverged branches until pull.rebase or pull.ff says how; git-setup
    # says: merge (a rebase would replay states without the post-merge hook).
    set_memories(store, {"human": memory(TEXT)})
    store.fork("dreamer", switch=False)
    set_memories(store, {"human": memory(TEXT + " Likes tea.")}, experiment="dreamer")
    set_memories(store, {"human": memory(TEXT + " Likes coffee.")})
    work = clone(store, tmp_path / "work")

    proc = subprocess.run(
        ["git", *USER, "pull", "--no-edit", "origin", "dreamer"],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = merge(store, "dreamer", fitness=str(ONEMAX))
    assert out.commit is not None
    assert tree("-C", str(work), "rev-parse", "HEAD^{tree}") == tree(
        "--git-dir", str(store.path), "rev-parse", f"{out.commit}^{{tree}}"
    )
    assert len(git("-C", str(work), "log", "-1", "--format=%P").split()) == 2
