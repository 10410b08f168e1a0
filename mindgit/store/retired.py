"""What a retired key may still sign: the history its rotation named, and the rotation itself.

A key rotation record lists ``heads``, the tips of the node's refs when it rotated
(``mindgit.identity.rotation``), and the trust store keeps them beside the retired key
(``TrustedNode.heads``). A commit's date is whatever its signer wrote, so it cannot say whether
a commit came before the rotation; ancestry can. A retired key's signature counts on a commit
only if the commit is one of those heads or an ancestor of one, or is the key's own rotation
announcement (signed after the heads were taken, by design). Anything else it signs, say with
a stolen key file, is refused however it is dated.
"""

from __future__ import annotations

import pygit2

from mindgit.errors import MindgitError
from mindgit.identity.keys import PublicKey
from mindgit.identity.rotation import RotationRecord
from mindgit.identity.trust import TrustedNode

RECORD_FILE = "rotation.json"
MAX_ANNOUNCEMENT_BYTES = 64 << 10


class RetiredBounds:
    """Answers "may this retired key have signed this commit?", walking each history once."""

    def __init__(self, repo: pygit2.Repository) -> None:
        self.repo = repo
        self._below: dict[tuple[str, ...], frozenset[str]] = {}

    def allows(self, node: TrustedNode, oid: str, tree: pygit2.Tree) -> bool:
        """Whether ``node``'s signature counts on commit ``oid`` (whose tree is ``tree``)."""
        if node.heads is None:
            return True
        if oid in self._history(node.heads):
            return True
        return _announces_own_rotation(self.repo, tree, node.key)

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


def _announces_own_rotation(repo: pygit2.Repository, tree: pygit2.Tree, key: PublicKey) -> bool:
    try:
        entry = tree[RECORD_FILE]
    except KeyError:
        return False
    try:
        _, size = repo.odb.read_header(entry.id)
    except (KeyError, ValueError, pygit2.GitError):
        return False
    blob = repo.get(entry.id)
    if size > MAX_ANNOUNCEMENT_BYTES or not isinstance(blob, pygit2.Blob):
        return False
    try:
        return RotationRecord.parse(blob.read_raw()).old == key
    except MindgitError:
        return False
