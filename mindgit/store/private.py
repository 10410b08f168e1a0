"""Private thoughts in a store.

A private thought is a note sealed (``mindgit.identity.seal``) to nodes this node trusts, and to
this node itself; the store holds only its envelope (``mindgit.store.sealed``). The plaintext
exists only in memory: commit messages name the envelope's CID, and no error message repeats the
text or the tags.

A node that rotated its key (``mindgit.store.rotations``) keeps its old keys under
``mindgit/retired/``, so thoughts sealed to them stay readable: ``reveal`` tries them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from mindgit.errors import MindgitError, UsageError
from mindgit.identity.keys import (
    DID_PREFIX,
    KeyFileError,
    MalformedKey,
    NodeKey,
    PublicKey,
    names_a_key,
)
from mindgit.identity.rotation import (
    is_retired_name,
)
from mindgit.identity.seal import IntegrityError, NotARecipient, add_recipient, open_sealed, seal
from mindgit.identity.trust import InvalidNodeName, TrustedNode, UnknownNode, check_node_name
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID, CIDMismatch
from mindgit.store import layout
from mindgit.store.repository import (
    Commit,
    Store,
    UnknownThought,
)
from mindgit.store.sealed import encode_envelope, is_sealed, sealed_from_node
from mindgit.store.state import (
    MAX_THOUGHT_BYTES,
    Block,
    SchemaError,
    State,
    check_note,
    one_or_many,
)
from mindgit.store.state import check_thought as _check_thought
from mindgit.store.state import make_thought as _make_thought

_MAX_TAG = 128
# A key file that did not load, with the did:key its name gives (None: its name gives none).
UnusableKey = tuple[KeyFileError, str | None]

_T = TypeVar("_T")


class UnknownRecipient(MindgitError):
    """A recipient name that no trusted node has."""

    def __init__(self, name: str, trust_file: Path) -> None:
        self.name = name
        self.trust_file = trust_file
        super().__init__(
            f"no trusted node named {name!r} to seal a private thought to",
            # In backquotes, as every command a hint gives: the CLI adds a typed --store to it.
            hint="`mindgit trust list` shows the names; add a node with: "
            "`mindgit trust add <did:key> --name <name>`",
        )


class MalformedRecipientKey(MalformedKey, UsageError):
    """A recipient given as a did:key that is no key at all: the caller's mistake (exit 2)."""


class InvalidRecipientName(InvalidNodeName, UsageError):
    """A recipient name that no node can have (empty, spaces, control characters...): exit 2."""


class UntrustedRecipient(MindgitError):
    """A recipient given by did:key whose key this node does not trust."""

    def __init__(self, did: str) -> None:
        self.did = did
        super().__init__(
            f"recipient {did} is not a trusted node; private thoughts are sealed only to trusted keys",
            hint=f"if you know this node, trust it first: `mindgit trust add {did} --name <name>`",
        )


class RetiredRecipient(MindgitError):
    """A recipient key its node has replaced: whoever holds it now may not be that node."""

    def __init__(self, node: TrustedNode, flag: str = "--to") -> None:
        self.node = node
        base = node.name.rsplit(".retired-", 1)[0]
        super().__init__(
            f"{node.name} ({node.did}) is a retired key; private thoughts are sealed to current keys",
            hint=f"seal to the node's current key: {flag} {base}",
        )


class NotSealed(MindgitError):
    """A thought asked to be revealed or shared that is not private."""

    def __init__(self, cid: CID) -> None:
        self.cid = cid
        super().__init__(f"thought {cid} is not a private (sealed) thought")


# -- private thoughts ---------------------------------------------------------------------


def resolve_recipient(store: Store, who: str, flag: str = "--to") -> TrustedNode:
    """The trusted node a recipient name, did:key or OpenSSH line stands for (current keys
    only). ``flag`` is the option a hint names: ``think --to``, ``share --with``."""
    if names_a_key(who):
        try:
            key = PublicKey.parse(who)
        except MalformedKey as e:
            raise MalformedRecipientKey(e.text, e.reason) from None
        node = store.trust.find(key)
        if node is None:
            raise UntrustedRecipient(key.did)
    else:
        try:
            check_node_name(who)
        except InvalidNodeName:
            raise InvalidRecipientName(who) from None
        try:
            node = store.trust.get(who)
        except UnknownNode:
            raise UnknownRecipient(who, store.trust.path) from None
    if is_retired_name(node.name):
        raise RetiredRecipient(node, flag)
    return node


def resolve_recipients(store: Store, to: Iterable[str]) -> tuple[PublicKey, ...]:
    """The keys to seal to: each named node, and always this node (it must read its own thought).

    A single str is one node: ``to="beta"`` was read as the nodes 'b', 'e', 't' and 'a'."""
    keys = {store.public_key.raw: store.public_key}
    for who in one_or_many(to):
        node = resolve_recipient(store, who)
        keys.setdefault(node.key.raw, node.key)
    return tuple(sorted(keys.values(), key=lambda k: k.did))


def check_note_tags(tags: Iterable[str]) -> None:
    """make_thought's rules for tags, checked first for a private thought: its error, which
    quotes the tag, is never reached (a ``SchemaError`` naming no tag)."""
    for tag in tags:
        bad = not isinstance(tag, str) or not tag or tag != tag.strip() or len(tag) > _MAX_TAG
        if bad or not tag.isprintable():
            raise SchemaError(
                "private thought",
                "a tag is empty, has outer spaces or characters that are not printable, or is "
                f"over {_MAX_TAG} characters"
                " (not shown: tags of a private thought are private)",
            )


def seal_note(text: str, tags: Iterable[str], recipients: Iterable[PublicKey]) -> Block:
    """The envelope block of a note sealed to ``recipients``; errors never quote the text or tags.
    A single str is one tag, as for :func:`~mindgit.store.state.make_thought`."""
    tag_list = one_or_many(tags)
    check_note_tags(tag_list)
    if isinstance(text, str):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # The encoder's own error names the offending character: a piece of the text.
            raise SchemaError(
                "private thought",
                "the text is not valid Unicode (bytes that were not UTF-8?)"
                " (not shown: the text of a private thought is private)",
            ) from None
    note = _make_thought(text, tag_list)
    block = encode_envelope(seal(note.data, recipients))
    if len(block.data) > MAX_THOUGHT_BYTES:
        raise SchemaError(
            "private thought",
            f"sealed, it is {len(block.data)} bytes, over the {MAX_THOUGHT_BYTES}-byte limit",
        )
    return block


def think_private(
    store: Store,
    text: str,
    tags: Iterable[str] = (),
    to: Iterable[str] = (),
    *,
    experiment: str | None = None,
) -> tuple[Commit, CID]:
    """Add a note sealed to the nodes in ``to`` (names or did:keys) and to this node.

    ``think_private(store, "the key is under the third stone", to=["beta"])``. The commit message
    is ``think: private thought <cid>``: it names the envelope, never the text.
    """
    block = seal_note(text, tags, resolve_recipients(store, to))

    def change(state: State) -> tuple[State, Mapping[CID, bytes]]:
        return state.with_thoughts(state.thoughts | {block.cid}), {block.cid: block.data}

    commit = store.update(change, f"think: private thought {block.cid}", experiment=experiment)
    return commit, block.cid


def node_keys(store: Store) -> tuple[NodeKey, ...]:
    """This node's private keys: the current one first, then every retired one, then the key
    an interrupted rotation was moving to (its announcement may have travelled already, and a
    peer sealed to it).

    A key file that cannot be used (damaged, or readable by others after a restore) is left
    out, so that it does not hide the thoughts the other keys open; ``reveal`` and ``share``
    name it when the thought at hand needs it.
    """
    return usable_keys(store)[0]


def usable_keys(store: Store) -> tuple[tuple[NodeKey, ...], tuple[UnusableKey, ...]]:
    """This node's keys that load, and the key files that do not: each one's error, with the
    did:key it holds when its name says it (a retired key's file is named by its did; the
    current and pending keys' are not)."""
    keys: list[NodeKey] = []
    broken: list[UnusableKey] = []
    try:
        keys.append(store.key)
    except KeyFileError as e:
        broken.append((e, None))
    for path in retired_key_files(store):
        try:
            keys.append(NodeKey.load(path))
        except KeyFileError as e:
            broken.append((e, DID_PREFIX + path.stem))
    try:
        pending = _pending_key(store)
    except KeyFileError as e:
        broken.append((e, None))
    else:
        if pending is not None and all(k.public != pending.public for k in keys):
            keys.append(pending)
    return tuple(keys), tuple(broken)


def unusable_for(broken: Iterable[UnusableKey], dids: Iterable[str]) -> KeyFileError | None:
    """The error of a key file in ``broken`` (as :func:`usable_keys` gives it) that may hold
    one of ``dids``: a retired key named by one of them, or the current or pending key, whose
    did cannot be known without loading it. None when no unusable key file may be one."""
    wanted = set(dids)
    for error, did in broken:
        if did is None or did in wanted:
            return error
    return None


def _pending_key(store: Store) -> NodeKey | None:
    path = store.pending_key_path
    return NodeKey.load(path) if path.is_file() else None


def _with_node_keys(
    store: Store, node: Mapping[str, Any], cid: CID, use: Callable[[Sequence[NodeKey]], _T]
) -> _T:
    """``use(keys)`` with this node's usable keys; when none is a recipient and a key file that
    could be one did not load, that file's error, which says how to repair it."""
    keys, broken = usable_keys(store)
    try:
        return use(keys)
    except NotARecipient:
        sealed = sealed_from_node(f"private thought {cid}", dict(node))
        error = unusable_for(broken, (r.key.did for r in sealed.recipients))
        if error is not None:
            raise error from None
        raise


class ListedKey(NamedTuple):
    """One of this node's keys as `keys list` shows it."""

    status: str  # "current", "retired" or "pending" (the key an unfinished rotation moves to)
    public: PublicKey
    path: Path


def listed_keys(store: Store) -> tuple[tuple[ListedKey, ...], tuple[KeyFileError, ...]]:
    """This node's current key and the retired keys it still reads private thoughts with, then
    the key an unfinished rotation moves to (which reads them too), each with its file; and the
    error of each of those files that did not load (each names its file). A damaged key file
    hides only itself: the listing failed as a whole on one."""
    listed: list[ListedKey] = []
    broken: list[KeyFileError] = []
    try:
        listed.append(ListedKey("current", store.public_key, store.key_path))
    except KeyFileError as e:
        broken.append(e)
    for path in retired_key_files(store):
        try:
            listed.append(ListedKey("retired", NodeKey.load(path).public, path))
        except KeyFileError as e:
            broken.append(e)
    # As usable_keys reads it: a rotation stopped halfway left it, and peers may seal to it
    # already. It was left out, so the listing named the old key twice (current, and retired
    # already) and not the new one; and a pending key that could not be used went unsaid here,
    # while `show` named it beside every thought it could not open.
    try:
        pending = _pending_key(store)
    except KeyFileError as e:
        broken.append(e)
    else:
        if pending is not None and all(k.public != pending.public for k in listed):
            listed.append(ListedKey("pending", pending.public, store.pending_key_path))
    return tuple(listed), tuple(broken)


def retired_key_files(store: Store) -> list[Path]:
    """The files of the keys this node has rotated away from (``mindgit/retired/*.key``)."""
    folder = store.retired_keys_dir
    return sorted(folder.glob("*.key")) if folder.is_dir() else []


def open_envelope(cid: CID, node: Mapping[str, Any], keys: Sequence[NodeKey]) -> dict[str, Any]:
    """The note inside a decoded envelope, for a holder of a recipient key.

    Raises ``NotARecipient``, ``IntegrityError`` (message starting "cannot decrypt: integrity
    check failed"; also when the envelope is not the one ``cid`` names) or ``SchemaError``.
    """
    where = f"private thought {cid}"
    sealed = sealed_from_node(where, dict(node))
    # git does not check that a thought's bytes are the ones its name says: a relaying peer can
    # put an envelope of its own under another thought's name. Opened unchecked, `diff` printed
    # its text as that thought, and `show` did (beside a warning). Decoding is canonical, so
    # the encoding again is the bytes the envelope was read from.
    try:
        cid.verify(dagjson.encode(dict(node)))
    except CIDMismatch as e:
        raise IntegrityError(
            f"thought {cid}", f"the envelope's bytes hash to {e.actual}, not to its CID"
        ) from None
    except MindgitError as e:  # a CID naming a hash mindgit cannot check
        raise IntegrityError(f"thought {cid}", str(e)) from None
    plaintext = open_sealed(sealed, keys, f"thought {cid}")
    # The plaintext was authenticated, so a bad note is its writer's doing; the message stays
    # generic because a decoder's complaint would quote the private bytes.
    problem = "the sealed content is not a canonical note block"
    try:
        note = dagjson.decode(plaintext)
    except (MindgitError, ValueError):
        # ValueError too, whatever the decoder lets escape: a writer who sealed a block the
        # decoder choked on (bytes in the form {"/": {"bytes": "éé"}}) made every recipient's
        # `show` fail as an internal error.
        raise SchemaError(where, problem) from None
    if not isinstance(note, dict) or note.get("type") != "note":
        raise SchemaError(where, problem)
    try:
        check_note(where, note)
    except SchemaError:
        raise SchemaError(where, problem) from None
    return note


def reveal(store: Store, cid: CID, rev: str | None = None) -> dict[str, Any]:
    """The note a private thought holds, for a recipient (current or retired key).

    ``NotARecipient`` for other nodes, ``IntegrityError`` when the envelope was altered.
    """
    node = _envelope(store, cid, rev)
    return _with_node_keys(store, node, cid, lambda keys: open_envelope(cid, node, keys))


def share(
    store: Store, cid: CID, with_: str, *, experiment: str | None = None
) -> tuple[Commit, CID]:
    """Re-seal a private thought for one more node; returns the commit and the new envelope's CID.

    Only a recipient can share. The new envelope has the same ciphertext and one more recipient;
    it replaces the old one in the state, in a commit that records the consent:
    ``share: <old cid> with <name>``.
    """
    target = resolve_recipient(store, with_, "--with")
    exp = store.experiment(experiment)
    node = _envelope(store, cid, store.head(exp))
    sealed = sealed_from_node(f"private thought {cid}", node)
    block = encode_envelope(
        _with_node_keys(
            store,
            node,
            cid,
            lambda keys: add_recipient(sealed, keys, target.key, f"thought {cid}"),
        )
    )
    if len(block.data) > MAX_THOUGHT_BYTES:
        # One more wrapped key is ~180 bytes: an envelope just under the limit went over it, in
        # a commit this node signed and then failed its own verify (and every peer's hook).
        raise SchemaError(
            f"private thought {cid}",
            f"shared with one more node, it would be {len(block.data)} bytes, over the"
            f" {MAX_THOUGHT_BYTES}-byte limit of a thought; nothing was changed",
        )

    def change(state: State) -> tuple[State, Mapping[CID, bytes]]:
        if cid not in state.thoughts:
            raise UnknownThought(cid)
        return (
            state.with_thoughts((state.thoughts - {cid}) | {block.cid}),
            {block.cid: block.data},
        )

    commit = store.update(
        change,
        f"share: {cid} with {target.name}",
        experiment=exp,
        trailers={"Mindgit-Shared-With": target.did, "Mindgit-Envelope": str(block.cid)},
    )
    return commit, block.cid


def _envelope(store: Store, cid: CID, rev: str | None) -> dict[str, Any]:
    snap = store.snapshot(rev)
    if cid not in snap.state.thoughts:
        raise UnknownThought(cid)
    data = layout.read_thought(store.repo, snap.tree, cid)
    # The tree names a thought by its CID and git does not check that name: a peer's commit can
    # hold its own envelope under another thought's name. Unchecked, reveal read it as that
    # thought (whose first commit may be another node's), and share re-wrapped it under a
    # signature of this node's.
    cid.verify(data)
    node = _check_thought(cid, data)
    if not is_sealed(node):
        raise NotSealed(cid)
    return node
