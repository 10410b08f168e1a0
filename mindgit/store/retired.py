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
from mindgit.identity.rotation import RotationRecord
from mindgit.identity.trust import TrustedNode, TrustStore

RECORD_FILE = "rotation.json"
MAX_ANNOUNCEMENT_BYTES = 64 << 10


class RetiredBounds:
    """Answers "may this retired key have signed this commit?", walking each history once."""

    def __init__(self, repo: pygit2.Repository, trust: TrustStore) -> None:
        self.repo = repo
        self.trust = trust
        self._below: dict[tuple[str, ...], frozenset[str]] = {}

    def refusal(self, node: TrustedNode, oid: str, tree: pygit2.Tree) -> str | None:
        """Why ``node``'s signature does not count on commit ``oid`` (whose tree is ``tree``),
        or None if it does."""
        if node.heads is None or oid in self._history(node.heads):
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

    def _history(self, heads: tuple[str, ...]) -> frozenset[str]:
        history = self._below.get(heads)
        if history is None:
            # A head this repository does not hold covers nothing here: the commits under it
            # cannot be told apart from new ones until it arrives.
            present = [h for h in heads if isinstance(self.repo.get(h), pygit2.Commit)]
            walker = self.repo.walk(None, pygit2.enums.SortMode.NONE)
            for head in present:
                walker.push(pygit2.Oid(hex=head))
            history = frozenset(str(c.id) for c in walker) if present else frozenset()
            self._below[heads] = history
        return history


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
