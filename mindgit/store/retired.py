"""What a retired key may still sign: the history its rotation named, and the rotation itself.

A key rotation record lists ``heads``, the tips of the node's refs when it rotated
(``mindgit.identity.rotation``), and the trust store keeps them beside the retired key
(``TrustedNode.heads``). A commit's date is whatever its signer wrote, so it cannot say whether
a commit came before the rotation; ancestry can. A retired key's signature counts on a commit
only if the commit is one of those heads or an ancestor of one, or is the key's own rotation
announcement (signed after the heads were taken, by design). Anything else it signs, say with
a stolen key file, is refused however it is dated.

The key's own rotation is the one to a key the verifier trusts: a thief holding the retired key
file could otherwise announce a rotation of it to the thief's own key, and a node that had not
yet seen the real rotation would learn the thief's key as the node's.
"""

from __future__ import annotations

import pygit2

from mindgit.errors import MindgitError
from mindgit.identity.rotation import RotationRecord, retired_base
from mindgit.identity.trust import TrustedNode, TrustStore

RECORD_FILE = "rotation.json"
MAX_ANNOUNCEMENT_BYTES = 64 << 10


class RetiredBounds:
    """Answers "may this retired key have signed this commit?", walking each commit about once.

    A node's keys retire one after another, each bounded by the tips of the node's refs when it
    retired, so a later key's history holds the earlier ones'. Walked from its heads each time,
    ten rotations over 2,000 commits walked the first commits ten times; a key's history that
    holds one already walked is walked only down to that one's heads (see :meth:`_walk`).
    """

    def __init__(self, repo: pygit2.Repository, trust: TrustStore) -> None:
        self.repo = repo
        self.trust = trust
        self._below: dict[tuple[str, ...], frozenset[str]] = {}
        # The histories walked, by the heads (held here) they were walked from.
        self._walked: dict[frozenset[str], frozenset[str]] = {}
        # The heads walked for each node's retired keys, in the order walked.
        self._family: dict[str, list[frozenset[str]]] = {}

    def refusal(self, node: TrustedNode, oid: str, tree: pygit2.Tree) -> str | None:
        """Why ``node``'s signature does not count on commit ``oid`` (whose tree is ``tree``),
        or None if it does."""
        if node.heads is None or oid in self._history(node.name, node.heads):
            return None
        record = _announcement(self.repo, tree)
        if record is None or record.old != node.key:
            return f"signed by {node.name}, a retired key, outside the history its rotation named"
        if self.trust.find(record.new) is None:
            return (
                f"{node.name}, a retired key, announces a rotation to {record.new.did}, a key "
                "not trusted here (only the rotation that retired it counts)"
            )
        return None

    def _history(self, name: str, heads: tuple[str, ...]) -> frozenset[str]:
        """The commits ``heads`` reach here, for the retired key trusted as ``name``."""
        history = self._below.get(heads)
        if history is None:
            # A head this repository does not hold covers nothing here: the commits under it
            # cannot be told apart from new ones until it arrives.
            present = frozenset(h for h in heads if isinstance(self.repo.get(h), pygit2.Commit))
            history = self._walked.get(present) if present else frozenset()
            if history is None:
                family = self._family.setdefault(retired_base(name), [])
                history = self._walked[present] = self._walk(present, family)
                family.append(present)
            self._below[heads] = history
        return history

    def _walk(self, heads: frozenset[str], family: list[frozenset[str]]) -> frozenset[str]:
        """The commits ``heads`` reach. When all the commits an earlier walk for the same node
        found are below ``heads`` too, only what lies above that walk's heads is walked."""
        tries = 0
        for below in reversed(family):
            history = self._walked[below]
            # A head of ours below one of theirs (not one of theirs): theirs hold ours, most
            # likely (an older key asked for after a newer), and the test would walk the
            # difference to say no. Skipping a base only costs the walk it would have saved.
            if any(h in history and h not in below for h in heads):
                continue
            tries += 1
            if not self._beyond(below, heads):
                # libgit2 stops marking hidden commits where their dates say it may, and a
                # signer writes any date: this lists all the commits above ``below``, maybe a
                # few below it too, all of them below ``heads``.
                return history | self._commits(heads, hide=below)
            if tries == 2:  # each failed test costs libgit2 a walk
                break
        return self._commits(heads)

    def _beyond(self, below: frozenset[str], heads: frozenset[str]) -> bool:
        """Whether ``below`` reaches a commit ``heads`` do not, or a walk to tell fails (the
        walk from ``heads`` alone then fails as it always did). libgit2 leaves out only commits
        it reached through parents from ``heads``, whatever the dates: when it lists none, all
        that ``below`` reaches is below ``heads``."""
        try:
            return next(iter(self._walker(below, heads)), None) is not None
        except (KeyError, pygit2.GitError):
            return True

    def _commits(self, heads: frozenset[str], hide: frozenset[str] = frozenset()) -> frozenset[str]:
        """The commits ``heads`` reach and ``hide`` does not (at least: see :meth:`_walk`)."""
        return frozenset(str(c.id) for c in self._walker(heads, hide))

    def _walker(self, heads: frozenset[str], hide: frozenset[str]) -> pygit2.Walker:
        walker = self.repo.walk(None, pygit2.enums.SortMode.NONE)
        for head in heads:
            walker.push(pygit2.Oid(hex=head))
        for head in hide:
            walker.hide(pygit2.Oid(hex=head))
        return walker


def _announcement(repo: pygit2.Repository, tree: pygit2.Tree) -> RotationRecord | None:
    """The rotation record a tree announces, or None."""
    try:
        entry = tree[RECORD_FILE]
    except KeyError:
        return None
    try:
        _, size = repo.odb.read_header(entry.id)
    except (KeyError, ValueError, pygit2.GitError):
        return None
    blob = repo.get(entry.id)
    if size > MAX_ANNOUNCEMENT_BYTES or not isinstance(blob, pygit2.Blob):
        return None
    try:
        return RotationRecord.parse(blob.read_raw())
    except MindgitError:
        return None
