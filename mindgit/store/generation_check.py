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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
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

Problems = Iterator[tuple[str | None, str]]
BlobCheck = Callable[[pygit2.Oid, CID, bool], str | None]

FLOAT_SLOT, INT_SLOT, BOOL_SLOT, CHOICE_SLOT = 0, 1, 2, 3
_SENTINEL = "\x00mindgit-value\x00"
_QUOTED_SENTINEL = encode_basestring(_SENTINEL)
_VALUE = r'("(?:[^"\\]|\\.)*"|[^,\]}"]*)'
_INT_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_MAX_SAFE_INT = 2**53 - 1


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
        texts = m.groups()
        float_text = dagjson.float_text
        for slot, choices, t in zip(self.slots, self._choices, texts, strict=True):
            kind = slot.kind
            if kind == FLOAT_SLOT:
                try:
                    x = float(t)
                    if float_text(x) != t:
                        return None
                except (ValueError, MindgitError):
                    return None
                if not slot.lo <= x <= slot.hi:
                    return None
            elif kind == INT_SLOT:
                if not _INT_TEXT.fullmatch(t) or t == "-0":
                    return None
                v = int(t)
                if abs(v) > _MAX_SAFE_INT or not slot.lo <= v <= slot.hi:
                    return None
            elif kind == BOOL_SLOT:
                if t != "true" and t != "false":
                    return None
            elif t not in choices:
                return None
        return texts


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
    obj = repo.get(tree[name].id)
    if not isinstance(obj, pygit2.Tree):
        return "is not a directory"
    return obj


def check_generation_tree(
    repo: pygit2.Repository, tree: pygit2.Tree, blob_check: BlobCheck
) -> Problems:
    """Problems of a run generation tree as (object, reason) pairs; nothing means it is valid.

    Checks ``run.json`` and ``generation.json`` (schema, canonical form, run id), the module's
    bytes against its CID, every state manifest (bytes against CID, schema, canonical form) and
    that every link is present and every entry linked.
    """
    allowed = {RUN_FILE, GENERATION_FILE, MODULE_FILE, STATES, THOUGHTS, BLOCKS}
    for name in sorted({e.name or "" for e in tree} - allowed):
        yield name, "unexpected entry in a run generation tree"
    run_data = blob_or_problem(repo, tree, RUN_FILE)
    if isinstance(run_data, str):
        yield RUN_FILE, run_data
        return
    try:
        info = RunInfo.decode(run_data)
    except RunFormatError as e:
        yield RUN_FILE, e.problem
        return
    module = blob_or_problem(repo, tree, MODULE_FILE)
    if isinstance(module, str):
        yield MODULE_FILE, module
    elif CID.of(module, RAW) != info.module:
        yield MODULE_FILE, f"bytes hash to {CID.of(module, RAW)}, not to run.json's {info.module}"
    elif not module.startswith(WASM_MAGIC):
        yield MODULE_FILE, "is not a WebAssembly binary"
    gen_data = blob_or_problem(repo, tree, GENERATION_FILE)
    if isinstance(gen_data, str):
        yield GENERATION_FILE, gen_data
        return
    try:
        record = GenerationRecord.decode(gen_data, info.params)
    except RunFormatError as e:
        yield GENERATION_FILE, e.problem
        return
    states = _subtree(repo, tree, STATES)
    if not isinstance(states, pygit2.Tree):
        yield STATES, states or "missing"
        return
    present = {e.name or "": e for e in states}
    wanted = {str(ind.state): ind.state for ind in record.individuals}
    for name in sorted(set(present) - set(wanted)):
        yield f"{STATES}/{name}", "not linked from generation.json"
    linked: dict[str, dict[str, CID]] = {THOUGHTS: {}, BLOCKS: {}}
    shape: ManifestShape | None = None
    for name, cid in sorted(wanted.items()):
        entry = present.get(name)
        where = f"state {name}"
        if entry is None:
            yield where, "linked from generation.json but missing"
            continue
        if entry.filemode != layout.BLOB:
            yield where, "not a regular file"
            continue
        blob = repo.get(entry.id)
        if not isinstance(blob, pygit2.Blob):
            yield where, "blob missing" if blob is None else "not a blob"
            continue
        if blob.size > MAX_MANIFEST_BYTES:
            yield where, f"{blob.size} bytes is over the {MAX_MANIFEST_BYTES}-byte limit"
            continue
        data = blob.read_raw()
        if CID.of(data) != cid:
            yield where, f"bytes hash to {CID.of(data)}, not to their name"
            continue
        # The states of a run differ in gene values only: after one full parse, the others
        # are checked against its shape, ~100x faster; anything else gets the full parse.
        if shape is not None and shape.match(data) is not None:
            continue
        try:
            state = parse_manifest(data, cid)
        except SchemaError as e:
            yield where, e.problem
            continue
        if state.manifest().data != data:
            yield where, "not in canonical form for its schema"
            continue
        linked[THOUGHTS].update((str(c), c) for c in state.thoughts)
        linked[BLOCKS].update((str(c), c) for c in state.blocks)
        if shape is None:
            shape = ManifestShape(state)
    for dirname, kind in ((THOUGHTS, "thought"), (BLOCKS, "block")):
        yield from _check_linked_dir(repo, tree, dirname, kind, linked[dirname], blob_check)


def _check_linked_dir(
    repo: pygit2.Repository,
    tree: pygit2.Tree,
    dirname: str,
    kind: str,
    wanted: Mapping[str, CID],
    blob_check: BlobCheck,
) -> Problems:
    sub = _subtree(repo, tree, dirname)
    if isinstance(sub, str):
        yield dirname, sub
        return
    have = {e.name or "": e for e in sub} if sub is not None else {}
    for name in sorted(set(have) - set(wanted)):
        yield f"{dirname}/{name}", "not linked from any state"
    for name, cid in sorted(wanted.items()):
        entry = have.get(name)
        if entry is None:
            yield f"{kind} {name}", "linked from a state but missing"
        elif entry.filemode != layout.BLOB:
            yield f"{kind} {name}", "not a regular file"
        else:
            # Memories and data are opaque canonical blocks; only thoughts have a schema.
            problem = blob_check(entry.id, cid, kind != "thought")
            if problem is not None:
                yield f"{kind} {name}", problem


def check_fitness_tree(repo: pygit2.Repository, tree: pygit2.Tree) -> Problems:
    """Problems of a fitness module tree (``fitness.json`` + ``module.wasm``)."""
    from mindgit.store.fitness_store import check_fitness_module_tree

    yield from check_fitness_module_tree(repo, tree)
