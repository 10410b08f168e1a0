"""Deleting an experiment: its ref goes, its history stays wherever something else reaches it.

As ``git branch -d``: the current experiment cannot be deleted, nor (without ``force``) one
whose head no other experiment holds, since its last commits would then be reachable from no
experiment. The ref is deleted by git itself (``git update-ref -d NAME OLD``), which takes the
ref's lock, drops it from ``packed-refs`` too, and refuses when the ref moved since it was read.

The commits stay in the object database until ``git gc`` prunes what nothing reaches (two weeks
later, by git's default), so the old head printed on deletion restores the experiment:
``mindgit fork NAME --from <head>``. A run of the experiment keeps its own ref and its history.
Deletion does not travel: a peer that holds the experiment brings it back at the next pull.
"""

from __future__ import annotations

import subprocess

from mindgit.errors import MindgitError, one_line
from mindgit.store.refs import RefMoved, locked_head, read_ref
from mindgit.store.repository import HEADS, Store, check_experiment_name


class CurrentExperiment(MindgitError):
    """The experiment to delete is the current one (HEAD names it)."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"cannot delete experiment {name!r}: it is the current experiment; nothing was changed",
            hint="switch to another first (`mindgit switch <name>`)",
        )
        self.name = name


class NotMerged(MindgitError):
    """The experiment's head is in no other experiment's history."""

    def __init__(self, name: str, head: str) -> None:
        super().__init__(
            f"experiment {name!r} is at {head[:12]}, which no other experiment holds; "
            "nothing was changed",
            hint="merge it into another first, or delete it anyway with --force",
        )
        self.name = name
        self.head = head


class DeleteFailed(MindgitError):
    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"cannot delete experiment {name!r}: {detail}")
        self.name = name


def delete_experiment(store: Store, name: str, *, force: bool = False) -> str:
    """Delete experiment ``name``; its head before, which restores it (see the module docstring).

    Raises :class:`CurrentExperiment`, :class:`NotMerged` (unless ``force``),
    :class:`~mindgit.store.repository.UnknownRef`, or :class:`~mindgit.store.refs.RefMoved` when
    the experiment moved while this ran.
    """
    exp = store.experiment(check_experiment_name(name))
    ref = HEADS + exp
    head = read_ref(store.repo, ref)
    assert head is not None  # store.experiment checked it
    # HEAD's lock, held until the ref is gone: a switch to this experiment meanwhile would
    # leave HEAD naming a deleted ref.
    with locked_head(store.repo, wait=store.lock_wait):
        if _is_current(store, exp):
            raise CurrentExperiment(exp)
        if not force and not _held_elsewhere(store, exp, head):
            raise NotMerged(exp, head)
        deleted = subprocess.run(
            ["git", "--git-dir", str(store.path), "update-ref", "-d", ref, head],
            capture_output=True,
            check=False,
        )
    if deleted.returncode != 0:
        now = read_ref(store.repo, ref)
        if now != head:
            raise RefMoved(ref, head, now)
        detail = one_line(deleted.stderr.decode("utf-8", "replace")) or "git update-ref failed"
        raise DeleteFailed(exp, detail)
    return head


def _is_current(store: Store, name: str) -> bool:
    # HEAD is read as a file: a HEAD that names no experiment (detached, damaged) does not
    # stop the deletion of one it does not name.
    try:
        target = store.repo.lookup_reference("HEAD").target
    except (KeyError, ValueError):
        return False
    return target == HEADS + name


def _held_elsewhere(store: Store, name: str, head: str) -> bool:
    repo = store.repo
    for other in store.experiments():
        if other == name:
            continue
        try:
            tip = read_ref(repo, HEADS + other)
        except MindgitError:
            continue  # a damaged ref holds nothing
        if tip is not None and (tip == head or repo.descendant_of(tip, head)):
            return True
    return False
