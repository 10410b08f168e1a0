"""``push``: offer a peer this node's experiments, runs, fitness modules and key chains.

Only fast-forwards: a ref the peer holds at a commit that is not an ancestor of ours is not
pushed (``diverged``: pull first, which merges an experiment, or, if the last pull kept the
peer's head apart, merge that by hand: the detail names the command) or, if this node does not
know the peer's commit, is left to git, which refuses it. Before anything is sent, every commit the peer does not have
yet is verified here with the same gate a pull uses; a ref with a commit this node cannot verify
is not pushed. What is pushed is the commit that was verified, not whatever the ref points at
by the time git runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, replace

import pygit2

from mindgit.errors import MindgitError, counted, one_line
from mindgit.store.fitness_store import FITNESS_PREFIX
from mindgit.store.generation import RUNS_PREFIX, TRAILER_EXPERIMENT
from mindgit.store.objects import as_commit
from mindgit.store.refs import RefError, RefMoved, delete_ref, read_ref, update_ref
from mindgit.store.repository import HEADS, Store, UnknownExperiment, check_experiment_name
from mindgit.store.settings import read_setting
from mindgit.store.verify import Problem, trailer
from mindgit.sync import keychains, refspace, transport
from mindgit.sync.ancestry import descends, exists, reflog_identity, same_tree
from mindgit.sync.gate import check_commits
from mindgit.sync.outcomes import OnEvent, PushReport, RefOutcome, emit
from mindgit.sync.peers import (
    LOCK_WAIT,
    Peer,
    PeerError,
    clashing_refs,
    get_peer,
    peer_lock,
    readable_state,
    record_error,
    seen_heads,
    write_state,
)

_PUSHED = {" ": "pushed", "*": "created", "=": "up-to-date", "+": "pushed"}


@dataclass(frozen=True, slots=True)
class Offer:
    """One ref to offer: our commit and the peer's ref name for it."""

    ref: str  # the name at the peer (the synced name)
    commit: str


def offers(store: Store, experiments: Iterable[str] = ()) -> list[Offer]:
    """What a push sends: the named experiments (default: every one) and their runs, every
    fitness module, this node's key chain and the chains it keeps for others."""
    repo = store.repo
    wanted = [check_experiment_name(e) for e in experiments]
    for name in wanted:
        if read_ref(repo, HEADS + name) is None:
            raise UnknownExperiment(name)
    out: list[Offer] = []
    for ref in sorted(repo.references):
        oid = read_ref(repo, ref)
        if oid is None or not refspace.is_synced(ref) or ref.startswith(refspace.KEYS_PREFIX):
            continue
        if wanted and ref.startswith(HEADS) and ref.removeprefix(HEADS) not in wanted:
            continue
        if wanted and ref.startswith(RUNS_PREFIX):
            commit = as_commit(repo[oid])
            assert commit is not None
            if trailer(commit.message, TRAILER_EXPERIMENT) not in wanted:
                continue
        out.append(Offer(ref, oid))
    own = keychains.own_chain(store)
    if own is not None:
        out.append(Offer(own.ref, own.tip))
    for ref, tip in sorted(keychains.local_chains(store).items()):
        if own is None or ref != own.ref:
            out.append(Offer(ref, tip))
    return out


def push(
    store: Store,
    peer_name: str,
    experiments: Iterable[str] = (),
    *,
    timeout: float | transport.Budget = transport.DEFAULT_TIMEOUT,
    on_event: OnEvent | None = None,
) -> PushReport:
    """Push to ``peer_name``; see the module docstring. Per-ref outcomes are in the report;
    a peer that cannot be reached raises a :class:`~mindgit.sync.transport.TransportError`."""
    peer = get_peer(store, peer_name)
    planned = offers(store, experiments)
    budget = transport.Budget.of(timeout)  # every git call with the peer spends from it
    wait = min(LOCK_WAIT, budget.seconds)  # "give up on a peer after this long" bounds the wait too
    with peer_lock(store, peer.name, wait, on_wait=lambda m: emit(on_event, peer.name, "wait", m)):
        # Read again under the lock: a peer removed and added again at another URL while this
        # waited is pushed to where it is now.
        peer = get_peer(store, peer_name)
        try:
            return _push(store, peer, planned, budget, on_event)
        except MindgitError as e:
            record_error(store, peer.name, "push", e)
            raise


def _diverged_detail(store: Store, peer: str, ref: str, ours: str, theirs: str) -> str:
    """What to do about a ref the peer holds on another line of history than ours."""
    if ref.startswith(HEADS):
        kept = refspace.seen_ref(peer, ref)
        if read_ref(store.repo, kept) != theirs:
            return "pull first to merge"
        # The last pull already kept theirs apart (a conflict, unrelated histories): "pull
        # first to merge" sent the user round a loop (push: pull; pull: kept ours; push: pull).
        step = merge_command(store, peer, ref, ours, theirs)
        return f"the last pull kept theirs apart as {kept}: {step}"
    # A pull merges experiments only: it keeps ours of any other ref and the peer's aside, so
    # "pull first to merge" sent the user round a loop that never ended.
    kind = (
        "run"
        if ref.startswith(RUNS_PREFIX)
        else "fitness module"
        if ref.startswith(FITNESS_PREFIX)
        else "key chain"
    )
    return (
        f"the peer has another {kind} of that name; a pull keeps ours: it merges experiments only"
    )


def merge_command(store: Store, peer: str, ref: str, ours: str | None, theirs: str) -> str:
    """The next step for an experiment a pull kept apart (docs/sync.md): merge the peer's head
    by hand (``theirs``, kept at ``refs/peers/<peer>/...``), then push it; with
    ``--allow-unrelated`` when the two share no commit and ``--fitness NAME`` when no module is
    configured (the merge's search for this node's own runs checks every generation's
    signature: too dear for a message a push may give on every call)."""
    experiment = ref.removeprefix(HEADS)
    kept = refspace.seen_ref(peer, ref)
    flags = ""
    if ours is not None and store.repo.merge_base(ours, theirs) is None:
        flags += " --allow-unrelated"
    try:
        configured = read_setting(store.config_get, "fitness")
    except MindgitError:
        configured = None  # a value `config set` would refuse decides nothing
    if not configured:
        flags += " --fitness NAME"
    return (
        f"run `mindgit merge {kept} --into {experiment}{flags}`, "
        f"then `mindgit push {peer} {experiment}`"
    )


def _push(
    store: Store,
    peer: Peer,
    planned: list[Offer],
    budget: transport.Budget,
    on_event: OnEvent | None,
) -> PushReport:
    repo = store.repo
    emit(on_event, peer.name, "list", f"listing {peer.url}")
    # Its errors say "push to <peer>", as the push's own do: "list <peer>" named a step the
    # user never asked for.
    remote = transport.ls_remote(
        store.path, peer.url, peer=peer.name, timeout=budget, operation="push to"
    )
    outcomes: list[RefOutcome] = []
    candidates: list[Offer] = []
    for offer in planned:
        theirs = remote.get(offer.ref)
        # Only a commit here can be asked about ancestry: a peer's ref may name any object
        # (git lets refs/fitness/* and refs/runs/* hold a tree), and one this store holds as a
        # tree or blob made the push an internal error. Anything else is left to git.
        known = theirs is not None and _commit_here(repo, theirs)
        status: str | None = None
        if theirs == offer.commit:
            status = "up-to-date"
        elif theirs is not None and known:
            if descends(repo, theirs, offer.commit):
                status = "behind"
            elif descends(repo, offer.commit, theirs):
                status = None
            elif same_tree(repo, theirs, offer.commit):
                status = "same-content"
            else:
                status = "diverged"
        if status is None:
            candidates.append(offer)
        else:
            detail = (
                _diverged_detail(store, peer.name, offer.ref, offer.commit, theirs)
                if status == "diverged" and theirs is not None
                else None
            )
            outcomes.append(RefOutcome(offer.ref, status, theirs, theirs, theirs, detail))

    # Never push what this node could not verify. What the peer has, it has already.
    # Commits only: a peer's ref at a tree or blob this store holds, handed to the walk, made
    # every ref of the push 'unverified', our own commits named as malformed.
    hide = [
        c
        for c in [*remote.values(), *seen_heads(store, peer.name).values()]
        if _commit_here(repo, c)
    ]
    emit(
        on_event, peer.name, "verify", f"verifying {counted(len(candidates), 'ref')} before pushing"
    )
    problems = check_commits(repo, store.trust, [o.commit for o in candidates], hide)
    bad = _refs_with_problems(repo, candidates, problems)
    to_send = []
    for offer in candidates:
        found = bad.get(offer.ref)
        if found is not None:
            theirs = remote.get(offer.ref)
            outcomes.append(RefOutcome(offer.ref, "unverified", theirs, theirs, theirs, str(found)))
        else:
            to_send.append(offer)

    messages = ""
    pushed: dict[str, str] = {}
    if to_send:
        emit(on_event, peer.name, "push", f"pushing {counted(len(to_send), 'ref')} to {peer.url}")
        # Key chains that moved go in a push of their own, first: a server whose `update` hook
        # judges one ref at a time (docs/hooks.md) then holds the rotation when it judges the
        # work the new key signed; in one push git sends refs/keys/* after refs/heads/*.
        chains = [o for o in to_send if o.ref.startswith(refspace.KEYS_PREFIX)]
        rest = [o for o in to_send if not o.ref.startswith(refspace.KEYS_PREFIX)]
        results: list[transport.PushedRef] = []
        unsent: dict[str, str] = {}
        batches = [chains, rest] if chains and rest else [to_send]
        for n, batch in enumerate(batches):
            specs = [f"{o.commit}:{o.ref}" for o in batch]
            try:
                said, told = transport.push(
                    store.path, peer.url, specs, peer=peer.name, timeout=budget
                )
            except MindgitError as e:
                if n == 0:
                    raise  # nothing was sent: the peer cannot be reached
                # The chains are at the peer: raised, the push said it had sent nothing and
                # recorded none of them; its refs not sent are what failed.
                unsent = {o.ref: one_line(str(e)) for o in batch}
                break
            results += said
            messages = "\n".join(m for m in (messages, told) if m)
        by_ref = {r.ref: r for r in results}
        refused = [o for o in to_send if (r := by_ref.get(o.ref)) is None or not r.ok]
        there_now = _refs_now(store, peer, budget) if refused else {}
        for offer in to_send:
            theirs = remote.get(offer.ref)
            result = by_ref.get(offer.ref)
            if result is None or not result.ok:
                if there_now.get(offer.ref) == offer.commit:
                    # The peer moved there itself meanwhile (its own pull of ours, crossing
                    # this push), and git's compare-and-swap refused ours: it holds what was
                    # sent. Reported as rejected, it failed the push (and the sync, exit 1).
                    outcomes.append(
                        RefOutcome(offer.ref, "up-to-date", offer.commit, theirs, offer.commit)
                    )
                    continue
                reason = (
                    (result.reason or result.summary)
                    if result is not None
                    else unsent.get(offer.ref, "no answer")
                )
                outcomes.append(RefOutcome(offer.ref, "rejected", theirs, theirs, theirs, reason))
                continue
            status = _PUSHED.get(result.flag, "pushed")
            if theirs is None and status == "pushed":
                status = "created"
            outcomes.append(RefOutcome(offer.ref, status, theirs, theirs, offer.commit))
            pushed[offer.ref] = offer.commit
    now = time.time()
    # Only heads this node holds and verified are recorded as seen (as a pull records them).
    confirmed = {o.ref: o.after for o in outcomes if o.status == "up-to-date" and o.after}
    confirmed.update(pushed)
    # A peer found holding our head (`up-to-date`: it came there by another way, or by its own
    # pull crossing this push) holds it as surely as one pushed: left on the head seen before,
    # the mark disagreed with the state's record (`peers` showed the old head, age '?').
    _mark_pushed(store, peer.name, confirmed)
    # The refs are pushed: a damaged state file is started afresh, not raised (the push said
    # "cannot read peer state" and exited 1 with nothing reported of what it had pushed).
    state = replace(readable_state(store, peer.name).saw(confirmed, now), last_push=now)
    outcomes.sort(key=lambda o: o.ref)
    report = PushReport(peer.name, peer.url, tuple(outcomes), messages)
    if report.failed:
        # A push that exits 1 is this peer's last error: `peers` showed none after a server's
        # hook refused every ref (the push was only recorded as made).
        state = replace(state, last_error=PeerError(now, "push", _failure(report)))
    write_state(store, peer.name, state)
    return report


def _commit_here(repo: pygit2.Repository, oid: str) -> bool:
    """Whether ``oid`` names a commit in this store."""
    return exists(repo, oid) and as_commit(repo.get(oid)) is not None


def _refs_now(store: Store, peer: Peer, budget: transport.Budget) -> dict[str, str]:
    """The peer's refs after a push that it refused some of (empty if it cannot say)."""
    try:
        return transport.ls_remote(
            store.path, peer.url, peer=peer.name, timeout=budget, operation="push to"
        )
    except MindgitError:
        return {}  # the refusal stands as git reported it


def _failure(report: PushReport) -> str:
    first = report.failed[0]
    more = f" (and {len(report.failed) - 1} more)" if len(report.failed) > 1 else ""
    said = f"{first.ref} not pushed ({first.status}: {first.detail or 'no reason given'}){more}"
    refused = [ln for ln in report.remote_messages.splitlines() if ln.strip()]
    return one_line(said + (f"; remote: {refused[0]}" if refused else ""))


def _refs_with_problems(
    repo: pygit2.Repository, offers: list[Offer], problems: list[Problem]
) -> dict[str, Problem]:
    """The first problem reachable from each offered ref."""
    out: dict[str, Problem] = {}
    for problem in problems:
        for offer in offers:
            if offer.ref in out:
                continue
            if offer.commit == problem.commit or (
                exists(repo, problem.commit) and repo.descendant_of(offer.commit, problem.commit)
            ):
                out[offer.ref] = problem
    return out


def _mark_pushed(store: Store, peer: str, pushed: dict[str, str]) -> None:
    """The peer now holds these heads: they are the marks a later pull may not rewind."""
    who = reflog_identity(store)
    for ref, oid in sorted(pushed.items()):
        mark = refspace.seen_ref(peer, ref)
        for _ in range(3):
            old = read_ref(store.repo, mark)
            if old is not None and (old == oid or store.repo.descendant_of(old, oid)):
                break
            try:
                update_ref(store.repo, mark, oid, old, message=f"pushed to {peer}", committer=who)
                break
            except RefMoved:
                continue
            except RefError as e:
                # The mark of a ref the peer had before (`x/y`, now that it holds `x`): git
                # cannot hold the two marks, and the peer holds the one pushed. Left, it failed
                # this push after the refs went, and every later one.
                stale = clashing_refs(store.repo, mark) if type(e) is RefError else []
                stale = [r for r in stale if r.startswith(refspace.seen_prefix(peer))]
                if not stale:
                    raise
                for r in stale:
                    held = read_ref(store.repo, r)
                    if held is not None:
                        delete_ref(store.repo, r, held)
