"""Verification of commits: a trusted signature, the state schema, and every CID against its bytes.

This is what CI runs and what sync runs on everything a peer sends before any ref moves. Each
tree and blob is checked once per run (they are shared between commits), so verifying a long
history costs about one signature check per commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import pygit2

from mindgit.errors import MindgitError
from mindgit.identity.gitsig import split_gpgsig
from mindgit.identity.keys import PublicKey
from mindgit.identity.sshsig import BadSignature, verify
from mindgit.identity.trust import TrustStore
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID, DAG_JSON
from mindgit.store import layout
from mindgit.store.state import GenomeSplice, SchemaError, check_thought, parse_manifest

MAX_BLOB_BYTES = 16 << 20
STATE_TRAILER = "Mindgit-State"
# Tree kinds other layers write through the store (see store/generation.py).
GENERATION_FILE = "generation.json"
FITNESS_FILE = "fitness.json"
ROTATION_FILE = "rotation.json"


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a commit is refused: which commit, which object, why."""

    commit: str
    reason: str
    object: str | None = None

    def __str__(self) -> str:
        where = f" ({self.object})" if self.object else ""
        return f"{self.commit[:12]}{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class CommitResult:
    commit: str
    signer: PublicKey | None
    trusted_as: str | None
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(slots=True)
class Report:
    results: list[CommitResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def problems(self) -> list[Problem]:
        return [p for r in self.results for p in r.problems]


class VerificationFailed(MindgitError):
    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"verification failed: {first}{more}")
        self.problems = problems


CleanDirs = dict[tuple[pygit2.Oid, str], frozenset[CID]]
ManifestLinks = tuple[frozenset[CID], frozenset[CID]]
"""A valid manifest's thought links and its other block links (memories and data)."""
ManifestParse = Callable[[pygit2.Oid, bytes, CID], ManifestLinks]
TreeCheck = Callable[[pygit2.Repository, pygit2.Tree], Iterator[tuple[str | None, str]]]


class Verifier:
    """Checks commits against a trust store, remembering the trees and blobs already checked."""

    def __init__(self, repo: pygit2.Repository, trust: TrustStore) -> None:
        self.repo = repo
        self.trust = trust
        self._trees: dict[pygit2.Oid, tuple[tuple[str | None, str], ...]] = {}
        self._blobs: dict[tuple[pygit2.Oid, CID, bool], str | None] = {}
        # Per verifier, never global: "clean" depends on which objects this repository holds.
        self._clean_dirs: CleanDirs = {}
        self._splice: GenomeSplice | None = None
        self._splice_links: ManifestLinks = (frozenset(), frozenset())
        # Manifest blob -> its CID, so the trailer check needs no second read of the blob.
        self._manifest_cids: dict[pygit2.Oid, CID] = {}

    def check_commit(self, oid: str) -> CommitResult:
        problems: list[Problem] = []
        try:
            kind, raw = self.repo.read(oid)
        except KeyError:
            return CommitResult(oid, None, None, (Problem(oid, "object missing"),))
        if kind != pygit2.enums.ObjectType.COMMIT:
            return CommitResult(oid, None, None, (Problem(oid, "not a commit"),))
        signer: PublicKey | None = None
        trusted: str | None = None
        payload, armored = split_gpgsig(raw)
        if armored is None:
            problems.append(Problem(oid, "unsigned commit"))
        else:
            try:
                signer = verify(armored, payload)
            except BadSignature as e:
                problems.append(Problem(oid, f"bad signature: {e}"))
            else:
                node = self.trust.find(signer)
                if node is None:
                    problems.append(
                        Problem(oid, f"signed by untrusted key {signer.did} ({signer.fingerprint})")
                    )
                else:
                    trusted = node.name
        commit = self.repo[oid]
        assert isinstance(commit, pygit2.Commit)
        tree = commit.tree
        for obj, reason in self._check_tree(tree):
            problems.append(Problem(oid, reason, obj))
        if not problems:
            problems.extend(self._check_trailer(oid, commit, tree))
        return CommitResult(oid, signer, trusted, tuple(problems))

    def _check_trailer(
        self, oid: str, commit: pygit2.Commit, tree: pygit2.Tree
    ) -> Iterator[Problem]:
        claimed = trailer(commit.message, STATE_TRAILER)
        if claimed is None or layout.MANIFEST not in tree:
            return
        blob_id = tree[layout.MANIFEST].id
        cid = self._manifest_cids.get(blob_id)
        if cid is None:
            cid = CID.of(self.repo[blob_id].read_raw())
        actual = str(cid)
        if claimed != actual:
            yield Problem(oid, f"{STATE_TRAILER} says {claimed} but the manifest is {actual}")

    def _check_tree(self, tree: pygit2.Tree) -> tuple[tuple[str | None, str], ...]:
        cached = self._trees.get(tree.id)
        if cached is None:
            cached = tuple(self._tree_problems(tree))
            self._trees[tree.id] = cached
        return cached

    def _tree_problems(self, tree: pygit2.Tree) -> Iterator[tuple[str | None, str]]:
        names = {e.name for e in tree}
        if layout.MANIFEST in names:
            yield from check_state_tree(
                self.repo, tree, self._blob_problem, self._clean_dirs, self._manifest_links
            )
        elif GENERATION_FILE in names:
            from mindgit.store.generation_check import check_generation_tree

            yield from check_generation_tree(self.repo, tree, self._blob_problem)
        elif ROTATION_FILE in names:
            from mindgit.store.private import check_rotation_tree

            yield from check_rotation_tree(self.repo, tree)
        elif FITNESS_FILE in names:
            from mindgit.store.generation_check import check_fitness_tree

            yield from check_fitness_tree(self.repo, tree)
        else:
            yield (
                None,
                f"tree {tree.id} is not a state, a run generation, a fitness module or a key rotation",
            )

    def _manifest_links(self, oid: pygit2.Oid, data: bytes, cid: CID) -> ManifestLinks:
        if len(self._manifest_cids) >= _ENTRY_CACHE_SIZE:
            self._manifest_cids.clear()
        self._manifest_cids[oid] = cid
        # Successive states of a branch mostly differ in gene values only: such a manifest needs
        # its genome checked, not a full parse (see GenomeSplice for why that is the same test).
        splice = self._splice
        if splice is not None:
            where = f"manifest {cid}"
            if splice.match(data, where) is not None:
                return self._splice_links
        state, fresh = GenomeSplice.parse(data, cid)
        links = (state.thoughts, state.blocks)
        if fresh is not None:
            self._splice, self._splice_links = fresh, links
        return links

    def _blob_problem(self, oid: pygit2.Oid, cid: CID, opaque: bool) -> str | None:
        key = (oid, cid, opaque)
        if key not in self._blobs:
            self._blobs[key] = _blob_problem(self.repo, oid, cid, opaque)
        return self._blobs[key]


def check_state_tree(
    repo: pygit2.Repository,
    tree: pygit2.Tree,
    blob_check: Callable[[pygit2.Oid, CID, bool], str | None] | None = None,
    clean_dirs: CleanDirs | None = None,
    parse: ManifestParse | None = None,
) -> Iterator[tuple[str | None, str]]:
    """Problems of a state tree: (object, reason) pairs; nothing means it is a valid state.

    ``parse`` reads a manifest's links, raising SchemaError if it is not a valid manifest.
    """
    check = blob_check or (lambda oid, cid, m: _blob_problem(repo, oid, cid, m))
    extra = {str(e.name) for e in tree} - {layout.MANIFEST, layout.THOUGHTS, layout.BLOCKS}
    for name in sorted(extra):
        yield name, "unexpected entry in a state tree"
    entry = tree[layout.MANIFEST]
    if entry.filemode != layout.BLOB:
        yield layout.MANIFEST, "the manifest is not a regular file"
        return
    data = repo[entry.id].read_raw()
    cid = CID.of(data)
    try:
        thoughts, blocks = (parse or _parse_links)(entry.id, data, cid)
    except SchemaError as e:
        yield f"manifest {cid}", str(e.problem)
        return
    for dirname, wanted, kind in (
        (layout.THOUGHTS, thoughts, "thought"),
        (layout.BLOCKS, blocks, "block"),
    ):
        yield from _check_cid_dir(repo, tree, dirname, wanted, kind, check, clean_dirs)


def _parse_links(oid: pygit2.Oid, data: bytes, cid: CID) -> ManifestLinks:
    state = parse_manifest(data, cid)
    return state.thoughts, state.blocks


def _check_cid_dir(
    repo: pygit2.Repository,
    tree: pygit2.Tree,
    dirname: str,
    wanted_cids: frozenset[CID],
    kind: str,
    check: Callable[[pygit2.Oid, CID, bool], str | None],
    clean_dirs: CleanDirs | None,
) -> Iterator[tuple[str | None, str]]:
    present: dict[str, tuple[pygit2.Oid, int]] = {}
    key: tuple[pygit2.Oid, str] | None = None
    if dirname in tree:
        entry_id = tree[dirname].id
        # Most commits change a gene, not the thoughts: the same directory checked clean against
        # the same links needs no second look (both are content-addressed). A key is only ever
        # stored for an id that was read as a tree, so it need not be read again to know that.
        key = (entry_id, kind)
        if clean_dirs is not None and clean_dirs.get(key) == wanted_cids:
            return
        sub = repo.get(entry_id)
        if not isinstance(sub, pygit2.Tree):
            yield dirname, "is not a directory"
            return
        present = _entries(sub)
    clean = True
    wanted = {str(c): c for c in wanted_cids}
    for name in sorted(set(present) - set(wanted)):
        clean = False
        yield f"{dirname}/{name}", "not linked from the manifest"
    for name, cid in sorted(wanted.items()):
        found = present.get(name)
        if found is None:
            clean = False
            yield f"{kind} {name}", "linked from the manifest but missing"
            continue
        oid, mode = found
        if mode != layout.BLOB:
            clean = False
            yield f"{kind} {name}", "not a regular file"
            continue
        # Memories and data are opaque canonical blocks; only thoughts have a schema.
        problem = check(oid, cid, kind != "thought")
        if problem is not None:
            clean = False
            yield f"{kind} {name}", problem
    if clean and key is not None and clean_dirs is not None:
        clean_dirs[key] = wanted_cids


_ENTRY_CACHE_SIZE = 4096
_entry_cache: dict[pygit2.Oid, dict[str, tuple[pygit2.Oid, int]]] = {}


def _entries(tree: pygit2.Tree) -> dict[str, tuple[pygit2.Oid, int]]:
    """A tree's entries by name; a thoughts tree is shared by many commits, so read it once."""
    cached = _entry_cache.get(tree.id)
    if cached is None:
        if len(_entry_cache) >= _ENTRY_CACHE_SIZE:
            _entry_cache.clear()
        cached = {str(e.name): (e.id, int(e.filemode)) for e in tree}
        _entry_cache[tree.id] = cached
    return cached


def _blob_problem(repo: pygit2.Repository, oid: pygit2.Oid, cid: CID, opaque: bool) -> str | None:
    """Why a blob is not the block ``cid`` names; ``opaque`` blocks need no thought schema."""
    obj = repo.get(oid)
    if obj is None:
        return "blob missing"
    if not isinstance(obj, pygit2.Blob):
        return "not a blob"
    if obj.size > MAX_BLOB_BYTES:
        return f"{obj.size} bytes is over the {MAX_BLOB_BYTES}-byte limit"
    if cid.codec != DAG_JSON:
        return f"codec 0x{cid.codec:x} is not dag-json"
    data = obj.read_raw()
    if CID.of(data, cid.codec) != cid:
        return f"bytes hash to {CID.of(data, cid.codec)}, not to their name"
    if opaque:
        try:
            dagjson.decode(data)
        except MindgitError as e:
            return f"not canonical DAG-JSON: {e}"
    else:
        try:
            check_thought(cid, data)
        except SchemaError as e:
            return e.problem
    return None


def trailer(message: str, key: str) -> str | None:
    """The last value of ``key`` in the message's trailer block (its last paragraph only).

    Lines elsewhere in a message are content, not trailers, even when they look like one.
    """
    paragraphs = message.rstrip("\n").split("\n\n")
    if len(paragraphs) < 2:
        return None
    value = None
    prefix = key + ": "
    for line in paragraphs[-1].splitlines():
        if line.startswith(prefix):
            value = line[len(prefix) :].strip()
    return value


def walk(repo: pygit2.Repository, tips: Iterable[str], hide: Iterable[str] = ()) -> Iterator[str]:
    """Every commit reachable from ``tips`` and not from ``hide``, parents before children."""
    walker = repo.walk(None, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE)
    pushed = False
    for tip in tips:
        walker.push(pygit2.Oid(hex=tip))
        pushed = True
    if not pushed:
        return
    for h in hide:
        walker.hide(pygit2.Oid(hex=h))
    for commit in walker:
        yield str(commit.id)


def verify_commits(
    repo: pygit2.Repository,
    trust: TrustStore,
    tips: Iterable[str],
    hide: Iterable[str] = (),
    *,
    on_result: Callable[[CommitResult], None] | None = None,
) -> Report:
    """Verify every commit reachable from ``tips`` but not from ``hide``."""
    v = Verifier(repo, trust)
    report = Report()
    for oid in walk(repo, tips, hide):
        result = v.check_commit(oid)
        report.results.append(result)
        if on_result is not None:
            on_result(result)
    return report
