"""Reading an experiment's history: log entries with signature status, and state diffs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pygit2

from mindgit.errors import DamagedStore, MindgitError, shell_word, unreadable_object
from mindgit.ipld.cid import CID
from mindgit.store.damage import Indexes, fsck_hint, unreadable_cause
from mindgit.store.genome import Gene
from mindgit.store.layout import read_blocks, read_thoughts
from mindgit.store.objects import as_commit
from mindgit.store.repository import Snapshot, Store
from mindgit.store.verify import Verifier, trailer


@dataclass(frozen=True, slots=True)
class LogEntry:
    commit: str
    parents: tuple[str, ...]
    time: int
    summary: str
    signer: str | None  # did:key of the signer, if the signature parses
    trusted_as: str | None  # the trusted node's name
    status: str  # "good" | "untrusted" | "bad" | "unsigned" | "invalid" | "damaged"
    problems: tuple[str, ...]
    manifest: str | None
    # Each object the check could not read: (its id if known, libgit2's reason).
    damaged: tuple[tuple[str | None, str], ...] = ()


# A problem verify names for an object damaged on disk (the words of verify.cannot_read).
_CANNOT_READ = re.compile(r"(?:object ([0-9a-f]{40})|an object) cannot be read: (.*)", re.S)


def damage(reason: str) -> tuple[str | None, str] | None:
    """The object a problem says cannot be read and libgit2's reason, or None if the problem is
    something else (the commit is then invalid, not damaged)."""
    found = _CANNOT_READ.fullmatch(reason)
    return (found[1], found[2]) if found else None


def log(
    store: Store,
    rev: str | None = None,
    *,
    limit: int | None = None,
    verifier: Verifier | None = None,
) -> Iterator[LogEntry]:
    """Commits reachable from ``rev`` (default: the current experiment), newest first.

    ``verifier`` checks them, if given: one shared by several logs checks a tree or blob they
    share once (`experiments` of forks of one big state checked every thought per experiment).
    """
    start = store.head() if rev is None else store.resolve(rev)
    if verifier is None:
        verifier = Verifier(store.repo, store.trust)
    indexes: Indexes = {}  # each pack index read once, however many objects are absent
    try:
        for commit in _newest_first(store.repo, start, limit):
            yield _entry(store, commit, verifier, indexes)
    except HistoryIncomplete as e:
        # A commit the walk reaches in a pack cut short is named with its pack, not as missing.
        cause = unreadable_cause(store.path, e.oid, indexes) if e.oid is not None else None
        if cause is None:
            raise
        raise damaged_store(store, e.oid, cause) from None


def _entry(store: Store, commit: pygit2.Commit, verifier: Verifier, indexes: Indexes) -> LogEntry:
    result = verifier.check_commit(str(commit.id))
    reasons = tuple(str(p.reason) for p in result.problems)
    damaged = tuple(d for d in map(damage, reasons) if d is not None)
    if not result.ok and any("missing" in r for r in reasons):
        # An object of the state that reads as absent (in a pack cut short, which libgit2
        # leaves out whole, or gone after a partial repair) is damage, as bytes that cannot be
        # read are: the commit was listed "invalid", a verdict on a sound commit.
        damaged += _absent(store, str(commit.id), indexes)
    if result.ok:
        status = "good"
    elif damaged:
        # Not a verdict on the commit: what it holds could not be read from this disk.
        status = "damaged"
    elif any(r == "unsigned commit" for r in reasons):
        status = "unsigned"
    elif any(r.startswith("bad signature") for r in reasons):
        status = "bad"
    elif result.signer is not None and result.trusted_as is None:
        status = "untrusted"
    else:
        status = "invalid"
    return LogEntry(
        commit=str(commit.id),
        parents=tuple(str(p) for p in commit.parent_ids),
        time=commit.commit_time,
        summary=commit.message.splitlines()[0] if commit.message else "",
        signer=result.signer.did if result.signer else None,
        trusted_as=result.trusted_as,
        status=status,
        problems=reasons,
        manifest=trailer(commit.message, "Mindgit-State"),
        damaged=damaged,
    )


# Why an object a state names is absent when nothing on disk holds it (see _absent).
MISSING = "missing: no pack index lists it and no loose file holds it"


def damaged_store(store: Store, oid: str | None, reason: str) -> DamagedStore:
    """The error for the object ``oid`` of a log entry's ``damaged``; for one that reads as
    absent (a damaged pack or file that unreadable_cause names, or MISSING) with the repair as
    the hint (git's fsck alone names no pack cut short as the place of the object)."""
    error = DamagedStore(oid, reason, store=str(store.path))
    if reason == MISSING or reason.startswith("objects/"):
        error.hint = fsck_hint(store.path, "missing" if reason == MISSING else "damaged")
    return error


def _absent(store: Store, commit_id: str, indexes: Indexes) -> tuple[tuple[str | None, str], ...]:
    """Each object of ``commit_id``'s state that the store reads as absent (its tree, the
    manifest, the thoughts/ and blocks/ trees and their blobs), with why: the damaged pack or
    file holding it, or MISSING. The pack indexes read are kept in ``indexes``."""
    repo = store.repo
    found: list[tuple[str | None, str]] = []

    def read(oid: pygit2.Oid | str) -> pygit2.Object | bool | None:
        try:
            obj = repo.get(oid)
        except pygit2.GitError:
            return False  # there, damaged: verify names it in its own words
        if obj is None:
            found.append((str(oid), unreadable_cause(store.path, oid, indexes) or MISSING))
        return obj

    found_commit = read(commit_id)
    commit = as_commit(found_commit) if isinstance(found_commit, pygit2.Object) else None
    if commit is None:
        return ()
    root = read(commit.tree_id)
    for entry in root if isinstance(root, pygit2.Tree) else ():
        sub = read(entry.id)
        if entry.name in ("thoughts", "blocks") and isinstance(sub, pygit2.Tree):
            for leaf in sub:
                try:
                    there = leaf.id in repo
                except pygit2.GitError:
                    there = True  # damaged, as above
                if not there:
                    read(leaf.id)
    return tuple(found)


def _newest_first(
    repo: pygit2.Repository, start: str, limit: int | None
) -> Iterator[pygit2.Commit]:
    """The first ``limit`` commits (all without one) of the topological walk from ``start``.

    libgit2 sorts topologically only once it has read every commit ``start`` reaches, so
    ``log -n 1``, ``show`` and ``experiments`` (once per experiment) read the whole history to
    show one commit. Up to the first merge the walk is the chain of single parents from
    ``start``: no commit it reaches but the next in the chain can come before the rest (each is
    the next one's ancestor). That chain is followed here; the walk takes over after a merge, or
    at a commit the chain cannot read (where the walk fails as it always did).
    """
    if limit is None:
        yield from _walk(repo, start)
        return
    taken = 0
    oid = pygit2.Oid(hex=start)
    while taken < limit:
        try:
            found = as_commit(repo.get(oid))
        except pygit2.GitError:
            break
        if found is None:
            break
        yield found
        taken += 1
        parents = found.parent_ids
        if not parents:
            return
        if len(parents) > 1:
            break
        oid = parents[0]
    if taken >= limit:
        return
    for n, commit in enumerate(_walk(repo, start)):
        if n >= limit:
            return
        if n >= taken:
            yield commit


class HistoryIncomplete(MindgitError):
    """A commit the history reaches is not in the store (a history cut short: a pruned or lost
    object, or a copy of the store that missed some)."""

    def __init__(self, store: str, oid: str | None) -> None:
        what = f"commit {oid}" if oid else "a commit"
        super().__init__(
            f"the history is incomplete: {what} is missing from this store",
            hint=f"`git --git-dir {shell_word(store)} fsck` lists what is missing; "
            "`log -n N` shows the commits before it",
        )
        self.oid = oid


_OID = re.compile(r"\b[0-9a-f]{40}\b")


def _walk(repo: pygit2.Repository, start: str) -> Iterator[pygit2.Commit]:
    """The topological walk from ``start``; a commit it cannot read is named (it was an
    internal error, NotFoundError, exit 3)."""
    walker = repo.walk(pygit2.Oid(hex=start), pygit2.enums.SortMode.TOPOLOGICAL)
    while True:
        try:
            commit = next(walker)
        except StopIteration:
            return
        except pygit2.GitError as e:
            store = repo.path.rstrip("/")
            damaged = unreadable_object(str(e))
            if damaged is not None:
                raise DamagedStore(*damaged, store=store) from None
            if "not found" not in str(e):
                raise
            found = _OID.search(str(e))
            raise HistoryIncomplete(store, found[0] if found else None) from None
        yield commit


@dataclass(frozen=True, slots=True)
class GeneChange:
    name: str
    old: Gene | None
    new: Gene | None


@dataclass(frozen=True, slots=True)
class StateDiff:
    old_commit: str
    new_commit: str
    thoughts_added: tuple[tuple[CID, bytes], ...]
    thoughts_removed: tuple[tuple[CID, bytes], ...]
    genes: tuple[GeneChange, ...]
    memories: tuple[BlockChange, ...] = ()
    data: tuple[BlockChange, ...] = ()

    @property
    def empty(self) -> bool:
        return not (
            self.thoughts_added or self.thoughts_removed or self.genes or self.memories or self.data
        )


@dataclass(frozen=True, slots=True)
class BlockChange:
    """A named memory or data block that was added, removed or replaced (bytes of each side)."""

    name: str
    old: tuple[CID, bytes] | None
    new: tuple[CID, bytes] | None


def diff(store: Store, old_rev: str, new_rev: str) -> StateDiff:
    """What changed from the state at ``old_rev`` to the one at ``new_rev``."""
    a = store.snapshot(old_rev)
    b = store.snapshot(new_rev)
    added = tuple(
        read_thoughts(store.repo, b.tree, sorted(b.state.thoughts - a.state.thoughts, key=str))
    )
    removed = tuple(
        read_thoughts(store.repo, a.tree, sorted(a.state.thoughts - b.state.thoughts, key=str))
    )
    changes = []
    for name in sorted(set(a.state.genome) | set(b.state.genome)):
        old = a.state.genome.get(name)
        new = b.state.genome.get(name)
        if old != new:
            changes.append(GeneChange(name, old, new))
    return StateDiff(
        a.commit,
        b.commit,
        added,
        removed,
        tuple(changes),
        _named_changes(store, a, b, "memories"),
        _named_changes(store, a, b, "data"),
    )


def _named_changes(store: Store, a: Snapshot, b: Snapshot, attr: str) -> tuple[BlockChange, ...]:
    old = dict(getattr(a.state, attr))
    new = dict(getattr(b.state, attr))
    changed = [(name, old.get(name), new.get(name)) for name in sorted(set(old) | set(new))]
    changed = [(name, o, n) for name, o, n in changed if o != n]
    # Each side's blocks tree looked up once for all the changed names (see read_thoughts).
    olds = read_blocks(store.repo, a.tree, [o for _, o, _ in changed if o is not None])
    news = read_blocks(store.repo, b.tree, [n for _, _, n in changed if n is not None])
    return tuple(
        BlockChange(
            name,
            None if o is None else next(olds),
            None if n is None else next(news),
        )
        for name, o, n in changed
    )
