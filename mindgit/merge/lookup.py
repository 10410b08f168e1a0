"""Which fitness module decides a merge: found the same way in a store and in a plain git clone.

In order: ``--fitness NAME|CID|PATH``; else the git config ``mindgit.fitness`` (a store's, set
with ``mindgit config set fitness NAME``, or a clone's, set with ``git config``); else the module
of the latest run of the experiment being merged into that THIS node made: ``refs/runs/*`` whose
generations name that experiment and whose every generation commit carries a valid signature by
this node's own key (the newest by its last generation's commit time, then by run id). A run
pulled from a peer never chooses: its commit times and its module are the peer's to pick. With
none of these, nothing is chosen and a merge with conflicts stops with ``MergeConflict``.
Run refs are read as ``mindgit runs`` and ``plot`` read them (``mindgit.evolve.runs.read_run``):
one that cannot be read, or that names another run's generation (``RunRefMismatch``), is
refused, never taken for the run it points at.

"This node's own key" is ``Store.public_key`` in a store; in a clone (the git merge driver has
no store) it is the key named by the clone's config ``mindgit.node`` (a did:key or an
``ssh-ed25519`` line, which ``mindgit git-setup`` writes).

A module found through a run keeps the sandbox limits the run recorded, never above this node's
own; otherwise the limits come from the config (``mindgit.fuel``, ``mindgit.memory``,
``mindgit.stack``, ``mindgit.table``) over the defaults. Scores are maximised unless ``mindgit.minimize`` is true,
or, when it is not set, this node's latest run of that experiment used this same module to minimise.

Only a ``pygit2.Repository`` is needed. A module given as a path is read, never added to the
store: a merge writes nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pygit2

from mindgit.errors import MindgitError
from mindgit.evolve.fitness import FitnessFileError, cache_dir, read_module_file, to_wasm
from mindgit.evolve.fitness import config_limits as fitness_config_limits
from mindgit.evolve.runs import read_run
from mindgit.identity.gitsig import split_gpgsig
from mindgit.identity.keys import MalformedKey, PublicKey, shown_key_text
from mindgit.identity.sshsig import BadSignature, verify
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID, RAW
from mindgit.sandbox import FitnessModule, Limits
from mindgit.store.config import NoValue, config_reader
from mindgit.store.fitness_store import (
    FITNESS_FILE,
    FITNESS_PREFIX,
    UnknownFitness,
    check_module_name,
    fitness_commit,
    module_cid,
    parse_cid,
)
from mindgit.store.generation import (
    MODULE_FILE,
    RUNS_PREFIX,
    TRAILER_RUN,
    RunTip,
)
from mindgit.store.objects import as_commit
from mindgit.store.refs import read_ref
from mindgit.store.repository import Store
from mindgit.store.settings import BadConfigValue, read_setting

CONFIG_FITNESS = "mindgit.fitness"
CONFIG_NODE = "mindgit.node"
# How many versions of one module name a CID lookup looks through (as fitness_store does).
_MAX_VERSIONS = 1000


class ModuleCorrupt(MindgitError):
    """A stored module's bytes do not hash to the CID it is stored under."""

    def __init__(self, where: str, cid: CID) -> None:
        super().__init__(f"{where}: the module's bytes do not hash to {cid}")
        self.where = where
        self.cid = cid


class ModuleUnreadable(MindgitError):
    """A stored module's file names a git object this repository cannot read (lost, corrupt)."""

    def __init__(self, where: str, name: str, oid: str) -> None:
        super().__init__(
            f"{where}: {name} cannot be read (object {oid} is missing or corrupt)",
            hint="fetch the module again (git fetch), or name another one with --fitness",
        )
        self.where = where
        self.name = name
        self.oid = oid


@dataclass(frozen=True, slots=True)
class FitnessChoice:
    """The module that decides, its limits, its direction, and where it was found."""

    cid: CID
    wasm: bytes
    limits: Limits
    minimize: bool
    source: str

    def load(self, cache: Path | None = None) -> FitnessModule:
        return FitnessModule.load(self.wasm, limits=self.limits, cache_dir=cache)


def find_fitness(
    repo: pygit2.Repository,
    *,
    spec: str | None = None,
    experiment: str | None = None,
    own_key: PublicKey | None = None,
) -> FitnessChoice | None:
    """The module that decides a merge into ``experiment``, or None if none is chosen.

    Only runs signed by ``own_key`` (this node's key) are considered; without it, none are.
    """
    allowed = config_limits(repo)
    configured = None if spec is not None else read_setting(config_reader(repo.config), "fitness")
    named = spec is not None or bool(configured)
    run = None
    # The runs are read only when one can count: for the module (none named), or for the
    # direction (mindgit.minimize not set). A damaged run ref (another run's generation under
    # its name) stopped every merge with --fitness and minimize set, which no run decides.
    if (
        experiment is not None
        and own_key is not None
        and not (named and _minimize(repo) is not None)
    ):
        try:
            run = latest_run(repo, experiment, own_key)
        except MindgitError as e:
            # A peer's damaged run ref comes back with every fetch (git-setup's refspec), and
            # `mindgit verify` reads no clone: say how to merge with no run read at all.
            e.hint = (
                (f"{e.hint}; " if e.hint else "")
                + "to merge without reading the runs, name the module (--fitness, "
                "or the fitness setting) and the direction: `mindgit config set minimize "
                "false` in a store, `git config mindgit.minimize false` in a clone"
            )
            raise
    found: tuple[CID, bytes, str] | None = None
    limits = allowed
    if spec is not None:
        found = (*_module(repo, spec), "--fitness")
    elif configured:
        found = (*_module(repo, configured), f"config {CONFIG_FITNESS}")
    elif run is not None:
        wasm = _read(repo, run.tree, MODULE_FILE, f"run {run.run_id}")
        if module_cid(wasm) != run.info.module:
            raise ModuleCorrupt(f"run {run.run_id}", run.info.module)
        found = (run.info.module, wasm, f"run {run.run_id}")
        r = run.info.limits
        # A run may come from a peer: its limits never exceed this node's own.
        limits = Limits(
            fuel=min(r.fuel, allowed.fuel),
            memory_bytes=min(r.memory, allowed.memory_bytes),
            stack_bytes=min(r.stack, allowed.stack_bytes),
            table_elements=min(r.table, allowed.table_elements),
        )
    if found is None:
        return None
    cid, wasm, source = found
    minimize = _minimize(repo)
    if minimize is None:
        minimize = run is not None and run.info.module == cid and run.info.params.minimize
    return FitnessChoice(cid, wasm, limits, minimize, source)


def module_cache(store: Store | None) -> Path | None:
    """Where compiled modules are cached: a store's private cache; nowhere in a clone."""
    return cache_dir(store) if store is not None else None


def latest_run(repo: pygit2.Repository, experiment: str, own_key: PublicKey) -> RunTip | None:
    """The newest run of ``experiment`` (by its last generation's commit time, then run id)
    whose generation commits are all signed by ``own_key``; None if there is no such run."""
    found: list[tuple[int, str, RunTip]] = []
    for ref in sorted(r for r in repo.references if r.startswith(RUNS_PREFIX)):
        tip = read_run(repo, ref.removeprefix(RUNS_PREFIX))
        if tip is None or tip.experiment != experiment:
            continue
        commit = as_commit(repo[tip.commit])
        assert commit is not None
        found.append((commit.commit_time, tip.run_id, tip))
    # Newest first, and only as many signature checks as it takes: a peer's run fails at its tip.
    for _, _, tip in sorted(found, key=lambda f: f[:2], reverse=True):
        if signed_by(repo, tip, own_key):
            return tip
    return None


def signed_by(repo: pygit2.Repository, run: RunTip, key: PublicKey) -> bool:
    """Whether every generation commit of ``run`` (tip back to its start) is validly signed by
    ``key``. The signature, not the author line, says who made a commit: anyone can write a name."""
    commit_id: str | None = run.commit
    trailer = f"{TRAILER_RUN}: {run.run_id}"
    # A run holds at most one commit per generation, plus generation 0.
    for _ in range(run.info.params.generations + 1):
        if commit_id is None or commit_id == run.info.start_commit:
            return True
        commit = as_commit(repo.get(commit_id))
        if commit is None:
            # A history cut short (a shallow fetch, a pruned object): nothing proves the run
            # ours, so it does not choose, as a peer's run does not.
            return False
        payload, armored = split_gpgsig(repo.read(commit_id)[1])
        if armored is None:
            return False
        try:
            if verify(armored, payload) != key:
                return False
        except BadSignature:
            return False
        if trailer not in str(commit.message).splitlines():
            return False  # not a generation of this run: its start was skipped
        parents = commit.parent_ids
        commit_id = str(parents[0]) if parents else None
    return commit_id is None or commit_id == run.info.start_commit


def node_key(repo: pygit2.Repository) -> PublicKey | None:
    """This node's public key as a clone's config names it (``mindgit.node``), or None."""
    raw = config_reader(repo.config)(CONFIG_NODE)
    if isinstance(raw, NoValue):
        raise BadConfigValue(CONFIG_NODE, raw, "has no value; it must be a did:key")
    if raw is None or not raw.strip():
        return None
    try:
        return PublicKey.parse(raw)
    except MalformedKey:
        raise BadConfigValue(
            CONFIG_NODE,
            raw,
            "is not a did:key or an ssh-ed25519 public key",
            shown=shown_key_text(raw),
        ) from None


def _minimize(repo: pygit2.Repository) -> bool | None:
    # As `config set minimize` takes it: true or false (a bare key is git's true).
    raw = read_setting(config_reader(repo.config), "minimize")
    return None if raw is None else raw == "true"


def config_limits(repo: pygit2.Repository) -> Limits:
    """The sandbox limits this node allows: defaults, overridden by the repository's config."""
    return fitness_config_limits(config_reader(repo.config))


def find_module(repo: pygit2.Repository, spec: str) -> CID:
    """The CID of the module ``spec`` names (a name, a CID or a path), or the error that says
    why it names none; nothing is compiled or stored."""
    return _module(repo, spec)[0]


def _module(repo: pygit2.Repository, spec: str) -> tuple[CID, bytes]:
    """A module by name, CID or path. A path's module is read, not added to the store: a merge
    (a dry run above all) changes nothing but the experiment it merges into."""
    if not spec.strip():
        # No module has an empty name, and Path("") is the working directory: the library
        # said "cannot read fitness module .: not a file" (the CLI refuses it before).
        raise UnknownFitness(spec)
    stored = _stored(repo, spec)
    if stored is not None:
        return stored
    path = Path(spec)
    if path.is_file():
        wasm = to_wasm(read_module_file(path))
        return module_cid(wasm), wasm
    if path.exists():
        raise FitnessFileError(path, "not a file")
    if "/" in spec or spec.endswith((".wat", ".wasm")):
        raise FitnessFileError(path, "no such file")
    raise UnknownFitness(spec)


def _stored(repo: pygit2.Repository, spec: str) -> tuple[CID, bytes] | None:
    """A module kept on ``refs/fitness/*`` (by name, or any version by CID) or in a run."""
    cid = parse_cid(spec)
    if cid is not None:
        if cid.codec != RAW:
            return None
        # A damaged ref does not hide the module from the others (as fitness_store.find_module
        # looks): it is the answer only when no readable version or run holds the CID.
        damaged: MindgitError | None = None
        for ref in sorted(r for r in repo.references if r.startswith(FITNESS_PREFIX)):
            try:
                found = _version_with(repo, ref, cid)
            except MindgitError as e:
                damaged = damaged or e
                continue
            if found is not None:
                return found
        for ref in sorted(r for r in repo.references if r.startswith(RUNS_PREFIX)):
            try:
                tip = read_run(repo, ref.removeprefix(RUNS_PREFIX))
            except MindgitError as e:
                damaged = damaged or e
                continue
            if tip is not None and tip.info.module == cid:
                wasm = _read(repo, tip.tree, MODULE_FILE, f"run {tip.run_id}")
                if module_cid(wasm) != cid:
                    raise ModuleCorrupt(f"run {tip.run_id}", cid)
                return cid, wasm
        if damaged is not None:
            raise damaged
        return None
    try:
        check_module_name(spec)
    except MindgitError:
        return None
    head = read_ref(repo, FITNESS_PREFIX + spec)
    if head is None:
        return None
    commit = fitness_commit(repo, FITNESS_PREFIX + spec, head)
    return _tree_module(repo, commit.tree, FITNESS_PREFIX + spec)


def _version_with(repo: pygit2.Repository, ref: str, cid: CID) -> tuple[CID, bytes] | None:
    """The version of fitness ref ``ref`` that holds module ``cid``, if one does."""
    commit_id = read_ref(repo, ref)
    for _ in range(_MAX_VERSIONS):
        if commit_id is None:
            return None
        commit = fitness_commit(repo, ref, commit_id)
        found = _tree_module(repo, commit.tree, ref)
        if found is not None and found[0] == cid:
            return found
        commit_id = str(commit.parent_ids[0]) if commit.parent_ids else None
    return None


def _tree_module(
    repo: pygit2.Repository, tree: pygit2.Tree, where: str
) -> tuple[CID, bytes] | None:
    if FITNESS_FILE not in tree or MODULE_FILE not in tree:
        return None
    node = dagjson.decode(_read(repo, tree, FITNESS_FILE, where))
    cid = node.get("module") if isinstance(node, dict) else None
    if not isinstance(cid, CID):
        return None
    wasm = _read(repo, tree, MODULE_FILE, where)
    if module_cid(wasm) != cid:
        raise ModuleCorrupt(where, cid)
    return cid, wasm


def _read(repo: pygit2.Repository, tree: pygit2.Tree, name: str, where: str) -> bytes:
    """The bytes of file ``name`` of ``tree``; a lost or corrupt object is a named error (in a
    clone the merge driver must fail with a reason git can show, never a traceback)."""
    oid = tree[name].id
    try:
        data: bytes = repo[oid].read_raw()
    except (KeyError, pygit2.GitError):
        raise ModuleUnreadable(where, name, str(oid)) from None
    return data
