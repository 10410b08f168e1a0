"""A `git cherry-pick` of one commit that adds a note, where no branch, remote-tracking branch
or tag holds that commit, stopped on a conflict in manifest.json ("thought ... is in none of the
commits being merged"): git names no commit to the driver for a single pick (no
CHERRY_PICK_HEAD yet, no sequencer/ files, nothing in the environment; only git 2.44's %Y
would), so the driver looked only on branches, tags and HEAD's ancestors. The two places a
commit picked from nowhere else is mostly found are looked through too: FETCH_HEAD (a peer's
branch fetched by its URL, `git cherry-pick FETCH_HEAD`) and HEAD's reflog (a branch checked out
and since deleted). Found by review (H5)."""

from __future__ import annotations

from pathlib import Path

from mindgit.store.repository import Store
from tests.conftest import git
from tests.merge.test_gitdriver import clone
from tests.merge.test_review_m_picks import a, gene, run_git, thoughts


def diverged(store: Store, tmp_path: Path) -> tuple[Path, str, str]:
    """A clone whose main moved on, and a commit on feat adding a note (its id, the note)."""
    store.set_genes([a(1.0)])
    store.fork("feat", switch=False)
    commit, note = store.think("idea", experiment="feat")
    store.set_genes([a(2.0)])
    work = clone(store, tmp_path / "work")
    return work, commit.id, str(note)


def test_a_pick_of_what_only_fetch_head_names_goes_through(store: Store, tmp_path: Path) -> None:
    work, _picked, note = diverged(store, tmp_path)
    git("-C", str(work), "branch", "-q", "-r", "-d", "origin/feat")
    git("-C", str(work), "fetch", "-q", str(store.path), "refs/heads/feat")

    proc = run_git(work, "cherry-pick", "FETCH_HEAD")

    assert proc.returncode == 0, proc.stderr
    assert thoughts(work) == {note}
    assert gene(work, "a") == 2


def test_a_pick_from_a_deleted_branch_goes_through(store: Store, tmp_path: Path) -> None:
    work, picked, note = diverged(store, tmp_path)
    git("-C", str(work), "checkout", "-q", "-b", "tmp", "origin/feat")
    git("-C", str(work), "checkout", "-q", "main")
    git("-C", str(work), "branch", "-q", "-D", "tmp")
    git("-C", str(work), "branch", "-q", "-r", "-d", "origin/feat")

    proc = run_git(work, "cherry-pick", picked)

    assert proc.returncode == 0, proc.stderr
    assert thoughts(work) == {note}
