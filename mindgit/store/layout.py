"""How a state is laid out as a git tree, and reading it back.

A state tree holds exactly::

    manifest.json          the manifest block (canonical DAG-JSON)
    thoughts/<cid>         one blob per thought, named by the CID of its bytes
    blocks/<cid>           memories and data blocks the manifest names (only when there are any)

so identical thoughts are one blob, and two experiments adding different thoughts never touch the
same path: git's own tree merge unions them without conflict.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import pairwise
from pathlib import Path

import pygit2

from mindgit.errors import DamagedStore, MindgitError, one_line, unreadable_object
from mindgit.ipld.cid import CID
from mindgit.store.damage import fsck_hint, unreadable_cause
from mindgit.store.packs import OBJ_BLOB, OBJ_TREE, PackWriter, blob_tree, tree_bytes
from mindgit.store.state import Block, SchemaError, State, parse_manifest

MANIFEST = "manifest.json"
THOUGHTS = "thoughts"
BLOCKS = "blocks"
BLOB = pygit2.enums.FileMode.BLOB
TREE = pygit2.enums.FileMode.TREE


class StateNotFound(MindgitError):
    """A tree or block that should hold state content does not."""


class StateUnreadable(StateNotFound):
    """An object a state names is in the store but cannot be read: a pack index lists it and
    its pack is damaged or cut short (libgit2 leaves such a pack out whole, with no error, so
    the object reads as absent), or a file at its loose path holds no object git can read."""

    def __init__(
        self, repo: pygit2.Repository, what: str, oid: pygit2.Oid, cause: str, kind: str = "object"
    ) -> None:
        super().__init__(
            f"{what}: {kind} {oid} cannot be read: {cause}",
            hint=fsck_hint(repo.path.rstrip("/")),
        )
        self.oid = str(oid)
        self.cause = cause


def lost(
    repo: pygit2.Repository, what: str, oid: pygit2.Oid, kind: str = "object"
) -> StateNotFound:
    """The error for ``oid`` (``what`` the state calls it: ``thoughts``, ``manifest.json``,
    ``thought <cid>``), which libgit2 reads as absent: unreadable, naming the damaged pack
    or file, when something on disk holds it; else missing."""
    cause = unreadable_cause(Path(repo.path), oid)
    if cause is not None:
        return StateUnreadable(repo, what, oid, cause, kind)
    return StateNotFound(f"{what}: {kind} {oid} is missing (run `git fsck` on the store)")


def write_state(
    repo: pygit2.Repository,
    state: State,
    new_blocks: Mapping[CID, bytes],
    base: pygit2.Tree | None = None,
) -> tuple[pygit2.Oid, Block]:
    """Write ``state`` as a tree, reusing blobs from ``base`` (a state tree) where it can.

    Every thought and block of ``state`` must be in ``new_blocks`` or in ``base``.
    Returns the tree id and the manifest block.
    """
    manifest = state.manifest()
    dirs = [
        (d, wanted) for d, wanted in ((THOUGHTS, state.thoughts), (BLOCKS, state.blocks)) if wanted
    ]
    # Checked before anything is written: a refused state leaves no objects behind.
    kept = {d: _kept_entries(repo, d, wanted, new_blocks, base) for d, wanted in dirs}
    root = repo.TreeBuilder()
    root.insert(MANIFEST, repo.create_blob(manifest.data), BLOB)
    for dirname, wanted in dirs:
        sub = _write_cid_dir(repo, wanted, new_blocks, kept[dirname])
        root.insert(dirname, sub, TREE)
    return root.write(), manifest


def pack_state(
    pack: PackWriter, state: State, new_blocks: Mapping[CID, bytes]
) -> tuple[pygit2.Oid, Block]:
    """Write ``state`` as ``write_state`` would (with no base), into ``pack``.

    For states with many blocks (an agent file's messages): one pack instead of a loose file
    per blob. The tree can be committed once the pack is finished. Every thought and block of
    ``state`` must be in ``new_blocks``. Returns the tree id and the manifest block.
    """
    manifest = state.manifest()
    entries = [(MANIFEST, False, pack.add(OBJ_BLOB, manifest.data))]
    for dirname, wanted in ((THOUGHTS, state.thoughts), (BLOCKS, state.blocks)):
        if not wanted:
            continue
        # Every entry is a blob named by an ASCII CID: string order is git's tree order.
        named = sorted((str(c), c) for c in wanted)
        missing = next((c for _, c in named if c not in new_blocks), None)
        if missing is not None:
            raise StateNotFound(f"{dirname} block {missing} is not among the state's blocks")
        body = blob_tree((name, pack.add(OBJ_BLOB, new_blocks[cid])) for name, cid in named)
        entries.append((dirname, True, pack.add(OBJ_TREE, body)))
    return pygit2.Oid(raw=pack.add(OBJ_TREE, tree_bytes(entries))), manifest


# A thought link as every state spells it: a CIDv1 dag-json sha2-256 is "b" and base32 of the
# bytes 01 a9 02 12 20 ("aguqeera") and its 32-byte digest (52 characters, the last one's 4 low
# bits zero: "a" or "q"). These are exactly the texts CID.parse reads as such a CID, and that
# str() of it spells back.
_LINK_TEXT = rb"baguqeera[a-z2-7]{51}[aq]"
_LINK_CHARS = 61
_LINK_SPELT = 6 + _LINK_CHARS + 2 + 1  # {"/":"<text>"} and a comma
_LINKS = re.compile(rb'(?:\{"/":"' + _LINK_TEXT + rb'"\},)*\{"/":"' + _LINK_TEXT + rb'"\}')
_THOUGHTS_KEY = b'"thoughts":['
# A thoughts tree's entries, each a regular file named by such a text, as git writes them.
_ENTRY_SIZE = 7 + _LINK_CHARS + 1 + 20
_BLOB_ENTRIES = re.compile(rb"(?:100644 " + _LINK_TEXT + rb"\x00.{20})*", re.DOTALL)


def add_thought(
    repo: pygit2.Repository, base: pygit2.Tree, thought: Block
) -> tuple[pygit2.Oid, Block] | None:
    """What :func:`write_state` writes for the state of ``base`` with ``thought`` added (the
    same objects, tree and manifest), from their bytes: the base manifest's links are read as
    texts and its thoughts tree as raw entries, checked as :func:`read_state` and
    :func:`write_state` check them, but no link parsed into a CID (a think on 50,000 thoughts
    spent 0.7 s of its 1.5 s parsing them). None whenever that cannot be shown: the thought
    already linked, a state without thoughts, anything spelt otherwise, anything wrong. The
    caller then takes the parsing path, which also names what is wrong.
    """
    text = str(thought.cid).encode("ascii")
    if MANIFEST not in base or THOUGHTS not in base or not re.fullmatch(_LINK_TEXT, text):
        return None
    entry, sub = base[MANIFEST], base[THOUGHTS]
    if entry.filemode != BLOB or sub.filemode != TREE:
        return None
    data = blob(repo, entry.id, MANIFEST)
    # The manifest's keys are sorted and "thoughts" is the last a manifest may have, so a
    # valid one ends with its list. Cut there, its other keys are checked by the manifest they
    # spell with an empty list (which parses only if the cut is at that key), and the list by
    # its spelling: canonical links, sorted and unique, are the lists a valid manifest holds,
    # spelt as its encoding spells them.
    at = data.rfind(_THOUGHTS_KEY)
    if at < 0 or not data.endswith(b"]}"):
        return None
    body = data[at + len(_THOUGHTS_KEY) : -2]
    if _LINKS.fullmatch(body) is None:
        return None
    texts = [body[i + 6 : i + 6 + _LINK_CHARS] for i in range(0, len(body), _LINK_SPELT)]
    if any(a >= b for a, b in pairwise(texts)):
        return None
    try:
        rest = parse_manifest(data[:at] + _THOUGHTS_KEY + b"]}")
    except SchemaError:
        return None
    k = bisect.bisect_left(texts, text)
    if k < len(texts) and texts[k] == text:
        return None  # nothing changes: the parsing path says so
    # The thoughts tree: regular files named by exactly those texts, in order (git's order for
    # files), as write_state requires of the thoughts it keeps; then the new one among them.
    try:
        kind, raw = repo.odb.read(sub.id)
    except (KeyError, pygit2.GitError):
        return None
    if (
        kind != OBJ_TREE
        or len(raw) != _ENTRY_SIZE * len(texts)
        or _BLOB_ENTRIES.fullmatch(raw) is None
        or [raw[i + 7 : i + 7 + _LINK_CHARS] for i in range(0, len(raw), _ENTRY_SIZE)] != texts
    ):
        return None
    blocks = rest.blocks
    if thought.cid in blocks:
        return None  # write_state would take the thought's bytes for that block too
    kept = _kept_entries(repo, BLOCKS, blocks, {}, base) if blocks else None
    link = b'{"/":"' + text + b'"}'
    if k < len(texts):
        cut = k * _LINK_SPELT
        body = body[:cut] + link + b"," + body[cut:]
    else:
        body = body + b"," + link
    manifest = data[:at] + _THOUGHTS_KEY + body + b"]}"
    root = repo.TreeBuilder()
    root.insert(MANIFEST, repo.create_blob(manifest), BLOB)
    added = b"100644 " + text + b"\x00" + repo.create_blob(thought.data).raw
    cut = k * _ENTRY_SIZE
    root.insert(THOUGHTS, repo.odb.write(OBJ_TREE, raw[:cut] + added + raw[cut:]), TREE)
    if blocks:
        root.insert(BLOCKS, _write_cid_dir(repo, blocks, {}, kept), TREE)
    return root.write(), Block(CID.of(manifest), manifest)


def _kept_entries(
    repo: pygit2.Repository,
    dirname: str,
    wanted: frozenset[CID],
    new_blocks: Mapping[CID, bytes],
    base: pygit2.Tree | None,
) -> pygit2.Tree | None:
    """The base state's ``dirname`` subtree, once every block of ``wanted`` that is not new is
    known to be a regular file in it."""
    old = _subtree(repo, base, dirname)
    what = "thought" if dirname == THOUGHTS else "block"
    for cid in wanted:
        if cid in new_blocks:
            continue
        try:
            entry = old[str(cid)] if old is not None else None
        except KeyError:
            entry = None
        if entry is None:
            raise StateNotFound(f"{dirname} block {cid} is neither new nor in the base state")
        if entry.filemode != BLOB:
            # Every reader refuses the base's entry (read_thought, show, cat, export): copied
            # as it was, it went into a new signed state that they refuse too.
            assert base is not None
            raise StateNotFound(f"{what} {cid} in tree {base.id} is not a regular file")
    return old


def _write_cid_dir(
    repo: pygit2.Repository,
    wanted: frozenset[CID],
    new_blocks: Mapping[CID, bytes],
    old: pygit2.Tree | None,
) -> pygit2.Oid:
    """The subtree of ``wanted``: the new blocks written, the rest kept from ``old`` (checked
    by ``_kept_entries``)."""
    tb = repo.TreeBuilder(old) if old is not None else repo.TreeBuilder()
    if old is not None:
        keep = {str(c) for c in wanted}
        for entry in old:
            if entry.name is not None and entry.name not in keep:
                tb.remove(entry.name)
    for cid in wanted:
        if cid in new_blocks:
            name = str(cid)
            data = new_blocks[cid]
            # Evolve's result passes every thought of the state, nearly all in the base already:
            # writing each again (libgit2 then freshens the file) cost ~0.5 ms a thought. The
            # same bytes under the same name, present in the store, make the same tree.
            have = tb.get(name)
            if (
                have is None
                or have.filemode != BLOB
                or have.id != pygit2.hash(data)
                or have.id not in repo
            ):
                tb.insert(name, repo.create_blob(data), BLOB)
    oid: pygit2.Oid = tb.write()
    return oid


# The last subtree looked up: (repository, state tree id, name, subtree). A caller that reads
# a state's thoughts one by one with read_thought (evolve's result commit, merge) asks for the
# same subtree each time, and libgit2 caches no tree over 4 KiB: each lookup parsed all n
# entries (evolve of a state of 4,000 thoughts spent 15 s there). A tree id names its content,
# so a hit is the same subtree; keyed by the repository object itself, as a tree handed to
# another handle's TreeBuilder would be read through a handle that may not see its objects.
# One entry, so nothing grows.
_last_subtree: tuple[pygit2.Repository, pygit2.Oid, str, pygit2.Tree] | None = None


def _subtree(repo: pygit2.Repository, tree: pygit2.Tree | None, name: str) -> pygit2.Tree | None:
    global _last_subtree
    if tree is None or name not in tree:
        return None
    last = _last_subtree
    if last is not None and last[0] is repo and last[1] == tree.id and last[2] == name:
        return last[3]
    oid = tree[name].id
    try:
        obj = repo[oid]
    except KeyError:
        # A thoughts/ or blocks/ tree the store lacks, or holds in a pack cut short: it was
        # an internal error (KeyError, exit 3) for show, cat and every writer building on it.
        raise lost(repo, name, oid, "tree") from None
    except pygit2.GitError as e:
        raise damage(repo, oid, e) from None
    if not isinstance(obj, pygit2.Tree):
        return None
    _last_subtree = (repo, tree.id, name, obj)
    return obj


def read_state(repo: pygit2.Repository, tree: pygit2.Tree) -> tuple[State, Block]:
    """The state a tree holds and its manifest block (decoded strictly)."""
    if MANIFEST not in tree:
        raise StateNotFound(f"tree {tree.id} holds no {MANIFEST}")
    entry = tree[MANIFEST]
    if entry.filemode != BLOB:
        # As verify says it. A symlink's blob was read as the manifest (`diff` of such a tree
        # said "no differences"), and a tree's or a submodule's bytes as invalid DAG-JSON.
        raise StateNotFound(f"{MANIFEST} in tree {tree.id} is not a regular file")
    data = blob(repo, entry.id, MANIFEST)
    cid = CID.of(data)
    return parse_manifest(data, cid), Block(cid, data)


def read_thought(repo: pygit2.Repository, tree: pygit2.Tree, cid: CID) -> bytes:
    """The bytes of one thought of the state in ``tree``."""
    return _reader(repo, tree, THOUGHTS, "thought")(cid)


def read_block(repo: pygit2.Repository, tree: pygit2.Tree, cid: CID) -> bytes:
    """The bytes of one memory or data block of the state in ``tree``."""
    return _reader(repo, tree, BLOCKS, "block")(cid)


def read_thoughts(
    repo: pygit2.Repository, tree: pygit2.Tree, cids: Iterable[CID]
) -> Iterator[tuple[CID, bytes]]:
    """Each of ``cids`` with its bytes, in the order given, as :func:`read_thought` reads it.

    One lookup of the thoughts tree for them all: read_thought looks it up per call, and
    libgit2 keeps no tree over 4 KiB in its cache, so a state of n thoughts read one by one
    parsed its n-entry tree n times (`show` of 4,000 thoughts took 19 s, of 1,000 2.6 s).
    """
    return _read_each(repo, tree, THOUGHTS, "thought", cids)


def read_blocks(
    repo: pygit2.Repository, tree: pygit2.Tree, cids: Iterable[CID]
) -> Iterator[tuple[CID, bytes]]:
    """Each of ``cids`` with its bytes, as :func:`read_block` reads it (see read_thoughts)."""
    return _read_each(repo, tree, BLOCKS, "block", cids)


def _read_each(
    repo: pygit2.Repository, tree: pygit2.Tree, dirname: str, what: str, cids: Iterable[CID]
) -> Iterator[tuple[CID, bytes]]:
    read: Callable[[CID], bytes] | None = None
    for cid in cids:
        # Looked up at the first CID, as read_thought would: no CIDs, no read at all.
        if read is None:
            read = _reader(repo, tree, dirname, what)
        yield cid, read(cid)


def _reader(
    repo: pygit2.Repository, tree: pygit2.Tree, dirname: str, what: str
) -> Callable[[CID], bytes]:
    sub = _subtree(repo, tree, dirname)

    def read(cid: CID) -> bytes:
        name = str(cid)
        if sub is None or name not in sub:
            raise StateNotFound(f"{what} {cid} is not in tree {tree.id}")
        entry = sub[name]
        if entry.filemode != BLOB:
            # As verify says it, and as read_state refuses such a manifest: an executable's or
            # a symlink's blob was read as the thought, a tree's bytes failed as DAG-JSON.
            raise StateNotFound(f"{what} {cid} in tree {tree.id} is not a regular file")
        return blob(repo, entry.id, f"{what} {cid}")

    return read


def blob(repo: pygit2.Repository, oid: pygit2.Oid, what: str) -> bytes:
    """The bytes of a blob a state's tree names (``what`` is what the state calls it); a lost
    one is named, not a KeyError, and an unreadable one is the damage it is (as every other
    read of a damaged object says it)."""
    try:
        data: bytes = repo[oid].read_raw()
    except KeyError:
        raise lost(repo, what, oid) from None
    except pygit2.GitError as e:
        raise damage(repo, oid, e) from None
    return data


def commit_tree(repo: pygit2.Repository, commit: pygit2.Commit) -> pygit2.Tree:
    """``commit``'s tree. pygit2's error for one that cannot be read names no object; this
    names the tree, whose id the commit holds."""
    try:
        tree: pygit2.Tree = commit.tree
    except pygit2.GitError as e:
        try:
            absent = commit.tree_id not in repo
        except pygit2.GitError:
            absent = False  # there, and damaged: the read's error says how
        if absent:
            # libgit2 says only "Unable to read tree": missing, or in a pack cut short.
            raise lost(repo, f"commit {commit.id}", commit.tree_id, "tree") from None
        raise damage(repo, commit.tree_id, e) from None
    return tree


def damage(repo: pygit2.Repository, oid: pygit2.Oid, error: pygit2.GitError) -> MindgitError:
    """``error``, raised reading ``oid``, as a :class:`DamagedStore` naming ``oid`` (the object
    this code asked for, which libgit2's message may not name); another failure to read it
    (not one of damaged bytes) as the state it leaves unreadable."""
    found = unreadable_object(str(error))
    if found is None:
        return StateNotFound(f"object {oid} cannot be read: {one_line(str(error))}")
    return DamagedStore(str(oid), found[1], store=repo.path.rstrip("/"))
