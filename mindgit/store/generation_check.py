"""Checking a run's generation trees: what the verifier and the gate run on every generation.

The run format itself (``run.json``, ``generation.json``) is :mod:`mindgit.store.generation`;
this module checks a whole generation tree against it: the module's bytes against its CID,
every state manifest (bytes against CID, schema, canonical form), every link present and every
entry linked. :class:`ManifestShape` is the template that lets all but one manifest of a
generation be checked by their gene values alone.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import compress, pairwise
from json.encoder import encode_basestring
from operator import itemgetter
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
        self._other_at = tuple(i for i, s in enumerate(slots) if s.kind != FLOAT_SLOT)
        # The float slots by their gene's bounds: (lo, hi, the slot texts' getter), and the
        # texts found valid within each: a generation's children inherit most of their values
        # from their parents, so most texts were seen before.
        at: dict[tuple[float, float], list[int]] = {}
        for i, slot in enumerate(slots):
            if slot.kind == FLOAT_SLOT:
                at.setdefault((slot.lo, slot.hi), []).append(i)
        self._float_groups = tuple((lo, hi, _getter(at[lo, hi])) for lo, hi in sorted(at))
        self._good_floats: list[set[str]] = [set() for _ in self._float_groups]

    def match(self, data: bytes) -> tuple[str, ...] | None:
        """The slot texts of a manifest of this shape, or None if it is not one (or invalid)."""
        texts = self._texts(data)
        if texts is None:
            return None
        return texts if self._floats_ok(texts) and self._others_ok(texts) else None

    def match_many(self, manifests: Sequence[bytes]) -> list[tuple[str, ...] | None]:
        """:meth:`match` of each manifest, their float values checked together: a generation's
        manifests share most of their values, and a few hundred new ones checked at once cost
        about what one manifest's eight checked alone do."""
        found = list(map(self._texts, manifests))
        held = [t for t in found if t is not None]
        for (lo, hi, texts_of), good in zip(self._float_groups, self._good_floats, strict=True):
            fresh: set[str] = set()
            for texts in held:
                fresh.update(texts_of(texts))
            fresh.difference_update(good)
            if fresh and not _fresh_ok(fresh, lo, hi, good):
                # Some value is invalid: which manifests hold one, each checked as match does.
                found = [t if t is None or self._floats_ok(t) else None for t in found]
                break
        return [t if t is not None and self._others_ok(t) else None for t in found]

    def _texts(self, data: bytes) -> tuple[str, ...] | None:
        """The slot texts if ``data`` has this shape, none of them checked yet."""
        if self._re is None:
            self._re = re.compile(_VALUE.join(re.escape(p) for p in self._pieces), re.DOTALL)
        try:
            m = self._re.fullmatch(data.decode("utf-8"))
        except UnicodeDecodeError:
            return None
        return None if m is None else m.groups()

    def _others_ok(self, texts: Sequence[str]) -> bool:
        """Whether every slot text but the floats' is a valid value of its gene."""
        for i in self._other_at:
            slot, t = self.slots[i], texts[i]
            kind = slot.kind
            if kind == INT_SLOT:
                # Over 17 characters is past 2**53 anyway, and int() refuses a text too long.
                if len(t) > 17 or not _INT_TEXT.fullmatch(t) or t == "-0":
                    return False
                v = int(t)
                if abs(v) > _MAX_SAFE_INT or not slot.lo <= v <= slot.hi:
                    return False
            elif kind == BOOL_SLOT:
                if t != "true" and t != "false":
                    return False
            elif t not in self._choices[i]:
                return False
        return True

    def _floats_ok(self, texts: Sequence[str]) -> bool:
        """Whether every float slot text is a canonical float within its gene's bounds."""
        for (lo, hi, texts_of), good in zip(self._float_groups, self._good_floats, strict=True):
            fresh = set(texts_of(texts)).difference(good)
            if fresh and not _fresh_ok(fresh, lo, hi, good):
                return False
        return True


def _getter(indices: Sequence[int]) -> Callable[[Sequence[str]], Sequence[str]]:
    """The texts at ``indices`` of a manifest's slot texts, taken in one call."""
    if len(indices) == 1:
        only = indices[0]
        return lambda texts: (texts[only],)
    return itemgetter(*indices)


def _fresh_ok(fresh: set[str], lo: float, hi: float, good: set[str]) -> bool:
    """Whether each text is a canonical float within [lo, hi]; remembered in ``good`` if all
    are."""
    if not _floats_valid(list(fresh), lo, hi):
        return False
    if len(good) > _MAX_GOOD_FLOATS:
        good.clear()
    good |= fresh
    return True


def _floats_valid(texts: Sequence[str], lo: float, hi: float) -> bool:
    """Whether each text (one at least) is a canonical float within [lo, hi]."""
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
    # Every value is a number here (float_text refuses nan and inf).
    return lo <= min(xs) and max(xs) <= hi


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
        return _missing(entry.id)
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
        # A record's state link texts (all it is read for here), or its problem.
        self.records: dict[tuple[pygit2.Oid, pygit2.Oid], tuple[str, ...] | str] = {}
        # Manifest blobs (by raw id) found valid and canonical: their CID's text and links.
        self.manifests: dict[bytes, tuple[str, frozenset[CID], frozenset[CID]]] = {}
        self.shape: tuple[ManifestShape, frozenset[CID], frozenset[CID]] | None = None
        self.dirs: dict[
            tuple[tuple[pygit2.Oid, int] | None, str, frozenset[str]], tuple[Problem, ...]
        ] = {}
        # State links read by the full record decoder, by text.
        self.cids: dict[str, CID] = {}
        # Texts found to be the CID of a state's bytes: each is str() of a dag-json CIDv1.
        self.named: set[str] = set()

    def trim(self) -> None:
        """Forget what grows with history (a gate may check a run of thousands of
        generations); what a generation shares with the last few is all that pays."""
        for memo in (self.manifests, self.cids, self.dirs, self.named):
            if len(memo) > _MEMO_ENTRIES:
                memo.clear()
        if len(self.records) > _MEMO_RECORDS:
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
        return _missing(oid)
    if kind != pygit2.enums.ObjectType.BLOB:
        return "not a blob"
    return bytes(data)


def _missing(oid: pygit2.Oid) -> str:
    # Its id, for `git fsck` and the repair docs/store.md gives: as verify names a lost blob.
    return f"blob {oid} is missing or cannot be read"


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
) -> tuple[str, ...] | str:
    """The state link texts of ``generation.json``, or its problem."""
    entry = entries.get(GENERATION_FILE)
    key = (entry.id, run) if entry is not None and entry.filemode == layout.BLOB else None
    if key is not None and key in memo.records:
        return memo.records[key]
    data = _file(odb, entries, GENERATION_FILE)
    if isinstance(data, str):
        return data
    links: tuple[str, ...] | str | None = GenerationRecord.canonical_links(
        data, info.params, memo.named
    )
    if links is None:
        try:
            record = GenerationRecord.decode(data, info.params, memo.cids)
        except RunFormatError as e:
            links = e.problem
        else:
            links = tuple(str(ind.state) for ind in record.individuals)
    if key is not None:
        memo.records[key] = links
    return links


# A CIDv1 dag-json sha2-256 as str() spells it: "b" and base32 of these 5 bytes and the digest
# (37 bytes: 60 characters, the last one's 4 low bits zero).
_STATE_PREFIX = b"\x01\xa9\x02\x12\x20"
_STATE_TEXT = re.compile("b[a-z2-7]{60}")
_STATE_TEXT_CHARS = 61
_STATE_TEXTS = re.compile("(?:b[a-z2-7]{60})*")
# int(text, 32) reads the digits 0-9a-v; RFC 4648's base32 alphabet mapped onto them.
_TO_INT_DIGITS = str.maketrans(
    "abcdefghijklmnopqrstuvwxyz234567", "0123456789abcdefghijklmnopqrstuv"
)


def names_digest(name: str, digest: bytes) -> bool:
    """Whether ``name`` is ``str(CID.of(data))`` for the bytes whose sha2-256 is ``digest``.

    Read back from the text (one integer) rather than the digest spelt out: a different
    text, or no text of a CID at all, reads as a different number or fails the pattern.
    """
    if _STATE_TEXT.fullmatch(name) is None:
        return False
    spelt = int(name[1:].translate(_TO_INT_DIGITS), 32)
    return spelt == int.from_bytes(_STATE_PREFIX + digest, "big") << 4


def names_digests(names: Sequence[str], digests: Sequence[bytes]) -> list[bool]:
    """:func:`names_digest` of each name and digest, read back as one number when every name
    is a CID text (as a generation's are): about a tenth of the time of one by one."""
    if (
        names
        and set(map(len, names)) == {_STATE_TEXT_CHARS}
        and _STATE_TEXTS.fullmatch("".join(names))
    ):
        # Every name is 61 characters, else a boundary between two could move unseen (past
        # an "a", which "aaa" hides). Three zero digits before each name make it 320 bits: 80
        # hex digits, "00001" (its "b"), the 37 bytes names_digest reads, and the last digit's
        # 4 spare bits (zero).
        spelt = int(("aaa" + "aaa".join(names)).translate(_TO_INT_DIGITS), 32)
        hexes = [(_STATE_PREFIX + digest).hex() for digest in digests]
        if format(spelt, f"0{80 * len(names)}x") == "00001" + "000001".join(hexes) + "0":
            return [True] * len(names)
    return [names_digest(n, d) for n, d in zip(names, digests, strict=True)]


def _read_state(odb: pygit2.Odb, oid: bytes) -> bytes | str:
    """A state file's bytes, or why it cannot be a manifest."""
    # _read_blob's reading, inline: this runs once per state.
    try:
        kind, data = odb.read(pygit2.Oid(raw=oid))
    except KeyError:
        return _missing(pygit2.Oid(raw=oid))
    if kind != _BLOB_KIND:
        return "not a blob"
    if len(data) > MAX_MANIFEST_BYTES:
        return f"{len(data)} bytes is over the {MAX_MANIFEST_BYTES}-byte limit"
    return bytes(data)


def _hash_state(odb: pygit2.Odb, name: str, oid: bytes) -> tuple[bytes | str, bool]:
    """A state file's bytes and whether ``name`` is their CID's text, or why it cannot be a
    manifest."""
    data = _read_state(odb, oid)
    if isinstance(data, str):
        return data, False
    return data, names_digest(name, hashlib.sha256(data).digest())


def _hash_states(
    memo: _Memo, odb: pygit2.Odb, present: Mapping[str, tuple[bytes, int]]
) -> dict[str, tuple[bytes | str, bool]]:
    """Each state file not yet remembered, read and hashed; every state whose name is its CID
    goes into ``memo.named``, so that the record's links are known to be canonical."""
    kept: list[tuple[str, bytes | str]] = []
    budget = _HASHED_BYTES  # bytes kept for the checks to come; past it, those read again
    named = memo.named
    names: list[str] = []
    digests: list[bytes] = []
    for name, (oid, mode) in present.items():
        if mode != layout.BLOB:
            continue
        known = memo.manifests.get(oid)
        if known is not None:
            if known[0] == name:
                named.add(name)
            continue
        data = _read_state(odb, oid)
        if budget >= len(data):
            budget -= len(data)
            kept.append((name, data))
        if isinstance(data, bytes):
            names.append(name)
            digests.append(hashlib.sha256(data).digest())
    # The names are checked against their digests all at once.
    good = set(compress(names, names_digests(names, digests)))
    named |= good
    return {name: (data, name in good) for name, data in kept}


def states_listing(
    odb: pygit2.Odb, states: pygit2.Tree | str | None
) -> tuple[dict[str, tuple[bytes, int]], pygit2.Tree | str | None]:
    """The states directory's entries (name -> raw id, mode), and ``states`` or the reason it
    is no directory to read.

    A directory of state files only, as a run writes it, is read from its raw bytes; any
    other is read through libgit2 and checked to be in git's order."""
    if not isinstance(states, pygit2.Tree):
        return {}, states
    try:
        _, raw = odb.read(states.id)
    except KeyError:
        raw = b""
    found = _STATE_ENTRY.findall(raw)
    names = [name for name, _ in found]
    # Matches cannot overlap: they tile the tree when they add up to all of it. Names of
    # files only are in git's order when they are in bytes order.
    if (
        raw
        and _STATE_ENTRY_BYTES * len(found) == len(raw)
        and all(a < b for a, b in pairwise(names))
    ):
        return {name.decode("ascii"): (oid, _BLOB_MODE) for name, oid in found}, states
    return states_listing_in_full(states)


def states_listing_in_full(
    states: pygit2.Tree,
) -> tuple[dict[str, tuple[bytes, int]], pygit2.Tree | str]:
    """The states directory's entries as libgit2 reads them, if they are in git's order."""
    listed = list(states)
    if not in_git_order(listed):
        return {}, NOT_WELL_FORMED
    return {e.name or "": (e.id.raw, int(e.filemode)) for e in listed}, states


_STATE_ENTRY = re.compile(rb"100644 (b[a-z2-7]{60})\0(.{20})", re.DOTALL)
_STATE_ENTRY_BYTES = len(b"100644 ") + 61 + 1 + 20
_BLOB_KIND = int(pygit2.enums.ObjectType.BLOB)
_BLOB_MODE = int(layout.BLOB)


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
    present, states = states_listing(odb, _subtree(repo, tree, STATES))
    # The states are read before the record, so that each link the record names is known as
    # the CID of bytes already hashed, instead of being parsed from its text again.
    hashed = _hash_states(memo, odb, present)
    links = _record(memo, odb, entries, entries[RUN_FILE].id, info)
    if isinstance(links, str):
        yield GENERATION_FILE, links
        return
    if not isinstance(states, pygit2.Tree):
        yield STATES, states or "missing"
        return
    wanted = set(links)
    for name in sorted(set(present) - wanted):
        yield f"{STATES}/{name}", "not linked from generation.json"
    thoughts: set[CID] = set()
    blocks: set[CID] = set()
    todo = sorted(wanted)
    matched: dict[str, tuple[str, ...] | None] | None = None
    for at, name in enumerate(todo):
        entry = present.get(name)
        where = f"state {name}"
        if entry is None:
            yield where, "linked from generation.json but missing"
            continue
        oid, mode = entry
        if mode != layout.BLOB:
            yield where, "not a regular file"
            continue
        known = memo.manifests.get(oid)
        if known is not None:
            if known[0] != name:
                yield where, f"bytes hash to {known[0]}, not to their name"
            else:
                thoughts |= known[1]
                blocks |= known[2]
            continue
        data, named = hashed.get(name) or _hash_state(odb, name, oid)
        if isinstance(data, str):
            yield where, data
            continue
        # Each link is str() of a CID (the record is canonical): the same text, the same CID.
        if not named:
            yield where, f"bytes hash to {CID.of(data)}, not to their name"
            continue
        # The states of a run differ in gene values only: after one full parse, the others
        # are checked against its shape, ~100x faster; anything else gets the full parse.
        shape = memo.shape
        fits = False
        if shape is not None:
            if matched is None:
                # The shape is fixed from now on: the states still to come are matched at once.
                matched = _match_rest(shape[0], todo[at:], present, hashed)
            fits = (matched[name] if name in matched else shape[0].match(data)) is not None
        if shape is not None and fits:
            # The shape's links are literal text in it: a manifest it matches links the same.
            links_of = shape[1], shape[2]
        else:
            try:
                state = parse_manifest(data, CID.of(data))
            except SchemaError as e:
                yield where, e.problem
                continue
            if state.manifest().data != data:
                yield where, "not in canonical form for its schema"
                continue
            links_of = state.thoughts, state.blocks
            if shape is None:
                memo.shape = (ManifestShape(state), *links_of)
        memo.manifests[oid] = (name, *links_of)
        thoughts |= links_of[0]
        blocks |= links_of[1]
    for dirname, kind, linked in ((THOUGHTS, "thought", thoughts), (BLOCKS, "block", blocks)):
        yield from _check_linked_dir(memo, repo, entries, dirname, kind, linked, blob_check)


def _match_rest(
    shape: ManifestShape,
    names: Sequence[str],
    present: Mapping[str, tuple[bytes, int]],
    hashed: Mapping[str, tuple[bytes | str, bool]],
) -> dict[str, tuple[str, ...] | None]:
    """``shape.match`` of each state of ``names`` held in ``hashed``, matched at once."""
    held = []
    for name in names:
        entry = present.get(name)
        read = hashed.get(name)
        if entry is not None and read is not None and isinstance(read[0], bytes) and read[1]:
            held.append((name, read[0]))
    return dict(zip([n for n, _ in held], shape.match_many([d for _, d in held]), strict=True))


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
