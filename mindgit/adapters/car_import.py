"""Importing CAR v1 files: every block verified, the whole DAG checked, then one signed commit.

An import runs in three steps, and only the last writes to the store:

1. **Read.** The CAR streams through ``CarReader``; each block must be DAG-JSON named by a full
   sha2-256 CID, and must hash to that CID. Blocks wait in a private on-disk ``Spool``.
2. **Check.** The root must be a state manifest (a plain export) or a history block (an export
   with ``--history``). From it, every link must lead to a block in the CAR: history to parents
   and states, manifests to thoughts, memories and data, and any link inside those. Every
   manifest and thought must pass the state schema, exactly as ``mindgit verify`` checks a store
   (and a manifest must be the canonical encoding of its state, so that the store writes the very
   bytes, and CID, it arrived with). Blocks nothing links to are ignored.
3. **Write.** Blobs and trees go into one new pack; then the commits, signed by this node: one
   for a plain export; for a history, one per history block, parents first, with the parents
   the history names. A new experiment points at the result; an existing one gets a commit on
   top of its head (with the rebuilt history, if any, as a second parent).

Importing a CAR whose state the experiment already holds at its head writes nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pygit2

from mindgit.adapters.car_export import manifest_links
from mindgit.adapters.car_history import (
    HistoryBlock,
    is_history_node,
    read_tree,
    split_trailers,
)
from mindgit.adapters.car_spool import Spool
from mindgit.errors import MindgitError
from mindgit.ipld import dagjson
from mindgit.ipld.car import (
    BlockingReads,
    CarBlockTooLarge,
    CarHeaderError,
    CarReader,
    CarTruncated,
)
from mindgit.ipld.cid import CID, DAG_CBOR, DAG_JSON, DAG_PB, RAW, SHA2_256, shown_cid
from mindgit.store import layout
from mindgit.store.objects import as_commit
from mindgit.store.packs import OBJ_BLOB, OBJ_TREE, PackWriter, blob_tree, git_oid, tree_bytes
from mindgit.store.refs import locked_ref, read_ref
from mindgit.store.repository import HEADS, Store, check_experiment_name
from mindgit.store.share_check import (
    ENVELOPE_TRAILER,
    SHARED_WITH_TRAILER,
    share_target,
    state_share_problem,
)
from mindgit.store.state import SchemaError, State, check_thought, parse_manifest
from mindgit.store.verify import MAX_BLOB_BYTES

_CODEC_NAMES = {DAG_JSON: "dag-json", DAG_CBOR: "dag-cbor", DAG_PB: "dag-pb", RAW: "raw"}
_SHA256_LENGTH = 32
# A mindgit export's header names one root (~60 bytes). A header is decoded whole before its
# roots can be counted: 8 MB naming 200,000 roots took 2 s and ~110 MB, only to be refused.
MAX_HEADER_BYTES = 4096


class CarImportError(MindgitError):
    """A CAR that is well formed but is not a complete, valid mindgit state or history."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(
            message + "; nothing was imported",
            hint=hint or "export it again with `mindgit export` (or `ipfs dag export <root>`)",
        )


class CarRootError(CarImportError):
    """The CAR does not have exactly one root, or its root is no state manifest or history block."""

    def __init__(self, root: CID | None, problem: str) -> None:
        self.root = root
        self.problem = problem
        what = "the CAR" if root is None else f"the CAR's root {shown_cid(root)}"
        super().__init__(
            f"{what} is not a mindgit state: {problem}",
            hint="mindgit imports CARs whose root is a state manifest or a history block "
            "(`mindgit export`); other IPLD data stays in IPFS",
        )


class UnsupportedBlock(CarImportError):
    """A block mindgit cannot keep: a codec other than DAG-JSON, or a hash other than sha2-256."""

    def __init__(self, cid: CID, problem: str) -> None:
        self.cid = cid
        self.problem = problem
        super().__init__(
            f"block {shown_cid(cid)}: {problem}",
            hint="mindgit states are DAG-JSON blocks named by sha2-256 CIDv1; "
            "this CAR holds other data",
        )


class CarIncomplete(CarImportError):
    """A block the DAG links to is not in the CAR."""

    def __init__(self, cid: CID, linked_from: CID | None) -> None:
        self.cid = cid
        self.linked_from = linked_from
        source = "the header's root" if linked_from is None else f"block {shown_cid(linked_from)}"
        super().__init__(
            f"block {shown_cid(cid)}, linked from {source}, is missing from the CAR",
            hint="export the whole DAG (`ipfs dag export <root>` includes every linked block)",
        )


class CarInvalidState(CarImportError):
    """A manifest, thought or block fails the state schema (or links what no state can keep)."""

    def __init__(self, cid: CID, problem: str) -> None:
        self.cid = cid
        self.problem = problem
        super().__init__(f"block {shown_cid(cid)} is not a valid part of a state: {problem}")


class CarInvalidShare(CarImportError):
    """A history block labelled a share (``Mindgit-Shared-With``) whose states are not one: the
    commit rebuilt from it, signed by this node, would fail every verify."""

    def __init__(self, cid: CID, problem: str) -> None:
        self.cid = cid
        self.problem = problem
        super().__init__(
            f"history block {shown_cid(cid)} is labelled a share but is not one: {problem}"
        )


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import found and did.

    ``commit`` is the experiment's head afterwards; ``changed`` is False when it already held
    the imported state (then nothing was written). ``states`` and ``blocks`` count the distinct
    states and blocks reachable from the root, ``ignored`` the blocks of the CAR that are not;
    ``commits`` counts the commits the experiment gained.
    """

    root: CID
    experiment: str
    state: CID
    commit: str
    changed: bool
    created: bool
    history: bool
    states: int
    commits: int
    blocks: int
    ignored: int


@dataclass(frozen=True, slots=True)
class _Step:
    """One state to commit, in parents-first order; ``history`` is None for a plain export.

    No message: a history block's may be 64 KiB, and held for every commit until the commits
    are written, memory would follow the CAR's size. It is read back from the spool then.
    """

    history: CID | None
    state: CID
    parents: tuple[CID, ...]


def import_car(
    store: Store,
    stream: BinaryIO,
    *,
    experiment: str,
    max_block_size: int = MAX_BLOB_BYTES,
    spool_dir: Path | str | None = None,
) -> ImportSummary:
    """Import the CAR read from ``stream`` as experiment ``experiment`` (created if missing).

    Raises a ``MindgitError`` for anything wrong with the CAR (the ``CarError`` family,
    ``CIDMismatch``, ``UnsupportedBlock``, ``CarRootError``, ``CarIncomplete``,
    ``CarInvalidState``, ``HistoryFormatError``) before writing anything. Blocks are spooled in
    a private temporary directory under ``spool_dir`` (default: the system's), removed after.

    Example::

        with open("dreamer.car", "rb") as car:
            summary = import_car(store, car, experiment="dreamer-copy")
    """
    check_experiment_name(experiment)
    _ = store.signing_key  # a bad key file or an unfinished rotation: before the CAR is read
    if read_ref(store.repo, HEADS + experiment) is not None:
        # A head that is no commit (a blob, a tree, a tag, an object the store lacks: set by
        # hand) is refused as every writer refuses it (ExperimentAtNoCommit), before the CAR is
        # read: it was an internal error (AssertionError, KeyError) once the CAR was checked.
        store.head(experiment)
    with Spool(spool_dir) as spool:
        root = _read(stream, spool, max_block_size)
        steps, counts = _check(spool, root)
        return _write(store, spool, root, steps, experiment, counts)


class _Head:
    """A stream that keeps its first bytes, to say what a file that is no CAR looks like."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.head = b""

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        if len(self.head) < _HEAD_BYTES:
            self.head += data[: _HEAD_BYTES - len(self.head)]
        return data


_HEAD_BYTES = 64
_JSON_HINT = (
    "this is JSON, not a CAR; a Letta agent file (.af) is imported with `mindgit import-af FILE`"
)


def _reader(stream: BinaryIO, max_block_size: int) -> CarReader:
    """The CAR's reader; JSON given for a CAR (an agent file, say) is said to be JSON.

    Read as a CAR, its first character is a length and the text after it a header, and the
    error was "header is not DAG-CBOR: needs 6660296222284341607 more bytes".
    """
    # The first bytes are kept from reads that waited: a non-blocking stream's None is nothing
    # to keep.
    head = _Head(BlockingReads(stream))  # type: ignore[arg-type]  # read() is all _Head asks
    try:
        return CarReader(
            head,  # type: ignore[arg-type]  # read() is all CarReader asks of a stream
            max_block_size=max_block_size,
            verify=False,
            max_header_size=MAX_HEADER_BYTES,
        )
    except (CarHeaderError, CarTruncated, CarBlockTooLarge) as error:
        if len(head.head) < _HEAD_BYTES:
            # The header's length may have taken only a byte-order mark and a blank (all the
            # varint read of '\ufeff\n{...'): what JSON would show comes after them.
            with contextlib.suppress(OSError, ValueError, MindgitError):
                head.read(_HEAD_BYTES - len(head.head))
        text = head.head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
        if not text[:1] or text[:1] not in b'{["':
            raise
        if isinstance(error, CarBlockTooLarge):
            raise CarBlockTooLarge(
                error.cid, error.size, error.limit, offset=error.offset or 0, hint=_JSON_HINT
            ) from None
        raise type(error)(error.reason, offset=error.offset, hint=_JSON_HINT) from None


def _read(stream: BinaryIO, spool: Spool, max_block_size: int) -> CID:
    reader = _reader(stream, max_block_size)
    if len(reader.roots) != 1:
        raise CarRootError(None, f"it has {len(reader.roots)} roots, a mindgit export has one")
    root = reader.roots[0]
    problem = _unsupported(root)
    if problem is not None:
        raise CarRootError(root, problem)
    try:
        for cid, data in reader:
            problem = _unsupported(cid)
            if problem is not None:
                raise UnsupportedBlock(cid, problem)
            cid.verify(data)
            spool.add(cid, data)
    except CarBlockTooLarge as error:
        if error.cid is None or max_block_size != MAX_BLOB_BYTES:
            raise
        # The reader's hint (raise max_block_size) is for a library's caller and names no
        # option of `mindgit import`: no store may hold such a block, whoever sent it.
        raise CarBlockTooLarge(
            error.cid,
            error.size,
            error.limit,
            offset=error.offset or 0,
            hint="no mindgit store holds a block that large: `mindgit verify` and every peer "
            "refuse one",
        ) from None
    return root


def _unsupported(cid: CID) -> str | None:
    if cid.codec != DAG_JSON:
        name = _CODEC_NAMES.get(cid.codec, f"0x{cid.codec:x}")
        return f"its codec is {name}, and mindgit keeps only dag-json blocks"
    if cid.hash_code != SHA2_256 or len(cid.digest) != _SHA256_LENGTH:
        return f"its hash is multihash 0x{cid.hash_code:x} ({len(cid.digest)} bytes), not sha2-256"
    return None


def _absent(cid: CID, linked_from: CID | None) -> CarImportError:
    """The error for a link whose block is not in the spool.

    A link no CAR could satisfy (another codec or hash, an identity CID) is the linking
    block's fault, not a missing block: saying "export the whole DAG" would send the user
    after a block that ``_read`` refuses anyway.
    """
    problem = _unsupported(cid)
    if problem is None or linked_from is None:
        return CarIncomplete(cid, linked_from)
    return CarInvalidState(
        linked_from, f"it links {shown_cid(cid)}, which mindgit cannot keep: {problem}"
    )


def _check(spool: Spool, root: CID) -> tuple[list[_Step], tuple[int, int]]:
    """The states to commit, parents first, and how many distinct states and blocks there are."""
    data = spool.get(root)
    if data is None:
        raise CarIncomplete(root, None)
    try:
        node = dagjson.decode(data)
    except dagjson.DagJsonError as error:
        raise CarRootError(root, f"it is not canonical DAG-JSON ({error})") from None
    if is_history_node(node):
        kind = "history"
    elif isinstance(node, dict) and ("genome" in node or "thoughts" in node):
        kind = "state"
    else:
        raise CarRootError(root, "it is neither a state manifest nor a history block")
    # A manifest's links decoded are ~250 bytes a thought; the checks decode it again anyway.
    del node, data
    steps = _history_steps(spool, root) if kind == "history" else [_Step(None, root, ())]
    checker = _StateChecker(spool)
    for step in steps:
        if step.history is not None:
            checker.mark(step.history, _HISTORY)
        checker.check(step.state, step.history)
    _check_shares(spool, steps)
    return steps, (checker.states, len(checker.checked))


def _check_shares(spool: Spool, steps: list[_Step]) -> None:
    """Each history block labelled a share checked as verify checks the commit rebuilt from it
    (:mod:`mindgit.store.share_check`), before anything is written: this node signs that
    commit, and one labelled a share that is not one would be refused by its own verify, and by
    every pull and hook."""
    states = {step.history: step.state for step in steps if step.history is not None}
    for step in steps:
        if step.history is None:
            continue
        data = spool.get(step.history)
        assert data is not None  # decoded by _history_steps
        _, trailers = split_trailers(HistoryBlock.decode(step.history, data).message)
        shared_with = trailers.get(SHARED_WITH_TRAILER)
        if shared_with is None:
            continue
        target = share_target(shared_with)
        if isinstance(target, str):
            raise CarInvalidShare(step.history, target)
        if len(step.parents) != 1:
            raise CarInvalidShare(step.history, "a share commit has exactly one parent")
        old, new = (
            _checked_state(spool, states[step.parents[0]]),
            _checked_state(spool, step.state),
        )
        read = _block(spool)
        problem = state_share_problem(old, new, target, trailers.get(ENVELOPE_TRAILER), read, read)
        if problem is not None:
            raise CarInvalidShare(step.history, problem)


def _checked_state(spool: Spool, manifest: CID) -> State:
    data = spool.get(manifest)
    assert data is not None  # every step's state was checked
    return parse_manifest(data, manifest)


def _block(spool: Spool) -> Callable[[CID], bytes]:
    def read(cid: CID) -> bytes:
        data = spool.get(cid)
        assert data is not None  # every thought of a checked state is in the spool
        return data

    return read


def _history_steps(spool: Spool, root: CID) -> list[_Step]:
    """Every history block reachable from ``root``, parents before children (iteratively)."""
    blocks: dict[CID, _Step] = {}
    done: set[CID] = set()
    order: list[_Step] = []
    stack: list[tuple[CID, CID | None, bool]] = [(root, None, False)]
    while stack:
        cid, child, expanded = stack.pop()
        if expanded:
            done.add(cid)
            order.append(blocks[cid])
            continue
        if cid in done:
            continue
        if cid in blocks:
            # Expanded but not finished: on the path from the root to here, so a cycle. SHA-256
            # makes one impossible to build, but a loop must not be what proves it.
            raise CarInvalidState(cid, "the history links form a cycle")
        data = spool.get(cid)
        if data is None:
            raise _absent(cid, child)
        block = HistoryBlock.decode(cid, data)
        blocks[cid] = _Step(cid, block.state, block.parents)
        stack.append((cid, child, True))
        for parent in reversed(block.parents):
            stack.append((parent, cid, False))
    return order


# What a block was checked as (a block can be both a thought and a memory, say).
_MANIFEST = 1
_THOUGHT = 2
_BLOCK = 4
_HISTORY = 8


class _StateChecker:
    """Checks each state once, and each thought or block once.

    What was checked is remembered by binary CID (about 100 bytes a block): the set of CIDs an
    import must keep anyway to dedupe, where the bytes stay in the spool on disk.
    """

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self.checked: dict[bytes, int] = {}
        self.states = 0
        # Links found inside thoughts and blocks (rare): each state must name what they point at.
        self.inner_links: dict[CID, tuple[CID, ...]] = {}

    def mark(self, cid: CID, kind: int) -> bool:
        """Note that ``cid`` was checked as ``kind``; False if it already was."""
        key = cid.to_bytes()
        marks = self.checked.get(key, 0)
        if marks & kind:
            return False
        self.checked[key] = marks | kind
        return True

    def check(self, manifest: CID, linked_from: CID | None) -> None:
        if self.checked.get(manifest.to_bytes(), 0) & _MANIFEST:
            return
        data = self.spool.get(manifest)
        if data is None:
            raise _absent(manifest, linked_from)
        try:
            state = parse_manifest(data, manifest)
        except SchemaError as error:
            raise CarInvalidState(manifest, error.problem) from None
        if state.manifest().data != data:
            raise CarInvalidState(manifest, "the manifest is not in canonical form for its schema")
        blocks, thoughts = manifest_links(data)
        if blocks != sorted(str(c) for c in state.blocks) or sum(1 for _ in thoughts) != len(
            state.thoughts
        ):
            # The write step reads the links off the bytes; a schema that let links live
            # elsewhere in a manifest would need it changed, and must not pass unnoticed.
            raise CarInvalidState(manifest, "it has links outside 'thoughts', 'memories', 'data'")
        for cid in state.thoughts:
            self._check_block(cid, state, manifest, _THOUGHT)
        for cid in state.blocks:
            self._check_block(cid, state, manifest, _BLOCK)
        self.mark(manifest, _MANIFEST)
        self.states += 1

    def _check_block(self, cid: CID, state: State, manifest: CID, kind: int) -> None:
        if not self.checked.get(cid.to_bytes(), 0) & kind:
            data = self.spool.get(cid)
            if data is None:
                raise _absent(cid, manifest)
            try:
                node: dagjson.Node = (
                    check_thought(cid, data) if kind == _THOUGHT else dagjson.decode(data)
                )
            except (SchemaError, dagjson.DagJsonError) as error:
                problem = error.problem if isinstance(error, SchemaError) else str(error)
                raise CarInvalidState(cid, problem) from None
            links = tuple(_links(node))
            if links:
                self.inner_links[cid] = links
            self.mark(cid, kind)
        for link in self.inner_links.get(cid, ()):
            if link not in self.spool:
                raise _absent(link, cid)
            if link not in state.thoughts and link not in state.blocks:
                raise CarInvalidState(
                    cid,
                    f"it links {link}, which manifest {manifest} does not name, so no state "
                    "could keep it",
                )


def _links(node: dagjson.Node) -> Iterator[CID]:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, CID):
            yield item
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())


def _manifest_cid(repo: pygit2.Repository, commit: str) -> CID | None:
    obj = as_commit(repo[commit])
    assert obj is not None
    tree = layout.commit_tree(repo, obj)
    if layout.MANIFEST not in tree:
        return None
    entry = tree[layout.MANIFEST]
    if entry.filemode != layout.BLOB:
        # No state `show` can read (read_state refuses it): the import goes on top, and the head
        # is a state again. A symlink's blob made it "nothing changed", a gitlink's absent
        # commit a missing object.
        return None
    return CID.of(layout.blob(repo, entry.id, f"the manifest of commit {commit}"))


def _write(
    store: Store,
    spool: Spool,
    root: CID,
    steps: list[_Step],
    experiment: str,
    counts: tuple[int, int],
) -> ImportSummary:
    repo = store.repo
    target = steps[-1].state
    history = steps[-1].history is not None
    states, blocks = counts
    # As every store writer does: the ref's lock first, so that a concurrent writer waits for
    # this import (or this one for it), and an import that cannot get the lock writes nothing.
    with locked_ref(repo, HEADS + experiment, wait=store.lock_wait) as held:
        head = held.current
        if head is not None:
            store.head(experiment)  # as above: it may have moved while the CAR was read

        def summary(commit: str, commits: int) -> ImportSummary:
            return ImportSummary(
                root=root,
                experiment=experiment,
                state=target,
                commit=commit,
                changed=commits > 0,
                created=head is None,
                history=history,
                states=states,
                commits=commits,
                blocks=blocks,
                ignored=spool.count - blocks,
            )

        if head is not None and _manifest_cid(repo, head) == target:
            return summary(head, 0)

        trees: dict[CID, pygit2.Oid] = {}
        present = _present_blobs(repo, head)
        # In a history most states share most blocks with the one before: each block's blob id
        # is found once (CID parse and spool read cost ~50 µs), at ~200 bytes a distinct block.
        known: dict[str, bytes] | None = {} if history else None
        with PackWriter(Path(repo.path) / "objects") as pack:
            for step in steps:
                if step.state not in trees:
                    trees[step.state] = _write_tree(repo, pack, spool, step.state, present, known)
            pack.finish()

        rebuilt: dict[CID, str] = {}
        for step in steps if history else ():
            assert step.history is not None
            data = spool.get(step.history)
            assert data is not None  # checked before anything is written
            body, trailers = split_trailers(HistoryBlock.decode(step.history, data).message)
            parents = [rebuilt[p] for p in step.parents]
            rebuilt[step.history] = store.write_commit(
                trees[step.state], parents, body, step.state, trailers
            )
        message = f"import: {'history' if history else 'state'} {root}"
        if head is None and history:
            new, commits = rebuilt[root], len(rebuilt)
        else:
            # On top of the experiment's head; a rebuilt history becomes the second parent.
            parents = ([] if head is None else [head]) + ([rebuilt[root]] if history else [])
            new, commits = (
                store.write_commit(trees[target], parents, message, target),
                len(rebuilt) + 1,
            )
        held.set(new, message=message, committer=f"{store.name} <{store.public_key.did}>")
        return summary(new, commits)


def _present_blobs(repo: pygit2.Repository, commit: str | None) -> set[bytes]:
    """The blob ids of the thoughts and blocks of ``commit``'s state: surely in the store.

    Asking libgit2 about a missing object rescans the pack directory (~80 µs), once per blob of
    an import; an import's blobs mostly either are the experiment's already or are new. Only
    regular files count: a gitlink names a commit the store need not hold, and one naming a
    block's blob id left that blob out of the pack, under the import's regular entry.
    """
    if commit is None:
        return set()
    obj = as_commit(repo[commit])
    assert obj is not None
    present: set[bytes] = set()
    tree = layout.commit_tree(repo, obj)
    for dirname in (layout.THOUGHTS, layout.BLOCKS):
        if dirname in tree:
            sub = read_tree(repo, tree[dirname].id, f"the {dirname} tree of tree {tree.id}")
            if isinstance(sub, pygit2.Tree):
                present.update(e.id.raw for e in sub if e.filemode == layout.BLOB)
    return present


def _write_tree(
    repo: pygit2.Repository,
    pack: PackWriter,
    spool: Spool,
    manifest: CID,
    present: set[bytes],
    known: dict[str, bytes] | None = None,
) -> pygit2.Oid:
    """Write the state tree ``layout.write_state`` would write, as pack objects.

    The links come off the checked manifest's bytes, not from a decoded ``State``, which for
    100,000 thoughts would hold ~35 MB of objects while the trees are built. ``known`` (if
    given) maps the CIDs of blocks already packed or present to their blob ids, and grows.
    """
    data = spool.get(manifest)
    assert data is not None  # checked before anything is written
    blocks, thoughts = manifest_links(data)
    entries = [(layout.MANIFEST, False, _put(repo, pack, OBJ_BLOB, data))]

    def packed(names: Iterable[str]) -> Iterator[tuple[str, bytes]]:
        for name in names:
            oid = None if known is None else known.get(name)
            if oid is None:
                found = spool.get_with_oid(CID.parse(name))
                assert found is not None
                oid, block = found
                if oid not in present:
                    pack.add(OBJ_BLOB, block, oid)
                if known is not None:
                    known[name] = oid
            yield name, oid

    for dirname, names in ((layout.THOUGHTS, thoughts), (layout.BLOCKS, iter(blocks))):
        # Every entry is a blob named by an ASCII CID string, in str order, which is git's.
        body = blob_tree(packed(names))
        if body:
            entries.append((dirname, True, _put(repo, pack, OBJ_TREE, body)))
    return pygit2.Oid(raw=_put(repo, pack, OBJ_TREE, tree_bytes(entries)))


def _put(repo: pygit2.Repository, pack: PackWriter, kind: int, data: bytes | bytearray) -> bytes:
    oid = git_oid(kind, data)
    if oid in pack:
        return oid
    if repo.odb.exists(pygit2.Oid(raw=oid)):
        # Freshened, as git freshens an object it would write again (libgit2's write of an
        # object it has only touches its file or pack): it may be unreachable and old, and a
        # `git gc` pruning beside this import would otherwise remove it just before the new
        # commit reaches it.
        repo.odb.write(kind, bytes(data))
    else:
        pack.add(kind, data, oid)
    return oid
