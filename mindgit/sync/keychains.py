"""Key-rotation chains between nodes: name them, check them, and trust what they announce.

A chain is a node's announcements (``mindgit.store.rotations``), each commit the parent of the
next, each signed by the key it retires and carrying the new key's proof. Its synced name is
``refs/keys/<root>`` (see ``refspace``), the root being the key its first rotation replaced.

Before a pull verifies anything, :func:`plan_rotations` works out which rotations this node
would accept (``apply_rotations``' own rule, ``plan_key_changes``) and makes their changes in a
scratch copy of the trust store: commits a peer signed with a new key verify, a retired key is
already bounded to the history its rotation named, and a newcomer's earlier keys are known. Only
when the whole update passed are the rotations applied for real.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pygit2

from mindgit.identity.keys import PublicKey
from mindgit.identity.rotation import BadRotation
from mindgit.identity.trust import TrustStore
from mindgit.store.objects import as_commit
from mindgit.store.refs import RefError, read_ref
from mindgit.store.repository import MINDGIT_DIR, Store
from mindgit.store.retired import MAX_ANNOUNCEMENT_BYTES
from mindgit.store.rotations import (
    ANNOUNCE_REF,
    KeyChanges,
    plan_key_changes,
    read_announcement_in,
)
from mindgit.store.verify import Problem
from mindgit.sync import refspace

# A chain is a handful of commits; a longer one is an attack on the time of whoever reads it.
MAX_CHAIN = 1000
# Announcements one pull reads in all its chains (each costs ~1 ms of signature checks, and a
# pull reads them several times): MAX_REFS chains of MAX_CHAIN would take hours.
MAX_ANNOUNCEMENTS = 4096
# How a chain left unread for that limit is named (read_chains_in; over_budget finds them).
OVER_BUDGET = "over {} announcements in all"


class ChainTooLong(BadRotation):
    """A key chain with more announcements than the reader allows (``limit``)."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(what, f"a key chain longer than {limit} announcements")
        self.limit = limit


@dataclass(frozen=True, slots=True)
class Chain:
    """A checked chain: its synced ref, its commits oldest first, and the key it started from."""

    ref: str
    commits: tuple[str, ...]
    root: PublicKey
    # Every key the chain names (each rotation's old key, then the last one's new key).
    keys: tuple[PublicKey, ...]

    @property
    def tip(self) -> str:
        return self.commits[-1]


def read_chain(store: Store, tip: str) -> Chain:
    """The chain ending at ``tip``, every announcement checked; :class:`BadRotation` if not."""
    return read_chain_in(store.repo, tip)


def read_chain_in(repo: pygit2.Repository, tip: str, limit: int = MAX_CHAIN) -> Chain:
    """:func:`read_chain` in any repository (a server's gate has no :class:`Store`), of at
    most ``limit`` announcements (:class:`ChainTooLong`, before any signature is checked)."""
    commits: list[str] = []
    oid: str | None = tip
    while oid is not None:
        if len(commits) >= limit:
            raise ChainTooLong(tip[:12], limit)
        # Chains are read before the gate sizes objects: a commit is sized from its header
        # before it is inflated (an announcement is a record's worth of bytes).
        try:
            _, size = repo.odb.read_header(pygit2.Oid(hex=oid))
        except (KeyError, ValueError, pygit2.GitError):
            raise BadRotation(oid[:12], "not a commit in this store") from None
        if size > MAX_ANNOUNCEMENT_BYTES:
            raise BadRotation(oid[:12], f"{size} bytes, over {MAX_ANNOUNCEMENT_BYTES}")
        obj = as_commit(repo.get(oid))
        if obj is None:
            raise BadRotation(oid[:12], "not a commit in this store")
        if len(obj.parent_ids) > 1:
            raise BadRotation(oid[:12], "a key chain has no merges")
        commits.append(oid)
        oid = str(obj.parent_ids[0]) if obj.parent_ids else None
    commits.reverse()
    records = [read_announcement_in(repo, c) for c in commits]
    for before, after, commit in zip(records, records[1:], commits[1:], strict=False):
        if after.old != before.new:
            raise BadRotation(
                commit[:12], f"rotates {after.old.did}, not {before.new.did} the chain moved to"
            )
    root = records[0].old
    keys = (*(r.old for r in records), records[-1].new)
    return Chain(refspace.key_chain_ref(root.did), tuple(commits), root, keys)


def own_chain(store: Store) -> Chain | None:
    """This node's own chain (``refs/keys/announce``), if it ever rotated its key."""
    tip = read_ref(store.repo, ANNOUNCE_REF)
    return read_chain(store, tip) if tip is not None else None


def local_chains(store: Store) -> dict[str, str]:
    """Peers' chains this node keeps: synced ref -> tip (its own chain left out, and any ref
    under ``refs/keys/`` not named for a root, which no peer would take)."""
    return {r: tip for r, tip in held_chains(store.repo).items() if r != ANNOUNCE_REF}


def held_chains(repo: pygit2.Repository, *, skip_unreadable: bool = False) -> dict[str, str]:
    """Every chain ``repo`` holds: ``refs/keys/announce`` and those named for a root
    (synced ref -> tip). A ref that cannot be read raises ``RefError``, or is left out."""
    out = {}
    for ref in repo.references:
        if ref.startswith(refspace.KEYS_PREFIX) and (ref == ANNOUNCE_REF or _root_named(ref)):
            try:
                tip = read_ref(repo, ref)
            except (RefError, ValueError):
                if not skip_unreadable:
                    raise
                continue
            if tip is not None:
                out[ref] = tip
    return out


def _root_named(ref: str) -> bool:
    try:
        refspace.check_synced_ref(ref)
    except refspace.BadRefName:
        return False
    return True


@dataclass(frozen=True, slots=True)
class RotationPlan:
    """What a pull would do with the chains it knows: accepted prefixes and skipped ones."""

    accepted: Mapping[str, str]  # synced ref -> last acceptable announcement
    skipped: Mapping[str, str]  # synced ref -> why (part of) it was not accepted
    changes: KeyChanges  # what accepting them does to the trust store (apply_rotations)

    def trust_for_verification(self, trust: TrustStore, scratch: Path) -> TrustStore:
        """``trust`` as it will be once the rotations are applied (a copy under ``scratch``),
        or ``trust`` itself if they change nothing: new keys trusted, retired ones bounded."""
        if not self.changes.changes:
            return trust
        copy = scratch / "allowed_signers"
        if trust.path.exists():
            shutil.copyfile(trust.path, copy)
        scratch_trust = TrustStore(copy)
        self.changes.apply_to(scratch_trust)
        return scratch_trust


def plan_rotations(store: Store, chains: Iterable[Chain]) -> RotationPlan:
    """Which announcements of ``chains`` this node accepts, by ``apply_rotations``' own rule.

    A chain is accepted up to its first rotation that rule refuses; nothing after that point
    is believed.
    """
    return plan_rotations_in(store.repo, store.trust, chains)


def plan_rotations_in(
    repo: pygit2.Repository, trust: TrustStore, chains: Iterable[Chain]
) -> RotationPlan:
    """:func:`plan_rotations` against any repository and trust file (a server's gate)."""
    chains = list(chains)
    tips = [chain.tip for chain in chains]
    whole = plan_key_changes(repo, trust, tips, strict=False)
    by_commit = {o.commit: o for o in whole.outcomes}
    accepted: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for chain in chains:
        last_ok: str | None = None
        for commit in chain.commits:
            outcome = by_commit[commit]
            if outcome.status == "refused":
                skipped[chain.ref] = f"rotation {commit[:12]} is refused: {outcome.reason}"
                break
            last_ok = commit
        if last_ok is not None:
            accepted[chain.ref] = last_ok
    if not skipped:  # every chain accepted whole: the plan is the one just made
        return RotationPlan(accepted, skipped, whole)
    changes = plan_key_changes(repo, trust, [accepted[r] for r in sorted(accepted)])
    return RotationPlan(accepted, skipped, changes)


def rotated_trust(
    repo: pygit2.Repository, trust: TrustStore, by_ref: Mapping[str, Chain], scratch: Path
) -> TrustStore:
    """``trust`` as the key chains ``by_ref`` (ref -> chain, :func:`read_chains_in`) rotate it,
    by ``apply_rotations``' rule: a copy under ``scratch``, or ``trust`` itself if they change
    nothing. For a repository with no store of its own (a server's gate, a CI checkout), whose
    trust file stays as written. A chain ``read_chains_in`` could not read is not among them
    (one whose announcements are not each signed by the key they retire, say), and every
    chain of a fork (:func:`forks`) is left out.
    """
    # Which fork is the node's cannot be told: neither is believed (whoever reads them says
    # so: a gate refuses the push, verify fails).
    forked = {f.ref for f in forks(by_ref)}
    chains, _ = _one_per_root(repo, {r: c for r, c in by_ref.items() if r not in forked})
    plan = plan_rotations_in(repo, trust, chains.values())
    return plan.trust_for_verification(trust, scratch)


@dataclass(frozen=True, slots=True)
class Fork:
    """Chain ``ref`` rotates ``key`` (by announcement ``commit``) as chain ``other`` does not."""

    ref: str
    other: str
    key: PublicKey
    commit: str


def forks(chains: Mapping[str, Chain]) -> list[Fork]:
    """The chains (ref -> chain) holding an announcement that rotates a key another chain's
    announcement rotates too, by ref: forks of one node's chain. Only a holder of that key can
    make one (a thief with a retired key file, a leak), and which fork is the node's cannot be
    told. Two refs holding one chain, or one a longer version of the other, are no fork."""
    rotating: dict[bytes, dict[str, str]] = {}  # a rotated key -> its announcements -> a ref
    for ref, chain in sorted(chains.items()):
        for commit, old in zip(chain.commits, chain.keys, strict=False):
            rotating.setdefault(old.raw, {}).setdefault(commit, ref)
    found: list[Fork] = []
    for ref, chain in sorted(chains.items()):
        own = set(chain.commits)
        for commit, old in zip(chain.commits, chain.keys, strict=False):
            others = sorted({r for c, r in rotating[old.raw].items() if c not in own})
            if others:
                found.append(Fork(ref, others[0], old, commit))
                break
    return found


def over_budget(problems: Iterable[Problem], budget: int = MAX_ANNOUNCEMENTS) -> list[Problem]:
    """Those of :func:`read_chains_in`'s ``problems`` that are chains left unread for the
    ``budget``: a reader that trusts by the chains it reads must refuse rather than go on
    without them (their retired keys would be bounded by nothing)."""
    limit = OVER_BUDGET.format(budget)
    return [p for p in problems if limit in p.reason]


def chain_problems(
    store: Store, offered: Mapping[str, str], max_announcements: int = MAX_ANNOUNCEMENTS
) -> tuple[dict[str, Chain], list[Problem]]:
    """Check a peer's offered chains (synced ref -> tip); one chain per root, and at most
    ``max_announcements`` announcements in all.

    The peer's own ``refs/keys/announce`` is filed under its root's name; a ref named for one
    root that holds another root's chain, or two diverged offers of one chain, is a problem.
    """
    return chain_problems_in(store.repo, offered, max_announcements)


def chain_problems_in(
    repo: pygit2.Repository, offered: Mapping[str, str], max_announcements: int = MAX_ANNOUNCEMENTS
) -> tuple[dict[str, Chain], list[Problem]]:
    """:func:`chain_problems` in any repository (a server's gate has no :class:`Store`)."""
    by_ref, problems = read_chains_in(repo, offered, max_announcements)
    chains, diverged = _one_per_root(repo, by_ref)
    # Chains of one root that diverge are named just above; a fork rooted elsewhere (a leaked
    # later key's own chain) is one chain per root, and planned with the other, which of its
    # rotations won would hang on the order they were walked in.
    for f in forks(by_ref):
        if by_ref[f.ref].ref != by_ref[f.other].ref and f.ref < f.other:
            problems.append(
                Problem(
                    by_ref[f.ref].tip,
                    f"key chains {f.ref} and {f.other} both rotate {f.key.did} (a fork): "
                    "which one is the node's cannot be told",
                )
            )
    return chains, problems + diverged


def _one_per_root(
    repo: pygit2.Repository, by_ref: Mapping[str, Chain]
) -> tuple[dict[str, Chain], list[Problem]]:
    """The longest of each root's chains (by synced ref), and the problem of any two diverged."""
    problems: list[Problem] = []
    chains: dict[str, Chain] = {}
    for _, chain in sorted(by_ref.items()):
        other = chains.get(chain.ref)
        if other is None or _descends(repo, chain.tip, other.tip):
            chains[chain.ref] = chain
        elif not _descends(repo, other.tip, chain.tip):
            problems.append(Problem(chain.tip, f"two diverged versions of key chain {chain.ref}"))
    return chains, problems


def read_chains_in(
    repo: pygit2.Repository, offered: Mapping[str, str], max_announcements: int = MAX_ANNOUNCEMENTS
) -> tuple[dict[str, Chain], list[Problem]]:
    """The chain each of ``offered`` (ref -> tip) holds, by ref, and the problems of those that
    hold none: a bad announcement, a ref named for another root than its chain's, more than
    ``max_announcements`` announcements in all. Two versions of one chain are both kept."""
    chains: dict[str, Chain] = {}
    problems: list[Problem] = []
    left = max_announcements
    for ref, tip in sorted(offered.items()):
        over = f"{ref}: the key chains offered hold {OVER_BUDGET.format(max_announcements)}"
        if left <= 0:
            problems.append(Problem(tip, over))
            continue
        try:
            chain = read_chain_in(repo, tip, min(MAX_CHAIN, left))
        except ChainTooLong as e:
            problems.append(Problem(tip, over if e.limit < MAX_CHAIN else f"{ref}: {e.reason}"))
            left = 0
            continue
        except BadRotation as e:
            problems.append(Problem(tip, f"{ref}: {e.reason}", e.what))
            continue
        left -= len(chain.commits)
        if ref != ANNOUNCE_REF and ref != chain.ref:
            problems.append(Problem(tip, f"{ref} holds the key chain of {chain.root.did}"))
            continue
        chains[ref] = chain
    return chains, problems


def _descends(repo: pygit2.Repository, new: str, old: str) -> bool:
    return new == old or bool(repo.descendant_of(new, old))


def scratch_path(store: Store, peer: str) -> Path:
    """Where :func:`scratch_dir` makes a pull's scratch directory (one a killed pull left
    behind goes when the peer is removed)."""
    return store.path / MINDGIT_DIR / "peers" / f".scratch-{peer}"


def scratch_dir(store: Store, peer: str) -> Path:
    """A private scratch directory for a pull from ``peer`` (caller removes it). Call it under
    the peer's lock: one left by a pull that was killed is emptied first, so none piles up."""
    path = scratch_path(store, peer)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o700)
    return path
