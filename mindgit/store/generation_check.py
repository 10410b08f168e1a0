"""Checking a run's generation trees: what the verifier and the gate run on every generation.

The run format itself (``run.json``, ``generation.json``) is :mod:`mindgit.store.generation`;
this module checks a whole generation tree against it: the module's bytes against its CID,
every state manifest (bytes against CID, schema, canonical form), every link present and every
entry linked. :class:`ManifestShape` is the template that lets all but one manifest of a
generation be checked by their gene values alone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import pairwise
from json.encoder import encode_basestring
from typing import Any

import pygit2

from mindgit.errors import MindgitError
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID, RAW
from mindgit.store import layout
from mindgit.store.generation import (
    BLOCKS,
    GENERATION_FILE,
    MODULE_FILE,
    RUN_FILE,
    STATES,
    THOUGHTS,
    WASM_MAGIC,
    GenerationRecord,
    RunFormatError,
    RunInfo,
)
from mindgit.store.state import SchemaError, State, parse_manifest

MAX_MANIFEST_BYTES = 16 << 20
# A generation's states kept in memory between being hashed and being checked, at most.
_HASHED_BYTES = 16 << 20
# Entries a gate run's memo of manifests, links, records and directories holds, at most each.
_MEMO_ENTRIES = 1 << 16
_MEMO_RECORDS = 64

Problems = Iterator[tuple[str | None, str]]
BlobCheck = Callable[[pygit2.Oid, CID, bool], str | None]

FLOAT_SLOT, INT_SLOT, BOOL_SLOT, CHOICE_SLOT = 0, 1, 2, 3
_SENTINEL = "\x00mindgit-value\x00"
_QUOTED_SENTINEL = encode_basestring(_SENTINEL)
_VALUE = r'("(?:[^"\\]|\\.)*"|[^,\]}"]*)'
_INT_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_MAX_SAFE_INT = 2**53 - 1
_MAX_GOOD_FLOATS = 1 << 16


@dataclass(frozen=True, slots=True)
class ValueSlot:
    """One gene value of a manifest shape: a float/int/bool/choice gene or a ``floats`` element."""

    gene: str
    kind: int
    lo: float
    hi: float
    choices: tuple[str, ...] = ()


class ManifestShape:
    """The manifests that differ from ``state``'s only in gene values, as a template.

    Every gene value (each element of a ``floats`` gene) is a slot, in gene-name order (the
    canonical order); keys, bounds, fixed genes and thought links are literal text. ``template``
    is a ``%``-format string that spells a manifest from its slot texts (``pieces`` is the same
    text split at the slots); ``match`` reads the
    slot texts back, accepting exactly the manifests that ``parse_manifest`` accepts and
    re-encodes to the same bytes.
    """

    def __init__(self, state: State) -> None:
        slots: list[ValueSlot] = []
        genome: dict[str, Any] = {}
        for gene in state.genome.genes:
            node = gene.to_node()
            lo = -math.inf if gene.min is None else gene.min
            hi = math.inf if gene.max is None else gene.max
            if gene.kind == "floats":
                n = len(gene.value)  # type: ignore[arg-type]
                slots.extend(ValueSlot(gene.name, FLOAT_SLOT, lo, hi) for _ in range(n))
                node["value"] = [_SENTINEL] * n
            elif gene.kind != "str":
                kind = {"float": FLOAT_SLOT, "int": INT_SLOT, "bool": BOOL_SLOT}.get(
                    gene.kind, CHOICE_SLOT
                )
                slots.append(ValueSlot(gene.name, kind, lo, hi, gene.choices or ()))
                node["value"] = _SENTINEL
            genome[gene.name] = node
        manifest: dict[str, Any] = {
            "genome": genome,
            "schema": 1,
            "thoughts": sorted(state.thoughts, key=str),
        }
        if state.memories:
            manifest["memories"] = dict(state.memories)
        if state.data:
            manifest["data"] = dict(state.data)
        text = dagjson.encode(manifest).decode()
        pieces = text.split(_QUOTED_SENTINEL)
        if len(pieces) != len(slots) + 1:
            raise MindgitError("a gene's text collides with the manifest template's marker")
        self.slots = tuple(slots)
        self.template = "%s".join(p.replace("%", "%%") for p in pieces)
        self.pieces = tuple(pieces)  # the literal text around the slots: len(slots) + 1 pieces
        self._pieces = pieces
        self._re: re.Pattern[str] | None = None  # compiled on first use: only readers need it
        self._choices = [frozenset(encode_basestring(c) for c in s.choices) for s in slots]
        self._float_at = tuple(i for i, s in enumerate(slots) if s.kind == FLOAT_SLOT)
        self._other_at = tuple(i for i, s in enumerate(slots) if s.kind != FLOAT_SLOT)
        self._floats_only = not self._other_at
        bounds = sorted({(slots[i].lo, slots[i].hi) for i in self._float_at})
        self._bounds = tuple(bounds)
        self._float_group = tuple(bounds.index((slots[i].lo, slots[i].hi)) for i in self._float_at)
        # (bounds, text) of float values found valid: a generation's children inherit most of
        # their values from their parents, so most texts were seen before.
        self._good_floats: set[tuple[int, str]] = set()

    def match(self, data: bytes) -> tuple[str, ...] | None:
        """The slot texts of a manifest of this shape, or None if it is not one (or invalid)."""
        if self._re is None:
            self._re = re.compile(_VALUE.join(re.escape(p) for p in self._pieces), re.DOTALL)
        try:
            m = self._re.fullmatch(data.decode("utf-8"))
        except UnicodeDecodeError:
            return None
        if m is None:
            return None
        texts: tuple[str, ...] = m.groups()
        floats = texts if self._floats_only else [texts[i] for i in self._float_at]
        if floats and not self._floats_ok(floats):
            return None
        for i in self._other_at:
            slot, t = self.slots[i], texts[i]
            kind = slot.kind
            if kind == INT_SLOT:
                if not _INT_TEXT.fullmatch(t) or t == "-0":
                    return None
                v = int(t)
                if abs(v) > _MAX_SAFE_INT or not slot.lo <= v <= slot.hi:
                    return None
            elif kind == BOOL_SLOT:
                if t != "true" and t != "false":
                    return None
            elif t not in self._choices[i]:
                return None
        return texts

    def _floats_ok(self, texts: Sequence[str]) -> bool:
        """Whether every float slot text is a canonical float within its gene's bounds."""
        good = self._good_floats
        fresh = set(zip(self._float_group, texts, strict=True)).difference(good)
        if not fresh:
            return True
        ranges = [self._bounds[g] for g, _ in fresh]
        if not _floats_valid([t for _, t in fresh], ranges):
            return False
        if len(good) > _MAX_GOOD_FLOATS:
            good.clear()
        good |= fresh
        return True


def _floats_valid(texts: Sequence[str], ranges: Sequence[tuple[float, float]]) -> bool:
    """Whether each text is a canonical float within its (lo, hi) range."""
    try:
        xs = list(map(float, texts))
    except ValueError:
        return False
    # A canonical float text is Python's repr but for integral values (no ".0"), exponent
    # forms, and the non-numbers the data model refuses ("inf", "nan" hold an "n"). When
    # every text is its repr and none of those, the texts are canonical; checked in bulk,
    # as one generation's floats almost always are. Otherwise the exact rule, one by one.
    joined = ",".join(texts) + ","
    reprs = list(map(float.__repr__, xs))
    if reprs != list(texts) or "e" in joined or "n" in joined or ".0," in joined:
        float_text = dagjson.float_text
        for x, t, r in zip(xs, texts, reprs, strict=True):
            if r == t and "e" not in t and "n" not in t and t[-2:] != ".0":
                continue
            try:
                if float_text(x) != t:
                    return False
            except MindgitError:
                return False
    return all(lo <= x <= hi for x, (lo, hi) in zip(xs, ranges, strict=True))


def read_manifest(repo: pygit2.Repository, tree: pygit2.Tree, cid: CID) -> bytes:
    """The bytes of one state of a generation tree."""
    states = repo[tree[STATES].id]
    assert isinstance(states, pygit2.Tree)
    name = str(cid)
    if name not in states:
        raise RunFormatError(f"generation tree {tree.id}", f"has no state {cid}")
    data: bytes = repo[states[name].id].read_raw()
    return data


def blob_or_problem(repo: pygit2.Repository, tree: pygit2.Tree, name: str) -> bytes | str:
    """The bytes of a regular file entry, or the reason it is not one."""
    if name not in tree:
        return "missing"
    entry = tree[name]
    if entry.filemode != layout.BLOB:
        return "not a regular file"
    obj = repo.get(entry.id)
    if obj is None:
        return "blob missing"
    if not isinstance(obj, pygit2.Blob):
        return "not a blob"
    data: bytes = obj.read_raw()
    return data


def _subtree(repo: pygit2.Repository, tree: pygit2.Tree, name: str) -> pygit2.Tree | str | None:
    if name not in tree:
        return None
    entry = tree[name]
    # The mode says what an entry is (as in a state tree): a file's naming a tree is no directory.
    obj = repo.get(entry.id) if entry.filemode == layout.TREE else None
    if not isinstance(obj, pygit2.Tree):
        return "is not a directory"
    return obj


NOT_WELL_FORMED = "is not a well-formed tree"


def in_git_order(entries: Sequence[pygit2.Object]) -> bool:
    """Whether a tree's ``entries`` name each entry once, in git's order (a directory's name
    compared as if it ended in "/"). libgit2 finds a name by binary search, so in any other
    tree its readers (``read_manifest``, say) may find other entries, or none, than those
    checked."""
    names = [e.raw_name or b"" for e in entries]
    # Names of one length (a directory of CIDs) are none a prefix of another, so the "/" a
    # directory's name gains cannot change their order: the (slower to read) modes are needed
    # only otherwise.
    if len(set(map(len, names))) <= 1:
        return names == sorted(names) and len(set(names)) == len(names)
    keys = [
        name + b"/" if e.filemode == layout.TREE else name
        for name, e in zip(names, entries, strict=True)
    ]
    return all(a < b for a, b in pairwise(keys)) and len(set(names)) == len(names)


class _Memo:
    """What one gate run learnt about objects, by object id: each is checked once.

    Only facts that the object ids decide are kept (an object's bytes are its id), and only for
    the length of one :func:`remembering` block, during which no object leaves the repository.
    """

    def __init__(self) -> None:
        self.runs: dict[pygit2.Oid, RunInfo | str] = {}
        self.modules: dict[tuple[pygit2.Oid, CID], str | None] = {}
        self.records: dict[tuple[pygit2.Oid, pygit2.Oid], GenerationRecord | str] = {}
        # Manifest blobs found valid and canonical: their CID and links.
        self.manifests: dict[pygit2.Oid, tuple[CID, frozenset[CID], frozenset[CID]]] = {}
        self.shape: tuple[ManifestShape, frozenset[CID], frozenset[CID]] | None = None
        self.dirs: dict[
            tuple[tuple[pygit2.Oid, int] | None, str, frozenset[str]], tuple[Problem, ...]
        ] = {}
        self.cids: dict[str, CID] = {}

    def trim(self) -> None:
        """Forget what grows with history (a gate may check a run of thousands of
        generations); what a generation shares with the last few is all that pays."""
        for memo in (self.manifests, self.cids, self.dirs):
            if len(memo) > _MEMO_ENTRIES:
                memo.clear()
        if len(self.records) > _MEMO_RECORDS:  # each holds a whole population
            self.records.clear()


Problem = tuple[str | None, str]
_MEMO: ContextVar[tuple[pygit2.Repository, _Memo] | None] = ContextVar("_MEMO", default=None)


@contextmanager
def remembering(repo: pygit2.Repository) -> Iterator[None]:
    """Within the block, generation trees of ``repo`` share their checks of common objects.

    The generations of a run hold the same ``run.json`` and module, mostly the same manifests
    shape, and often the same manifests: a gate checking a whole run checks each of them once.
    """
    token = _MEMO.set((repo, _Memo()))
    try:
        yield
    finally:
        _MEMO.reset(token)


def _memo_for(repo: pygit2.Repository) -> _Memo:
    scope = _MEMO.get()
    if scope is not None and scope[0] is repo:
        return scope[1]
    return _Memo()  # outside a block: remembered for this one tree only


def _read_blob(odb: pygit2.Odb, oid: pygit2.Oid) -> bytes | str:
    """A blob's bytes (one read, no object built), or why it is not a blob."""
    try:
        kind, data = odb.read(oid)
    except KeyError:
        return "blob missing"
    if kind != pygit2.enums.ObjectType.BLOB:
        return "not a blob"
    return bytes(data)


def _file(odb: pygit2.Odb, entries: Mapping[str, pygit2.Object], name: str) -> bytes | str:
    entry = entries.get(name)
    if entry is None:
        return "missing"
    if entry.filemode != layout.BLOB:
        return "not a regular file"
    return _read_blob(odb, entry.id)


def _run_info(memo: _Memo, odb: pygit2.Odb, entries: Mapping[str, pygit2.Object]) -> RunInfo | str:
    entry = entries.get(RUN_FILE)
    if entry is not None and entry.filemode == layout.BLOB and entry.id in memo.runs:
        return memo.runs[entry.id]
    data = _file(odb, entries, RUN_FILE)
    if isinstance(data, str):
        return data
    try:
        info: RunInfo | str = RunInfo.decode(data)
    except RunFormatError as e:
        info = e.problem
    assert entry is not None
    memo.runs[entry.id] = info
    return info


def _module_problem(
    memo: _Memo, odb: pygit2.Odb, entries: Mapping[str, pygit2.Object], info: RunInfo
) -> str | None:
    entry = entries.get(MODULE_FILE)
    key = (entry.id, info.module) if entry is not None and entry.filemode == layout.BLOB else None
    if key is not None and key in memo.modules:
        return memo.modules[key]
    module = _file(odb, entries, MODULE_FILE)
    problem: str | None = None
    if isinstance(module, str):
        problem = module
    elif CID.of(module, RAW) != info.module:
        problem = f"bytes hash to {CID.of(module, RAW)}, not to run.json's {info.module}"
    elif not module.startswith(WASM_MAGIC):
        problem = "is not a WebAssembly binary"
    if key is not None:
        memo.modules[key] = problem
    return problem


def _record(
    memo: _Memo,
    odb: pygit2.Odb,
    entries: Mapping[str, pygit2.Object],
    run: pygit2.Oid,
    info: RunInfo,
) -> GenerationRecord | str:
    entry = entries.get(GENERATION_FILE)
    key = (entry.id, run) if entry is not None and entry.filemode == layout.BLOB else None
    if key is not None and key in memo.records:
        return memo.records[key]
    data = _file(odb, entries, GENERATION_FILE)
    if isinstance(data, str):
        return data
    try:
        record: GenerationRecord | str = GenerationRecord.decode(data, info.params, memo.cids)
    except RunFormatError as e:
        record = e.problem
    if key is not None:
        memo.records[key] = record
    return record


def _hash_state(odb: pygit2.Odb, entry: pygit2.Object) -> tuple[bytes | str, CID | None]:
    """A state file's bytes and their CID, or why it cannot be a manifest."""
    data = _read_blob(odb, entry.id)
    if isinstance(data, str):
        return data, None
    if len(data) > MAX_MANIFEST_BYTES:
        return f"{len(data)} bytes is over the {MAX_MANIFEST_BYTES}-byte limit", None
    return data, CID.of(data)


def _hash_states(
    memo: _Memo, odb: pygit2.Odb, present: Mapping[str, pygit2.Object]
) -> dict[str, tuple[bytes | str, CID | None]]:
    """Each state file not yet remembered, read and hashed; every state whose name is its CID
    goes into ``memo.cids`` (with its text, so the record's canonical spelling costs nothing)."""
    hashed: dict[str, tuple[bytes | str, CID | None]] = {}
    budget = _HASHED_BYTES  # bytes kept for the checks to come; past it, those read again
    for name, entry in present.items():
        if entry.filemode != layout.BLOB:
            continue
        known = memo.manifests.get(entry.id)
        if known is not None:
            cid: CID | None = known[0]
        else:
            read = _hash_state(odb, entry)
            cid = read[1]
            if budget >= len(read[0]):
                budget -= len(read[0])
                hashed[name] = read
        if cid is not None and str(cid) == name:
            memo.cids[name] = cid
    return hashed


def check_generation_tree(
    repo: pygit2.Repository, tree: pygit2.Tree, blob_check: BlobCheck
) -> Problems:
    """Problems of a run generation tree as (object, reason) pairs; nothing means it is valid.

    Checks ``run.json`` and ``generation.json`` (schema, canonical form, run id), the module's
    bytes against its CID, every state manifest (bytes against CID, schema, canonical form) and
    that every link is present and every entry linked. Inside :func:`remembering`, objects that
    several trees share are checked once.
    """
    memo = _memo_for(repo)
    memo.trim()
    odb = repo.odb
    entries = {e.name or "": e for e in tree}
    allowed = {RUN_FILE, GENERATION_FILE, MODULE_FILE, STATES, THOUGHTS, BLOCKS}
    for name in sorted(set(entries) - allowed):
        yield name, "unexpected entry in a run generation tree"
    info = _run_info(memo, odb, entries)
    if isinstance(info, str):
        yield RUN_FILE, info
        return
    module_problem = _module_problem(memo, odb, entries, info)
    if module_problem is not None:
        yield MODULE_FILE, module_problem
    states = _subtree(repo, tree, STATES)
    listed = list(states) if isinstance(states, pygit2.Tree) else []
    if isinstance(states, pygit2.Tree) and not in_git_order(listed):
        states, listed = NOT_WELL_FORMED, []
    present = {e.name or "": e for e in listed}
    # The states are read before the record, so that each link the record names is known as
    # the CID of bytes already hashed, instead of being parsed from its text again.
    hashed = _hash_states(memo, odb, present)
    record = _record(memo, odb, entries, entries[RUN_FILE].id, info)
    if isinstance(record, str):
        yield GENERATION_FILE, record
        return
    if not isinstance(states, pygit2.Tree):
        yield STATES, states or "missing"
        return
    wanted = {str(ind.state): ind.state for ind in record.individuals}
    for name in sorted(set(present) - set(wanted)):
        yield f"{STATES}/{name}", "not linked from generation.json"
    thoughts: set[CID] = set()
    blocks: set[CID] = set()
    for name, cid in sorted(wanted.items()):
        entry = present.get(name)
        where = f"state {name}"
        if entry is None:
            yield where, "linked from generation.json but missing"
            continue
        if entry.filemode != layout.BLOB:
            yield where, "not a regular file"
            continue
        known = memo.manifests.get(entry.id)
        if known is not None:
            if known[0] != cid:
                yield where, f"bytes hash to {known[0]}, not to their name"
            else:
                thoughts |= known[1]
                blocks |= known[2]
            continue
        data, actual = hashed.get(name) or _hash_state(odb, entry)
        if isinstance(data, str):
            yield where, data
            continue
        if actual != cid:
            yield where, f"bytes hash to {actual}, not to their name"
            continue
        # The states of a run differ in gene values only: after one full parse, the others
        # are checked against its shape, ~100x faster; anything else gets the full parse.
        shape = memo.shape
        if shape is not None and shape[0].match(data) is not None:
            # The shape's links are literal text in it: a manifest it matches links the same.
            links = shape[1], shape[2]
        else:
            try:
                state = parse_manifest(data, cid)
            except SchemaError as e:
                yield where, e.problem
                continue
            if state.manifest().data != data:
                yield where, "not in canonical form for its schema"
                continue
            links = state.thoughts, state.blocks
            if shape is None:
                memo.shape = (ManifestShape(state), *links)
        memo.manifests[entry.id] = (cid, *links)
        thoughts |= links[0]
        blocks |= links[1]
    for dirname, kind, linked in ((THOUGHTS, "thought", thoughts), (BLOCKS, "block", blocks)):
        yield from _check_linked_dir(memo, repo, entries, dirname, kind, linked, blob_check)


def _check_linked_dir(
    memo: _Memo,
    repo: pygit2.Repository,
    entries: Mapping[str, pygit2.Object],
    dirname: str,
    kind: str,
    linked: set[CID],
    blob_check: BlobCheck,
) -> Problems:
    wanted = {str(c): c for c in linked}
    entry = entries.get(dirname)
    key = (None if entry is None else (entry.id, entry.filemode), dirname, frozenset(wanted))
    cached = memo.dirs.get(key)
    if cached is None:
        cached = tuple(_linked_dir_problems(repo, entry, dirname, kind, wanted, blob_check))
        memo.dirs[key] = cached
    yield from cached


def _linked_dir_problems(
    repo: pygit2.Repository,
    entry: pygit2.Object | None,
    dirname: str,
    kind: str,
    wanted: Mapping[str, CID],
    blob_check: BlobCheck,
) -> Problems:
    have: dict[str, pygit2.Object] = {}
    if entry is not None:
        sub = repo.get(entry.id) if entry.filemode == layout.TREE else None
        if not isinstance(sub, pygit2.Tree):
            yield dirname, "is not a directory"
            return
        listed = list(sub)
        if not in_git_order(listed):
            yield dirname, NOT_WELL_FORMED
            return
        have = {e.name or "": e for e in listed}
    for name in sorted(set(have) - set(wanted)):
        yield f"{dirname}/{name}", "not linked from any state"
    for name, cid in sorted(wanted.items()):
        found = have.get(name)
        if found is None:
            yield f"{kind} {name}", "linked from a state but missing"
        elif found.filemode != layout.BLOB:
            yield f"{kind} {name}", "not a regular file"
        else:
            # Memories and data are opaque canonical blocks; only thoughts have a schema.
            problem = blob_check(found.id, cid, kind != "thought")
            if problem is not None:
                yield f"{kind} {name}", problem


def check_fitness_tree(repo: pygit2.Repository, tree: pygit2.Tree) -> Problems:
    """Problems of a fitness module tree (``fitness.json`` + ``module.wasm``)."""
    from mindgit.store.fitness_store import check_fitness_module_tree

    yield from check_fitness_module_tree(repo, tree)
