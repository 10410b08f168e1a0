"""Deleting a run: its ref (``refs/runs/<id>``) goes, with the generations only it reaches.

A run's result, committed on an experiment, rests on the run: ``verify --recompute`` re-scores
the claim from the run's last generation, and ``lineage`` walks the run. So, as ``git branch
-d`` keeps unmerged work, a run whose result some experiment holds is deleted only with
``force``. A run being evolved (its run lock held) is not deleted at all.

The generations stay in the object database until ``git gc`` prunes what nothing reaches, so
the old tip printed on deletion restores the run (``git update-ref refs/runs/<id> <tip>``).
Deletion does not travel: a peer that holds the run brings it back at the next pull.
"""

from __future__ import annotations

import contextlib

import pygit2

from mindgit.errors import MindgitError
from mindgit.evolve.run import UnknownRun, run_lock
from mindgit.store.generation import RUNS_PREFIX, TRAILER_RUN, check_run_id
from mindgit.store.refs import delete_ref, read_ref
from mindgit.store.repository import HEADS, Store
from mindgit.store.verify import trailer


class ResultHeld(MindgitError):
    """The run's result is on an experiment (``experiment``), or where another run started
    (``run``)."""

    def __init__(self, run_id: str, holder: str, commit: str) -> None:
        kind, _, name = holder.partition(" ")
        where = f"on experiment {name!r}" if kind == "experiment" else f"where run {name} started"
        super().__init__(
            f"run {run_id}'s result {commit[:12]} is {where}; nothing was changed",
            hint="without the run its fitness claim cannot be re-checked (`verify --recompute` "
            "then fails on it) nor its lineage walked; delete it anyway with --force",
        )
        self.run_id = run_id
        self.experiment = name if kind == "experiment" else None
        self.run = name if kind == "run" else None
        self.commit = commit


class RunIsLink(MindgitError):
    """``refs/runs/<id>`` is a symbolic ref made by hand, not a run."""

    def __init__(self, run_id: str, target: str) -> None:
        ref = RUNS_PREFIX + run_id
        super().__init__(
            f"{ref} is a symbolic ref to {target}, not a run; nothing was changed",
            hint=f"remove the link itself with `git update-ref --no-deref -d {ref}`",
        )
        self.run_id = run_id
        self.target = target


class RunDeleteFailed(MindgitError):
    def __init__(self, run_id: str, detail: str, hint: str | None = None) -> None:
        super().__init__(f"cannot delete run {run_id}: {detail}", hint=hint)
        self.run_id = run_id


def delete_run(store: Store, run_id: str, *, force: bool = False) -> str:
    """Delete run ``run_id``; its tip before, which restores it (see the module docstring).

    Raises :class:`~mindgit.evolve.run.UnknownRun`, :class:`RunIsLink`, :class:`ResultHeld`
    (unless ``force``), :class:`~mindgit.evolve.run.RunBusy` while it is evolved, or
    :class:`~mindgit.store.refs.RefMoved` when it moved meanwhile.
    """
    run_id = check_run_id(run_id)
    ref = RUNS_PREFIX + run_id
    tip = read_ref(store.repo, ref)
    if tip is None:
        raise UnknownRun(run_id)
    link = _link_target(store.repo, ref)
    if link is not None:
        # The ref protocol refuses to move a ref through a link, and its hint named the run
        # the link points at: following it deleted the wrong run.
        raise RunIsLink(run_id, link)
    with run_lock(store, run_id):
        if not force:
            held = _result_holder(store, run_id)
            if held is not None:
                raise ResultHeld(run_id, *held)
        failed = delete_ref(store.repo, ref, tip, wait=store.lock_wait)
    if failed is not None:
        raise RunDeleteFailed(run_id, failed)
    return tip


def _link_target(repo: pygit2.Repository, ref: str) -> str | None:
    """The ref a symbolic ``ref`` names, or None when it is a plain ref."""
    found = repo.lookup_reference(ref)  # it exists: read_ref just resolved it
    if found.type == pygit2.enums.ReferenceType.SYMBOLIC:
        return str(found.target)
    return None


def _result_holder(store: Store, run_id: str) -> tuple[str, str] | None:
    """What holds a commit of the run's (its result, merged or not) in its history: an
    experiment (``"experiment NAME"``) or another run started from it (``"run ID"``); and
    that commit."""
    repo = store.repo
    heads: dict[str, str] = {}
    for name in store.experiments():
        try:
            head = read_ref(repo, HEADS + name)
        except MindgitError:
            # Whether it holds the result cannot be told: only --force goes on.
            raise RunDeleteFailed(
                run_id,
                f"experiment {name!r} cannot be read, so whether it holds the run's result "
                "cannot be told; nothing was changed",
                hint="repair or delete that experiment, or delete the run anyway with --force",
            ) from None
        if head is not None:
            heads[f"experiment {name}"] = head
    for ref in repo.references:
        other = ref.removeprefix(RUNS_PREFIX)
        if ref.startswith(RUNS_PREFIX) and other != run_id:
            with contextlib.suppress(MindgitError):  # a damaged run is no run of anyone's
                tip = read_ref(repo, ref)
                if tip is not None:
                    heads[f"run {other}"] = tip
    walker = repo.walk(None, pygit2.enums.SortMode.NONE)
    for head in set(heads.values()):
        try:
            walker.push(pygit2.Oid(hex=head))
        except (KeyError, ValueError, pygit2.GitError):
            continue  # at an object the store lacks
    needle = f"{TRAILER_RUN}: {run_id}"
    try:
        for commit in walker:
            # A cheap look at the bytes first: most commits name no run at all.
            if needle in commit.message and trailer(commit.message, TRAILER_RUN) == run_id:
                found = str(commit.id)
                for holder, head in sorted(heads.items()):
                    if head == found or repo.descendant_of(head, found):
                        return holder, found
    except pygit2.GitError:
        # A history with a lost commit: what holds the result cannot be told, so it is kept.
        raise RunDeleteFailed(
            run_id, "an experiment's history cannot be walked (a commit is missing)"
        ) from None
    return None
