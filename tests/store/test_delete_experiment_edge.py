"""Deleting an experiment where refs are odd: links, missing objects, a HEAD libgit2 cannot read."""

from __future__ import annotations

import pytest

from mindgit.store.deletion import CurrentExperiment, DeleteFailed, NotMerged, delete_experiment
from mindgit.store.repository import Store
from tests.conftest import Mg, fsck, git
from tests.snapshots import snapshot


def _git(store: Store, *args: str) -> str:
    return git("--git-dir", str(store.path), *args)


def test_a_symbolic_experiment_is_refused_and_its_target_kept(store: Store, mg: Mg) -> None:
    """`git update-ref -d` follows a symbolic ref: deleting the link deleted the experiment it
    named, and printed the link's name as what was deleted."""
    store.fork("lab", switch=False)
    _git(store, "symbolic-ref", "refs/heads/alias", "refs/heads/lab")
    before = snapshot(store.path)
    with pytest.raises(DeleteFailed, match="'alias': it is a symbolic ref to refs/heads/lab"):
        delete_experiment(store, "alias")
    assert snapshot(store.path) == before
    out = mg("--store", str(store.path), "experiments", "--delete", "alias")
    assert out.code == 1 and len(out.err.strip().splitlines()) == 1, out.err
    assert "symbolic-ref --delete refs/heads/alias" in out.err
    assert snapshot(store.path) == before


def test_a_link_to_an_experiment_does_not_hold_it(store: Store) -> None:
    """A symbolic ref to lab reads as lab's head, so it counted as another experiment holding
    it: lab went without --force, and its own commits with it."""
    store.fork("lab")
    store.think("only on lab")
    store.switch("main")
    _git(store, "symbolic-ref", "refs/heads/alias", "refs/heads/lab")
    before = snapshot(store.path)
    with pytest.raises(NotMerged):
        delete_experiment(store, "lab")
    assert snapshot(store.path) == before


def test_an_experiment_at_a_missing_commit_holds_nothing(store: Store, mg: Mg) -> None:
    """Another experiment's ref at a commit the store lacks made the check crash (GitError:
    'internal error', exit 3) instead of finding the experiment unmerged."""
    store.fork("lab")
    store.think("only on lab")
    store.switch("main")
    (store.path / "refs" / "heads" / "gone").write_text("1" * 40 + "\n")
    before = snapshot(store.path)
    with pytest.raises(NotMerged):
        delete_experiment(store, "lab")
    out = mg("--store", str(store.path), "experiments", "--delete", "lab")
    assert out.code == 1 and "which no other experiment holds" in out.err, out.err
    # The one at a missing commit itself: no other holds it either.
    out = mg("--store", str(store.path), "experiments", "--delete", "gone")
    assert out.code == 1 and "which no other experiment holds" in out.err, out.err
    assert len(out.err.strip().splitlines()) == 1
    assert snapshot(store.path) == before


def test_a_damaged_head_is_named_as_what_stops_the_deletion(store: Store, mg: Mg) -> None:
    """An empty HEAD made _is_current raise GitError, reported as 'an object cannot be read'
    with a hint to run fsck. git works in no store with such a HEAD, so the deletion cannot go
    ahead; the message says why and how to repair it (a switch rewrites HEAD)."""
    store.fork("lab", switch=False)
    (store.path / "HEAD").write_text("")
    before = snapshot(store.path)
    out = mg("--store", str(store.path), "experiments", "--delete", "lab")
    assert out.code == 1 and len(out.err.strip().splitlines()) == 1, out.err
    assert "HEAD is damaged" in out.err, out.err
    assert f"`mindgit --store {store.path} switch <name>`" in out.err, out.err
    assert snapshot(store.path) == before
    assert mg("--store", str(store.path), "switch", "main").code == 0
    assert mg("--store", str(store.path), "experiments", "--delete", "lab").code == 0
    assert "lab" not in store.experiments()


def test_a_head_git_reads_but_libgit2_does_not_still_names_the_current(store: Store) -> None:
    """git reads `ref:refs/heads/lab` (no space) as HEAD naming lab; libgit2 calls it corrupt.
    Taken for 'names no experiment', lab was deleted from under git's HEAD."""
    store.fork("lab", switch=False)
    (store.path / "HEAD").write_text("ref:refs/heads/lab\n")
    assert _git(store, "symbolic-ref", "HEAD").strip() == "refs/heads/lab"
    before = snapshot(store.path)
    with pytest.raises(CurrentExperiment):
        delete_experiment(store, "lab")
    assert snapshot(store.path) == before


def test_head_at_a_link_to_the_experiment_names_it_current(store: Store) -> None:
    """HEAD -> alias -> lab: only HEAD's own target was compared, so lab was deleted and HEAD
    named nothing (every command then failed on the current experiment)."""
    store.fork("lab", switch=False)
    _git(store, "symbolic-ref", "refs/heads/alias", "refs/heads/lab")
    _git(store, "symbolic-ref", "HEAD", "refs/heads/alias")
    before = snapshot(store.path)
    with pytest.raises(CurrentExperiment):
        delete_experiment(store, "lab")
    assert snapshot(store.path) == before


def test_a_lock_left_by_a_killed_writer_does_not_block_the_deletion(store: Store) -> None:
    """git update-ref knows nothing of mindgit's lock tokens: a lock a killed `think` left on
    the experiment made every deletion fail ('Unable to create ... lab.lock: File exists'),
    where every mindgit writer of that ref takes it (the holder is known dead)."""
    from tests.store.test_kill_audit import die_holding

    store.fork("lab", switch=False)
    lock = die_holding(store, "refs/heads/lab")
    store.lock_wait = 0.05  # it must not wait at all: the holder is known dead
    delete_experiment(store, "lab")
    assert "lab" not in store.experiments() and not lock.exists()
    fsck(store.path)


def test_a_packed_experiment_under_a_folder_leaves_no_folder(store: Store) -> None:
    store.fork("a/b", switch=False)
    store.fork("a/c", switch=False)
    _git(store, "pack-refs", "--all")
    delete_experiment(store, "a/b")
    delete_experiment(store, "a/c")
    assert store.experiments() == ["main"]
    assert not (store.path / "refs" / "heads" / "a").exists()
    store.fork("a", switch=False)  # the name a/... held is free again
    fsck(store.path)


def test_a_link_to_nothing_is_refused_with_the_command_that_removes_it(store: Store) -> None:
    """A symbolic ref whose target is gone (deleted after the link was made) was refused as
    unreadable with no way named to remove it; it is a link like any other."""
    _git(store, "symbolic-ref", "refs/heads/alias", "refs/heads/gone")
    before = snapshot(store.path)
    with pytest.raises(DeleteFailed, match="symbolic ref to refs/heads/gone") as e:
        delete_experiment(store, "alias")
    assert "symbolic-ref --delete refs/heads/alias" in (e.value.hint or "")
    assert snapshot(store.path) == before
