"""What a pull, a push or a sync did: plain values the CLI (or any caller) renders."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from mindgit.errors import MindgitError, shown_url
from mindgit.store.rotations import RotationOutcome
from mindgit.store.verify import Problem

PullStatus = Literal[
    "new",  # the ref did not exist here; created at the peer's head
    "fast-forward",  # ours was an ancestor of theirs
    "merged",  # diverged; fitness-merged into a new commit on ours
    "up-to-date",  # the same commit
    "ahead",  # theirs is an ancestor of ours: nothing to take
    "same-content",  # diverged commits holding the same tree: ours kept, nothing lost
    "conflict",  # diverged and not merged: ours kept, theirs at refs/peers/<peer>/...
    "unrelated",  # no common history: ours kept, theirs at refs/peers/<peer>/...
    "skipped",  # a key chain (or its end) signed by keys this node does not trust
]
PushStatus = Literal[
    "created",  # the peer had no such ref
    "pushed",  # fast-forwarded the peer's ref
    "up-to-date",  # the peer already had this commit
    "behind",  # the peer is ahead: nothing to push (pull takes it)
    "same-content",  # diverged commits holding the same tree: nothing to push
    "diverged",  # not pushed: pull (which merges) first
    "rejected",  # the peer refused it (non-fast-forward, its hook, ...)
    "unverified",  # not pushed: a commit this node cannot verify (see detail)
]
NEEDS_ATTENTION_PULL = frozenset({"conflict", "unrelated"})
PUSH_FAILED = frozenset({"diverged", "rejected", "unverified"})


@dataclass(frozen=True, slots=True)
class RefOutcome:
    """What happened to one synced ref: ``ours`` before and after, ``theirs`` as the peer had it."""

    ref: str
    status: str
    theirs: str | None
    before: str | None
    after: str | None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class PullReport:
    peer: str
    url: str
    refs: tuple[RefOutcome, ...]
    rotations: tuple[RotationOutcome, ...]
    verified: int  # updates that went through the gate

    @property
    def changed(self) -> tuple[RefOutcome, ...]:
        return tuple(r for r in self.refs if r.before != r.after)

    @property
    def attention(self) -> tuple[RefOutcome, ...]:
        return tuple(r for r in self.refs if r.status in NEEDS_ATTENTION_PULL)


@dataclass(frozen=True, slots=True)
class PushReport:
    peer: str
    url: str
    refs: tuple[RefOutcome, ...]
    remote_messages: str = ""

    @property
    def failed(self) -> tuple[RefOutcome, ...]:
        return tuple(r for r in self.refs if r.status in PUSH_FAILED)

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True, slots=True)
class PeerSync:
    """One peer's part of a sync: its pull and push, or the error that stopped it."""

    peer: str
    url: str
    pull: PullReport | None
    push: PushReport | None
    error: MindgitError | None

    @property
    def ok(self) -> bool:
        """No error, and every ref pushed (a ref ``push`` could not move fails it, as it fails a
        ``mindgit push``)."""
        return self.error is None and (self.push is None or self.push.ok)


@dataclass(frozen=True, slots=True)
class Event:
    """Progress, for a person watching: which peer, which step, what happened."""

    peer: str
    step: str
    message: str


OnEvent = Callable[[Event], None]


def emit(on_event: OnEvent | None, peer: str, step: str, message: str) -> None:
    """Report progress to ``on_event``, if there is one."""
    if on_event is not None:
        # A step names the peer's URL ("fetching from ..."): never with its credentials.
        on_event(Event(peer, step, shown_url(message)))


_UNTRUSTED = re.compile(r"signed by untrusted key (did:key:z[1-9A-HJ-NP-Za-km-z]+)")


def untrusted_signers(problems: Sequence[Problem]) -> list[str]:
    """The did:keys that problems say signed something without being trusted, in order."""
    out: list[str] = []
    for p in problems:
        m = _UNTRUSTED.search(p.reason)
        if m and m.group(1) not in out:
            out.append(m.group(1))
    return out


class PullRejected(MindgitError):
    """A peer's update failed verification; nothing of it was taken."""

    def __init__(self, peer: str, problems: Sequence[Problem], hint: str | None = None) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(
            f"pull from {peer} refused: {first}{more}; nothing was changed",
            hint=hint
            or f"{peer} offers commits this node cannot verify; ask its owner, or `mindgit remote remove {peer}`",
        )
        self.peer = peer
        self.problems = tuple(problems)


class PeerNotTrusted(PullRejected):
    """Everything refused was signed by keys this node does not trust (yet)."""

    def __init__(
        self,
        peer: str,
        problems: Sequence[Problem],
        signers: Sequence[str],
        *,
        expected: str | None = None,
    ) -> None:
        # The peer's own name goes to the key the peer is expected to sign with, or, when none
        # is configured, to the first signer. A peer configured to be another node (`remote add
        # --node`) whose commits that node signed none of was told to trust the key that did
        # under the peer's name: a stranger's key (a wrong URL, a node passing on another's
        # work, a machine in the middle) named as the node the user meant to reach.
        elsewhere = expected is not None and expected not in signers
        lines = [
            f"mindgit trust add {did} --name {'<name>' if n or elsewhere else peer}"
            for n, did in enumerate(signers)
        ]
        said = "if you trust the node that signed them, run: " + "; ".join(lines)
        if elsewhere:
            said = (
                f"none of them is signed by {expected}, the node expected at {peer} (is its URL "
                f"right? `mindgit remote list`); if you trust the node that did sign them, run: "
                + "; ".join(lines)
            )
        super().__init__(peer, problems, hint=said)
        self.signers = tuple(signers)


def rejection(
    peer: str, problems: Sequence[Problem], *, expected: str | None = None
) -> PullRejected:
    """The error for a refused update: :class:`PeerNotTrusted` when untrusted keys are all that
    is wrong. ``expected`` (the did:key configured for the peer) is named first if it signed."""
    signers = untrusted_signers(problems)
    if expected in signers:
        signers.remove(expected)
        signers.insert(0, expected)
    if signers and all(_UNTRUSTED.search(p.reason) for p in problems):
        return PeerNotTrusted(peer, problems, signers, expected=expected)
    if problems and all(p.reason.startswith("rewinds ") for p in problems):
        # A peer restored from a backup offers older heads: its commits verify, so "cannot
        # verify; ask its owner, or remote remove" sent the user away from the one switch
        # that takes them.
        return PullRejected(
            peer,
            problems,
            hint=f"{peer} went back to older heads (restored from a backup?); if that is meant, "
            "pull again with --allow-rewind",
        )
    return PullRejected(peer, problems)
