"""Review M: `mindgit merge-driver --tidy` run by hand, after a merge no hook tidied, works from
the merge commit's tree, not from the index.

It ran `git rm --cached` on each file the manifest does not link, so a block already removed
with `git rm` (as `mindgit verify` reports it: "not linked from the manifest") made the tidy
fail with git's "pathspec did not match"; it committed the index, so whatever else was staged
went into the rewritten merge; and it deleted a file it removed even when it had been edited.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from mindgit.merge import merge
from mindgit.store.repository import Store
from tests.conftest import git
from tests.merge.conftest import ONEMAX, block, set_memories
from tests.merge.test_gitdriver import USER, clone, tree_of


def untidy_merge(store: Store, tmp_path: Path) -> tuple[Path, str, str]:
    """A clone whose HEAD is git's merge of a memory conflict, left untidy (no hook ran): the
    clone, the losing block's path, and the tree `mindgit merge` writes for the same merge."""
    set_memories(store, {"m": block("base")})
    store.fork("dreamer", switch=False)
    set_memories(store, {"m": block("theirs")}, experiment="dreamer")
    set_memories(store, {"m": block("ours")})
    work = clone(store, tmp_path / "work")
    git("-C", str(work), "config", "mindgit.fitness", str(ONEMAX))
    proc = subprocess.run(
        ["git", *USER, "-c", "core.hooksPath=/nonexistent", "merge", "--no-edit", "origin/dreamer"],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "tidied" not in proc.stderr
    manifest = (work / "manifest.json").read_text()
    blocks = git("-C", str(work), "ls-files", "blocks").split()
    unlinked = [b for b in blocks if b.removeprefix("blocks/") not in manifest]
    assert len(unlinked) == 1
    out = merge(store, "dreamer", fitness=str(ONEMAX))
    assert out.commit is not None
    return work, unlinked[0], tree_of(store.path, out.commit, bare=True)


def tidy(work: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@example.invalid",
    }
    return subprocess.run(
        [*shlex.split(f"{shlex.quote(sys.executable)} -m mindgit"), "merge-driver", "--tidy"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )


def test_a_block_already_removed_with_git_rm_is_tidied(store: Store, tmp_path: Path) -> None:
    work, unlinked, expected = untidy_merge(store, tmp_path)
    git("-C", str(work), "rm", "-q", unlinked)

    proc = tidy(work)

    assert proc.returncode == 0, proc.stderr
    assert tree_of(work, "HEAD") == expected
    assert git("-C", str(work), "status", "--porcelain") == ""


def test_what_else_is_staged_stays_staged_out_of_the_merge(store: Store, tmp_path: Path) -> None:
    work, _, expected = untidy_merge(store, tmp_path)
    (work / "notes.txt").write_text("mine\n")
    git("-C", str(work), "add", "notes.txt")

    proc = tidy(work)

    assert proc.returncode == 0, proc.stderr
    assert tree_of(work, "HEAD") == expected
    assert git("-C", str(work), "status", "--porcelain").splitlines() == ["A  notes.txt"]


def test_an_edited_file_the_tidy_would_remove_is_refused_untouched(
    store: Store, tmp_path: Path
) -> None:
    work, unlinked, _ = untidy_merge(store, tmp_path)
    head = git("-C", str(work), "rev-parse", "HEAD")
    (work / unlinked).write_text("an edit\n")

    proc = tidy(work)

    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "not uptodate" in proc.stderr
    assert "commit or undo it, then run `mindgit merge-driver --tidy`" in proc.stderr
    assert (work / unlinked).read_text() == "an edit\n"
    assert git("-C", str(work), "rev-parse", "HEAD") == head
    assert git("-C", str(work), "status", "--porcelain").splitlines() == [f" M {unlinked}"]
