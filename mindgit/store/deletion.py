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

import pygit2

from mindgit.errors import MindgitError, shell_word, shown_path
from mindgit.store.refs import RefError, delete_ref, locked_head, read_ref
from mindgit.store.repository import HEADS, Store, UnknownExperiment, check_experiment_name


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
    def __init__(self, name: str, detail: str, hint: str | None = None) -> None:
        super().__init__(f"cannot delete experiment {name!r}: {detail}", hint=hint)
        self.name = name


def delete_experiment(store: Store, name: str, *, force: bool = False) -> str:
    """Delete experiment ``name``; its head before, which restores it (see the module docstring).

    Raises :class:`CurrentExperiment`, :class:`NotMerged` (unless ``force``),
    :class:`~mindgit.store.repository.UnknownRef`, :class:`~mindgit.store.refs.RefMoved` when
    the experiment moved while this ran, or :class:`~mindgit.store.refs.RefLocked` when a live
    writer holds it longer than ``store.lock_wait``.
    """
    made_by_git = is_git_only_branch(store, name)
    # A link first: one to nothing is no experiment store.experiment would accept.
    link = _link_target(store, HEADS + (name if made_by_git else check_experiment_name(name)))
    if link is not None:
        # git update-ref -d follows the link: the experiment it names would go instead.
        raise DeleteFailed(
            name,
            f"it is a symbolic ref to {link} (a link made with git, not an experiment); "
            "nothing was changed",
            hint="remove the link with "
            f"`git --git-dir {shell_word(str(store.path))} symbolic-ref --delete {HEADS + name}`",
        )
    exp = name if made_by_git else store.experiment(name)
    ref = HEADS + exp
    if made_by_git and read_ref(store.repo, ref) is None:
        raise UnknownExperiment(name)
    head = read_ref(store.repo, ref)
    assert head is not None  # store.experiment checked it
    # HEAD's lock, held until the ref is gone: a switch to this experiment meanwhile would
    # leave HEAD naming a deleted ref.
    with locked_head(store.repo, wait=store.lock_wait):
        if _is_current(store, exp):
            raise CurrentExperiment(exp)
        if not force and not _held_elsewhere(store, exp, head):
            raise NotMerged(exp, head)
        failed = delete_ref(store.repo, ref, head, wait=store.lock_wait)
    if failed is not None:
        raise DeleteFailed(exp, failed)
    return head


def is_git_only_branch(store: Store, name: str) -> bool:
    """Whether ``name`` is a branch of the store that git made under a name mindgit gives no
    experiment (``we!rd``, ``refs/x``): ``mindgit experiments`` lists it, so it can be deleted
    too, by its name as it is. False for a name mindgit accepts; a name neither accepts, or
    no branch has, is refused as :func:`check_experiment_name` refuses it."""
    try:
        check_experiment_name(name)
        return False
    except RefError as refused:
        error = refused
    ref = HEADS + name
    if pygit2.reference_is_valid_name(ref):
        try:
            store.repo.lookup_reference(ref)
            return True
        except (KeyError, ValueError, pygit2.GitError):
            pass
    raise error


def _link_target(store: Store, ref: str) -> str | None:
    """The ref a symbolic ref names, None for a plain one."""
    try:
        target = store.repo.lookup_reference(ref).target
    except (KeyError, ValueError, pygit2.GitError):
        return None
    return target if isinstance(target, str) else None


def _is_current(store: Store, name: str) -> bool:
    # A HEAD that names no experiment (detached, damaged) does not stop the deletion of one
    # it does not name.
    target: object
    try:
        target = store.repo.lookup_reference("HEAD").target
    except (KeyError, ValueError):
        return False
    except pygit2.GitError:
        # libgit2 refuses some HEADs git reads (`ref:refs/heads/x`, no space): git's reading
        # decides, since git's commands would follow that HEAD to the deleted ref.
        read = subprocess.run(
            ["git", "--git-dir", str(store.path), "symbolic-ref", "--quiet", "HEAD"],
            capture_output=True,
            check=False,
        )
        if read.returncode not in (0, 1):  # 1: detached; else git takes it for no store
            raise DeleteFailed(
                name,
                f"{shown_path(store.path / 'HEAD')} is damaged, and git works in no store whose "
                "HEAD it cannot read; nothing was changed",
                hint="make an experiment current with `mindgit switch <name>`, then delete",
            ) from None
        target = read.stdout.decode("utf-8", "replace").strip() if read.returncode == 0 else None
    # HEAD at a link (`git symbolic-ref HEAD refs/heads/alias`) to this experiment: deleted,
    # HEAD would name nothing. git follows at most five links; so does this.
    for _ in range(6):
        if not isinstance(target, str):
            return False
        if target == HEADS + name:
            return True
        target = _link_target(store, target)
    return False


def _held_elsewhere(store: Store, name: str, head: str) -> bool:
    repo = store.repo
    for other in store.experiments():
        # A link to this very experiment reads as its head, yet holds nothing once it is gone.
        if other == name or _link_target(store, HEADS + other) is not None:
            continue
        try:
            tip = read_ref(repo, HEADS + other)
            if tip is not None and (tip == head or repo.descendant_of(tip, head)):
                return True
        except (MindgitError, pygit2.GitError):
            continue  # a damaged ref, or one at a commit the store lacks, holds nothing
    return False
