"""What a share commit may change: one envelope, by one recipient more, and nothing else.

``mindgit share`` re-wraps a private thought's key for one more node and writes a commit with
the trailers ``Mindgit-Shared-With: <did>`` and ``Mindgit-Envelope: <new cid>``. Its reader
trusts that label: the thought is the one it was, now also readable by that node. A recipient
holds the thought key, so it could write different text under the same key and wrapped keys
and label that a share too. Nothing here needs a key: a share commit is checked against its
parent's state, and refused unless its state is the parent's with exactly one envelope
replaced by the same message (nonce, ciphertext, commitment, version) whose recipients are the
old ones, unchanged, plus exactly the named node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pygit2

from mindgit.errors import MindgitError, quoted
from mindgit.identity.keys import PublicKey, shown_key_text
from mindgit.ipld.cid import CID
from mindgit.store import layout
from mindgit.store.objects import as_commit

if TYPE_CHECKING:
    from mindgit.identity.seal import Sealed
    from mindgit.store.state import State

SHARED_WITH_TRAILER = "Mindgit-Shared-With"
ENVELOPE_TRAILER = "Mindgit-Envelope"
# A Mindgit-Envelope trailer longer than this is quoted cut short (a CID of ours is 61).
_SHOWN_CID = 80


def share_problem(
    repo: pygit2.Repository,
    tree: pygit2.Tree,
    parents: list[str],
    shared_with: str,
    envelope: str | None,
) -> str | None:
    """Why a commit (its ``tree`` and ``parents``) labelled a share with ``shared_with`` is not
    one, or None if it is exactly the share it says."""
    target = share_target(shared_with)
    if isinstance(target, str):
        return target
    if len(parents) != 1:
        return "a share commit has exactly one parent"
    parent = as_commit(repo.get(parents[0]))
    if parent is None:
        return f"a share commit's parent {parents[0]} is missing"
    try:
        old, _ = layout.read_state(repo, parent.tree)
        new, _ = layout.read_state(repo, tree)
    except MindgitError as e:
        return f"a share commit whose states cannot be read: {e}"
    return state_share_problem(
        old,
        new,
        target,
        envelope,
        lambda cid: layout.read_thought(repo, parent.tree, cid),
        lambda cid: layout.read_thought(repo, tree, cid),
    )


def share_target(shared_with: str) -> PublicKey | str:
    """The node a ``Mindgit-Shared-With`` value names, or why it names none."""
    try:
        return PublicKey.parse(shared_with)
    except MindgitError:
        # Quoted cut short: a 200,000-character trailer was quoted whole, in every report.
        return f"{SHARED_WITH_TRAILER} {shown_key_text(shared_with)} is not a did:key"


def state_share_problem(
    old: State,
    new: State,
    target: PublicKey,
    envelope: str | None,
    thought_before: Callable[[CID], bytes],
    thought_after: Callable[[CID], bytes],
) -> str | None:
    """:func:`share_problem` of a share's states: ``old`` (its one parent's) and ``new`` (its
    own), whose thoughts the two readers give (an import checks a history's shares this way,
    from its blocks, before it writes a commit)."""
    removed, added = old.thoughts - new.thoughts, new.thoughts - old.thoughts
    if len(removed) != 1 or len(added) != 1:
        return "a share commit replaces exactly one thought"
    (was,), (now,) = removed, added
    if new != old.with_thoughts(new.thoughts):
        return "a share commit changes nothing but the shared thought"
    if envelope is not None and envelope != str(now):
        # Quoted cut short past a CID's length, as the did above: a peer wrote it, and a
        # 200,000-character trailer was quoted whole in every verify, pull and hook report.
        shown = envelope if len(envelope) <= _SHOWN_CID else quoted(envelope, _SHOWN_CID)
        return f"{ENVELOPE_TRAILER} says {shown} but the new envelope is {now}"
    try:
        before = _sealed(thought_before(was), was)
        after = _sealed(thought_after(now), now)
    except MindgitError as e:
        return f"a share commit of something that is not a private thought: {e}"
    same_message = (before.nonce, before.box, before.commitment, before.padded) == (
        after.nonce,
        after.box,
        after.commitment,
        after.padded,
    )
    if not same_message:
        return f"the thought shared as {now} is not the message of {was}"
    had, has = set(before.recipients), set(after.recipients)
    gained = has - had
    if not had <= has or len(gained) != 1:
        return f"the share of {was} changes its recipients beyond adding one"
    if [r.key for r in gained] != [target]:
        return f"the share of {was} adds a recipient other than {target.did}"
    return None


def _sealed(data: bytes, cid: CID) -> Sealed:
    # Imported here: verify imports this module, and the crypto behind envelopes is needed
    # only for the rare commit labelled a share.
    from mindgit.store.sealed import decode_envelope

    return decode_envelope(data, f"private thought {cid}")
