"""The gate every incoming ref update passes: a server's pre-receive hook and ``pull`` alike.

``check_update`` answers "may ``ref`` move from ``old`` to ``new``?" with the list of reasons it
may not (empty: it may). It checks, in this order, so that nothing large or hostile is read
before it is known to be safe to read:

1. the ref: only ``refs/heads/*``, ``refs/runs/*``, ``refs/fitness/*`` and ``refs/keys/*``, no
   deletion unless allowed, and no rewind (``old`` must be an ancestor of ``new``) unless allowed;
2. every new commit (reachable from ``new`` and from no ref already accepted): its size from
   the object database's header, before libgit2 reads it; then its signature, by a trusted key
   (a check of the commit's own bytes). A commit no trusted key signed is refused for that
   alone: nothing of its tree is read, so a push anyone can make costs its commits only;
3. every object of the trees of the commits a trusted key signed: its size from its header,
   before its content is read, and every tree entry name (``..``, ``.``, ``.git``, ``/``,
   ``\\``, empty, NUL);
4. every commit a trusted key signed: a mindgit tree (state, run generation, fitness module,
   or key-rotation announcement signed by its old key) whose every block matches its CID;
5. the new tip is the kind of commit its namespace holds (a state on ``refs/heads/*``...);
   a ``refs/keys/*`` holds one whole key chain (started by ``<root>`` on ``refs/keys/<root>``),
   as a pull reads it.

Commits already reachable from an accepted ref (``refs/heads|runs|fitness|keys/*``) are not
checked again: the store accepted them before. Refs elsewhere (a fetch's quarantine namespace,
``refs/remotes/*``) are never taken as accepted.

Steps 2 to 4 on a large update, when a core is idle, are shared with a second process (forked
once the commits are sized): it checks the later commits, this process the earlier ones,
neither goes on to step 4 before both passed step 3, and their problems are put back in the
order one process would have found them. The checks are the same; see
:func:`verify_new_commits`.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import pygit2

from mindgit.errors import MindgitError, one_line, unreadable_object
from mindgit.identity.keys import PublicKey
from mindgit.identity.rotation import BadRotation, RotationRecord
from mindgit.identity.trust import TrustStore
from mindgit.store import layout, verify
from mindgit.store.generation_check import remembering
from mindgit.store.objects import as_commit
from mindgit.store.refs import RefError, check_ref_name, read_ref
from mindgit.store.repository import SYNCED_PREFIXES
from mindgit.store.retired import RECORD_FILE
from mindgit.store.rotations import ANNOUNCE_REF, PROOF_FILE
from mindgit.store.split import check_in_halves, scan_then_check_in_halves
from mindgit.store.verify import (
    FITNESS_FILE,
    GENERATION_FILE,
    ModuleLoads,
    Problem,
    Verifier,
    commit_parents,
    trusted_signer,
    walk,
)
from mindgit.sync import keychains

HEADS = "refs/heads/"
RUNS = "refs/runs/"
FITNESS = "refs/fitness/"
KEYS = "refs/keys/"
ACCEPTED_PREFIXES = SYNCED_PREFIXES
# The largest legitimate object is a 16 MiB fitness module or a population's states tree;
# twice that leaves room and still keeps a hostile push from filling memory.
DEFAULT_MAX_OBJECT_BYTES = 32 << 20
# The compile budget of one update's check: verify's own (store.verify.MODULE_COMPILE_SECONDS),
# named here too so that a test can shorten it for the gate alone. Modules held in memory ahead
# of their checks, at most: _MODULES_AHEAD_BYTES.
MODULE_COMPILE_SECONDS = verify.MODULE_COMPILE_SECONDS
# Problems one check of an update looks for, at most (in each of its two processes): a hook
# shows 20, and a tree of 32 MiB holds 600,000 entry names to refuse (ten such trees, a 5 MB
# push, held 2 million problems in 820 MB of the hook's memory for 23 s).
MAX_PROBLEMS = 1000
_MODULES_AHEAD_BYTES = 64 << 20
ZERO_OID = "0" * 40

_TREE_MODES = {int(pygit2.enums.FileMode.TREE)}
_GITLINK = int(pygit2.enums.FileMode.COMMIT)
_TIP_KINDS = {
    HEADS: ("state", "a state commit (manifest.json)"),
    RUNS: ("generation", "a run generation commit (generation.json)"),
    FITNESS: ("fitness", "a fitness module commit (fitness.json)"),
    KEYS: ("announcement", "a key-rotation announcement (rotation.json, proof.sig)"),
}


@dataclass(frozen=True, slots=True)
class RefUpdate:
    """One requested ref change; ``old`` None creates the ref, ``new`` None deletes it."""

    ref: str
    old: str | None
    new: str | None

    @classmethod
    def of(cls, ref: str, old: str | None, new: str | None) -> RefUpdate:
        """An update from git's spelling, where 40 zeros stand for "no commit"."""
        return cls(ref, _oid_or_none(old), _oid_or_none(new))


class UpdateRefused(MindgitError):
    """At least one ref update did not pass the gate; ``problems`` says each reason."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(
            f"update refused: {first}{more}; nothing was changed",
            hint="every commit must be signed by a trusted key and hold a valid mindgit tree",
        )
        self.problems = tuple(problems)


def _oid_or_none(oid: str | None) -> str | None:
    if oid is None or oid == "" or set(oid) == {"0"}:
        return None
    return oid


def check_update(
    repo: pygit2.Repository,
    trust: TrustStore,
    ref: str,
    old: str | None,
    new: str,
    *,
    allow_rewind: bool = False,
    allow_delete: bool = False,
    max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES,
) -> list[Problem]:
    """Why ``ref`` may not move from ``old`` to ``new`` (empty: it may).

    ``old`` None (or zeros) creates the ref; ``new`` as zeros deletes it. ``repo`` must see the
    incoming objects (a hook opens it with :func:`mindgit.sync.hooks.open_repository`).
    """
    return check_updates(
        repo,
        trust,
        [RefUpdate.of(ref, old, new)],
        allow_rewind=allow_rewind,
        allow_delete=allow_delete,
        max_object_bytes=max_object_bytes,
    )


def check_updates(
    repo: pygit2.Repository,
    trust: TrustStore,
    updates: Sequence[RefUpdate],
    *,
    allow_rewind: bool = False,
    allow_delete: bool = False,
    max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES,
    old_accepted: bool = True,
    hashed_on_arrival: bool = False,
) -> list[Problem]:
    """:func:`check_update` for several refs at once; each new commit is checked once.

    With ``old_accepted`` (a hook: ``old`` is the ref's value in this repository) the history
    of each ``old`` is not checked again; a pull passes False, as its ``old`` is only the head
    last seen from the peer (a rewind mark), which this store may never have accepted.
    ``hashed_on_arrival``: see :func:`check_commits`.
    """
    problems: list[Problem] = []
    tips: list[str] = []
    kinds: list[tuple[RefUpdate, str]] = []
    hide = accepted_heads(repo)
    if old_accepted:
        # Only an old value that is the ref's value here was accepted: a push states "old"
        # itself, and git checks it only later, when it moves the ref.
        hide.extend(
            u.old
            for u in updates
            if u.old is not None and _exists(repo, u.old) and _current(repo, u.ref) == u.old
        )
    news = [u.new for u in updates if u.new is not None and _is_commit(repo, u.new)]
    # Before libgit2 reads any new commit whole (an ancestry check, the walk): a commit that
    # zlib packs 1000:1 made a push of 400 KB take 860 MB of the hook's memory.
    oversized = oversized_commits(repo, news, hide, max_object_bytes)
    for u in updates:
        problems.extend(_ref_problems(repo, u, allow_rewind, allow_delete, not oversized))
        if u.new is not None and _is_commit(repo, u.new):
            tips.append(u.new)
            if _namespace(u.ref):
                kinds.append((u, _namespace(u.ref)))
    if oversized:
        return problems + oversized
    commit_problems = check_commits(
        repo,
        trust,
        tips,
        hide,
        max_object_bytes=max_object_bytes,
        hashed_on_arrival=hashed_on_arrival,
    )
    problems.extend(commit_problems)
    if not commit_problems:
        for u, prefix in kinds:
            assert u.new is not None
            # The same commit under the same name here was checked when it came (a run's tip
            # costs a read of its generation): a pull that brings nothing new pays nothing.
            if _current(repo, u.ref) != u.new:
                problems.extend(_tip_kind_problems(repo, u.ref, u.new, prefix))
    return problems


def accepted_heads(repo: pygit2.Repository) -> list[str]:
    """The commits the store already accepted: the targets of its refs in the accepted namespaces."""
    out = []
    for name in repo.references:
        if not name.startswith(ACCEPTED_PREFIXES):
            continue
        try:
            target = repo.references[name].resolve().target
        except (KeyError, ValueError, pygit2.GitError):
            # ValueError: libgit2 will not look up a name over 1023 bytes, which git can write.
            continue
        oid = str(target)
        if _exists(repo, oid):
            out.append(oid)
    return out


def _current(repo: pygit2.Repository, ref: str) -> str | None:
    try:
        return read_ref(repo, ref)
    except (RefError, ValueError):  # unreadable here: nothing under it counts as accepted
        return None


def _namespace(ref: str) -> str:
    for prefix in ACCEPTED_PREFIXES:
        if ref.startswith(prefix):
            return prefix
    return ""


def _exists(repo: pygit2.Repository, oid: str) -> bool:
    try:
        return pygit2.Oid(hex=oid) in repo.odb
    except ValueError:
        return False


def oversized_commits(
    repo: pygit2.Repository, tips: Iterable[str], hide: Iterable[str], limit: int
) -> list[Problem]:
    """The new commits (reachable from ``tips``, not from ``hide``) over ``limit`` bytes, each
    sized from its header before it is read: libgit2's walk and its ancestry checks read every
    commit whole, and git's pack holds a commit of a gigabyte in a megabyte. One too large is
    not read, so the commits below it are not looked at. Missing objects and objects that are
    no commit are left to the checks that name them.

    The walk is git's own: newest commit first, the commits reachable from ``hide`` (accepted,
    each sized when it came) marked as they are met, and it ends when only those are left, so
    it reads about the commits libgit2's walk will (not the whole accepted history below a
    fork of an old state, or below a peer's head this store merged).
    """
    odb = repo.odb
    found: list[Problem] = []
    accepted: dict[str, bool] = {}  # each commit met -> reachable from hide (as far as known)
    parents_of: dict[str, list[str]] = {}
    queue: list[tuple[int, int, str]] = []  # (-commit time, order met, commit)
    queued: set[str] = set()
    order = itertools.count()
    new_queued = 0

    def accept(oid: str) -> None:
        # A commit found reachable from hide after all: it and whatever was met below it.
        nonlocal new_queued
        stack = [oid]
        while stack:
            at = stack.pop()
            if accepted.get(at) is not False:
                continue
            accepted[at] = True
            if at in queued:
                new_queued -= 1
            else:
                stack.extend(parents_of.get(at, ()))

    def meet(oid: str, old: bool) -> None:
        nonlocal new_queued
        known = accepted.get(oid)
        if known is not None:
            if old and not known:
                accept(oid)
            return
        if not old:  # an accepted commit was sized when it came
            try:
                kind, size = odb.read_header(pygit2.Oid(hex=oid))
            except (KeyError, ValueError, pygit2.GitError):
                return
            if kind != _COMMIT_KIND:
                return
            if size > limit:
                accepted[oid] = old
                found.append(
                    Problem(oid, f"commit {oid} is {size} bytes, over the {limit}-byte limit")
                )
                return
        try:
            kind, raw = odb.read(oid)
            if kind != _COMMIT_KIND:
                return
            accepted[oid] = old
            parents = commit_parents(raw)
            if parents is None:  # not laid out as git writes it: as libgit2 reads it
                commit = as_commit(repo.get(oid))
                parents = [str(p) for p in commit.parent_ids] if commit is not None else []
        except (KeyError, ValueError, pygit2.GitError):
            return
        parents_of[oid] = parents
        when = _COMMITTER_TIME.search(raw, 0, max(raw.find(b"\n\n"), 0))
        heapq.heappush(queue, (-int(when.group(1)) if when else 0, next(order), oid))
        queued.add(oid)
        if not old:
            new_queued += 1

    for oid in hide:
        meet(oid, True)
    for oid in tips:
        meet(oid, False)
    while queue and new_queued:
        _, _, oid = heapq.heappop(queue)
        queued.discard(oid)
        old = accepted[oid]
        if not old:
            new_queued -= 1
        for parent in parents_of[oid]:
            meet(parent, old)
    return found


_COMMITTER_TIME = re.compile(rb"^committer [^\n]*> ([0-9]{1,15}) [+-][0-9]{4}$", re.MULTILINE)


def _ref_problems(
    repo: pygit2.Repository,
    u: RefUpdate,
    allow_rewind: bool,
    allow_delete: bool,
    ancestry: bool = True,
) -> Iterator[Problem]:
    at = u.new or u.old or ZERO_OID
    prefix = _namespace(u.ref)
    if not prefix or len(u.ref) == len(prefix):
        allowed = ", ".join(p + "*" for p in ACCEPTED_PREFIXES)
        yield Problem(at, f"ref {u.ref} is outside the namespaces a store accepts ({allowed})")
        return
    try:
        check_ref_name(u.ref)
    except RefError:
        yield Problem(at, f"ref name {u.ref!r} is not one mindgit accepts")
        return
    if u.new is None:
        if not allow_delete:
            yield Problem(at, f"deleting {u.ref} is refused (the server does not allow deletions)")
        return
    if not _is_commit(repo, u.new):
        yield Problem(u.new, f"is not a commit (the new value of {u.ref})")
        return
    if u.old is None or u.old == u.new or allow_rewind or not ancestry:
        return
    if not _is_commit(repo, u.old):
        yield Problem(
            u.new, f"the current {u.ref} ({u.old[:12]}) is missing; cannot check ancestry"
        )
        return
    try:
        descends = repo.descendant_of(pygit2.Oid(hex=u.new), pygit2.Oid(hex=u.old))
    except (KeyError, ValueError, pygit2.GitError) as e:
        # libgit2 parses each commit whole here: one whose author line is malformed (git
        # stores it unchecked) raised, and the hook or pull ended in an internal error.
        yield Problem(u.new, f"history cannot be read ({e}); cannot check ancestry")
        return
    if not descends:
        yield Problem(
            u.new,
            f"rewinds {u.ref}: its current head {u.old} is not an ancestor of {u.new}",
            u.ref,
        )


def _is_commit(repo: pygit2.Repository, oid: str) -> bool:
    try:
        kind, _ = repo.odb.read_header(pygit2.Oid(hex=oid))
    except (KeyError, ValueError, pygit2.GitError):
        return False
    return bool(kind == pygit2.enums.ObjectType.COMMIT)


def check_commits(
    repo: pygit2.Repository,
    trust: TrustStore,
    tips: Iterable[str],
    hide: Iterable[str] = (),
    *,
    max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES,
    workers: int | None = None,
    hashed_on_arrival: bool = False,
) -> list[Problem]:
    """Problems of every commit reachable from ``tips`` and not from ``hide``: each commit's size
    and signature first, then the object sizes and tree entry names of the commits a trusted
    key signed (a commit no trusted key signed is named for that alone, its tree never read),
    then (only if no object is too large) the content of each commit a trusted key signed.

    A large update is shared with a second process (``workers``; see :func:`verify_new_commits`),
    the scan of sizes, signatures and names too: no content is read until both halves passed it.
    ``hashed_on_arrival``: every object not yet accepted was hashed by git as it arrived, just
    now (a fetch's or a push's index-pack computes each id from the bytes), so libgit2 need not
    hash each again as it reads it (see :func:`_hashed_reads`).
    """
    tips = list(tips)
    if not tips:
        return []
    with _hashed_reads(hashed_on_arrival):
        return _check_commits(repo, trust.pinned(), tips, hide, max_object_bytes, workers)


@contextlib.contextmanager
def _hashed_reads(hashed: bool) -> Iterator[None]:
    """Within the block, when ``hashed``, libgit2 reads objects without hashing each to check
    its id (~14% of the gate's CPU time on a pulled run: a read of a deltified state ~7 us
    instead of ~14 us). The setting is process-wide and libgit2 cannot report it, so it goes
    back to libgit2's default, on, when the block ends. A signature covers each commit's bytes
    and a CID each block's; a tree's bytes are the ones git hashed as they arrived. The hash
    would only catch bytes changed on disk in the moments since git wrote them."""
    if not hashed:
        yield
        return
    pygit2.settings.enable_strict_hash_verification(False)
    try:
        yield
    finally:
        pygit2.settings.enable_strict_hash_verification(True)


def _check_commits(
    repo: pygit2.Repository,
    trust: TrustStore,
    tips: list[str],
    hide: Iterable[str],
    max_object_bytes: int,
    workers: int | None,
) -> list[Problem]:
    try:
        commits = list(walk(repo, tips, hide))
    except (KeyError, ValueError, pygit2.GitError) as e:
        return [Problem(tips[0], _unwalkable(e))]
    scanners: list[_Scanner] = []

    def scan(share: Sequence[str]) -> tuple[list[tuple[bytes, Problem]], bool]:
        scanner = _Scanner(repo, max_object_bytes, trust)
        scanners.append(scanner)
        found = list(
            itertools.islice((item for oid in share for item in scanner.commit(oid)), MAX_PROBLEMS)
        )
        if len(found) == MAX_PROBLEMS:
            # The rest are not looked for, nor any content read: the update is refused.
            scanner.unsafe = True
        return found, not scanner.unsafe

    def check(share: Sequence[str]) -> list[Problem]:
        # The signatures this process's scans judged: a share whose worker failed after its
        # scan was judged by the worker alone, and its modules are loaded as checked.
        signed = {oid: key for scanner in scanners for oid, key in scanner.signed.items()}
        return _verify_share(repo, trust, share, signed)

    halves = scan_then_check_in_halves(commits, scan, check, workers=workers)
    problems = [problem for _, problem in halves.scans[0]]
    if len(halves.scans) > 1:
        # One process names a bad object under the first commit that reaches it: the later
        # share's finds are dropped where the earlier share (this process's first scanner)
        # reached the same object.
        earlier = scanners[0].seen
        problems.extend(problem for obj, problem in halves.scans[1] if obj not in earlier)
    if halves.checks is not None:
        problems.extend(halves.checks)
    return problems


def _unwalkable(e: Exception) -> str:
    """Why libgit2's walk stopped: a commit it reaches is missing (a KeyError naming its id),
    damaged on disk, or one libgit2 cannot parse (a GitError or ValueError naming no commit:
    "failed to parse bad commit object", "object is no commit object"). All three were "objects
    are missing"."""
    if isinstance(e, KeyError):  # before GitError: libgit2's NotFoundError is both
        found = _HEX_ID.search(str(e))
        what = f"commit {found.group()}" if found else "a commit it reaches"
        return f"history cannot be walked: {what} is missing"
    if isinstance(e, pygit2.GitError) and unreadable_object(str(e)) is not None:
        return f"history cannot be walked: {verify.cannot_read(None, e)}"
    return f"history cannot be walked: a commit it reaches is malformed ({one_line(str(e))})"


_HEX_ID = re.compile(r"[0-9a-f]{40}")


# ---- signatures and content, in one process or two --------------------------------------------


@dataclass(frozen=True, slots=True)
class Verification:
    """The problems of a list of commits, and whether a second process checked a share."""

    problems: tuple[Problem, ...]
    split: bool


def verify_new_commits(
    repo: pygit2.Repository,
    trust: TrustStore,
    commits: Sequence[str],
    *,
    workers: int | None = None,
) -> Verification:
    """Signature and content problems of ``commits`` (parents first), in that order.

    A large update is shared with a forked process when a core is idle (``workers``: see
    :func:`mindgit.store.split.check_in_halves`); the list is the one a single process finds.
    Call only once every object's size is known to be safe to read.
    """
    problems, split = check_in_halves(
        list(commits), lambda share: _verify_share(repo, trust, share), workers=workers
    )
    return Verification(tuple(problems), split)


def _verify_share(
    repo: pygit2.Repository,
    trust: TrustStore,
    commits: Sequence[str],
    signed: Mapping[str, PublicKey | None] | None = None,
) -> list[Problem]:
    """``signed`` (the gate's scan): the trusted key that signed each commit (None: no trusted
    key did), where known; None when every object's size was known safe (see
    :func:`_modules_ahead`). The verifier takes those signers as found, and checks no signature
    twice."""
    found: list[list[Problem]] = [[] for _ in commits]
    # A fitness module's sandbox load (a compile) runs on a thread of its own while the
    # other commits are checked, and its commit is checked last: each commit's problems
    # depend on its own objects alone, so the order they are found in changes none.
    ahead = _modules_ahead(repo, trust, commits, signed) if len(commits) > 1 else {}
    modules = ModuleLoads(list(ahead.values()), budget=MODULE_COMPILE_SECONDS)
    # A commit no trusted key signed is refused unread: whoever may push chose its bytes.
    signers = {oid: key for oid, key in (signed or {}).items() if key is not None}
    verifier = Verifier(repo, trust, modules, untrusted_content=False, signers=signers)
    order = [i for i in range(len(commits)) if i not in ahead] + sorted(ahead)
    # The generations of a run share their run.json, module, manifest shape and states.
    count = 0
    with remembering(repo):
        for i in order:
            if count >= MAX_PROBLEMS:
                break  # the update is refused: the other commits need no look
            oid = commits[i]
            result = verifier.check_commit(oid)
            found[i].extend(result.problems)
            count += len(result.problems)
            commit = as_commit(repo[oid])
            assert commit is not None
            if result.ok and _kind(commit.tree) == "announcement":
                found[i].extend(_announcement_problems(repo, oid, commit, result.signer))
    modules.close()
    return [p for problems in found for p in problems]


def _modules_ahead(
    repo: pygit2.Repository,
    trust: TrustStore,
    commits: Sequence[str],
    signed: Mapping[str, PublicKey | None] | None,
) -> dict[int, tuple[pygit2.Oid, bytes]]:
    """The module (blob id, bytes) of each fitness module commit signed by a trusted key
    whose tree is valid (the only ones the verifier loads), by the commit's index.

    ``signed``: the gate's verdicts, from its scan, which sized only the trees of commits a
    trusted key signed: no other commit's tree is read here, nor one whose verdict this process
    does not hold (its module is loaded when its commit is checked). None: every tree was
    sized, and only a fitness module commit's signature is checked."""
    from mindgit.store.generation import MODULE_FILE
    from mindgit.store.generation_check import check_fitness_tree

    ahead = {}
    held = 0
    for i, oid in enumerate(commits):
        if held > _MODULES_AHEAD_BYTES:
            break  # the others are read when their commits are checked
        try:
            if signed is not None and signed.get(oid) is None:
                continue
            commit = as_commit(repo.get(oid))
            tree = commit.tree if commit is not None else None
            # The verifier's own reading of the tree decides; this only guesses ahead of it
            # (a wrong guess costs a load, never an answer).
            if commit is None or tree is None or _kind(tree) != "fitness":
                continue
            # Anyone may push a module; only a trusted key's is ever loaded (a compile costs
            # ~1 s a MB of wasm).
            if signed is None and trusted_signer(repo.odb.read(commit.id)[1], trust) is None:
                continue
            if any(check_fitness_tree(repo, tree)):
                continue
            blob = repo.get(tree[MODULE_FILE].id)
        except (KeyError, ValueError, MindgitError, pygit2.GitError):
            continue
        if isinstance(blob, pygit2.Blob):
            ahead[i] = (blob.id, blob.read_raw())
            held += blob.size
    return ahead


# ---- object sizes and names -------------------------------------------------------------------


# Names name_problem passes without a second look, as CIDs and mindgit's own file names are: no
# separator, NUL or non-ASCII, and a first character that no spelling of ".", ".." or ".git"
# (nor git~1, which holds a "~") starts with.
_HARMLESS_NAME = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._+=-]*")
# A tree entry of a regular file or a directory with such a name, as git writes it.
_PLAIN_ENTRY = re.compile(rb"(100644|40000) ([A-Za-z0-9][A-Za-z0-9._+=-]*)\0(.{20})", re.DOTALL)
_TREE_KIND = int(pygit2.enums.ObjectType.TREE)
_COMMIT_KIND = int(pygit2.enums.ObjectType.COMMIT)


def name_problem(name: bytes) -> str | None:
    """Why a tree entry name is refused, or None if it is harmless."""
    if not name:
        return "an empty tree entry name is refused"
    if b"\0" in name:
        return "a tree entry name containing NUL is refused"
    if b"/" in name or b"\\" in name:
        return f"tree entry name {_show(name)} contains a path separator"
    if name in (b".", b".."):
        return f"tree entry name {_show(name)} would escape its directory"
    # git itself refuses these spellings of .git (case, trailing dots and spaces on NTFS, the
    # 8.3 short name): checking one out would overwrite a repository's own files.
    folded = name.decode("utf-8", errors="replace").casefold().rstrip(". ")
    if folded in (".git", "git~1"):
        return f"tree entry name {_show(name)} names a git directory"
    return None


# A name or path a problem quotes, at most (characters): a tree may hold one entry of 32 MiB.
_SHOWN_NAME = 100
_SHOWN_PATH = 300


def _show(name: bytes) -> str:
    if len(name) <= _SHOWN_NAME:
        return repr(name.decode("utf-8", errors="backslashreplace"))
    cut = name[:_SHOWN_NAME].decode("utf-8", errors="backslashreplace")
    return f"{cut!r}... ({len(name)} bytes)"


class _Scanner:
    """Checks the size and signature of every commit, and the size of every object and the name
    of every tree entry of the commits a key of ``trust`` signed, each object once."""

    def __init__(self, repo: pygit2.Repository, limit: int, trust: TrustStore) -> None:
        self.repo = repo
        self.odb = repo.odb
        self.limit = limit
        self.trust = trust
        self.seen: set[bytes] = set()  # raw ids
        # Each commit judged: the trusted key that signed it, or None (the content checks take
        # the signers as found, and the read-ahead of modules the verdicts).
        self.signed: dict[str, PublicKey | None] = {}
        # Set when an object is too large or unparseable: the content checks would read it.
        self.unsafe = False

    def _size_problem(self, oid: pygit2.Oid, what: str) -> str | None:
        try:
            _, size = self.odb.read_header(oid)
        except (KeyError, pygit2.GitError):
            return f"{what} {oid} is missing"
        if size > self.limit:
            self.unsafe = True
            return f"{what} {oid} is {size} bytes, over the {self.limit}-byte limit"
        return None

    def commit(self, hexoid: str) -> Iterator[tuple[bytes, Problem]]:
        """The commit's problems, each with the raw id of the object it concerns (a tree's
        entry names: the tree). A commit no trusted key signed has none here: the content
        checks name its signature, and nothing of its tree is read."""
        oid = pygit2.Oid(hex=hexoid)
        problem = self._size_problem(oid, "commit")
        if problem is not None:
            yield oid.raw, Problem(hexoid, problem)
            return
        with contextlib.suppress(KeyError, pygit2.GitError):  # unreadable: libgit2 names it
            self.signed[hexoid] = trusted_signer(self.odb.read(oid)[1], self.trust)
            if self.signed[hexoid] is None:
                return
        try:
            commit = as_commit(self.repo[oid])
        except pygit2.GitError as e:
            self.unsafe = True
            yield oid.raw, Problem(hexoid, f"the commit cannot be parsed ({e})")
            return
        assert commit is not None
        for obj, path, reason in self._tree(commit.tree_id, ""):
            yield obj, Problem(hexoid, reason, path or None)

    def _tree(self, oid: pygit2.Oid, path: str) -> Iterator[tuple[bytes, str, str]]:
        # An explicit stack: a hostile tree may nest deeper than Python recursion goes.
        stack = [(oid, path)]
        seen = self.seen
        while stack:
            oid, path = stack.pop()
            if oid.raw in seen:
                continue
            seen.add(oid.raw)
            problem = self._size_problem(oid, "tree")
            if problem is not None:
                yield oid.raw, path, problem
                continue
            plain = self._plain_entries(oid)
            if plain is not None:
                for spelt, raw, child in plain:
                    if spelt == b"40000":
                        stack.append((pygit2.Oid(raw=child), _where(path, raw)))
                    elif child not in seen:
                        seen.add(child)
                        problem = self._size_problem(pygit2.Oid(raw=child), "blob")
                        if problem is not None:
                            yield child, _where(path, raw), problem
                continue
            try:
                tree = self.repo[oid]
            except pygit2.GitError as e:
                # libgit2 refuses to parse some hostile trees (an empty entry name, say).
                self.unsafe = True
                yield oid.raw, path, f"tree {oid} cannot be parsed ({e})"
                continue
            if not isinstance(tree, pygit2.Tree):
                yield oid.raw, path, f"{oid} is not a tree"
                continue
            for entry in tree:
                raw = entry.raw_name or b""
                if _HARMLESS_NAME.fullmatch(raw) is None:
                    bad = name_problem(raw)
                    if bad is not None:
                        yield oid.raw, _where(path, raw), bad
                mode = int(entry.filemode)
                if mode == _GITLINK:
                    yield (
                        oid.raw,
                        _where(path, raw),
                        "a submodule (gitlink) entry is not part of any mindgit tree",
                    )
                elif mode in _TREE_MODES:
                    stack.append((entry.id, _where(path, raw)))
                else:
                    blob = entry.id
                    if blob.raw not in seen:
                        seen.add(blob.raw)
                        problem = self._size_problem(blob, "blob")
                        if problem is not None:
                            yield blob.raw, _where(path, raw), problem

    def _plain_entries(self, oid: pygit2.Oid) -> list[tuple[bytes, bytes, bytes]] | None:
        """A tree's entries (mode, name, raw id) if it holds only regular files and
        directories with harmless names, as every mindgit tree does; None for any other (read
        then through libgit2, whose parse decides). Such a tree needs no name checked, and its
        modes are git's own spellings: its bytes say all that libgit2 would."""
        try:
            kind, data = self.odb.read(oid)
        except (KeyError, pygit2.GitError):
            return None
        if kind != _TREE_KIND:
            return None
        found: list[tuple[bytes, bytes, bytes]] = _PLAIN_ENTRY.findall(data)
        # Matches cannot overlap: they tile the tree when their lengths add up to all of it.
        if sum(len(mode) + len(name) for mode, name, _ in found) + 22 * len(found) != len(data):
            return None
        return found


def _where(path: str, raw: bytes) -> str:
    # Cut to its last characters: each tree's path is its parent's and one more name, and a
    # tree nested 100,000 deep (3 MB of push) made paths of up to 200,000 characters, 10^10
    # in all, or a name of 32 MiB one of that size in each of its problems.
    where = f"{path}/{_display(raw)}" if path else _display(raw)
    return where if len(where) <= _SHOWN_PATH else "..." + where[3 - _SHOWN_PATH :]


def _display(raw: bytes) -> str:
    if len(raw) > _SHOWN_NAME:
        return raw[:_SHOWN_NAME].decode("utf-8", errors="backslashreplace") + "..."
    return raw.decode("utf-8", errors="backslashreplace")


# ---- commit kinds -----------------------------------------------------------------------------


def _kind(tree: pygit2.Tree) -> str:
    names = {e.name for e in tree}
    if layout.MANIFEST in names:
        return "state"
    if GENERATION_FILE in names:
        return "generation"
    if FITNESS_FILE in names:
        return "fitness"
    if names == {RECORD_FILE, PROOF_FILE}:
        return "announcement"
    return "unknown"


def _tip_kind_problems(
    repo: pygit2.Repository, ref: str, new: str, prefix: str
) -> Iterator[Problem]:
    wanted, description = _TIP_KINDS[prefix]
    commit = as_commit(repo[new])
    assert commit is not None
    if _kind(commit.tree) != wanted:
        yield Problem(new, f"{ref} must point at {description}", ref)
    elif prefix == RUNS:
        yield from _run_ref_problems(repo, ref, new)
    elif prefix == KEYS:
        yield from _chain_problems(repo, ref, new)
    # A fitness module's loading in the sandbox is the verifier's check, made on every new
    # module commit (store/verify.py); one already in the store passed it when it arrived.


def _run_ref_problems(repo: pygit2.Repository, ref: str, new: str) -> Iterator[Problem]:
    """A run ref is named by its run's id: another name would list one run twice."""
    from mindgit.store.generation import read_generation_run

    try:
        # The tip's record was checked with its tree: only its run is read again here.
        run_id = read_generation_run(repo, new).run_id
    except MindgitError as e:
        yield Problem(new, f"not a readable run generation: {e}", ref)
        return
    if ref.removeprefix(RUNS) != run_id:
        yield Problem(new, f"{ref} holds run {run_id}; a run's ref is refs/runs/<its id>", ref)


def _chain_problems(repo: pygit2.Repository, ref: str, new: str) -> Iterator[Problem]:
    """A key chain ref holds one whole chain under its root's name, as a pull reads it: a
    server that took less would make every pull from it refuse."""
    try:
        chain = keychains.read_chain_in(repo, new)
    except BadRotation as e:
        yield Problem(new, f"{ref}: {e.reason}", e.what)
        return
    # A node's own refs/keys/announce, pushed by plain git, is filed by its root when pulled.
    if ref != ANNOUNCE_REF and chain.ref != ref:
        yield Problem(new, f"{ref} holds the key chain of {chain.root.did}", ref)


def _announcement_problems(
    repo: pygit2.Repository, oid: str, commit: pygit2.Commit, signer: PublicKey | None
) -> Iterator[Problem]:
    """Only the old key may announce its own rotation (the verifier checked record and proof)."""
    try:
        record = RotationRecord.parse(repo[commit.tree[RECORD_FILE].id].read_raw(), oid[:12])
    except BadRotation as e:
        yield Problem(oid, e.reason, RECORD_FILE)
        return
    if signer is not None and signer != record.old:
        yield Problem(
            oid, f"the rotation is signed by {signer.did}, not by its old key", RECORD_FILE
        )
