"""A node's store: a bare git repository of signed states, with this node's key and trust.

Layout inside the git dir (nothing here is ever pushed; only objects and refs travel)::

    mindgit/node.key          this node's ed25519 key, OpenSSH format, mode 0600
    mindgit/allowed_signers   the trust store (an OpenSSH allowed_signers file)
    config [mindgit]          name, keyfile (when --key points elsewhere)

Experiments are ``refs/heads/<name>``; the current one is what ``HEAD`` points at.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pygit2

from mindgit.errors import (
    DamagedStore,
    MindgitError,
    quoted,
    shell_word,
    shown_path,
    unreadable_object,
)
from mindgit.identity.keys import (
    DID_PREFIX,
    KeyFileMissing,
    NodeKey,
    PublicKey,
    remove_stale_temporaries,
)
from mindgit.identity.rotation import retired_from
from mindgit.identity.sshsig import sign
from mindgit.identity.trust import TrustedNode, TrustStore
from mindgit.store.config import BadConfigValue, NoValue, config_reader
from mindgit.store.damage import REPAIR, fsck_hint, listed_by_prefix, unreadable_cause
from mindgit.store.objects import as_commit
from mindgit.store.refs import (
    REF_NAME_MAX,
    CorruptRef,
    NamePartTooLong,
    PackedRefsDamaged,
    RefError,
    RefMoved,
    RefNameTooLong,
    SymbolicRef,
    check_ref_name,
    locked_head,
    locked_ref,
    name_fault,
    packed_refs_fault,
    read_ref,
    ref_damage,
    update_ref,
)
from mindgit.store.relocation import follow_move as trust_follows_move

if TYPE_CHECKING:
    from mindgit.ipld.cid import CID
    from mindgit.store.genome import Gene
    from mindgit.store.state import Block, State
    from mindgit.store.verify import RefProblem, Report

HEADS = "refs/heads/"
# Every ref namespace mindgit writes and syncs: experiments, runs, fitness modules, key rotations.
SYNCED_PREFIXES = ("refs/heads/", "refs/runs/", "refs/fitness/", "refs/keys/")
MINDGIT_DIR = "mindgit"
RETIRED_DIR = "retired"  # in MINDGIT_DIR: the keys key rotations retired
KEY_FILE = "node.key"
# The key a rotation moves to, beside node.key until the rotation is done (store/rotations.py).
PENDING_KEY = "pending.key"
TRUST_FILE = "allowed_signers"
DEFAULT_EXPERIMENT = "main"
_CONTROL = dict.fromkeys(range(32), " ")


def one_line(text: str, limit: int = 200) -> str:
    """User content fit for a commit's subject: one line, no control characters.

    A newline in a gene value or a thought must never start a line of its own in a message, where
    it could pose as a trailer.
    """
    flat = " ".join(text.translate(_CONTROL).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class NotAStore(MindgitError):
    """No store at ``path``. ``how`` it was named: ``given`` (``--store``, a caller's
    argument), ``env`` (``MINDGIT_STORE``) or ``searched`` (from the working directory up)."""

    def __init__(self, path: Path, how: Literal["given", "env", "searched"] = "given") -> None:
        # A path that is not there is said to be missing: "is not a mindgit store" and "point at
        # one with --store" sent the user who had given --store looking for another flag.
        try:
            there = path.exists()
        except (OSError, ValueError):
            there = True  # unreadable, or a name no file can have: not said to be missing
        what = "is not a mindgit store" if there else "does not exist"
        headless = _headless(path)
        if headless is not None:
            # A store whose HEAD was lost: "create one with mindgit init" led to init, over
            # the store's history.
            what = f"is a mindgit store whose HEAD file {headless}"
            q = shell_word(str(path / "HEAD"))
            message = f"{shown_path(path)} {what}: neither git nor mindgit can open it"
            hint = (
                ("set it aside, then " if headless == "is not a file" else "")
                + "write it again, naming an experiment (`ls "
                + f"{shell_word(str(path / 'refs'))}/heads`): "
                + f"printf 'ref: refs/heads/main\\n' > {q}"
            )
            super().__init__(message, hint=hint)
            self.path = path
            self.how = how
            return
        shown = shown_path(path)
        if how == "searched":
            message = f"{shown} is not a mindgit store, nor is any directory above it"
            hint = (
                "create one with `mindgit init PATH`, or point at one with --store or MINDGIT_STORE"
            )
        elif how == "env":
            message = f"MINDGIT_STORE names {shown}, which {what}"
            hint = "set MINDGIT_STORE to a store's path (or unset it), or give --store"
        else:
            message = f"{shown} {what}"
            hint = "give the path of a store, or create one with `mindgit init PATH`"
        super().__init__(message, hint=hint)
        self.path = path
        self.how = how


# libgit2's words for a store whose format it does not support (its config parses).
_FORMAT_WORDS = re.compile(
    r"unsupported repository version|unsupported extension name|unknown object format"
)


def _headless(path: Path) -> str | None:
    """What is wrong with the HEAD of ``path`` when it is a store but for its HEAD ("is
    missing", "is not a file"); None otherwise."""
    try:
        # All of a store's own files but HEAD: a project that merely has a `mindgit` and an
        # `objects` folder is no store, and the search for one goes on above it.
        mine = path / MINDGIT_DIR
        parts = (path / "objects").is_dir() and (path / "refs").is_dir()
        if not (parts and (path / "config").is_file() and (mine / TRUST_FILE).is_file()):
            return None
        head = path / "HEAD"
        if head.is_file():
            return None
        return "is not a file" if head.exists() or head.is_symlink() else "is missing"
    except (OSError, ValueError):
        return None


class StoreUnreadable(MindgitError):
    """A store that git itself cannot open: its config or another of its files is damaged."""

    def __init__(self, path: Path, reason: str) -> None:
        hint = "repair or restore the file it names; `git fsck` in the store says more"
        if _FORMAT_WORDS.match(reason.removeprefix(f"{path}: ").removeprefix(f"{path}/: ")):
            # libgit2 names no file for these: "repair the file it names" named nothing.
            hint = (
                f"{shown_path(path / 'config')} asks for a repository format libgit2 "
                f"{pygit2.LIBGIT2_VERSION} cannot read (core.repositoryformatversion, the [extensions] section): made "
                "or converted by a newer git, or edited by hand; mindgit stores use version 0"
            )
        elif "not owned by current user" in reason:
            # libgit2 refuses a repository another user owns (git's safe.directory rule): no
            # file is damaged, and "repair the file it names" sent the user to fsck.
            where = shell_word(str(path))
            hint = (
                "run mindgit as the user who owns it, or, if you trust that user, "
                f"`git config --global --add safe.directory {where}`"
            )
        super().__init__(f"cannot open the store: {reason}", hint=hint)
        self.path = path
        self.reason = reason


class NotAState(MindgitError):
    """What was named is a commit that holds no mind state: a generation of an ``evolve`` run,
    a fitness module's history, or any other commit without a manifest."""

    def __init__(self, rev: str, commit: str, what: str, hint: str) -> None:
        shown = " ".join(rev.split())
        super().__init__(
            f"{shown} ({commit[:12]}) is {what}, not a mind state; nothing was changed", hint=hint
        )
        self.rev = rev
        self.commit = commit


def held_instead(repo: pygit2.Repository, commit_id: str) -> tuple[str, str] | None:
    """None when the commit holds a mind state; else what it holds: ``("run", ...)`` for a
    generation of an ``evolve`` run, ``("fitness", ...)`` for a fitness module's commit, or
    ``("other", ...)``, each with its description. A run's or a module's ref is named as
    readily as an experiment (``refs/runs/ID``): taking one for a state is a slip."""
    from mindgit.store.fitness_store import FITNESS_FILE
    from mindgit.store.generation import GENERATION_FILE, RUN_FILE
    from mindgit.store.layout import MANIFEST, commit_tree

    commit = as_commit(repo[commit_id])
    assert commit is not None
    tree = commit_tree(repo, commit)
    if MANIFEST in tree:
        return None
    if RUN_FILE in tree and GENERATION_FILE in tree:
        return "run", "a generation of a `mindgit evolve` run"
    if FITNESS_FILE in tree:
        return "fitness", "a fitness module"
    return "other", f"a commit whose tree holds no {MANIFEST}"


class StoreLocation(MindgitError):
    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"cannot create a store at {shown_path(path)}: {problem}; nothing was changed"
        )
        self.path = path


class StoreExists(MindgitError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"{shown_path(path)} already exists and is not empty; nothing was changed",
            hint=_exists_hint(path),
        )
        self.path = path


_HALF_MADE = "an init of it did not finish (was it killed?): remove it and run init again"
# At most what an init killed before its last step (the ref) leaves: the first state's
# tree and manifest and the first commit. Anything past it is a store's history.
_INIT_OBJECTS = 3


def _exists_hint(path: Path) -> str:
    """What to do about ``path``: a store already, one an init left half made, a store that
    cannot be opened as it is, or anything else."""
    try:
        if not (path / MINDGIT_DIR).is_dir():
            return "give a new or empty directory"
        # Opened without following a move: a refused init changes nothing in what is there.
        found = is_store(path) and (path / "refs" / "heads").is_dir()
        if found and Store(path, follow_move=False).experiments():
            return "it is a store already: use it with --store or MINDGIT_STORE"
    except (MindgitError, OSError, pygit2.GitError):
        pass
    if not _holds_history(path):
        return _HALF_MADE
    # A store whose HEAD, config or packed-refs is damaged was taken for a killed init, and
    # its user told to remove it: its history and the node's key with it.
    where = shell_word(str(path))
    return (
        "it holds a store's refs or history, which cannot be read as it is (a damaged or "
        "missing HEAD, config or packed-refs?): do not remove it, it holds the node's key "
        f"and its work; `git --git-dir {where} fsck` says what is wrong"
    )


def _holds_history(path: Path) -> bool:
    """Whether ``path`` holds a ref, or more objects than a killed init writes (see
    :func:`_exists_hint`); True when that cannot be told (nothing is to be removed then)."""
    try:
        if (path / "packed-refs").is_file() and (path / "packed-refs").stat().st_size:
            return True
        if any(files for _, _, files in os.walk(path / "refs")):
            return True
        objects = path / "objects"
        if not objects.is_dir():
            return False
        if (objects / "pack").is_dir() and any((objects / "pack").iterdir()):
            return True
        loose = 0
        for folder in objects.iterdir():
            if len(folder.name) == 2 and folder.is_dir():
                loose += sum(1 for _ in folder.iterdir())
        return loose > _INIT_OBJECTS
    except OSError:
        return True


class UnknownRef(MindgitError):
    def __init__(self, rev: str, *, hint: str | None = None) -> None:
        super().__init__(
            f"unknown experiment or revision {quoted(rev)}",
            hint=hint or "`mindgit experiments` lists the experiments",
        )
        self.rev = rev


class UnknownExperiment(UnknownRef):
    """A name no experiment has, where only an experiment is taken (``merge --into``,
    ``evolve -e``, ``experiments --delete``, ``push``): "or revision" would send the user
    looking for a commit the command would not take."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        MindgitError.__init__(
            self,
            f"unknown experiment {quoted(name)}",
            hint="`mindgit experiments` lists the experiments",
        )


# The count of an @{N} or @{-N} in a revision, as libgit2 reads one (blanks and a sign first).
_REFLOG_COUNT = re.compile(r"@\{(\s*[-+]?)([0-9]+)\}")
# libgit2 reads that count as a 32-bit int.
REFLOG_COUNT_MAX = 2**31 - 1


class ReflogCountTooLarge(UnknownRef):
    """A revision whose ``@{N}`` or ``@{-N}`` counts past what libgit2 reads as a number
    (:data:`REFLOG_COUNT_MAX`): it read the digits as a date instead, and
    ``main@{2147483648}`` resolved to the head (``main@{4294967297}`` to an older commit) where
    git says the reflog has not that many entries. An :class:`UnknownRef`: no entry is that far
    back. The CLI refuses one typed on its command line the same way, as a usage error."""

    def __init__(self, rev: str, form: str, count: str) -> None:
        super().__init__(rev)
        MindgitError.__init__(
            self,
            f"{quoted(rev)}: the {form} count {quoted(count, 20)} is too large "
            f"(at most {REFLOG_COUNT_MAX})",
            hint="@{N} is the Nth entry back in the reflog (`git reflog`), counted from 0; "
            "git reads an N of 100000000 or more as a time (seconds since 1970)",
        )
        self.form = form
        self.count = count


def check_reflog_counts(rev: str) -> None:
    """Refuse (:class:`ReflogCountTooLarge`) a revision with an ``@{N}`` or ``@{-N}`` whose
    count libgit2 cannot hold; the one rule for the library's :meth:`Store.resolve` and for a
    revision typed on the command line."""
    for found in _REFLOG_COUNT.finditer(rev):
        digits = found[2].lstrip("0")
        if len(digits) > 10 or int(digits or "0") > REFLOG_COUNT_MAX:
            raise ReflogCountTooLarge(rev, "@{-N}" if "-" in found[1] else "@{N}", found[2])


class CurrentExperimentMissing(UnknownRef):
    """HEAD names an experiment whose ref is gone (deleted with git: `git update-ref -d`)."""

    def __init__(self, name: str, experiments: list[str]) -> None:
        super().__init__(name)
        MindgitError.__init__(
            self,
            f"the current experiment {quoted(name)} (the one HEAD names) does not exist",
            hint=_switch_hint(experiments)
            if experiments
            else f"the store holds no experiment: `mindgit fork {name} --from <commit> "
            "--no-switch` makes it again",
        )


class CommitUnreadable(MindgitError):
    """A revision names a commit, or reaches one on its way (``main~3`` through ``main~1``),
    that the store holds but cannot read: a pack index lists it and its pack is damaged or cut
    short (libgit2 leaves such a pack out whole, with no error: the commit reads as absent), or
    a file at its loose path holds no object git can read. Or, on the way, a commit the history
    names that the store lacks (a history cut short)."""

    def __init__(self, store: Path, rev: str, oid: str, cause: str | None) -> None:
        # A revision that is the id, whole or short, names the commit; any other reaches it.
        whole = rev == oid or (_SHORT_ID.fullmatch(rev) is not None and oid.startswith(rev.lower()))
        named = f"commit {oid}" if whole else f"{quoted(rev)} reaches commit {oid}, which"
        if cause is not None:
            super().__init__(
                f"{named} cannot be read: {cause}",
                hint=fsck_hint(store),
            )
        else:
            super().__init__(
                f"{named} is not in the store (the history is incomplete)",
                hint=f"`git --git-dir {shell_word(str(store))} fsck` lists what is missing, "
                f"and {REPAIR}",
            )
        self.rev = rev
        self.oid = oid
        self.cause = cause


# A revision whose walk unreadable_on_the_way follows: a name or id, then ~N and ^N steps.
_WALK = re.compile(r"([^~^:@{}\s]+)((?:[~^][0-9]*)*)")
_STEP = re.compile(r"([~^])([0-9]*)")
_HEX40 = re.compile(r"[0-9a-f]{40}")
# A short id, as git takes one: 4 hex digits or more (libgit2's minimum, GIT_OID_MINPREFIXLEN).
_SHORT_ID = re.compile(r"[0-9a-fA-F]{4,39}")


def _count(digits: str) -> int:
    """A step's count as typed (``~N``, ``^N``; none is 1), at most sys.maxsize: no history
    is longer, and no commit has more parents. Past it itertools.repeat raised OverflowError,
    and int() refuses over 4,300 digits (ValueError): internal errors, exit 3."""
    digits = digits.lstrip("0") or ("0" if digits else "1")
    return int(digits) if len(digits) < 19 else sys.maxsize


def unreadable_on_the_way(
    repo: pygit2.Repository, gitdir: Path, rev: str
) -> tuple[str, str | None] | None:
    """The commit ``rev`` (a full commit id, or a name or id followed by ``~N``/``^N``
    steps) names or reaches on its way in ``repo`` (its git directory ``gitdir``) that reads as
    absent, and why (unreadable_cause), when something on disk holds it, or the commit is a
    parent a commit names; else None (the revision names nothing: an unknown name, a typo)."""
    found = _WALK.fullmatch(rev)
    if found is None:
        return None
    base, steps = found[1], found[2]
    oid: str | None = base if _HEX40.fullmatch(base) else None
    if oid is None:
        for cand in _candidates(base):
            try:
                oid = read_ref(repo, cand)
            except (RefError, ValueError, UnicodeError):
                oid = None
            if oid is None:
                with contextlib.suppress(KeyError, ValueError, pygit2.GitError):
                    oid = str(repo.revparse_single(cand).id)
            if oid is not None:
                break
        if oid is None and _SHORT_ID.fullmatch(base):
            # libgit2 looks a short id up only among the objects it can read: one in a
            # pack cut short was an "unknown revision" where its full id was named.
            listed = listed_by_prefix(gitdir, base.lower())
            oid = listed[0] if len(listed) == 1 else None
        if oid is None:
            return None
    # Each step as the parent it takes: ~N is N first parents, ^N the Nth, ^0 the commit.
    # (A generator: `main~99999999999` is no list of that many steps.)
    parents = (
        i
        for op, count in _STEP.findall(steps)
        for i in (itertools.repeat(1, _count(count)) if op == "~" else [_count(count)])
        if i
    )
    at: str = oid
    obj: pygit2.Object | None = None
    for i in itertools.chain([0], parents):
        if i:
            commit = as_commit(obj)
            if commit is None or i > len(commit.parent_ids):
                return None  # no such parent: the revision names nothing
            at = str(commit.parent_ids[i - 1])
        try:
            obj = repo.get(at)
        except pygit2.GitError:
            return None  # damaged bytes: the revparse that failed said so already
        if obj is None:
            cause = unreadable_cause(gitdir, at)
            # A parent a commit names is no typo, even when nothing on disk holds it.
            return (at, cause) if cause is not None or i else None
    return None


# What to fork instead of a commit that holds no state (held_instead's kinds).
_FORK_HINTS = {
    "run": "a run commits its best state to its experiment when it ends: fork that experiment",
    "fitness": "a fitness module scores states, it holds none: fork an experiment "
    "(`mindgit experiments`)",
    "other": "name an experiment (`mindgit experiments`) or one of its commits",
}


def _candidates(rev: str) -> list[str]:
    """The refs a revision may name, in the order they are tried: an experiment's first."""
    return [rev] if rev.startswith("refs/") else [HEADS + rev, rev]


def _is_run(repo: pygit2.Repository, rev: str) -> bool:
    try:
        return read_ref(repo, "refs/runs/" + rev) is not None
    except (RefError, ValueError):
        return False


def _switch_hint(experiments: list[str]) -> str:
    shown = ", ".join(experiments[:5]) + (", ..." if len(experiments) > 5 else "")
    return "`mindgit switch <name>` makes an experiment current" + (
        f"; the experiments are {shown}" if experiments else ""
    )


class HeadUnreadable(MindgitError):
    """The store's ``HEAD`` file, which names the current experiment, cannot be read."""

    def __init__(self, path: Path, detail: str, experiments: list[str]) -> None:
        super().__init__(
            f"the store's current experiment cannot be read: {shown_path(path / 'HEAD')} is "
            f"damaged ({detail})",
            hint=_switch_hint(experiments),
        )
        self.path = path


class NoNodeName(MindgitError):
    """``mindgit.name`` is unset (removed by hand) and the store's folder name, which stands
    in for it, is no node name."""

    def __init__(self, store: Path, reason: str) -> None:
        where = shell_word(str(store))
        super().__init__(
            f"config mindgit.name is not set, and the store's folder name is no node name "
            f"({reason})",
            hint=f"name this node: `git --git-dir {where} config mindgit.name NAME`",
        )
        self.path = store


class RotationUnfinished(MindgitError):
    """A key rotation was stopped halfway (its pending key is still there): nothing is signed
    until it is finished."""

    def __init__(self, pending: Path) -> None:
        super().__init__(
            f"a key rotation is unfinished (its new key waits in {shown_path(pending)}); nothing "
            "is signed until it is finished",
            hint="run `mindgit keys rotate` again: it finishes the rotation it started",
        )
        self.pending = pending


class HeadDetached(MindgitError):
    """``HEAD`` names a commit or another ref, not an experiment (git's "detached HEAD")."""

    def __init__(self, target: str, experiments: list[str], *, symbolic: bool) -> None:
        if not symbolic:
            where = f"is detached at commit {target[:12]}"
        else:
            where = "points at itself" if target == "HEAD" else f"points at {target!r}"
        super().__init__(
            f"HEAD {where}, not at an experiment, so no experiment is current",
            hint=_switch_hint(experiments),
        )
        self.target = target


class TrustOwnKey(MindgitError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"{name} is this node's own key: without it this node's own history would not verify",
            hint="to change this node's key, use `mindgit keys rotate`",
        )
        self.name = name


class NotACommit(MindgitError):
    def __init__(self, rev: str, kind: str) -> None:
        super().__init__(f"{quoted(rev)} names a {kind}, not a commit (a state is a commit)")
        self.rev = rev
        # Not `kind`: the CLI reports an error's `kind` as its type (--json's "type": "blob").
        self.object_type = kind


class ExperimentExists(MindgitError):
    def __init__(self, name: str) -> None:
        # Also what a fork killed between creating the experiment and switching to it says
        # when run again: the way on is to switch.
        super().__init__(
            f"experiment {name!r} already exists",
            hint=f"`mindgit switch {name}` makes it current; fork under another name for a new one",
        )
        self.name = name


class ExperimentAtNoCommit(MindgitError):
    """An experiment whose ref points at no commit: a tree, a blob or a tag, or an object the
    store lacks (git refuses to write such a branch; set by hand or by another tool), or one it
    holds but cannot read (``hint`` then says what to do: the ref is sound)."""

    def __init__(
        self, store: Path, name: str, oid: str, what: str, *, hint: str | None = None
    ) -> None:
        ref = HEADS + name
        at = shell_word(str(store))
        super().__init__(
            f"experiment {name!r} points at {what}",
            hint=hint
            or f"point it at a commit with `git --git-dir {at} update-ref {ref} <commit>`, "
            f"or delete it with `git --git-dir {at} update-ref -d {ref}`",
        )
        self.name = name
        self.oid = oid


class NothingChanged(MindgitError):
    def __init__(self, what: str) -> None:
        super().__init__(f"nothing changed: {what}")


class EmptyCommitMessage(MindgitError):
    """A commit message with no text: git reads a message from its first non-blank line, so the
    trailers written under an empty one became its subject, and no reader (``git
    interpret-trailers`` or ours) saw a ``Mindgit-State`` trailer any more."""

    def __init__(self) -> None:
        super().__init__(
            "a commit message needs some text; nothing was written",
            hint="give the commit a subject line",
        )


@dataclass(frozen=True, slots=True)
class Commit:
    """A commit mindgit wrote: its id, the experiment it moved, and the state's manifest CID."""

    id: str
    experiment: str
    manifest: CID


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A state as read from a commit."""

    commit: str
    state: State
    manifest: Block
    tree: pygit2.Tree


class NotAnExperimentName(RefError):
    """A name no experiment can have; ``reason`` says why, in words."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{quoted(name)} is not an experiment name: {reason}")
        self.name = name
        self.reason = reason


_FULL_ID = re.compile(r"[0-9a-fA-F]{40}")


def check_experiment_name(name: str) -> str:
    """``name`` if an experiment may have it, else :class:`NotAnExperimentName` (or
    :class:`~mindgit.store.refs.NamePartTooLong`) saying why: it said "invalid ref name
    'refs/heads/a b'" of every fault, naming none."""
    if name == "HEAD":
        # Every git command would warn that the name is ambiguous.
        raise NotAnExperimentName(name, "'HEAD' is git's name for the current branch")
    if name.startswith("-"):
        raise NotAnExperimentName(name, "it starts with '-', as an option does")
    # Both make a branch git itself reads as something else: `fork refs/heads/main` made
    # refs/heads/refs/heads/main ("refname 'refs/heads/main' is ambiguous" from then on), and
    # 40 hex digits are a commit id to git wherever a revision is typed.
    if name.startswith("refs/"):
        raise NotAnExperimentName(
            name, "it starts with 'refs/', which git reads as a full ref name"
        )
    if _FULL_ID.fullmatch(name):
        raise NotAnExperimentName(name, "git reads 40 hex digits as a commit id, not a branch")
    try:
        check_ref_name(HEADS + name)
    except NamePartTooLong as e:
        # Said of the name as given, its parts counted without refs/heads/.
        index = e.index - HEADS.count("/")
        raise NamePartTooLong(name, "an experiment name", index, e.length) from None
    except RefNameTooLong:
        # fork, switch, log -e, import-af --as of such a name were internal errors (exit 3).
        most = REF_NAME_MAX - len(HEADS)
        raise NotAnExperimentName(
            name, f"it is {len(name)} characters long, over the {most} git allows in one"
        ) from None
    except RefError:
        raise NotAnExperimentName(name, name_fault(name)) from None
    return name


def discover(start: Path) -> Path:
    """The store at ``start`` or the nearest parent directory that is one."""
    start = start.resolve()
    for d in (start, *start.parents):
        if is_store(d):
            return d
        if _headless(d) is not None:
            raise NotAStore(d, "searched")  # a store but for its HEAD: said so, not passed
    raise NotAStore(start, "searched")


def is_store(path: Path) -> bool:
    return (
        (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / MINDGIT_DIR).is_dir()
    )


class Store:
    """A node's store. Open with :func:`open_store`, create with :func:`init_store`."""

    def __init__(self, path: Path, *, follow_move: bool = True) -> None:
        """Open the store at ``path``. With ``follow_move`` (the default), a store moved or
        copied has git's ``gpg.ssh.allowedSignersFile`` pointed at its own trust file again
        (:mod:`mindgit.store.relocation`); without it, opening writes nothing."""
        path = Path(path)
        if not is_store(path):
            raise NotAStore(path)
        self.path = path.resolve()
        try:
            self.repo = pygit2.Repository(str(self.path))
        except pygit2.GitError as e:
            # libgit2 refuses a store whose git config does not parse: that is the store's state,
            # to be named, not a bug in whatever opened it.
            raise StoreUnreadable(self.path, str(e).strip()) from None
        # A store moved or copied: git's gpg.ssh.allowedSignersFile follows it (said once).
        if follow_move:
            trust_follows_move(self.path, self.repo, self.path / MINDGIT_DIR / TRUST_FILE)
        self._key: NodeKey | None = None
        self._trust: TrustStore | None = None
        self.lock_wait = 10.0  # seconds a writer waits for another's ref lock
        self._written: dict[pygit2.Oid, State] = {}  # the last state this object wrote, by tree

    # -- identity -------------------------------------------------------------------------

    def _identity(self, key: str, needs: str) -> str | None:
        # Read as settings are: a bare key (no `= value`) reads as None from libgit2, and str()
        # of it made every commit's author the node "None", or the key file ./None.
        value = self.config_get(key)
        if isinstance(value, NoValue):
            raise BadConfigValue(key, value, f"has no value; it needs {needs}")
        return value

    @property
    def name(self) -> str:
        name = self._identity("mindgit.name", "this node's name")
        from mindgit.identity.trust import InvalidNodeName, check_node_name

        if name is None:
            # The folder's name stands in, checked as a configured name is: `a<b` (or a
            # newline) was an internal error from libgit2 once the state's tree was written.
            folder = self.path.name.removesuffix(".git")
            try:
                return check_node_name(folder)
            except InvalidNodeName as e:
                raise NoNodeName(self.path, f"{e}; {e.hint}") from None
        try:
            return check_node_name(name)
        except InvalidNodeName as e:
            # Written by hand: an empty name or one with '<' is no commit author libgit2 takes
            # (an internal error once the state's tree was written), and a space breaks the
            # trust file's lines. Bad data in the config, refused before anything is written.
            raise BadConfigValue(
                "mindgit.name", name, f"is not a node name ({e}; {e.hint})"
            ) from None

    @property
    def key_path(self) -> Path:
        path = self._identity("mindgit.keyfile", "the path of this node's key")
        return self.path / MINDGIT_DIR / KEY_FILE if path is None else Path(path)

    @property
    def external_key(self) -> bool:
        """Whether this node's key is kept outside the store (``init --key``)."""
        return self._identity("mindgit.keyfile", "the path of this node's key") is not None

    @property
    def key(self) -> NodeKey:
        """This node's private key, loaded (and checked) on first use."""
        if self._key is None:
            # A save of this store's key files killed midway left a copy of a private key
            # (0600) beside them, which nothing else ever removes.
            for name in (KEY_FILE, PENDING_KEY):
                remove_stale_temporaries(self.path / MINDGIT_DIR / name)
            try:
                self._key = NodeKey.load(self.key_path)
            except KeyFileMissing as e:
                # A new key would be a new, untrusted identity: say what the lost one means.
                e.hint = (
                    "restore this node's key file from a backup; a new key is a new identity "
                    "that this store's history and its peers do not know"
                )
                raise
        return self._key

    @property
    def retired_keys_dir(self) -> Path:
        """Where key rotations keep the keys this node rotated away from."""
        return self.path / MINDGIT_DIR / RETIRED_DIR

    def retired_key_path(self, key: PublicKey) -> Path:
        """Where a rotation away from ``key`` keeps it (named for its did:key)."""
        return self.retired_keys_dir / (key.did.removeprefix(DID_PREFIX) + ".key")

    @property
    def pending_key_path(self) -> Path:
        """Where the key a rotation moves to waits until the rotation is done.

        With ``--key`` the store's own node.key is unused, so the new key waits there and the
        switch is one step (dropping mindgit.keyfile); otherwise it waits beside it and
        replaces it.
        """
        return self.path / MINDGIT_DIR / (KEY_FILE if self.external_key else PENDING_KEY)

    @property
    def signing_key(self) -> NodeKey:
        """The key new commits are signed with: :attr:`key`, unless a key rotation is unfinished.

        A rotation stopped halfway may already have told the trust file that this key is retired
        (trusted only below the rotation's heads): a commit signed with it now would be refused
        by this store's own verify and by every peer, for good (``RotationUnfinished``).
        """
        pending = self.pending_key_path
        if pending.exists():
            raise RotationUnfinished(pending)
        if self._key is not None and self.retired_key_path(self._key.public).exists():
            # A rotation finished since the key was read (a pull, an import or a merge that
            # ran meanwhile): its old key is retired, and a commit it signed now would be
            # refused by verify and by every peer. The new one is read.
            self.forget_key()
        return self.key

    def forget_key(self) -> None:
        """Drop the cached key, so the next use reads the key file again (after a rotation)."""
        self._key = None

    @property
    def public_key(self) -> PublicKey:
        return self.key.public

    @property
    def trust(self) -> TrustStore:
        if self._trust is None:
            self._trust = TrustStore(self.path / MINDGIT_DIR / TRUST_FILE)
        return self._trust

    def untrust(self, node: str) -> TrustedNode:
        """Remove a node from trust, with every key it rotated away from (``<name>.retired-N``):
        a node no longer trusted must not sign through an old key. This node's own key cannot be
        removed (its history would no longer verify)."""
        found = self.trust.get(node)
        if found.key == self.public_key:
            raise TrustOwnKey(found.name)
        # remember: a peer's key rotation must not bring back a key the user chose to drop.
        removed = self.trust.remove(node, remember=True)
        for other in self.trust.nodes():
            if retired_from(other.name, removed.name):
                self.trust.remove(other.name, remember=True)
        return removed

    def verify(
        self, revs: Iterable[str] = (), *, all_refs: bool = False, since: str | None = None
    ) -> Report:
        """Verify the commits of ``revs`` (default: the current experiment), or of every ref
        mindgit syncs with ``all_refs``, leaving out what ``since`` reaches. With ``all_refs``, a
        ref that points at no commit (a damaged file, say) is in the report's ``refs``."""
        from mindgit.store.verify import ref_tips, verify_commits

        broken: list[RefProblem] = []
        if all_refs:
            tips, broken = ref_tips(self.repo, SYNCED_PREFIXES)
        else:
            tips = [self.resolve(r) for r in revs] or [self.head()]
        hide = [self.resolve(since)] if since else []
        report = verify_commits(self.repo, self.trust, tips, hide)
        report.refs = broken
        return report

    def config_get(self, key: str) -> str | None:
        """A value of the store's git config, or None if unset; bytes that are not UTF-8 are
        ``BadConfigValue`` (exit 1)."""
        return config_reader(self.repo.config)(key)

    def config_set(self, key: str, value: str) -> None:
        self.repo.config[key] = value

    # -- experiments ----------------------------------------------------------------------

    @property
    def current(self) -> str:
        """The current experiment: the branch HEAD names.

        Raises :class:`HeadUnreadable` or :class:`HeadDetached` when HEAD names none (a damaged
        file, or a commit set there by stock git), rather than taking what it holds for a name.
        """
        try:
            target = self.repo.lookup_reference("HEAD").target
        except (KeyError, pygit2.GitError, pygit2.InvalidSpecError) as e:
            raise HeadUnreadable(self.path, str(e).strip(), self.experiments()) from None
        if not isinstance(target, str) or not target.startswith(HEADS):
            symbolic = isinstance(target, str)
            raise HeadDetached(str(target), self.experiments(), symbolic=symbolic)
        name = target.removeprefix(HEADS)
        try:
            return check_experiment_name(name)
        except RefError:
            raise HeadUnreadable(
                self.path, f"it names {target!r}, not a valid experiment", self.experiments()
            ) from None

    def experiment(self, name: str | None) -> str:
        """``name`` checked to exist, or the current experiment."""
        exp = self.current if name is None else check_experiment_name(name)
        if read_ref(self.repo, HEADS + exp) is None:
            # A symbolic ref to nothing (`git symbolic-ref`) is listed by experiments(), so no
            # unknown name (CorruptRef): "unknown experiment" failed `mindgit experiments`.
            error = self._unknown(exp)
            if type(error) is UnknownRef:
                if name is None:
                    # "unknown experiment 'main'" of a name the user never typed, hinting at a
                    # list that may be empty.
                    raise CurrentExperimentMissing(exp, self.experiments()) from None
                raise UnknownExperiment(exp)
            raise error
        return exp

    def experiments(self) -> list[str]:
        """Every experiment's name, those whose ref cannot be read too.

        libgit2 leaves a loose ref it cannot parse out of its listing (git says "ignoring broken
        ref"): such an experiment vanished from `mindgit experiments` while `verify --all`
        failed on it. Read from the ref files too, it is listed, and reading it names what is
        wrong (``CorruptRef``, or ``RefError`` for a file no ref can be named as).
        """
        try:
            listed = list(self.repo.references)
        except pygit2.GitError as e:
            bad_ref = ref_damage(self.path, str(e))  # a packed-refs that does not parse
            if bad_ref is None:
                raise
            raise bad_ref from None
        names = {r.removeprefix(HEADS) for r in listed if r.startswith(HEADS)}
        heads = Path(self.repo.path) / HEADS
        for folder, _, files in os.walk(heads):
            for file in files:
                if file.endswith(".lock"):  # a ref being written by git's protocol
                    continue
                name = (Path(folder) / file).relative_to(heads).as_posix()
                # A file name that is not UTF-8 (surrogates from os.walk) shown escaped: it is
                # no valid ref name either way, and must still print.
                names.add(
                    name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                )
        return sorted(names)

    def head(self, experiment: str | None = None) -> str:
        """The commit at the head of an experiment (default: the current one)."""
        exp = self.experiment(experiment)
        oid = read_ref(self.repo, HEADS + exp)
        assert oid is not None  # experiment() checked it exists
        self._check_head(exp, oid)
        return oid

    def _check_head(self, experiment: str, oid: str) -> None:
        """Refuse a head that is no commit (a tree, a blob, a missing object): every reader and
        writer would otherwise fail on it in its own way (an assertion, a KeyError)."""
        try:
            obj = self.repo.get(oid)
        except pygit2.GitError:
            return  # a damaged object: the reader that needs it names it (DamagedStore)
        if obj is None:
            # A commit in a pack cut short reads as absent (libgit2 leaves the pack out whole):
            # the ref is sound and the repair can bring the commit back: no hint to delete it.
            cause = unreadable_cause(self.path, oid)
            if cause is not None:
                raise ExperimentAtNoCommit(
                    self.path,
                    experiment,
                    oid,
                    f"{oid}, which cannot be read: {cause}",
                    hint=fsck_hint(self.path),
                )
            raise ExperimentAtNoCommit(
                self.path, experiment, oid, f"{oid}, which is not in the store"
            )
        if obj.type != pygit2.enums.ObjectType.COMMIT:
            raise ExperimentAtNoCommit(
                self.path, experiment, oid, f"a {obj.type_str} ({oid}), not a commit"
            )

    def resolve(self, rev: str) -> str:
        """The commit id of an experiment name, ``name~N``, a ref or a commit id."""
        check_reflog_counts(rev)
        if not rev.startswith("refs/"):
            try:
                head = read_ref(self.repo, HEADS + rev)
            except CorruptRef:
                raise  # the experiment's ref file is damaged: not "an object cannot be read"
            except (RefError, ValueError, UnicodeError):
                head = None  # no experiment's name: the lookup below says
            if head is not None:
                # An experiment at an object the store lacks was an "unknown experiment".
                self._check_head(rev, head)
        for cand in _candidates(rev):
            try:
                obj = self.repo.revparse_single(cand)
            except pygit2.GitError as e:
                # A ref file or packed-refs that does not parse is named as such.
                bad_ref = ref_damage(self.path, str(e))
                if bad_ref is not None:
                    raise bad_ref from None
                # A name that resolves to an object libgit2 cannot read is no unknown name.
                damaged = unreadable_object(str(e))
                if damaged is not None:
                    raise DamagedStore(*damaged, store=str(self.path)) from None
                continue
            except (KeyError, ValueError, pygit2.InvalidSpecError):
                continue
            try:
                commit = obj.peel(pygit2.Commit)
            except (ValueError, pygit2.GitError, pygit2.InvalidSpecError):
                raise NotACommit(rev, obj.type_str) from None
            return str(commit.id)
        unreadable = unreadable_on_the_way(self.repo, self.path, rev)
        if unreadable is not None:
            # "unknown experiment or revision" sent the user looking for a typo, where the
            # commit is there and the store's repair can bring it back.
            raise CommitUnreadable(self.path, rev, *unreadable)
        if not rev.startswith("refs/") and _is_run(self.repo, rev):
            # A run id where a state was meant (`merge 545068fd8f03`): say what it is.
            raise UnknownRef(
                rev,
                hint=f"{rev} is a run: `mindgit runs` shows the experiment its result went to; "
                f"refs/runs/{rev} names its last generation",
            )
        raise self._unknown(rev)

    def _unknown(self, rev: str) -> MindgitError:
        """What to raise for a name no ref holds: ``UnknownRef``, or ``PackedRefsDamaged``
        when ``packed-refs`` does not parse (libgit2 reads a ref on a damaged line as absent,
        and the name may have been on it; git refuses every lookup then), or ``CorruptRef``
        for a symbolic ref to nothing (`git symbolic-ref`), which ``experiments`` lists."""
        fault = packed_refs_fault(self.path)
        if fault is not None:
            return PackedRefsDamaged(self.path, fault)
        ref = rev if rev.startswith("refs/") else HEADS + rev
        try:
            target = self.repo.lookup_reference(ref).target
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
            target = None
        if isinstance(target, str):
            return CorruptRef(ref, f"a symbolic ref to {target}, which does not exist")
        return UnknownRef(rev)

    def fork(self, name: str, *, start: str | None = None, switch: bool = True) -> str:
        """A new experiment at ``start`` (default: the current experiment's head)."""
        check_experiment_name(name)
        if read_ref(self.repo, HEADS + name) is not None:
            raise ExperimentExists(name)
        commit = self.resolve(start) if start is not None else self.head()
        if start is not None:
            instead = held_instead(self.repo, commit)
            if instead is not None:
                kind, what = instead
                raise NotAState(start, commit, what, _FORK_HINTS[kind])
        with contextlib.ExitStack() as stack:
            # HEAD is locked before the experiment is created: a fork that cannot switch to it
            # (HEAD held by another writer) fails having created nothing, and can be run again.
            head = (
                stack.enter_context(locked_head(self.repo, wait=self.lock_wait)) if switch else None
            )
            try:
                update_ref(
                    self.repo,
                    HEADS + name,
                    commit,
                    None,
                    message=f"fork: from {start or self.current}",
                    committer=self._reflog_identity(),
                    wait=self.lock_wait,
                )
            except RefMoved:
                # Another fork of the same name won the race since the check above.
                raise ExperimentExists(name) from None
            if head is not None:
                head.point(HEADS + name)
        return commit

    def switch(self, name: str) -> None:
        # Checked under HEAD's lock, which a deletion holds too: HEAD never names an
        # experiment deleted between the check and the switch.
        with locked_head(self.repo, wait=self.lock_wait) as held:
            self.head(name)  # an experiment at no commit is no state to switch to
            try:
                target = self.repo.lookup_reference(HEADS + name).target
            except (KeyError, ValueError, pygit2.GitError):
                target = None
            if isinstance(target, str):
                # A symbolic ref (`git symbolic-ref refs/heads/alias refs/heads/main`): current,
                # it made every later write fail ("is a symbolic ref ... name main instead").
                raise SymbolicRef(HEADS + name, target)
            held.point(HEADS + name)

    # -- reading --------------------------------------------------------------------------

    def snapshot(self, rev: str | None = None) -> Snapshot:
        """The state at ``rev`` (default: the current experiment's head)."""
        oid = self.head() if rev is None else self.resolve(rev)
        commit = as_commit(self.repo[oid])
        assert commit is not None
        from mindgit.store import layout  # lazy: read commands like `id` never need it

        tree = layout.commit_tree(self.repo, commit)
        state, manifest = layout.read_state(self.repo, tree)
        return Snapshot(oid, state, manifest, tree)

    def state(self, rev: str | None = None) -> State:
        return self.snapshot(rev).state

    def thought(self, cid: CID, rev: str | None = None) -> bytes:
        from mindgit.store import layout

        return layout.read_thought(self.repo, self.snapshot(rev).tree, cid)

    def thoughts(self, rev: str | None = None) -> Iterator[tuple[CID, bytes]]:
        from mindgit.store import layout

        snap = self.snapshot(rev)
        yield from layout.read_thoughts(self.repo, snap.tree, sorted(snap.state.thoughts, key=str))

    # -- writing --------------------------------------------------------------------------

    def update(
        self,
        change: Callable[[State], tuple[State, Mapping[CID, bytes]]],
        message: str,
        *,
        experiment: str | None = None,
        trailers: Mapping[str, str] | None = None,
        written: Callable[[pygit2.Tree], tuple[pygit2.Oid, Block] | None] | None = None,
    ) -> Commit:
        """Apply ``change`` to the experiment's head state and commit the result, signed.

        The ref moves by compare-and-swap. If another writer moved it first, ``change`` is applied
        again to the new head, so concurrent writers never lose each other's commits.

        ``written``, if given, writes what ``change`` and :func:`layout.write_state` would from
        the head's tree, without decoding its state, and returns its tree and manifest (None
        when it cannot: then they do).
        """
        from mindgit.store import layout

        if not message.strip():
            raise EmptyCommitMessage()  # before the state's objects are written
        exp = self.experiment(experiment)
        # A bad key file or node name must fail before any object is written.
        _ = self.signing_key, self.name
        # The ref is locked first: a concurrent writer waits its turn (and sees our commit), and a
        # writer that cannot get the lock has written nothing.
        with locked_ref(self.repo, HEADS + exp, wait=self.lock_wait) as held:
            head = held.current
            if head is None:
                raise UnknownExperiment(exp)
            self._check_head(exp, head)
            base = as_commit(self.repo[head])
            assert base is not None
            base_tree = layout.commit_tree(self.repo, base)
            old = self._written.get(base_tree.id)
            done = written(base_tree) if written is not None else None
            if done is not None:
                tree, manifest = done
                self._written = {} if old is None else {tree: change(old)[0]}
            else:
                if old is None:
                    old, _ = layout.read_state(self.repo, base_tree)
                new, blocks = change(old)
                tree, manifest = layout.write_state(self.repo, new, blocks, base_tree)
                # The tree just written is the next update's base: no need to decode it again.
                self._written = {tree: new}
            if tree == base_tree.id:
                raise NothingChanged(one_line(message))
            oid = self.write_commit(tree, [head], message, manifest.cid, trailers)
            held.set(oid, message=message, committer=self._reflog_identity())
            return Commit(oid, exp, manifest.cid)

    def write_commit(
        self,
        tree: pygit2.Oid | str,
        parents: Iterable[str],
        message: str,
        manifest: CID | None = None,
        trailers: Mapping[str, str] | None = None,
        *,
        when: int | None = None,
        key: NodeKey | None = None,
    ) -> str:
        """Write a commit signed with this node's key (SSHSIG in ``gpgsig``); return its id.

        ``key`` signs instead of :attr:`signing_key`: a rotation signs its announcement with the
        key it retires, while it is unfinished.

        A message of nothing but blanks is refused (``EmptyCommitMessage``), as git refuses it.
        """
        if not message.strip():
            raise EmptyCommitMessage()
        body = message.rstrip("\n") + "\n"
        lines = dict(trailers or {})
        if manifest is not None:
            lines["Mindgit-State"] = str(manifest)
        if lines:
            body += "\n" + "".join(f"{k}: {v}\n" for k, v in lines.items())
        who = pygit2.Signature(self.name, self.public_key.did, int(when or time.time()), 0)
        tree_id = tree if isinstance(tree, pygit2.Oid) else pygit2.Oid(hex=tree)
        content: str = self.repo.create_commit_string(  # type: ignore[assignment]
            who, who, body, tree_id, [pygit2.Oid(hex=p) for p in parents]
        )
        armored = sign(self.signing_key if key is None else key, content.encode())
        return str(self.repo.create_commit_with_signature(content, armored, "gpgsig"))

    def commit_state(
        self,
        state: State,
        blocks: Mapping[CID, bytes],
        message: str,
        *,
        experiment: str | None = None,
        trailers: Mapping[str, str] | None = None,
    ) -> Commit:
        """Replace the experiment's state with ``state`` (thoughts not in ``blocks`` must be in the head)."""
        return self.update(
            lambda _old: (state, blocks), message, experiment=experiment, trailers=trailers
        )

    def think(
        self, text: str, tags: Iterable[str] = (), *, experiment: str | None = None
    ) -> tuple[Commit, CID]:
        """Add a thought to the experiment's state."""
        from mindgit.store import layout
        from mindgit.store.state import make_thought

        block = make_thought(text, tags)

        def change(state: State) -> tuple[State, Mapping[CID, bytes]]:
            return state.with_thoughts(state.thoughts | {block.cid}), {block.cid: block.data}

        def added(base: pygit2.Tree) -> tuple[pygit2.Oid, Block] | None:
            return layout.add_thought(self.repo, base, block)

        message = f"think: {one_line(text, 60)}"
        return self.update(change, message, experiment=experiment, written=added), block.cid

    def forget(self, cid: CID, *, experiment: str | None = None) -> Commit:
        """Remove a thought from the experiment's state."""

        def change(state: State) -> tuple[State, Mapping[CID, bytes]]:
            if cid not in state.thoughts:
                raise UnknownThought(cid)
            return state.with_thoughts(state.thoughts - {cid}), {}

        return self.update(change, f"forget: {cid}", experiment=experiment)

    def set_genes(self, genes: Iterable[Gene], *, experiment: str | None = None) -> Commit:
        """Add or replace genes."""
        genes = tuple(genes)
        if not genes:
            raise NothingChanged("no genes given")

        def change(state: State) -> tuple[State, Mapping[CID, bytes]]:
            return state.with_genome(state.genome.with_genes(*genes)), {}

        names = ", ".join(f"{g.name}={g.display()}" for g in genes)
        return self.update(change, one_line(f"genome: set {names}"), experiment=experiment)

    def unset_genes(self, names: Iterable[str], *, experiment: str | None = None) -> Commit:
        names = tuple(names)

        def change(state: State) -> tuple[State, Mapping[CID, bytes]]:
            return state.with_genome(state.genome.without(*names)), {}

        return self.update(
            change, one_line(f"genome: unset {', '.join(names)}"), experiment=experiment
        )

    def _reflog_identity(self) -> str:
        try:
            did = self.public_key.did
        except MindgitError:
            did = "unknown"
        return f"{self.name} <{did}>"


class UnknownThought(MindgitError):
    def __init__(self, cid: CID) -> None:
        super().__init__(f"no thought {cid} in this state")
        self.cid = cid


def open_store(path: Path | str | None = None) -> Store:
    """Open the store at ``path``, or find one from ``MINDGIT_STORE`` or the current directory."""
    if path is not None:
        return Store(Path(path))
    env = os.environ.get("MINDGIT_STORE")
    if env:
        try:
            return Store(Path(env))
        except NotAStore:
            raise NotAStore(Path(env), "env") from None
    try:
        here = Path.cwd()
    except FileNotFoundError:
        # Said as "No such file or directory" alone, naming nothing.
        raise NoCurrentDirectory() from None
    return Store(discover(here))


class NoCurrentDirectory(MindgitError):
    """The store is looked for from the current directory, which was removed."""

    def __init__(self) -> None:
        super().__init__(
            "the current directory no longer exists (it was removed), so no store can be "
            "found from it",
            hint="cd into a store, or point at one with --store or MINDGIT_STORE",
        )


def init_store(path: Path | str, name: str, *, key_file: Path | str | None = None) -> Store:
    """Create a bare store with this node's key, trusting itself, holding an empty ``main``.

    With ``key_file`` an existing OpenSSH ed25519 key is used (one identity, several stores) and
    only its path is recorded; otherwise a new key is written inside the store, mode 0600.
    """
    from mindgit.identity.trust import check_node_name

    target = Path(path)
    check_node_name(name)
    if target.exists() and not target.is_dir():
        # A file, /dev/null: "already exists and is not empty" sent the user to empty it.
        raise StoreLocation(target, "it is not a directory")
    if target.exists() and any(target.iterdir()):
        # An init of it may be writing it: what it is, and the hint, are told once that ends.
        held = _hold(target)
        if held is not None:
            os.close(held)
        raise StoreExists(target)
    blocked = next((p for p in target.parents if p.exists() and not p.is_dir()), None)
    if blocked is not None:
        raise StoreLocation(target, f"{blocked} is a file, not a directory")
    # A link to nothing (its target gone, or a loop) is neither there nor creatable: libgit2's
    # mkdir fails on it with an error of its own.
    dangling = next(
        (p for p in (target, *target.parents) if p.is_symlink() and not p.exists()), None
    )
    if dangling is not None:
        raise StoreLocation(
            target, f"{dangling} is a symbolic link to nothing (a missing target, or a loop)"
        )
    # git's config holds the store's own trust file path (and --key's), and is UTF-8: a path
    # that is not (os.fsdecode's surrogates) failed halfway as an internal error.
    for where in (target, *(() if key_file is None else (Path(key_file),))):
        try:
            os.fsencode(os.path.abspath(where)).decode("utf-8")
        except UnicodeDecodeError:
            shown = os.fsencode(os.path.abspath(where)).decode("utf-8", "backslashreplace")
            raise StoreLocation(
                Path(
                    str(target)
                    .encode("utf-8", "surrogateescape")
                    .decode("utf-8", "backslashreplace")
                ),
                f"the path {shown} is not UTF-8, which git's config (where a store records "
                "its trust file and key) cannot hold",
            ) from None
    key = NodeKey.load(Path(key_file)) if key_file is not None else NodeKey.generate()
    created, writing = _claim(target)
    try:
        repo = pygit2.init_repository(str(target), bare=True, initial_head=DEFAULT_EXPERIMENT)
        gitdir = Path(repo.path)
        trust_path = gitdir / MINDGIT_DIR / TRUST_FILE
        if key_file is None:
            key.save(gitdir / MINDGIT_DIR / KEY_FILE, comment=name)
        else:
            repo.config["mindgit.keyfile"] = str(Path(key_file).resolve())
        repo.config["mindgit.name"] = name
        # Let stock git check signatures inside the store with no extra flags.
        repo.config["gpg.format"] = "ssh"
        repo.config["gpg.ssh.allowedSignersFile"] = str(trust_path)
        store = Store(gitdir)
        store._key = key
        store.trust.add(key.public, name)
        from mindgit.store import layout
        from mindgit.store.state import State

        tree, manifest = layout.write_state(store.repo, State(), {})
        oid = store.write_commit(tree, [], f"init: {name}", manifest.cid)
        update_ref(
            store.repo,
            HEADS + DEFAULT_EXPERIMENT,
            oid,
            None,
            message="init",
            committer=store._reflog_identity(),
        )
    except BaseException:
        _remove_partial(target, created)
        raise
    finally:
        if writing is not None:
            os.close(writing)
    return store


def _hold(folder: Path) -> int | None:
    """An exclusive flock on ``folder`` (dropped by the kernel with the process), or None where
    there is none to take."""
    try:
        import fcntl

        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except (ImportError, OSError):
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:
        os.close(fd)
        return None
    return fd


def _claim(target: Path) -> tuple[bool, int | None]:
    """Make ``target`` (unless it is there, empty) and its mindgit folder, which claims the
    store for this init; whether ``target`` was made here, and the lock this init holds on it
    until it is done (:func:`_hold`).

    Each step is one mkdir, which only one process can win: two inits of one path at once
    each passed the emptiness check, and the loser's clean-up removed the winner's store
    (both failed on libgit2's config lock or a missing repository, internal errors). The
    mindgit folder is made under the lock, so another init of the path waits for this one
    to end before it looks: finding the store half made, it advised removing it (which
    deleted the new store and its key).
    """
    try:
        target.mkdir(parents=True)
        created = True
    except FileExistsError:
        created = False
    except OSError as e:
        raise StoreLocation(target, e.strerror or str(e)) from None
    writing = _hold(target)
    try:
        (target / MINDGIT_DIR).mkdir(mode=0o700)
    except BaseException as e:
        if writing is not None:
            os.close(writing)
        if isinstance(e, FileExistsError):
            raise StoreExists(target) from None
        if not isinstance(e, OSError):
            raise
        if created:
            target.rmdir()
        raise StoreLocation(target, e.strerror or str(e)) from None
    return created, writing


def _remove_partial(target: Path, created: bool) -> None:
    import shutil

    if created:
        shutil.rmtree(target, ignore_errors=True)
    elif target.is_dir():
        for child in target.iterdir():
            shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink()
