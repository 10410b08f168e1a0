"""Exporting states as CAR v1 files for IPFS, and reading any block of the store by CID.

A plain export's root is the state's manifest; its blocks are the manifest, every thought and
every memory and data block the manifest links, each exactly as the store holds it (so their CIDs
need no re-encoding, and are checked against the bytes on the way out). With ``history=True``
every ancestor state goes too, and the root is the head commit's history block (see
``car_history``), from which IPLD tools reach every commit's block and every state.

Nothing is gathered in memory first: blocks stream from git's object database into the CAR as
they are read, and what is remembered is a set of the CIDs already written (each block goes out
once) and, with history, one CID per commit. Export copies what the store holds without judging
it; ``mindgit verify`` checks a store, and ``import`` checks a CAR. A state ``mindgit show``
refuses to read, as its manifest or a thought or block it links is not a regular file in its tree
(a symlink, an executable, a gitlink), is refused all the same: the CAR would pass it off as
sound.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import pygit2

from mindgit.adapters.car_history import naming_missing, read_tree, state_history
from mindgit.errors import MindgitError
from mindgit.ipld.car import write_car
from mindgit.ipld.cid import CID, DAG_JSON, SHA2_256, base32_decoded, shown_cid
from mindgit.store import layout
from mindgit.store.objects import as_commit
from mindgit.store.refs import read_ref
from mindgit.store.repository import HEADS, NotACommit, Store


class BlockNotFound(MindgitError):
    """No state of any experiment (nor any history block of theirs) is the block asked for."""

    def __init__(self, cid: CID, reason: str | None = None) -> None:
        self.cid = cid
        self.reason = reason
        why = f": {reason}" if reason else ""
        super().__init__(
            f"block {shown_cid(cid)} is not in this store{why}",
            hint="`mindgit show --json` lists a state's CIDs; `mindgit import` brings in a CAR",
        )


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """What an export wrote: the CAR's root, the head state and commit, and how much."""

    root: CID
    state: CID
    commit: str
    states: int
    blocks: int
    bytes: int
    history: bool


def export(store: Store, rev: str | None, out: BinaryIO, *, history: bool = False) -> ExportSummary:
    """Write the state at ``rev`` (default: the current experiment) to ``out`` as a CAR v1.

    Example::

        with open("dreamer.car", "wb") as out:
            summary = export(open_store(), "dreamer", out, history=True)
        print(summary.root)  # the head commit's history block
    """
    commit = store.head() if rev is None else store.resolve(rev)
    repo = store.repo
    seen: set[bytes] = set()
    counts = _Counts()
    if not history:
        obj = as_commit(repo[commit])
        assert obj is not None
        tree = layout.commit_tree(repo, obj)
        if layout.MANIFEST not in tree:
            raise layout.StateNotFound(f"commit {commit} holds no state (no {layout.MANIFEST})")
        entry = tree[layout.MANIFEST]
        if entry.filemode != layout.BLOB:
            # As read_state refuses it (`show`, `cat`): a symlink's blob went out as the root,
            # and a gitlink's commit, absent, was reported as a missing object.
            raise layout.StateNotFound(f"{layout.MANIFEST} in tree {tree.id} is not a regular file")
        data = layout.blob(repo, entry.id, f"the manifest of commit {commit}")
        root = state = CID.of(data)
        blocks = _state_blocks(repo, tree, state, lambda: data, seen, counts, set())
    else:
        # The root goes in the header, before any block, and the head's history block depends
        # on every ancestor's: one pass to name it, a second to write.
        # The walk yields parents first, so the tip itself comes last.
        (head,) = deque(state_history(repo, [commit]), maxlen=1)
        root, state = head.block.cid, head.manifest
        blocks = _history_blocks(repo, commit, seen, counts)
    size = write_car(out, [root], counts.wrap(blocks))
    return ExportSummary(root, state, commit, counts.states, counts.blocks, size, history)


class _Counts:
    def __init__(self) -> None:
        self.states = 0
        self.blocks = 0

    def wrap(self, blocks: Iterable[tuple[CID, bytes]]) -> Iterator[tuple[CID, bytes]]:
        for block in blocks:
            self.blocks += 1
            yield block


def _history_blocks(
    repo: pygit2.Repository, commit: str, seen: set[bytes], counts: _Counts
) -> Iterator[tuple[CID, bytes]]:
    checked: set[pygit2.Oid] = set()
    for item in state_history(repo, [commit]):
        blob = item.manifest_blob

        def manifest(blob: pygit2.Oid = blob, commit: str = item.commit) -> bytes:
            return layout.blob(repo, blob, f"the manifest of commit {commit}")

        yield from _state_blocks(repo, item.tree, item.manifest, manifest, seen, counts, checked)
        key = item.block.cid.to_bytes()
        if key not in seen:
            seen.add(key)
            yield item.block.cid, item.block.data


def _state_blocks(
    repo: pygit2.Repository,
    tree: pygit2.Tree,
    manifest: CID,
    manifest_data: Callable[[], bytes],
    seen: set[bytes],
    counts: _Counts,
    checked: set[pygit2.Oid],
) -> Iterator[tuple[CID, bytes]]:
    """The blocks of the state in ``tree`` not in ``seen`` (which grows), after its manifest.

    Every thought and block the manifest links must be a regular file in ``tree``, as `show`
    reads them, even one already written from another state: the CAR stands for each state it
    holds, so a state `show` refuses is refused here too, whichever state the walk meets first.
    ``checked`` holds the trees done already (a revert, a merge of equal states).
    """
    if tree.id in checked:
        return
    key = manifest.to_bytes()
    new_state = key not in seen
    data = manifest_data()
    manifest.verify(data)
    if new_state:
        seen.add(key)
        counts.states += 1
        yield manifest, data
    subtrees = [
        (_subtree(repo, tree, name), what)
        for name, what in ((layout.THOUGHTS, "thought"), (layout.BLOCKS, "block"))
    ]
    for match in _LINK.finditer(data):
        name = match.group(1).decode()
        known = _known_key(name)
        done = known is not None and known in seen
        found = _entry(subtrees, name)
        if found is None:
            if done or CID.parse(name).to_bytes() in seen:
                # Written from another state; that this one lacks it is for `verify` to say.
                continue
            raise layout.StateNotFound(
                f"block {name}, linked from manifest {manifest}, is not in tree {tree.id}"
            )
        entry, what = found
        if entry.filemode != layout.BLOB:
            # As read_thought and read_block refuse it: an executable's or a symlink's blob went
            # out as the block, a gitlink's commit was reported as a missing object.
            raise layout.StateNotFound(f"{what} {name} in tree {tree.id} is not a regular file")
        if done:
            continue
        cid = CID.parse(name)
        key = cid.to_bytes()
        if key in seen:
            continue
        block = layout.blob(repo, entry.id, f"block {name}")
        cid.verify(block)
        seen.add(key)
        yield cid, block
    checked.add(tree.id)


def _known_key(name: str) -> bytes | None:
    """The binary CID (``CID.parse(name).to_bytes()``) that ``name`` spells in canonical base32,
    decoded as ``CID.parse`` decodes it but not parsed, else None: only to find it among the CIDs
    written, as every state of a history links its thoughts again (parsing each of those links
    took half the time of a history export). A name that is not such text is parsed as before."""
    if not name.startswith("b") or len(name) < 2:
        return None
    return base32_decoded(name[1:])


# In canonical DAG-JSON a link is exactly {"/":"<cid>"}, and those bytes occur nowhere else:
# inside a string every '"' is escaped, and a map {"/": <string>} that is not a link has no
# encoding at all (it is DAG-JSON's reserved form). So the links of a stored manifest are read
# off its bytes; decoding 100,000 thought links into objects would cost ~35 MB for nothing.
_LINK = re.compile(rb'\{"/":"([^"]+)"\}')
_THOUGHTS_KEY = b'"thoughts":['


def manifest_links(data: bytes) -> tuple[list[str], Iterator[str]]:
    """A canonical manifest's memory and data links (sorted, unique) and its thought links.

    Links are read off the bytes as above. The thought list is the manifest's last key (keys are
    sorted, and no other may follow "thoughts") and holds nothing but links, so its key's last
    occurrence is the top-level one: links after it are the thoughts, in the manifest's (sorted)
    order, and links before it are the memories and data. The caller must know that ``data`` is
    a valid manifest (the import checks this split against the decoded state).
    """
    cut = data.rfind(_THOUGHTS_KEY)
    if cut < 0:
        return sorted({m.group(1).decode() for m in _LINK.finditer(data)}), iter(())
    blocks = sorted({m.group(1).decode() for m in _LINK.finditer(data, 0, cut)})
    return blocks, (m.group(1).decode() for m in _LINK.finditer(data, cut))


def _entry(
    subtrees: list[tuple[pygit2.Tree | None, str]], name: str
) -> tuple[pygit2.Object, str] | None:
    """The entry ``name`` in the first subtree holding it as a regular file, with what that
    subtree holds ("thought", "block"); else the first holding it otherwise; else None."""
    odd: tuple[pygit2.Object, str] | None = None
    for sub, what in subtrees:
        if sub is None:
            continue
        try:
            entry = sub[name]
        except KeyError:
            continue
        if entry.filemode == layout.BLOB:
            return entry, what
        if odd is None:
            odd = (entry, what)
    return odd


def _subtree(repo: pygit2.Repository, tree: pygit2.Tree, name: str) -> pygit2.Tree | None:
    if name not in tree:
        return None
    obj = read_tree(repo, tree[name].id, f"the {name} tree of tree {tree.id}")
    return obj if isinstance(obj, pygit2.Tree) else None


def cat(store: Store, cid: CID) -> bytes:
    """The bytes of block ``cid`` from any state on any experiment, or from their history.

    Manifests, thoughts, memories and data blocks are found by name in the state trees, newest
    commits first; a history block (see ``car_history``) is recomputed from the commits.
    Raises ``BlockNotFound`` when no experiment holds it, and ``StateNotFound`` when states
    hold it only as something other than a regular file (as ``layout.read_thought`` refuses).
    """
    if cid.codec != DAG_JSON or cid.hash_code != SHA2_256:
        raise BlockNotFound(cid, "mindgit keeps only DAG-JSON blocks named by sha2-256")
    repo = store.repo
    tips = _experiment_tips(repo)
    found, odd = _find_in_states(repo, tips, cid)
    if found is None:
        for item in state_history(repo, tips, skip_non_states=True):
            if item.block.cid == cid:
                found = item.block.data
                break
    if found is None:
        if odd is not None:
            # Held only as something other than a regular file: refused as `show` refuses it.
            raise odd
        raise BlockNotFound(cid)
    cid.verify(found)
    return found


def _experiment_tips(repo: pygit2.Repository) -> list[str]:
    """The commit of every experiment; a symbolic ref to nothing names no state, so none."""
    tips = set()
    for ref in repo.references:
        if not ref.startswith(HEADS):
            continue
        tip = read_ref(repo, ref)
        if tip is None:
            continue
        obj = repo.get(tip)
        if as_commit(obj) is None:
            # Walked, a blob or a tree was libgit2's "object is not a committish", shown as an
            # internal error; `mindgit experiments` names the same damage in these words.
            kind = "missing object" if obj is None else obj.type_str
            raise NotACommit(ref.removeprefix(HEADS), kind)
        tips.add(tip)
    return sorted(tips)


def _newest_first(repo: pygit2.Repository, tips: list[str]) -> Iterator[pygit2.Commit]:
    walker = repo.walk(None, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.TIME)
    for tip in tips:
        walker.push(pygit2.Oid(hex=tip))
    # A lost ancestor is found when the walk reaches it, so the walk is what is wrapped.
    yield from naming_missing(iter(walker), repo)


def _find_in_states(
    repo: pygit2.Repository, tips: list[str], cid: CID
) -> tuple[bytes | None, layout.StateNotFound | None]:
    """The block's bytes from the newest state holding it as a regular file, else None and why
    the first state to hold it otherwise cannot serve it (None when no state holds it)."""
    name = str(cid)
    seen_trees: set[pygit2.Oid] = set()
    manifests: set[pygit2.Oid] = set()
    odd: layout.StateNotFound | None = None
    for commit in _newest_first(repo, tips):
        tree = layout.commit_tree(repo, commit)
        if tree.id in seen_trees or layout.MANIFEST not in tree:
            continue
        seen_trees.add(tree.id)
        entry = tree[layout.MANIFEST]
        if entry.filemode != layout.BLOB:
            # read_state refuses such a manifest (a symlink's blob was served as the manifest,
            # a gitlink's commit, absent, failed every cat as a missing object): unread.
            if odd is None and _blob_is(repo, entry.id, cid):
                odd = layout.StateNotFound(
                    f"{layout.MANIFEST} in tree {tree.id} is not a regular file"
                )
        elif entry.id not in manifests:
            manifests.add(entry.id)
            data = layout.blob(repo, entry.id, f"the manifest of commit {commit.id}")
            if CID.of(data) == cid:
                return data, None
        for dirname, what in ((layout.THOUGHTS, "thought"), (layout.BLOCKS, "block")):
            sub = _subtree(repo, tree, dirname)
            if sub is None or sub.id in seen_trees:
                continue
            seen_trees.add(sub.id)
            if name not in sub:
                continue
            found = sub[name]
            if found.filemode == layout.BLOB:
                return layout.blob(repo, found.id, f"block {name}"), None
            # As read_thought and read_block refuse it (and verify): an executable's or a
            # symlink's blob was served as the block, a gitlink's commit was "missing". Another
            # state may still hold it as a regular file, which is then what is served.
            if odd is None:
                odd = layout.StateNotFound(f"{what} {cid} in tree {tree.id} is not a regular file")
    return None, odd


def _blob_is(repo: pygit2.Repository, oid: pygit2.Oid, cid: CID) -> bool:
    """Whether ``oid`` names a blob present in ``repo`` whose bytes are block ``cid``."""
    try:
        obj = repo.get(oid)
    except pygit2.GitError as error:
        raise layout.damage(repo, oid, error) from None
    return isinstance(obj, pygit2.Blob) and CID.of(obj.read_raw()) == cid
