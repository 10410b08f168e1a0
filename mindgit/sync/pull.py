"""``pull``: fetch a peer's refs into quarantine, verify every new commit, then accept.

1. ``git fetch`` (with git's own object checks) into a quarantine repository of its own
   (:mod:`mindgit.sync.quarantine`), at most ``mindgit.maxfetch`` bytes: objects arrive, but
   neither the store's objects nor any of its refs change. The quarantine is emptied when the
   pull ends, however it ends; its objects join the store only once everything is accepted.
2. The gate (``mindgit.sync.gate``) checks every offered ref against the last head seen from
   the peer (no rewind unless allowed) and every commit this store has not accepted before:
   object sizes and names, a trusted signature, the schema and every CID. Key-rotation chains
   are read first, so that commits signed with a key a trusted node rotated to also verify.
3. One problem anywhere refuses the whole update: nothing changes but the recorded error.
4. Otherwise: accepted key rotations are applied, then each ref is created, fast-forwarded,
   fitness-merged (diverged experiments), or kept (ours ahead, conflicts, unrelated histories),
   and the peer's heads are recorded as last seen.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from dataclasses import replace

from mindgit.errors import MindgitError, counted
from mindgit.store.refs import (
    RefError,
    RefMoved,
    SymbolicRef,
    delete_ref,
    read_ref,
    update_ref,
)
from mindgit.store.repository import HEADS, Store
from mindgit.store.rotations import RotationOutcome, apply_rotations
from mindgit.store.verify import Problem
from mindgit.sync import keychains, refspace, transport
from mindgit.sync.ancestry import descends, reflog_identity, same_tree
from mindgit.sync.gate import RefUpdate, check_updates
from mindgit.sync.outcomes import OnEvent, PullReport, RefOutcome, emit, rejection
from mindgit.sync.peers import (
    LOCK_WAIT,
    Peer,
    clashing_refs,
    delete_refs,
    follow_rotations,
    get_peer,
    peer_lock,
    readable_state,
    record_error,
    seen_heads,
    write_state,
)
from mindgit.sync.push import merge_command
from mindgit.sync.quarantine import Quarantine, max_fetch, quarantined

_CAS_ATTEMPTS = 5
MAX_REFS = 2000  # refs one peer may offer in one pull


class TooManyRefs(MindgitError):
    def __init__(self, peer: str, count: int) -> None:
        super().__init__(
            f"pull from {peer} refused: it offers {count} refs, over the limit of {MAX_REFS}; "
            "nothing was changed",
            hint=f"ask its owner, or `mindgit remote remove {peer}`",
        )
        self.peer = peer
        self.count = count


def pull(
    store: Store,
    peer_name: str,
    *,
    allow_rewind: bool = False,
    fitness: str | None = None,
    timeout: float | transport.Budget = transport.DEFAULT_TIMEOUT,
    on_event: OnEvent | None = None,
) -> PullReport:
    """Fetch, verify and accept everything ``peer_name`` offers; see the module docstring.

    ``fitness`` names the module that decides merges of diverged experiments (default: the
    merge layer's own default). Raises :class:`~mindgit.sync.outcomes.PullRejected` (nothing
    changed) or a :class:`~mindgit.sync.transport.TransportError`.
    """
    peer = get_peer(store, peer_name)
    # Read before anything is written: a bad value is this store's config, not the peer's
    # doing, and was recorded as the peer's last error (shown by `mindgit peers`).
    limit = max_fetch(store)
    budget = transport.Budget.of(timeout)  # every git call with the peer spends from it
    wait = min(LOCK_WAIT, budget.seconds)  # "give up on a peer after this long" bounds the wait too
    with peer_lock(store, peer.name, wait, on_wait=lambda m: emit(on_event, peer.name, "wait", m)):
        # Read again under the lock: a peer removed and added again at another URL while this
        # pull waited is pulled from where it is now, not from where it was.
        peer = get_peer(store, peer_name)
        try:
            return _pull(store, peer, limit, allow_rewind, fitness, budget, on_event)
        except MindgitError as e:
            record_error(store, peer.name, "pull", e)
            raise
        finally:
            delete_refs(store.repo, refspace.quarantine_prefix(peer.name))


def _pull(
    store: Store,
    peer: Peer,
    limit: int,
    allow_rewind: bool,
    fitness: str | None,
    budget: transport.Budget,
    on_event: OnEvent | None,
) -> PullReport:
    repo = store.repo
    qprefix = refspace.quarantine_prefix(peer.name)
    delete_refs(repo, qprefix)  # left by a pull of an older mindgit, which fetched into the store
    with quarantined(store, peer.name) as q:
        emit(on_event, peer.name, "fetch", f"fetching from {peer.url}")
        transport.fetch(
            q.path,
            peer.url,
            refspace.fetch_refspecs(peer.name),
            peer=peer.name,
            timeout=budget,
            max_bytes=limit,
            received=q.size,
        )
        offered = {refspace.synced_name(qprefix, r): oid for r, oid in q.refs(qprefix).items()}
        if len(offered) > MAX_REFS:
            # Each ref costs a verification and a local ref: a peer offering thousands is
            # refused whole rather than flooding this store.
            raise TooManyRefs(peer.name, len(offered))
        return _verify_and_accept(store, peer, q, offered, allow_rewind, fitness, on_event)


def _verify_and_accept(
    store: Store,
    peer: Peer,
    q: Quarantine,
    offered: Mapping[str, str],
    allow_rewind: bool,
    fitness: str | None,
    on_event: OnEvent | None,
) -> PullReport:
    repo = store.repo
    seen = seen_heads(store, peer.name)
    problems: list[Problem] = []
    content: dict[str, str] = {}
    keys: dict[str, str] = {}
    for ref, oid in sorted(offered.items()):
        try:
            refspace.check_synced_ref(ref)
        except refspace.BadRefName as e:
            problems.append(Problem(oid, f"{ref}: {e.reason}"))
            continue
        (keys if ref.startswith(refspace.KEYS_PREFIX) else content)[ref] = oid

    # Key chains first: which rotations would be accepted decides which keys may sign.
    chains, chain_problems = keychains.chain_problems(store, keys)
    problems.extend(chain_problems)
    own = keychains.own_chain(store)
    # This node's chain is rooted at its first key, or at its current one if it never rotated.
    own_ref = own.ref if own is not None else refspace.key_chain_ref(store.public_key.did)
    # A chain naming any key this node has held rotates (or claims) this node's key, wherever
    # it is rooted: a stolen current key would otherwise start a chain of its own.
    own_keys = {store.public_key.raw, *(k.raw for k in (own.keys if own is not None else ()))}
    incoming: dict[str, keychains.Chain] = {}
    for ref, chain in chains.items():
        last = seen.get(ref)
        if last is not None and not allow_rewind and not descends(repo, chain.tip, last):
            problems.append(
                Problem(chain.tip, f"rewinds {ref}: the last head seen was {last}", ref)
            )
        elif ref == own_ref or any(k.raw in own_keys for k in chain.keys):
            # Only this node rotates its own key; anything else was signed with a stolen one.
            if own is None or not descends(repo, own.tip, chain.tip):
                problems.append(
                    Problem(
                        chain.tip, f"a rotation of this node's own key that it never made ({ref})"
                    )
                )
        else:
            incoming[ref] = chain
    known = {
        ref: keychains.read_chain(store, tip) for ref, tip in keychains.local_chains(store).items()
    }
    planning = dict(known)
    for ref, chain in incoming.items():
        mine = known.get(ref)
        if mine is None or descends(repo, chain.tip, mine.tip):
            planning[ref] = chain
    plan = keychains.plan_rotations(store, planning.values())

    updates = [RefUpdate(ref, seen.get(ref), oid) for ref, oid in sorted(content.items())]
    for ref in sorted(incoming):
        tip = plan.accepted.get(ref)
        if tip is not None and ref in planning and planning[ref] is incoming[ref]:
            # Ancestry against the last seen head was checked above, on the whole chain.
            updates.append(RefUpdate(ref, None, tip))
    scratch = keychains.scratch_dir(store, peer.name)
    try:
        trust = plan.trust_for_verification(store.trust, scratch)
        emit(on_event, peer.name, "verify", f"verifying {counted(len(updates), 'ref')}")
        problems.extend(
            check_updates(
                repo,
                trust,
                updates,
                allow_rewind=allow_rewind,
                old_accepted=False,
                hashed_on_arrival=True,  # by git's fetch, into the quarantine, just now
            )
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if problems:
        raise rejection(peer.name, problems, expected=peer.node)

    # Verified: from here on, things change, starting with the objects joining the store.
    q.migrate()
    rotations: list[RotationOutcome] = []
    outcomes: list[RefOutcome] = []
    rotate_tips = [plan.accepted[r] for r in sorted(plan.accepted)]
    if plan.changes.changes:
        rotations = apply_rotations(store, rotate_tips, strict=True)
        follow_rotations(store, rotations)
    for ref, chain in sorted(incoming.items()):
        mine = known.get(ref)
        tip = plan.accepted.get(ref)
        if planning[ref] is not chain:
            # Ours is ahead of theirs, or the two diverged: ours was planned and stays.
            assert mine is not None
            status = "ahead" if descends(repo, mine.tip, chain.tip) else "conflict"
            kept = f"diverged key chain: kept ours; theirs is {refspace.seen_ref(peer.name, ref)}"
            detail = kept if status == "conflict" else None
            outcomes.append(RefOutcome(ref, status, chain.tip, mine.tip, mine.tip, detail))
        elif tip is None:
            outcomes.append(
                RefOutcome(ref, "skipped", chain.tip, None, None, plan.skipped.get(ref))
            )
        else:
            outcome = _accept(store, peer, ref, tip, fitness, mergeable=False)
            if tip != chain.tip:
                outcome = replace(outcome, detail=plan.skipped.get(ref))
            outcomes.append(outcome)
    for ref, oid in sorted(content.items()):
        outcomes.append(_accept(store, peer, ref, oid, fitness, mergeable=ref.startswith(HEADS)))
        emit(on_event, peer.name, "accept", f"{ref}: {outcomes[-1].status}")

    now = time.time()
    # A chain is marked as far as it was accepted (or as the peer's side of a divergence,
    # which the outcome names): a refused chain's commits are not kept on a ref of this store.
    chain_marks = {
        ref: c.tip if ref not in incoming or planning[ref] is not c else plan.accepted.get(ref)
        for ref, c in chains.items()
    }
    marks = {**content, **{ref: tip for ref, tip in chain_marks.items() if tip is not None}}
    _mark_seen(store, peer.name, marks, seen)
    state = readable_state(store, peer.name).saw(marks, now)
    write_state(store, peer.name, replace(state, last_pull=now))
    return PullReport(peer.name, peer.url, tuple(outcomes), tuple(rotations), len(updates))


def _accept(
    store: Store, peer: Peer, ref: str, theirs: str, fitness: str | None, *, mergeable: bool
) -> RefOutcome:
    """Bring one verified ref of the peer's into this store (compare-and-swap, retried)."""
    repo = store.repo
    who = reflog_identity(store)
    for _ in range(_CAS_ATTEMPTS):
        ours = read_ref(repo, ref)
        try:
            if ours is None:
                try:
                    update_ref(
                        repo, ref, theirs, None, message=f"pull {peer.name}: new", committer=who
                    )
                except RefError as e:
                    clash = (
                        next(iter(clashing_refs(repo, ref)), None) if type(e) is RefError else None
                    )
                    if clash is None:
                        raise
                    # `x/y` beside an experiment `x` here (or `x` beside `x/y`): git cannot
                    # hold both. Raised, it stopped the pull halfway (refs before it moved, no
                    # mark written) and every later pull stopped at it again.
                    detail = (
                        f"not brought in: git cannot hold it beside {clash} here; theirs is "
                        f"{refspace.seen_ref(peer.name, ref)}"
                    )
                    return RefOutcome(ref, "conflict", theirs, None, None, detail)
                return RefOutcome(ref, "new", theirs, None, theirs)
            if ours == theirs:
                return RefOutcome(ref, "up-to-date", theirs, ours, ours)
            if descends(repo, theirs, ours):
                update_ref(
                    repo,
                    ref,
                    theirs,
                    ours,
                    message=f"pull {peer.name}: fast-forward",
                    committer=who,
                )
                return RefOutcome(ref, "fast-forward", theirs, ours, theirs)
            if descends(repo, ours, theirs):
                return RefOutcome(ref, "ahead", theirs, ours, ours)
            if same_tree(repo, ours, theirs):
                return RefOutcome(ref, "same-content", theirs, ours, ours)
            kept = f"kept ours; theirs is {refspace.seen_ref(peer.name, ref)}"
            if repo.merge_base(ours, theirs) is None:
                detail = f"no common history: {kept}"
                if mergeable:
                    # The next step, as a push names it: without one the user went round a
                    # loop (push: pull first; pull: kept ours; push: pull first).
                    detail += f"; {merge_command(store, peer.name, ref, ours, theirs)}"
                return RefOutcome(ref, "unrelated", theirs, ours, ours, detail)
            if not mergeable:
                return RefOutcome(ref, "conflict", theirs, ours, ours, f"diverged: {kept}")
            return _merge(store, peer, ref, ours, theirs, fitness, kept)
        except RefMoved:
            continue  # someone committed here meanwhile: look again
        except SymbolicRef as e:
            # A link this node made by hand: kept, as a diverged ref is. Raised, it stopped the
            # pull halfway (refs before it moved, none marked seen) saying "nothing was
            # changed", and every later pull stopped at it again.
            kept = f"kept it; theirs is {refspace.seen_ref(peer.name, ref)}"
            detail = f"a symbolic ref here (to {e.target}), not moved through: {kept}"
            return RefOutcome(ref, "conflict", theirs, ours, ours, detail)
    # Written here faster than it could be brought in: kept, as a diverged ref is. Raised, it
    # stopped the pull halfway (refs before it moved, none marked seen) saying "nothing was
    # changed"; the next pull tries it again.
    now = read_ref(repo, ref)
    detail = (
        f"it moved here {_CAS_ATTEMPTS} times while this pull ran: kept ours; theirs is "
        f"{refspace.seen_ref(peer.name, ref)}; pull again to bring it in"
    )
    return RefOutcome(ref, "conflict", theirs, now, now, detail)


def _merge(
    store: Store, peer: Peer, ref: str, ours: str, theirs: str, fitness: str | None, kept: str
) -> RefOutcome:
    from mindgit.merge import MergeBasesConflict, MergeConflict, merge

    experiment = ref.removeprefix(HEADS)
    try:
        outcome = merge(store, theirs, into=experiment, fitness=fitness)
    except MergeConflict as e:
        whose = "their merge bases" if isinstance(e, MergeBasesConflict) else "both sides"
        step = merge_command(store, peer.name, ref, ours, theirs)
        detail = (
            f"{whose} changed {', '.join(e.patterns)} and no fitness decides: {kept}; pull again "
            f"with --fitness NAME (or after `mindgit config set fitness NAME`), or {step}"
        )
        return RefOutcome(ref, "conflict", theirs, ours, ours, detail)
    except RefMoved:
        raise
    except MindgitError as e:
        # A module that fails, say, is this node's problem, not the peer's: keep ours, go on.
        step = merge_command(store, peer.name, ref, ours, theirs)
        detail = f"merge failed ({' '.join(str(e).split())}): {kept}; {step}"
        return RefOutcome(ref, "conflict", theirs, ours, ours, detail)
    # merge reads the experiment's head again: if it moved since ``ours`` was read, what it
    # merged into, and what it did, are the outcome's.
    before = outcome.ours or ours
    if outcome.up_to_date:
        return RefOutcome(ref, "ahead", theirs, before, outcome.commit)
    if outcome.fast_forward:
        return RefOutcome(ref, "fast-forward", theirs, before, outcome.commit)
    by_fitness = sum(1 for d in outcome.decisions if d.reason == "fitness")
    detail = f"{len(outcome.decisions)} changed pattern(s), {by_fitness} decided by fitness" + (
        f" ({outcome.module})" if outcome.module is not None else ""
    )
    return RefOutcome(ref, "merged", theirs, before, outcome.commit, detail)


def _mark_seen(store: Store, peer: str, marks: Mapping[str, str], seen: Mapping[str, str]) -> None:
    who = reflog_identity(store)
    for ref, oid in sorted(marks.items()):
        if seen.get(ref) == oid:
            continue
        mark = refspace.seen_ref(peer, ref)
        try:
            update_ref(
                store.repo, mark, oid, seen.get(ref), message=f"seen at {peer}", committer=who
            )
            continue
        except RefError as e:
            stale = [
                r
                for r in (clashing_refs(store.repo, mark) if type(e) is RefError else ())
                if refspace.synced_name(refspace.seen_prefix(peer), r) not in marks
            ]
            if not stale or ref in seen:
                raise
        # The mark of a ref the peer no longer has (`x`, when it now offers `x/y`): git cannot
        # hold the two marks together, and the peer cannot hold the two refs. Left, it failed
        # this pull after its refs moved, and every later one.
        for r in stale:
            old = read_ref(store.repo, r)
            if old is not None:
                delete_ref(store.repo, r, old)
        update_ref(store.repo, mark, oid, None, message=f"seen at {peer}", committer=who)
