"""Review V: the post-rewrite hook (tidy_rebase) rewrites only what the rebase made.

git hands the hook whatever HEAD was when an edited commit's stop ended: a commit another
branch holds when the user fast-forwarded (or reset) to it there. That commit, and the branch
holding it, are not the rebase's to rewrite or move.
"""

from __future__ import annotations

from pathlib import Path

from mindgit.store.repository import Store
from tests.conftest import git
from tests.merge.conftest import block
from tests.merge.test_gitdriver import tree_of
from tests.merge.test_review_d_rebase_merges import (
    assert_rebased,
    diverged_clone,
    parents,
    rev,
    run,
)


def test_a_merge_another_branch_holds_is_not_rewritten_nor_its_branch_moved(
    store: Store, tmp_path: Path
) -> None:
    work = diverged_clone(store, tmp_path)
    w = ("-C", str(work))
    run(work, "commit", "-q", "--allow-empty", "-m", "first")
    run(work, "commit", "-q", "--allow-empty", "-m", "second")
    # side: first, then a merge of dreamer made where no hook ran (git's tree merge kept the
    # losing block in blocks/): a commit of its own, not the rebase's.
    git(*w, "checkout", "-q", "-b", "side", "feat~1")
    made = run(work, "-c", "core.hooksPath=/dev/null", "merge", "--no-edit", "origin/dreamer")
    assert made.returncode == 0, made.stderr
    side, side_tree = rev(work, "side"), tree_of(work, "side")
    assert str(block("theirs").cid) in git(*w, "ls-tree", "-r", "side")
    git(*w, "checkout", "-q", "feat")
    stop = run(work, "-c", "sequence.editor=sed -i 1s/^pick/edit/", "rebase", "-i", "main")
    assert stop.returncode == 0 and "Stopped at" in stop.stderr, stop.stderr
    # At the stop, feat takes side's merge (a fast-forward): git lists it as what the edited
    # commit became.
    ff = run(work, "merge", "--ff-only", "side")
    assert ff.returncode == 0, ff.stderr

    proc = run(work, "rebase", "--continue")

    assert_rebased(work, proc, "feat")
    assert rev(work, "side") == side
    assert rev(work, "feat~1") == side and tree_of(work, "feat~1") == side_tree
    assert parents(work, "feat") == [side]
    assert "tidied" not in proc.stderr
