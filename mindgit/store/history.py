"""Reading an experiment's history: log entries with signature status, and state diffs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pygit2

from mindgit.ipld.cid import CID
from mindgit.store.genome import Gene
from mindgit.store.layout import read_block, read_thought
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


def log(store: Store, rev: str | None = None, *, limit: int | None = None) -> Iterator[LogEntry]:
    """Commits reachable from ``rev`` (default: the current experiment), newest first."""
    start = store.head() if rev is None else store.resolve(rev)
    verifier = Verifier(store.repo, store.trust)
    walker = store.repo.walk(pygit2.Oid(hex=start), pygit2.enums.SortMode.TOPOLOGICAL)
    for n, commit in enumerate(walker):
        if limit is not None and n >= limit:
            return
        result = verifier.check_commit(str(commit.id))
        reasons = tuple(str(p.reason) for p in result.problems)
        damaged = tuple(d for d in map(damage, reasons) if d is not None)
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
        yield LogEntry(
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
        (c, read_thought(store.repo, b.tree, c))
        for c in sorted(b.state.thoughts - a.state.thoughts, key=str)
    )
    removed = tuple(
        (c, read_thought(store.repo, a.tree, c))
        for c in sorted(a.state.thoughts - b.state.thoughts, key=str)
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
    out = []
    for name in sorted(set(old) | set(new)):
        o, n = old.get(name), new.get(name)
        if o == n:
            continue
        out.append(
            BlockChange(
                name,
                None if o is None else (o, read_block(store.repo, a.tree, o)),
                None if n is None else (n, read_block(store.repo, b.tree, n)),
            )
        )
    return tuple(out)
