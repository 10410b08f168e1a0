"""Fitness modules kept in the store, each on ``refs/fitness/<name>``.

A module is a signed commit whose tree holds ``module.wasm`` (the exact wasm bytes) and
``fitness.json`` (``{"abi": 1, "module": {"/": <CID>}, "name": ...}``). The module's id is the
CIDv1 with the raw codec (0x55) over its bytes, so a module is the same module on every node.
Adding different bytes under an existing name makes a new commit on top of the old one, so
every version stays reachable and runs that used an older one can still name it by CID. Callers
that act for a user who did not ask to repoint a name call :func:`check_name_free` first
(``mindgit fitness add`` does, unless given ``--force``).

This layer stores bytes; checking that they are a usable fitness module is the caller's job
(``mindgit.evolve.fitness`` runs them through the sandbox first).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pygit2

from mindgit.errors import MindgitError, UsageError, quoted
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID, RAW, InvalidCID
from mindgit.store.generation import (
    MODULE_FILE,
    TRAILER_MODULE,
    WASM_MAGIC,
)
from mindgit.store.generation_check import Problems, blob_or_problem
from mindgit.store.layout import BLOB
from mindgit.store.objects import as_commit
from mindgit.store.refs import CorruptRef, read_listed_ref, read_ref, ref_names, update_ref
from mindgit.store.repository import Store

# How many versions of one name a CID lookup looks through.
_MAX_VERSIONS = 1000

FITNESS_FILE = "fitness.json"
FITNESS_PREFIX = "refs/fitness/"
FITNESS_ABI = 1
MAX_MODULE_BYTES = 16 << 20
_MODULE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+=@-]{0,99}")


def check_module_name(name: str) -> str:
    """A fitness module's name: what ``refs/fitness/<name>`` can hold."""
    if (
        not isinstance(name, str)
        or not _MODULE_NAME.fullmatch(name)
        # What git refuses in a ref name besides: it said so only when the module was stored.
        or name.endswith((".lock", "."))
        or ".." in name
    ):
        raise UsageError(
            f"invalid fitness module name {quoted(name)}",
            hint="use letters, digits and _ . + = @ - (up to 100, not starting with . or -, "
            "not ending with ., no ..)",
        )
    return name


def fitness_node(module: CID, name: str) -> dict[str, Any]:
    """The ``fitness.json`` of a stored module."""
    return {"abi": FITNESS_ABI, "module": module, "name": name}


def check_fitness_module_tree(repo: pygit2.Repository, tree: pygit2.Tree) -> Problems:
    """Problems of a fitness module tree (``fitness.json`` + ``module.wasm``)."""
    for name in sorted({e.name or "" for e in tree} - {FITNESS_FILE, MODULE_FILE}):
        yield name, "unexpected entry in a fitness module tree"
    data = blob_or_problem(repo, tree, FITNESS_FILE)
    if isinstance(data, str):
        yield FITNESS_FILE, data
        return
    try:
        node = dagjson.decode(data)
    except MindgitError as e:
        yield FITNESS_FILE, str(e)
        return
    if not isinstance(node, dict) or set(node) != {"abi", "module", "name"}:
        yield FITNESS_FILE, "must be a map with exactly 'abi', 'module' and 'name'"
        return
    if node["abi"] != FITNESS_ABI or isinstance(node["abi"], bool):
        yield FITNESS_FILE, f"abi {quoted(node['abi'])} is not {FITNESS_ABI}"  # a peer's: cut
    module_name = node["name"]
    if not isinstance(module_name, str) or not _MODULE_NAME.fullmatch(module_name):
        yield FITNESS_FILE, f"name {quoted(module_name)} is not a valid module name"
    cid = node["module"]
    if not isinstance(cid, CID) or cid.codec != RAW or cid.version != 1:
        yield FITNESS_FILE, "module must be a link with the raw codec"
        return
    module = blob_or_problem(repo, tree, MODULE_FILE)
    if isinstance(module, str):
        yield MODULE_FILE, module
        return
    if len(module) > MAX_MODULE_BYTES:
        yield MODULE_FILE, f"{len(module)} bytes is over the {MAX_MODULE_BYTES}-byte limit"
    elif CID.of(module, RAW) != cid:
        yield MODULE_FILE, f"bytes hash to {CID.of(module, RAW)}, not to {cid}"
    elif not module.startswith(WASM_MAGIC):
        yield MODULE_FILE, "is not a WebAssembly binary"


class UnknownFitness(MindgitError):
    """No stored module has this name or CID."""

    def __init__(self, ref: str) -> None:
        try:
            CID.parse(ref)
            by_cid = True  # no name: it came from a run or a peer, whose module is not here
        except InvalidCID:
            by_cid = False
        super().__init__(
            f"no fitness module {f'with CID {ref}' if by_cid else f'named {quoted(ref)}'} in "
            "this store",
            hint="`mindgit fitness list` shows the stored ones; `mindgit fitness add FILE` adds one"
            + ("; `mindgit pull PEER` brings a peer's" if by_cid else ""),
        )
        self.ref = ref


class NotAWasmBinary(MindgitError):
    """Bytes offered for storage are not a WebAssembly binary."""

    def __init__(self, size: int) -> None:
        super().__init__(
            "a stored fitness module must be a WebAssembly binary (\\0asm...)",
            hint="compile WAT to wasm before storing it",
        )
        self.size = size


class FitnessNameTaken(MindgitError):
    """A name already holds a module with other bytes, and repointing it was not asked for."""

    def __init__(self, name: str, stored: CID, offered: CID) -> None:
        super().__init__(
            f"fitness module {name!r} already holds {stored}, not {offered}; nothing was changed",
            hint=f"store it under another --name, or repoint {name!r} with --force "
            "(the old version stays reachable by its CID)",
        )
        self.name = name
        self.stored = stored
        self.offered = offered


@dataclass(frozen=True, slots=True)
class FitnessEntry:
    """A stored fitness module: its name, id, the commit holding it and its blob."""

    name: str
    cid: CID
    commit: str
    blob: pygit2.Oid


def module_cid(wasm: bytes) -> CID:
    """A module's id: CIDv1, raw codec, sha2-256 of its bytes."""
    return CID.of(wasm, RAW)


class FitnessRefCorrupt(MindgitError):
    """A ``refs/fitness/*`` ref, or a version under it, that is no module commit this
    repository can read."""

    def __init__(self, ref: str, commit_id: str, what: str) -> None:
        super().__init__(
            f"{ref}: {commit_id} {what}",
            hint=_corrupt_hint(ref, commit_id, what),
        )
        self.ref = ref
        self.commit_id = commit_id


_MISSING = "is missing from this repository"


def _corrupt_hint(ref: str, commit_id: str, what: str) -> str:
    # A store has no fetch refspec, so a plain `git fetch` moves nothing mindgit reads; a pull
    # does bring a lost commit back from a peer that has it (its objects come with the ref).
    delete = f"`git --git-dir STORE update-ref -d {ref}`"
    if what == _MISSING:
        return (
            f"`mindgit pull PEER` from a peer that has {commit_id} brings it back; "
            f"or delete the ref with {delete}"
        )
    return (
        f"repair the ref, or delete it with {delete}; a later `mindgit pull PEER` then brings "
        "a peer's module of that name"
    )


def fitness_commit(repo: pygit2.Repository, ref: str, commit_id: str) -> pygit2.Commit:
    """The commit ``commit_id`` of ``ref``'s history; a lost object or a ref moved onto a blob
    is :class:`FitnessRefCorrupt` (a bare KeyError or assertion was an internal error)."""
    obj = repo.get(commit_id)
    commit = as_commit(obj)
    if commit is None:
        what = _MISSING if obj is None else "is not a commit"
        raise FitnessRefCorrupt(ref, commit_id, what)
    return commit


def _entry(repo: pygit2.Repository, name: str, commit_id: str) -> FitnessEntry:
    ref = FITNESS_PREFIX + name
    commit = fitness_commit(repo, ref, commit_id)
    try:
        tree = commit.tree
        meta = repo.get(tree[FITNESS_FILE].id) if FITNESS_FILE in tree else None
        module = tree[MODULE_FILE].id if MODULE_FILE in tree else None
    except (KeyError, pygit2.GitError):
        raise FitnessRefCorrupt(ref, commit_id, "has a tree that is missing") from None
    if not isinstance(meta, pygit2.Blob) or module is None:
        raise FitnessRefCorrupt(ref, commit_id, f"holds no {FITNESS_FILE} and {MODULE_FILE}")
    try:
        node = dagjson.decode(meta.data)
    except dagjson.DagJsonDecodeError as e:
        raise FitnessRefCorrupt(ref, commit_id, f"has an unreadable {FITNESS_FILE} ({e})") from None
    cid = node.get("module") if isinstance(node, dict) else None
    if not isinstance(cid, CID):
        raise FitnessRefCorrupt(ref, commit_id, f"has a {FITNESS_FILE} naming no module CID")
    if module not in repo.odb:
        # A pruned or never-fetched blob: named here, where listing and lookups read entries,
        # rather than a KeyError when the module is read.
        raise FitnessRefCorrupt(ref, commit_id, f"holds a {MODULE_FILE} ({module}) {_MISSING}")
    return FitnessEntry(name, cid, commit_id, module)


def store_module(store: Store, wasm: bytes, name: str, *, replace: bool = True) -> FitnessEntry:
    """Store ``wasm`` (already checked) as module ``name``; idempotent for the same bytes.

    Without ``replace`` a name holding other bytes is refused (``FitnessNameTaken``); the
    check and the ref update are one compare-and-swap, so a writer racing us cannot slip in.
    """
    check_module_name(name)
    wasm = bytes(wasm)
    if not wasm.startswith(WASM_MAGIC):
        raise NotAWasmBinary(len(wasm))
    if len(wasm) > MAX_MODULE_BYTES:
        raise MindgitError(f"fitness module is {len(wasm)} bytes, over {MAX_MODULE_BYTES}")
    repo = store.repo
    cid = module_cid(wasm)
    ref = FITNESS_PREFIX + name
    old = read_ref(repo, ref)
    if old is not None:
        current = _entry(repo, name, old)
        if current.cid == cid:
            return current
        if not replace:
            raise FitnessNameTaken(name, current.cid, cid)
    _ = store.signing_key  # a bad key or an unfinished rotation: before any object is written
    blob = repo.create_blob(wasm)
    tb = repo.TreeBuilder()
    tb.insert(MODULE_FILE, blob, BLOB)
    tb.insert(FITNESS_FILE, repo.create_blob(dagjson.encode(fitness_node(cid, name))), BLOB)
    message = f"fitness: {'update' if old else 'add'} {name}"
    commit = store.write_commit(
        tb.write(), [old] if old else [], message, None, {TRAILER_MODULE: str(cid)}
    )
    who = f"{store.name} <{store.public_key.did}>"
    update_ref(repo, ref, commit, old, message=message, committer=who)
    return FitnessEntry(name, cid, commit, blob)


def stored_under(store: Store, name: str) -> FitnessEntry | None:
    """The newest module stored under ``name``, or None if the name is free."""
    tip = read_ref(store.repo, FITNESS_PREFIX + check_module_name(name))
    return None if tip is None else _entry(store.repo, name, tip)


@dataclass(frozen=True, slots=True)
class DamagedModule:
    """A ``refs/fitness/*`` ref that holds no module this store can read, and why."""

    ref: str
    error: FitnessRefCorrupt | CorruptRef


@dataclass(frozen=True, slots=True)
class ModuleListing:
    """The modules that read (by name) and the fitness refs that do not (by ref name)."""

    modules: tuple[FitnessEntry, ...]
    damaged: tuple[DamagedModule, ...]


def scan_modules(store: Store) -> ModuleListing:
    """The newest version of every stored module, as ``mindgit.evolve.runs.scan_runs`` lists
    runs: a damaged fitness ref is reported beside the others, never in place of them."""
    repo = store.repo
    out = []
    damaged = []
    # A ref libgit2 cannot parse, or a symbolic ref to nothing, is damaged, not skipped: both
    # vanished from `fitness list` (exit 0) while `verify --all` failed on them.
    for ref in ref_names(repo, (FITNESS_PREFIX,)):
        try:
            commit = read_listed_ref(repo, ref)
            out.append(_entry(repo, ref.removeprefix(FITNESS_PREFIX), commit))
        except (FitnessRefCorrupt, CorruptRef) as e:
            damaged.append(DamagedModule(ref, e))
    return ModuleListing(tuple(out), tuple(damaged))


def list_modules(store: Store) -> list[FitnessEntry]:
    """The newest version of every stored module, by name; the first damaged fitness ref is
    raised (see :func:`scan_modules` for a listing that goes on past it)."""
    listing = scan_modules(store)
    if listing.damaged:
        raise listing.damaged[0].error
    return list(listing.modules)


def _versions(repo: pygit2.Repository, name: str, tip: str) -> Iterator[FitnessEntry]:
    commit_id: str | None = tip
    for _ in range(_MAX_VERSIONS):
        if commit_id is None:
            return
        yield _entry(repo, name, commit_id)
        commit = fitness_commit(repo, FITNESS_PREFIX + name, commit_id)
        commit_id = str(commit.parent_ids[0]) if commit.parent_ids else None


def parse_cid(text: str) -> CID | None:
    """``text`` as a CID if it is spelled like one (base32 ``b...`` or base58 ``z...``/``Qm...``).

    Names are not tried as other multibases: that would import the slow ``multiformats``
    library for every lookup by name, and would read a name like ``fitness`` as base16.
    """
    if not (len(text) > 40 and (text[0] in "bz" or text.startswith("Qm"))):
        return None
    try:
        return CID.parse(text)
    except InvalidCID:
        return None


def find_module(store: Store, ref: str) -> FitnessEntry:
    """A stored module by name, or by CID (any stored version of any name)."""
    repo = store.repo
    cid = parse_cid(ref)
    if cid is not None and cid.codec == RAW:
        # A damaged name's history does not hide the module from the others; it is the answer
        # only when no readable version holds the CID.
        damaged: FitnessRefCorrupt | None = None
        for ref_name in sorted(r for r in repo.references if r.startswith(FITNESS_PREFIX)):
            tip = read_ref(repo, ref_name)
            if tip is None:
                continue
            try:
                for entry in _versions(repo, ref_name.removeprefix(FITNESS_PREFIX), tip):
                    if entry.cid == cid:
                        return entry
            except FitnessRefCorrupt as e:
                damaged = damaged or e
        if damaged is not None:
            raise damaged
        raise UnknownFitness(ref)
    try:
        check_module_name(ref)
    except MindgitError:
        raise UnknownFitness(ref) from None
    tip = read_ref(repo, FITNESS_PREFIX + ref)
    if tip is None:
        raise UnknownFitness(ref)
    return _entry(repo, ref, tip)


def read_module(store: Store, entry: FitnessEntry) -> bytes:
    """The wasm bytes of a stored module."""
    try:
        data: bytes = store.repo[entry.blob].read_raw()
    except (KeyError, pygit2.GitError) as e:  # lost or damaged since the entry was read
        what = f"holds a {MODULE_FILE} ({entry.blob}) this store cannot read ({e})"
        raise FitnessRefCorrupt(FITNESS_PREFIX + entry.name, entry.commit, what) from None
    return data
