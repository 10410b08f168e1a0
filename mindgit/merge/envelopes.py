"""What a merge reads of private thoughts: which envelopes hold one message, without a key.

``mindgit share`` replaces a thought's envelope by one with the same nonce, ciphertext and key
commitment and one more wrapped key (``mindgit.store.private.share``), so the merge rule
(``mindgit.merge.core.thought_merge``) needs, for each private thought the three states do not
all hold, its :class:`~mindgit.merge.core.Envelope`: the message it holds and its recipients.
Only those thoughts are read, each once, from the trees of the commits being merged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping

import pygit2

from mindgit.errors import MindgitError
from mindgit.identity.keys import DID_PREFIX
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID
from mindgit.merge.core import Envelope
from mindgit.store import layout
from mindgit.store.damage import fsck_hint
from mindgit.store.sealed import ENVELOPE_KEYS, SEALED_TYPE
from mindgit.store.state import MAX_THOUGHT_BYTES, State

# A canonical envelope's first key (DAG-JSON sorts keys): a note never starts so, and is not
# decoded at all.
_ENVELOPE_START = b'{"box":'


class ThoughtNotFound(MindgitError):
    """A thought one side of a merge holds is in none of the trees the merge could read, or
    only as bytes that are not it (they do not hash to its name, or no thought is so large)."""

    def __init__(self, cid: CID) -> None:
        super().__init__(
            f"thought {cid} is in none of the commits being merged (as bytes that hash to its "
            "name, within the size of a thought), so the merge cannot tell whether it is a "
            "private thought shared on one side; nothing was changed",
            hint="merge with `mindgit merge` in the store, which reads every side's tree",
        )
        self.cid = cid


class ThoughtUnreadable(MindgitError):
    """A thought the merge base or the side merged into holds, which ``mindgit merge`` cannot
    read from the store (its object lost or damaged): taken as a thought of its own, a forgotten
    thought the other side shared came back."""

    def __init__(self, cid: CID, holder: str, store: str) -> None:
        super().__init__(
            f"thought {cid}, which {holder} holds, cannot be read from the store (its object is "
            "missing or damaged), so the merge cannot tell whether it is a private thought "
            "shared on the other side; nothing was changed",
            hint=fsck_hint(store),
        )
        self.cid = cid
        self.holder = holder


def envelope_of(data: bytes) -> Envelope | None:
    """What ``data``, a thought's bytes (the caller has checked they hash to its name), says
    of it as a private thought; None for a note or for bytes that are not an envelope.

    Only what the merge compares is checked (the message's parts are bytes, the recipients are
    did:key strings): the keys are not parsed, which was half the cost of reading an envelope,
    and ``mindgit verify`` refuses an envelope that is wrong in any other way.
    """
    if not data.startswith(_ENVELOPE_START):
        return None
    try:
        node = dagjson.decode(data)
    except (MindgitError, ValueError):
        return None  # verify reports it; for the merge it is a thought of its own
    if not isinstance(node, dict) or set(node) != ENVELOPE_KEYS or node["type"] != SEALED_TYPE:
        return None
    version, recipients = node["v"], node["recipients"]
    parts = [node[name] for name in ("nonce", "commitment", "box")]
    message = [p for p in parts if isinstance(p, bytes)]
    if type(version) is not int or len(message) != len(parts) or not isinstance(recipients, list):
        return None
    dids = [r.get("key") if isinstance(r, dict) else None for r in recipients]
    keys = [d for d in dids if isinstance(d, str) and d.startswith(DID_PREFIX)]
    if not keys or len(keys) != len(dids):
        return None
    digest = hashlib.sha256()
    for part in (str(version).encode(), *message):
        digest.update(len(part).to_bytes(8, "big") + part)
    return Envelope(digest.digest(), frozenset(keys))


def verified_blob(repo: pygit2.Repository, oid: pygit2.Oid, cid: CID, limit: int) -> bytes | None:
    """The bytes of blob ``oid`` if they are what ``cid`` names, within ``limit`` bytes; None
    when they are not, are larger (sized from the header, unread) or cannot be read: git does
    not check a tree's names, and a peer's tree may hold any bytes under a CID's."""
    try:
        _, size = repo.odb.read_header(oid)
        if size > limit:
            return None
        blob = repo.get(oid)
        if not isinstance(blob, pygit2.Blob):
            return None
        data = blob.read_raw()
        cid.verify(data)
    except (KeyError, ValueError, pygit2.GitError, MindgitError):
        return None
    return data


class EnvelopeReader:
    """Reads the envelopes a merge needs from the trees it is given, each thought once.

    ``strict``: a thought found in none of the trees is :class:`ThoughtNotFound` (the git merge
    driver, which is handed manifests and must find their thoughts), and so is one that only
    the trees of ``more`` hold, unless it is a note; otherwise it is taken as a
    thought of its own when only theirs holds it (the merge then refuses to take it, unread),
    and is :class:`ThoughtUnreadable` when the base or ours holds it: those trees are this
    store's own, and a lost envelope there let a thought forgotten on one side come back shared.
    """

    def __init__(
        self,
        repo: pygit2.Repository,
        *,
        strict: bool = False,
        more: Iterator[pygit2.Tree] | None = None,
    ) -> None:
        self._repo = repo
        self._strict = strict
        # More trees to look in, taken one at a time only for a thought none of the others
        # holds, and only for a note: bytes that hash to its name are its bytes wherever they
        # are, but a private thought found only there is still not found (see gitdriver).
        self._more = more
        self._dirs: list[pygit2.Tree] = []
        self._seen_dirs: set[pygit2.Oid] = set()
        # The thoughts/ trees taken from ``more`` so far: looked in for notes only.
        self._extra: list[pygit2.Tree] = []
        self._seen_extra: set[pygit2.Oid] = set()
        self._known: dict[CID, Envelope | None] = {}
        # Thoughts found in none of the trees (as bytes that hash to their names).
        self._unread: set[CID] = set()

    def add(self, tree: pygit2.Tree) -> None:
        """Look for thoughts in ``tree`` (a state's tree) too: in its thoughts/ tree, unless
        that tree was added already (states that hold the same thoughts share one)."""
        if layout.THOUGHTS not in tree:
            return
        oid = tree[layout.THOUGHTS].id
        if oid in self._seen_dirs:
            return
        self._seen_dirs.add(oid)
        sub = self._repo.get(oid)
        if isinstance(sub, pygit2.Tree):
            self._dirs.append(sub)

    def for_merge(self, base: State | None, ours: State, theirs: State) -> Mapping[CID, Envelope]:
        """The envelopes among the thoughts that not all three states hold."""
        old = base.thoughts if base is not None else frozenset()
        changed = (old | ours.thoughts | theirs.thoughts) - (old & ours.thoughts & theirs.thoughts)
        found = self.envelopes(changed)
        for cid in sorted(changed & self._unread, key=str):
            if cid in old or cid in ours.thoughts:
                holder = "the merge base" if cid in old else "ours"
                raise ThoughtUnreadable(cid, holder, self._repo.path.rstrip("/"))
        return found

    def envelopes(self, cids: Iterable[CID]) -> Mapping[CID, Envelope]:
        found: dict[CID, Envelope] = {}
        for cid in sorted(cids, key=str):
            if cid not in self._known:
                self._known[cid] = self._read(cid)
            envelope = self._known[cid]
            if envelope is not None:
                found[cid] = envelope
        return found

    def _read(self, cid: CID) -> Envelope | None:
        data = self._bytes(cid, self._dirs)
        if data is not None:
            return envelope_of(data)
        data = self._bytes(cid, self._extra)
        while data is None and self._more is not None:
            sub = self._next_extra()
            if sub is not None:
                data = self._bytes(cid, (sub,))
        if data is not None and envelope_of(data) is None:
            return None  # a note, found in one of ``more``'s trees
        if self._strict:
            raise ThoughtNotFound(cid)
        self._unread.add(cid)
        return None

    def _next_extra(self) -> pygit2.Tree | None:
        """The thoughts/ tree of ``more``'s next tree, if it is one not seen yet (kept apart
        from the trees given to :meth:`add`: a private thought found only there is not taken,
        even for a thought read after it)."""
        assert self._more is not None
        tree = next(self._more, None)
        if tree is None:
            self._more = None
            return None
        if layout.THOUGHTS not in tree:
            return None
        oid = tree[layout.THOUGHTS].id
        if oid in self._seen_dirs or oid in self._seen_extra:
            return None
        self._seen_extra.add(oid)
        sub = self._repo.get(oid)
        if not isinstance(sub, pygit2.Tree):
            return None
        self._extra.append(sub)
        return sub

    def _bytes(self, cid: CID, dirs: Iterable[pygit2.Tree]) -> bytes | None:
        name = str(cid)
        for sub in dirs:
            if name not in sub:
                continue
            entry = sub[name]
            if entry.filemode != pygit2.GIT_FILEMODE_BLOB:
                continue
            # No thought is over MAX_THOUGHT_BYTES, and a peer's blob of 20 MB (100,000
            # recipients) took seconds and a 6 MB merge message to read as one.
            data = verified_blob(self._repo, entry.id, cid, MAX_THOUGHT_BYTES)
            if data is None:
                # Lost or damaged here, or bytes that are not this thought: a peer's tree may
                # hold junk under the name of a thought the base holds, unlinked. Taken as the
                # thought, it hid the base's envelope: a thought forgotten here and shared there
                # came back. Any other tree's verified bytes are the same bytes; reading the
                # state says what is wrong with these.
                continue
            return data
        return None
