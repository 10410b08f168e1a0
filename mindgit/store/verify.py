"""Verification of commits: a trusted signature, the state schema, and every CID against its bytes.

This is what CI runs and what sync runs on everything a peer sends before any ref moves. Each
tree and blob is checked once per run (they are shared between commits), so verifying a long
history costs about one signature check per commit.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice, pairwise
from pathlib import Path
from typing import Any, TypeVar

import pygit2

from mindgit.errors import MindgitError, one_line, quoted, unreadable_object
from mindgit.identity.gitsig import split_gpgsig
from mindgit.identity.keys import PublicKey
from mindgit.identity.sshsig import BadSignature, verify
from mindgit.identity.trust import TrustedNode, TrustStore
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID, DAG_JSON
from mindgit.store import layout
from mindgit.store.damage import REPAIR, Indexes, unreadable_cause
from mindgit.store.objects import as_commit
from mindgit.store.refs import ref_names
from mindgit.store.retired import RECORD_FILE, RetiredBounds
from mindgit.store.share_check import ENVELOPE_TRAILER, SHARED_WITH_TRAILER, share_problem
from mindgit.store.state import GenomeSplice, SchemaError, check_thought

MAX_BLOB_BYTES = 16 << 20
# Wall-clock seconds one check (a verify, a pull's or a push's gate) may wait for fitness modules
# to compile, in all (a small one takes ~15 ms, the largest legitimate kind, 16 MiB of straight
# code, ~20 s); a module not compiled by then is refused for that.
MODULE_COMPILE_SECONDS = 60.0
STATE_TRAILER = "Mindgit-State"
# As store/generation.py names it (not imported: that module imports this one's readers).
EXPERIMENT_TRAILER = "Mindgit-Experiment"
# Tree kinds other layers write through the store (see store/generation.py).
GENERATION_FILE = "generation.json"
FITNESS_FILE = "fitness.json"


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


@dataclass(frozen=True, slots=True)
class RefProblem:
    """A ref that should name a commit to verify and names none: nothing under it was checked."""

    ref: str
    reason: str

    def __str__(self) -> str:
        # A file under refs/ may be named anything, escape codes included: quoted, it is inert.
        name = self.ref if self.ref.isprintable() else repr(self.ref)
        return f"{name}: {self.reason}"


@dataclass(slots=True)
class Report:
    results: list[CommitResult] = field(default_factory=list)
    refs: list[RefProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.refs and all(r.ok for r in self.results)

    @property
    def problems(self) -> list[Problem]:
        return [p for r in self.results for p in r.problems]


class VerificationFailed(MindgitError):
    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"verification failed: {first}{more}")
        self.problems = problems


CleanDirs = dict[tuple[bytes, str], frozenset[CID]]
ManifestLinks = tuple[frozenset[CID], frozenset[CID]]
"""A valid manifest's thought links and its other block links (memories and data)."""
Entries = dict[str, tuple[bytes, int]]
"""A tree's entries: name -> (raw object id, file mode)."""
TreeResult = tuple[tuple[tuple[str | None, str], ...], CID | None]
"""A tree's problems, and its manifest's CID when it is a state tree whose manifest was read."""

_OID_BYTES = 20
_COMMIT = int(pygit2.enums.ObjectType.COMMIT)
_TREE = int(pygit2.enums.ObjectType.TREE)
_BLOB = int(pygit2.enums.ObjectType.BLOB)
_STATE_NAMES = frozenset({layout.MANIFEST, layout.THOUGHTS, layout.BLOCKS})


class Verifier:
    """Checks commits against a trust store, remembering the trees and blobs already checked.

    Objects are read as raw bytes from the object database and parsed here: building pygit2
    objects would read and parse each of them again.
    """

    def __init__(
        self,
        repo: pygit2.Repository,
        trust: TrustStore,
        modules: ModuleLoads | None = None,
        *,
        untrusted_content: bool = True,
        signers: Mapping[str, PublicKey] | None = None,
        on_thought: Callable[[CID, dict[str, Any]], None] | None = None,
    ) -> None:
        self.repo = repo
        self.trust = trust
        # If given, called with each thought found good and its decoded map (the bytes its CID
        # names, whichever tree holds them), once: `show` prints them from there, where it read
        # and decoded each thought a second time.
        self._on_thought = on_thought
        # Commits whose signature was found valid on these very bytes just before (the gate's
        # scan checks each one before it reads its tree), by their signers: not verified twice.
        self._signers: Mapping[str, PublicKey] = signers if signers is not None else {}
        # False (a gate): a commit no trusted key signed is refused for that alone, its tree
        # never read. Anyone who may push chooses those bytes, and their checks cost far more
        # than the push (a fitness module's compile: ~1 s a MB of wasm that zlib packs 600:1).
        self._untrusted_content = untrusted_content
        # Fitness modules already being loaded (see ModuleLoads); any other loads when checked,
        # within the same compile budget as the gate's: a stored module's bytes may be anyone's
        # (a CI job verifies what was pushed), and wasmtime's compile time grows with the
        # square of a module's nesting.
        self._modules = (
            modules if modules is not None else ModuleLoads(budget=MODULE_COMPILE_SECONDS)
        )
        self._odb = repo.odb
        self._trees: dict[bytes, TreeResult] = {}
        self._blobs: dict[tuple[pygit2.Oid, CID, bool], str | None] = {}
        # Per verifier, never global: "clean" depends on which objects this repository holds.
        self._clean_dirs: CleanDirs = {}
        self._clean_held = 0  # the CIDs of the link sets in _clean_dirs, counted per directory
        self._splice: GenomeSplice | None = None
        self._splice_links: ManifestLinks = (frozenset(), frozenset())
        self._good_blocks: dict[str, set[tuple[bytes, str]]] = {"thought": set(), "block": set()}
        # Commits read while walking (see linear_history), handed to check_commit once each.
        self._read_ahead: dict[str, bytes] = {}
        # Tree parses by id, per verifier like the rest: a tree another repository holds may be
        # missing from this one, and must then be named missing here.
        self._entries: dict[bytes, Entries] = {}
        self._entries_held = 0  # the entries of all the trees in _entries
        # The directory of each kind last found clean, for the next to be checked against (see
        # _diff_clean).
        self._dir_refs: dict[str, _DirRef] = {}
        self._retired = RetiredBounds(repo, trust)
        self._indexes: Indexes = {}  # pack indexes read to name a missing tree's damaged pack
        # The trees found to be a run's generation (by hex id): their commits' messages carry
        # the run's experiment, which is checked.
        self._generation_trees: set[str] = set()

    def check_commit(self, oid: str) -> CommitResult:
        """Check one commit: its signature, its tree, and its ``Mindgit-State`` trailer.

        An object of it that cannot be read (damaged on disk) is a problem of this commit, not
        an error: the other commits are still checked."""
        raw = self._read_ahead.pop(oid, None)
        if raw is not None:
            kind = _COMMIT
        else:
            try:
                kind, raw = self._odb.read(oid)
            except KeyError:
                return CommitResult(oid, None, None, (Problem(oid, "object missing"),))
            except pygit2.GitError as e:
                return CommitResult(oid, None, None, (Problem(oid, cannot_read(oid, e)),))
        try:
            return self._check_raw(oid, kind, raw)
        except pygit2.GitError as e:
            # A read this module does not make itself (a run's generation, a rotation, a
            # share, a retired key's bounds) failed on damaged bytes.
            if unreadable_object(str(e)) is None:
                raise
            return CommitResult(oid, None, None, (Problem(oid, cannot_read(None, e)),))

    def _check_raw(self, oid: str, kind: int, raw: bytes) -> CommitResult:
        problems: list[Problem] = []
        if kind != _COMMIT:
            return CommitResult(oid, None, None, (Problem(oid, "not a commit"),))
        trusted: str | None = None
        node: TrustedNode | None = None
        signer = self._signers.get(oid)
        if signer is None:
            payload, armored = split_gpgsig(raw)
            if armored is None:
                problems.append(Problem(oid, "unsigned commit"))
            else:
                try:
                    signer = verify(armored, payload)
                except BadSignature as e:
                    problems.append(Problem(oid, f"bad signature: {e}"))
        if signer is not None:
            node = self.trust.find(signer)
            if node is None:
                problems.append(
                    Problem(oid, f"signed by untrusted key {signer.did} ({signer.fingerprint})")
                )
            else:
                trusted = node.name
        if problems and not self._untrusted_content:
            return CommitResult(oid, signer, trusted, tuple(problems))
        tree_hex = _commit_tree(raw)
        if tree_hex is None:
            problems.append(Problem(oid, "malformed commit: it does not start with its tree"))
            return CommitResult(oid, signer, trusted, tuple(problems))
        # Only a retired key has bounds; every other signer is spared building the tree object.
        if node is not None and node.heads is not None:
            tree = self.repo.get(tree_hex.decode("ascii"))
            refusal = (
                self._retired.refusal(node, oid, tree)
                if isinstance(tree, pygit2.Tree)
                else f"signed by {node.name}, a retired key, on a commit whose tree is missing"
            )
            if refusal is not None:
                trusted = None
                problems.append(Problem(oid, refusal))
                if not self._untrusted_content:
                    return CommitResult(oid, signer, trusted, tuple(problems))
        tree_problems, manifest = self._check_tree(tree_hex)
        for obj, reason in tree_problems:
            problems.append(Problem(oid, reason, obj))
        if tree_hex.decode("ascii") in self._generation_trees:
            experiment = experiment_trailer_problem(_message_bytes(raw))
            if experiment is not None:
                problems.append(Problem(oid, experiment))
        if not problems and manifest is not None:
            message = _message(raw)
            claimed = trailer(message, STATE_TRAILER)
            if claimed is not None and claimed != str(manifest):
                problems.append(
                    # Cut: whoever signed the commit chose the trailer, and a 200,000-character
                    # one made a line as long.
                    Problem(
                        oid,
                        f"{STATE_TRAILER} says {_claim(claimed)} but the manifest is {manifest}",
                    )
                )
            shared_with = trailer(message, SHARED_WITH_TRAILER)
            if shared_with is not None:
                problem = self._share_problem(oid, raw, tree_hex, shared_with, message)
                if problem is not None:
                    problems.append(Problem(oid, problem))
        return CommitResult(oid, signer, trusted, tuple(problems))

    def _share_problem(
        self, oid: str, raw: bytes, tree_hex: bytes, shared_with: str, message: str
    ) -> str | None:
        """See :mod:`mindgit.store.share_check`; only commits labelled a share pay for it."""
        tree = self.repo.get(tree_hex.decode("ascii"))
        if not isinstance(tree, pygit2.Tree):
            return "a share commit's tree is missing"
        parents = commit_parents(raw)
        if parents is None:  # not laid out as git writes it: as libgit2 reads it
            commit = as_commit(self.repo.get(oid))
            parents = [str(p) for p in commit.parent_ids] if commit is not None else []
        return share_problem(
            self.repo, tree, parents, shared_with, trailer(message, ENVELOPE_TRAILER)
        )

    def linear_history(self, tips: list[str]) -> list[str] | None:
        """The commits from ``tips`` root first, if they are one chain without merges (the
        order ``walk`` gives it, as a chain has only one); None otherwise, or if any commit
        cannot be read. The commits read are kept for ``check_commit``: walking with libgit2
        would read each one twice more."""
        # Shallow and grafted histories have parents libgit2 rewrites: its walk decides those.
        if len(set(tips)) != 1 or self.repo.is_shallow or _grafted(self.repo.path):
            return None
        chain: list[str] = []
        oid = tips[0]
        while len(chain) < _MAX_READ_AHEAD:
            try:
                kind, raw = self._odb.read(oid)
            except (KeyError, ValueError, pygit2.GitError):
                return None
            parents = commit_parents(raw) if kind == _COMMIT else None
            if parents is None or len(parents) > 1 or oid in self._read_ahead:
                return None
            self._read_ahead[oid] = raw
            chain.append(oid)
            if not parents:
                chain.reverse()
                return chain
            oid = parents[0]
        return None

    def _check_tree(self, tree_hex: bytes) -> TreeResult:
        cached = self._trees.get(tree_hex)
        if cached is None:
            cached = self._tree_result(pygit2.Oid(hex=tree_hex.decode("ascii")))
            self._trees[tree_hex] = cached
        return cached

    def _tree_result(self, tree_id: pygit2.Oid) -> TreeResult:
        try:
            kind, raw = self._odb.read(tree_id)
        except KeyError:
            return ((None, f"tree {tree_id} is missing"),), None
        except pygit2.GitError as e:
            return ((None, cannot_read(str(tree_id), e)),), None
        entries = _tree_entries(raw) if kind == _TREE else None
        if entries is None:
            return ((None, f"tree {tree_id} is not a well-formed tree"),), None
        if layout.MANIFEST in entries:
            problems: list[tuple[str | None, str]] = []
            manifest = self._state_problems(entries, problems)
            return tuple(problems), manifest
        if GENERATION_FILE in entries:
            self._generation_trees.add(str(tree_id))
        return tuple(islice(self._tree_problems(tree_id, entries), MAX_TREE_PROBLEMS)), None

    def _tree_problems(
        self, tree_id: pygit2.Oid, names: Entries
    ) -> Iterator[tuple[str | None, str]]:
        tree = self.repo[tree_id]
        assert isinstance(tree, pygit2.Tree)
        if GENERATION_FILE in names:
            from mindgit.store.generation_check import check_generation_tree

            yield from check_generation_tree(self.repo, tree, self._blob_problem)
        elif RECORD_FILE in names:
            from mindgit.store.rotations import check_rotation_tree

            yield from check_rotation_tree(self.repo, tree)
        elif FITNESS_FILE in names:
            from mindgit.store.generation_check import check_fitness_tree

            problems = list(check_fitness_tree(self.repo, tree))
            yield from problems
            if not problems:
                yield from _module_refusal(self.repo, tree, self._modules)
        else:
            yield (
                None,
                f"tree {tree.id} is not a state, a run generation, a fitness module or a key rotation",
            )

    def _state_problems(
        self, entries: Entries, problems: list[tuple[str | None, str]]
    ) -> CID | None:
        """Add a state tree's problems to ``problems``; return its manifest's CID if read."""
        if not entries.keys() <= _STATE_NAMES:
            for name in sorted(set(entries) - _STATE_NAMES)[:MAX_TREE_PROBLEMS]:
                problems.append((name, "unexpected entry in a state tree"))
        manifest_id, mode = entries[layout.MANIFEST]
        if mode != layout.BLOB:
            problems.append((layout.MANIFEST, "the manifest is not a regular file"))
            return None
        oid = pygit2.Oid(raw=manifest_id)
        try:
            # Sized from its header first: a tampered store's manifest must not be inflated
            # whole into memory to find out that it is too large.
            _, size = self._odb.read_header(oid)
            if size > MAX_BLOB_BYTES:
                problems.append(
                    (layout.MANIFEST, f"{size} bytes is over the {MAX_BLOB_BYTES}-byte limit")
                )
                return None
            kind, data = self._odb.read(oid)
        except KeyError:
            problems.append((layout.MANIFEST, self._missing_blob(oid)))
            return None
        except pygit2.GitError as e:
            problems.append((layout.MANIFEST, cannot_read(str(oid), e)))
            return None
        if kind != _BLOB:
            problems.append((layout.MANIFEST, "not a blob"))
            return None
        cid = CID.of(data)
        try:
            thoughts, blocks = self._manifest_links(data, cid)
        except SchemaError as e:
            problems.append((f"manifest {cid}", str(e.problem)))
            return cid
        clean = self._clean_dirs
        for dirname, wanted, what in (
            (layout.THOUGHTS, thoughts, "thought"),
            (layout.BLOCKS, blocks, "block"),
        ):
            # Most states keep their directories, or have none (see _check_cid_dir).
            entry = entries.get(dirname)
            if entry is None:
                unchanged = not wanted
            else:
                # The memo is keyed by object id: the entry must still file it as a directory.
                unchanged = entry[1] == layout.TREE and wanted is clean.get((entry[0], what))
            if not unchanged:
                room = MAX_TREE_PROBLEMS - len(problems)
                problems.extend(islice(self._check_cid_dir(entries, dirname, wanted, what), room))
        return cid

    def _manifest_links(self, data: bytes, cid: CID) -> ManifestLinks:
        # Successive states of a branch mostly differ in a gene or in one thought: such a
        # manifest needs that change checked, not a full parse (see GenomeSplice for why that is
        # the same test).
        splice = self._splice
        if splice is not None:
            follow = splice.follow(data, f"manifest {cid}")
            if follow is not None:
                self._splice = follow
                thoughts = follow.state.thoughts
                if thoughts is not self._splice_links[0]:  # a thought added or taken out
                    self._splice_links = (thoughts, self._splice_links[1])
                return self._splice_links
        state, fresh = GenomeSplice.parse(data, cid)
        links = (state.thoughts, state.blocks)
        if fresh is not None:
            self._splice, self._splice_links = fresh, links
        return links

    def _check_cid_dir(
        self, entries: Entries, dirname: str, wanted_cids: frozenset[CID], kind: str
    ) -> Iterator[tuple[str | None, str]]:
        present: Entries = {}
        key: tuple[bytes, str] | None = None
        entry = entries.get(dirname)
        if entry is None and not wanted_cids:
            return
        if entry is not None:
            sub_id, mode = entry
            # Most commits change a gene, not the thoughts: the same directory checked clean
            # against the same links needs no second look (both are content-addressed). A key
            # is only ever stored for an id that was read as a tree.
            key = (sub_id, kind)
            done = self._clean_dirs.get(key) if mode == layout.TREE else None
            if done is not None and (done is wanted_cids or done == wanted_cids):
                return
            if mode == layout.TREE and self._diff_clean(sub_id, wanted_cids, kind):
                self._found_clean(key, wanted_cids)
                return
            try:
                sub = self._read_entries(sub_id) if mode == layout.TREE else None
            except KeyError:
                # Absent, or in a pack libgit2 cannot read (one cut short: it leaves the pack
                # out whole, with no error); a partial repair leaves such trees behind.
                yield dirname, self._missing_tree(sub_id)
                return
            except pygit2.GitError as e:
                yield dirname, cannot_read(sub_id.hex(), e)
                return
            if sub is None:
                yield dirname, "is not a directory"
                return
            present = sub
        clean = True
        wanted = {str(c): c for c in wanted_cids}
        good_blocks = self._good_blocks[kind]
        if present.keys() == wanted.keys():
            # A new directory is mostly the last one plus a block: only the pairs not checked
            # already need a look (a blob's name is its CID's text, so the pair says what was
            # checked). Names are the same on both sides, so none is missing or unlinked.
            todo = [
                name
                for name, (oid, mode) in present.items()
                if mode != layout.BLOB or (oid, name) not in good_blocks
            ]
        else:
            for name in sorted(present.keys() - wanted.keys()):
                clean = False
                yield f"{dirname}/{name}", "not linked from the manifest"
            todo = list(wanted)
        for name in sorted(todo):
            cid = wanted[name]
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
            good = (oid, name)
            if good in good_blocks:
                continue
            # Memories and data are opaque canonical blocks; only thoughts have a schema.
            problem = self._blob_problem(pygit2.Oid(raw=oid), cid, kind != "thought")
            if problem is None:
                good_blocks.add(good)
            else:
                clean = False
                yield f"{kind} {name}", problem
        if clean and key is not None:
            self._found_clean(key, wanted_cids)
            self._remember_dir(key[0], present, wanted_cids, kind)

    def _found_clean(self, key: tuple[bytes, str], wanted: frozenset[CID]) -> None:
        """Remember directory ``key`` clean against ``wanted``, within a bound: each commit that
        adds a thought has a directory and a link set of its own, all kept (verify and log of
        200 thinks on 8,000 thoughts held 90 MB, growing with commits x thoughts). Forgetting
        only costs a directory's check again (or its diff with the last one, _diff_clean)."""
        if self._clean_held + len(wanted) > _CLEAN_DIRS_CIDS:
            self._clean_dirs.clear()
            self._clean_held = 0
        self._clean_dirs[key] = wanted
        self._clean_held += len(wanted)

    def _remember_dir(
        self, oid: bytes, present: Entries, wanted: frozenset[CID], kind: str
    ) -> None:
        """Keep a directory just found clean as the one the next of its kind is checked
        against, if its entries all have one length (see _diff_clean)."""
        names = {len(name) for name in present}
        if len(names) > 1:
            return
        try:
            kind_read, raw = self._odb.read(pygit2.Oid(raw=oid))
        except (KeyError, pygit2.GitError):
            return
        size = _BLOB_ENTRY + names.pop() if names else 0
        # Names of one length in characters are of one length in bytes only if all are ASCII.
        if kind_read == _TREE and len(raw) == size * len(present):
            self._dir_refs[kind] = _DirRef(raw, wanted, size)

    def _diff_clean(self, oid: bytes, wanted: frozenset[CID], kind: str) -> bool:
        """Whether the directory tree ``oid`` is clean against ``wanted`` (what the full check in
        _check_cid_dir would find no problem in), shown from the bytes it does not share with
        the last directory of its kind found clean; False whenever that cannot be shown (the full
        check then decides, and names what is wrong).

        A state's directory is mostly the last one checked with a block added or taken out: this
        costs one read of the tree and a comparison of its bytes with the last one's, plus a
        look at the entries that differ, where the full check looks at every entry.

        The last one, ``old``, is a well-formed tree of blob entries (mode 100644) named by the
        texts of exactly the CIDs it was checked against, each blob checked, in bytes order,
        each entry ``size`` bytes long, so its entries start at multiples of ``size``. The
        longest run of whole entries the new tree starts with and the longest it ends with
        (not overlapping) are then well-formed, in order and checked as they were. What is left
        between them must be whole entries of the same size, blobs, in order with each other
        and with the entries on either side, and their blobs check against their CIDs; and the
        names must change as the CIDs do: the names gone from the old entries are those of the
        CIDs gone from ``wanted``, the names that are new are those of the CIDs new in it (the
        rest of both sides are the same names, linked before). That is the new tree well-formed
        (an entry can be cut only one way where it starts, and strictly sorted names are
        unique), named by exactly ``wanted``'s texts, with every blob checked: clean.
        """
        ref = self._dir_refs.get(kind)
        if ref is None:
            return False
        try:
            kind_read, new = self._odb.read(pygit2.Oid(raw=oid))
        except (KeyError, ValueError, pygit2.GitError):
            return False
        if kind_read != _TREE:
            return False
        old, size = ref.raw, ref.size
        if size == 0:  # the last one was empty: nothing to compare with
            return False
        head, tail = _shared_entries(old, new, size)
        cut, stop = head * size, len(new) - tail * size
        middle = stop - cut
        if middle % size:
            return False
        # The entries either side of the middle: each is in the old tree as it is in the new.
        gone_at = range(cut, len(old) - tail * size, size)
        before = _entry_name(old, cut - size) if head else None
        after = _entry_name(old, len(old) - tail * size) if tail else None
        added: dict[bytes, bytes] = {}
        last = before
        for at in range(cut, stop, size):
            found = _ENTRY.match(new, at, at + size)
            if found is None or found.end() != at + size:
                return False
            mode, name, blob = found.groups()
            if int(mode, 8) != layout.BLOB or (last is not None and name <= last):
                return False
            added[name] = blob
            last = name
        if after is not None and last is not None and last >= after:
            return False
        gone = {_entry_name(old, at) for at in gone_at}
        if wanted is ref.wanted:
            plus: dict[bytes, CID] = {}
            minus: set[bytes] = set()
        else:
            plus = {str(c).encode(): c for c in wanted - ref.wanted}
            minus = {str(c).encode() for c in ref.wanted - wanted}
        if plus.keys() != added.keys() - gone or minus != gone - added.keys():
            return False
        good_blocks = self._good_blocks[kind]
        for name, blob in added.items():
            text = name.decode("utf-8", errors="backslashreplace")  # as _tree_entries reads it
            cid = plus.get(name)
            if cid is None:
                # Named in both trees, with other bytes: the text of a CID linked before and
                # still (it is not among those gone), so it parses back to that CID.
                cid = CID.parse(text)
            good = (blob, text)
            if good in good_blocks:
                continue
            if self._blob_problem(pygit2.Oid(raw=blob), cid, kind != "thought") is not None:
                return False
            good_blocks.add(good)
        self._dir_refs[kind] = _DirRef(new, wanted, size)
        return True

    def _read_entries(self, oid: bytes) -> Entries | None:
        """A tree's entries by name, or None if ``oid`` is no well-formed tree; KeyError if the
        store has no object ``oid`` it can read. A thoughts tree is shared by many commits, so
        its parse is kept (its id fixes its content)."""
        cached = self._entries.get(oid)
        if cached is None:
            kind, raw = self._odb.read(pygit2.Oid(raw=oid))
            entries = _tree_entries(raw) if kind == _TREE else None
            if entries is None:
                return None
            if (
                len(self._entries) >= _ENTRY_CACHE_SIZE
                or self._entries_held + len(entries) > _ENTRY_CACHE_ENTRIES
            ):
                self._entries.clear()
                self._entries_held = 0
            cached = self._entries[oid] = entries
            self._entries_held += len(entries)
        return cached

    def _missing_tree(self, oid: bytes) -> str:
        """Why a directory's tree ``oid`` cannot be read, where the store may hold it damaged."""
        return _lost(Path(self.repo.path), "tree", oid.hex(), self._indexes)

    def _missing_blob(self, oid: pygit2.Oid) -> str:
        return missing_blob(Path(self.repo.path), oid, self._indexes)

    def _blob_problem(self, oid: pygit2.Oid, cid: CID, opaque: bool) -> str | None:
        key = (oid, cid, opaque)
        if key not in self._blobs:
            keep = None if opaque else self._on_thought
            self._blobs[key] = _blob_problem(
                self.repo, oid, cid, opaque, self._indexes, keep, self._odb
            )
        return self._blobs[key]


@dataclass(frozen=True, slots=True)
class _DirRef:
    """A directory found clean: its tree's bytes, the CIDs it was checked against, and the
    length of each of its entries (all alike)."""

    raw: bytes
    wanted: frozenset[CID]
    size: int


# A blob entry's bytes besides its name: "100644 ", the NUL after the name, the raw id.
_BLOB_ENTRY = 8 + _OID_BYTES


def _shared_entries(old: bytes, new: bytes, size: int) -> tuple[int, int]:
    """How many whole ``size``-byte entries of ``old`` ``new`` starts with, and how many it
    ends with after those (so they never overlap in either). Each step of the searches compares
    only bytes not yet known equal, so the whole costs about two passes over the bytes."""
    view = memoryview(old)
    n_old = len(old) // size
    lo, hi = 0, min(n_old, len(new) // size)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if new.startswith(view[lo * size : mid * size], lo * size):
            lo = mid
        else:
            hi = mid - 1
    head = lo
    end_old, end_new = len(old), len(new)
    lo, hi = 0, min(n_old - head, (end_new - head * size) // size)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        piece = view[end_old - mid * size : end_old - lo * size]
        if new.startswith(piece, end_new - mid * size):
            lo = mid
        else:
            hi = mid - 1
    return head, lo


def _entry_name(raw: bytes, at: int) -> bytes:
    """The name of the entry starting at ``at`` in a tree known well-formed."""
    return raw[raw.index(b" ", at) + 1 : raw.index(b"\0", at)]


def trusted_signer(raw: bytes, trust: TrustStore) -> PublicKey | None:
    """The key ``trust`` names (retired ones too) whose valid signature a raw commit carries,
    or None."""
    payload, armored = split_gpgsig(raw)
    if armored is None:
        return None
    try:
        signer = verify(armored, payload)
    except BadSignature:
        return None
    return signer if trust.find(signer) is not None else None


def _claim(text: str) -> str:
    """A trailer's value as a problem names it: a CID's text as it is, anything longer quoted
    and cut (errors.quoted)."""
    return text if len(text) <= _CLAIM_SHOWN else quoted(text, _CLAIM_SHOWN)


# A CID text a state names (base32 of a CIDv1 sha2-256: 61 characters), and room to spare.
_CLAIM_SHOWN = 80


def _commit_tree(raw: bytes) -> bytes | None:
    """The hex id of a raw commit's tree: git writes it first, as ``tree <hex>\n``."""
    end = 5 + 2 * _OID_BYTES
    if not raw.startswith(b"tree ") or raw[end : end + 1] != b"\n":
        return None
    tree_hex = raw[5:end]
    return tree_hex if _HEX.fullmatch(tree_hex) else None


_HEX = re.compile(rb"[0-9a-f]+")
_PARENT = re.compile(rb"parent ([0-9a-f]{%d})\n" % (2 * _OID_BYTES))
# Past this many commits the walk is left to libgit2 (what was read stays for check_commit).
_MAX_READ_AHEAD = 50_000


def _grafted(gitdir: str) -> bool:
    """Whether libgit2 may rewrite parents here: grafts or a shallow list, in this git
    directory or, for a linked worktree, in the common one (where libgit2 reads them)."""
    dirs = [gitdir]
    try:
        with open(os.path.join(gitdir, "commondir"), encoding="utf-8") as f:
            dirs.append(os.path.join(gitdir, f.read().strip()))
    except OSError:
        pass
    return any(
        os.path.exists(os.path.join(d, "info", "grafts"))
        or os.path.exists(os.path.join(d, "shallow"))
        for d in dirs
    )


def commit_parents(raw: bytes) -> list[str] | None:
    """The parent ids of a raw commit (``parent <hex>`` lines right after the tree line, where
    git writes them); None if it does not start as git writes a commit."""
    if _commit_tree(raw) is None:
        return None
    parents = []
    at = 6 + 2 * _OID_BYTES
    while (found := _PARENT.match(raw, at)) is not None:
        parents.append(found.group(1).decode("ascii"))
        at = found.end()
    return None if raw.startswith(b"parent", at) else parents


def _message(raw: bytes) -> str:
    """A raw commit's message: everything after the blank line that ends the headers."""
    return _message_bytes(raw).decode("utf-8", errors="replace")


def _message_bytes(raw: bytes) -> bytes:
    blank = raw.find(b"\n\n")
    return b"" if blank < 0 else raw[blank + 2 :]


def experiment_trailer_problem(message: bytes) -> str | None:
    """What is wrong with a generation commit's ``Mindgit-Experiment:`` trailer, if anything.

    Read as `evolve --resume` reads it (a line of the message anywhere that starts with the
    key; push reads the trailer block's), the value must be one experiment name as given:
    resume commits the run's result there and push picks a run by it. No trailer at all is
    right (a run made before it was written: resume uses the current experiment)."""
    key = EXPERIMENT_TRAILER + ":"
    text = message.decode("utf-8", errors="surrogateescape")
    values = [line[len(key) :] for line in text.splitlines() if line.startswith(key)]
    if not values:
        return None
    if len(values) > 1:
        return f"{EXPERIMENT_TRAILER} is given {len(values)} times; a run names one experiment"
    name = values[0].removeprefix(" ")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        shown = quoted(name.encode("utf-8", errors="surrogateescape"))
        return f"{EXPERIMENT_TRAILER} names {shown}, which is not UTF-8"
    from mindgit.store.repository import check_experiment_name

    reason: str | None = None
    if not values[0].startswith(" "):
        reason = f"no space after '{key}'"
    else:
        try:
            check_experiment_name(name)
        except MindgitError as e:
            reason = getattr(e, "reason", None) or one_line(str(e))
    if reason is None:
        return None
    return (
        f"{EXPERIMENT_TRAILER} names {quoted(values[0].removeprefix(' '))}, which no"
        f" experiment can be named ({reason})"
    )


def _tree_entries(raw: bytes) -> Entries | None:
    """A raw tree's entries (``<octal mode> <name>\0<raw id>`` each); None if malformed."""
    found = _ENTRY.findall(raw)
    # An entry can match only one way where it starts, so the matches tile the tree exactly
    # when their lengths add up to all of it.
    if sum(len(mode) + len(name) for mode, name, _ in found) + 22 * len(found) != len(raw):
        return None
    modes = _MODES
    # A name that is not UTF-8 keeps its bytes visible, and can never equal a CID's text.
    entries = {
        name.decode("utf-8", errors="backslashreplace"): (oid, modes.get(mode) or int(mode, 8))
        for mode, name, oid in found
    }
    # git keeps one entry per name, sorted with a directory's name compared as if it ended in
    # "/". libgit2 looks names up by binary search, so in a tree out of that order (or naming
    # one twice) its readers would find other entries, or none, than those checked here.
    if len(entries) != len(found):
        return None
    if {mode for mode, _, _ in found} <= _FILE_MODES:
        keys = [name for _, name, _ in found]  # names unique: in order when sorted alike
        return entries if keys == sorted(keys) else None
    keys = [name + b"/" if int(mode, 8) & 0o170000 == 0o40000 else name for mode, name, _ in found]
    return None if any(a >= b for a, b in pairwise(keys)) else entries


_ENTRY = re.compile(rb"([0-7]{5,6}) ([^\0]*)\0(.{%d})" % _OID_BYTES, re.DOTALL)
_MODES = {b"100644": 0o100644, b"40000": 0o40000}
# Modes no directory has: a tree of only these is in git's order when its names are in bytes order.
_FILE_MODES = frozenset({b"100644", b"100755", b"120000"})
_ENTRY_CACHE_SIZE = 4096
# Entries of all the trees kept parsed, at most (~150 bytes each): a trusted signer's thousand
# states, each with its own thoughts tree of 250,000 entries (a tree read whole, 40 MB parsed,
# each a few bytes of a push), were all kept.
_ENTRY_CACHE_ENTRIES = 1 << 20
# CIDs of the link sets kept in the clean-directory memo, at most (~35 bytes each: 9 MB).
_CLEAN_DIRS_CIDS = 1 << 18
# Problems of one tree named, at most: a thoughts tree of 900,000 entries not linked from its
# manifest made 900,000 problems of one commit (300 MB, 4.6 s).
MAX_TREE_PROBLEMS = 1000


def _blob_problem(
    repo: pygit2.Repository,
    oid: pygit2.Oid,
    cid: CID,
    opaque: bool,
    indexes: Indexes | None = None,
    keep: Callable[[CID, dict[str, Any]], None] | None = None,
    odb: pygit2.Odb | None = None,
) -> str | None:
    """Why a blob is not the block ``cid`` names; ``opaque`` blocks need no thought schema.
    Pack indexes read to name a missing blob's damaged pack are kept in ``indexes``; a good
    thought's decoded map is handed to ``keep``, if given."""
    try:
        # Read once: a Blob object's read_raw read it from the object database again.
        kind, data = (repo.odb if odb is None else odb).read(oid)
    except KeyError:
        return missing_blob(Path(repo.path), oid, indexes)
    except pygit2.GitError as e:
        return cannot_read(str(oid), e)
    if kind != _BLOB:
        return "not a blob"
    if len(data) > MAX_BLOB_BYTES:
        return f"{len(data)} bytes is over the {MAX_BLOB_BYTES}-byte limit"
    if cid.codec != DAG_JSON:
        return f"codec 0x{cid.codec:x} is not dag-json"
    if CID.of(data, cid.codec) != cid:
        return f"bytes hash to {CID.of(data, cid.codec)}, not to their name"
    if opaque:
        try:
            dagjson.decode(data)
        except MindgitError as e:
            return f"not canonical DAG-JSON: {e}"
    else:
        try:
            node = check_thought(cid, data)
        except SchemaError as e:
            return e.problem
        if keep is not None:
            keep(cid, node)
    return None


def missing_blob(gitdir: Path, oid: pygit2.Oid, indexes: Indexes | None = None) -> str:
    """Why a blob a state names reads as absent, by its id (for `git fsck` and the repair):
    "blob missing" named neither it nor the pack cut short holding it. Where the store may hold
    it damaged (:func:`unreadable_cause`: libgit2 leaves a pack cut short out whole, with no
    error), that is named with the next step, as for a ref's commit (:func:`_missing_tip`)."""
    return _lost(gitdir, "blob", str(oid), indexes)


def _lost(gitdir: Path, kind: str, oid: str, indexes: Indexes | None) -> str:
    """Why the ``kind`` object ``oid`` reads as absent, and, where the store may hold it
    damaged, the cause and the next step."""
    cause = unreadable_cause(gitdir, oid, indexes)
    if cause is None:
        return f"{kind} {oid} is missing or cannot be read"
    return (
        f"{kind} {oid} is missing or cannot be read: {cause}; `git fsck` names what is "
        f"damaged, and {REPAIR}"
    )


def cannot_read(oid: str | None, error: pygit2.GitError) -> str:
    """A problem's reason for an object libgit2 failed to read (``oid``, else the one its
    message names): the id git's fsck will name too, and libgit2's reason, as one line."""
    found = unreadable_object(str(error))
    named, reason = found if found is not None else (None, one_line(str(error)))
    oid = oid or named
    what = f"object {oid}" if oid else "an object"
    return f"{what} cannot be read: {reason}"


def trailer(message: str, key: str) -> str | None:
    """The last value of ``key`` in the message's trailer block (its last paragraph only).

    Lines elsewhere in a message are content, not trailers, even when they look like one.
    """
    return trailers(message).get(key)


def trailers(message: str) -> dict[str, str]:
    """Every trailer of the message's trailer block (its last paragraph), the last value of each
    key: :func:`trailer` of every key in one pass."""
    paragraphs = message.rstrip("\n").split("\n\n")
    out: dict[str, str] = {}
    if len(paragraphs) < 2:
        return out
    for line in paragraphs[-1].splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            out[key] = value.strip()
    return out


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


def ref_tips(
    repo: pygit2.Repository, prefixes: tuple[str, ...]
) -> tuple[list[str], list[RefProblem]]:
    """The commit each ref under ``prefixes`` points at, and the refs that point at none.

    A damaged ref (see :func:`~mindgit.store.refs.ref_names`) must fail ``verify --all``, not
    vanish from it.
    """
    gitdir = Path(repo.path)
    tips: list[str] = []
    problems: list[RefProblem] = []
    indexes: Indexes = {}
    for ref in ref_names(repo, prefixes):
        try:
            found = repo.lookup_reference(ref)
        except ValueError:  # InvalidSpecError, or a file name that is not UTF-8
            problems.append(RefProblem(_shown(ref), "is not a valid ref name"))
            continue
        except KeyError:
            continue  # deleted since it was listed
        except pygit2.GitError as e:
            detail = str(e).strip().removeprefix(f"{ref}: ")
            problems.append(RefProblem(_shown(ref), f"cannot be read ({detail})"))
            continue
        try:
            oid = found.resolve().target
        except (KeyError, pygit2.GitError):
            problems.append(
                RefProblem(_shown(ref), f"points at {found.target}, which does not exist")
            )
            continue
        try:
            obj = repo.get(oid)
        except pygit2.GitError as e:
            if unreadable_object(str(e)) is None:
                raise
            tips.append(str(oid))  # checked as a commit: its check names what cannot be read
            continue
        if obj is None:
            problems.append(RefProblem(_shown(ref), _missing_tip(gitdir, oid, indexes)))
        elif as_commit(obj) is None:
            problems.append(RefProblem(_shown(ref), f"points at a {obj.type_str}, not a commit"))
        else:
            tips.append(str(oid))
    return tips, problems


def _missing_tip(gitdir: Path, oid: pygit2.Oid | str, indexes: Indexes) -> str:
    """Why a ref's commit is not in the store, and what to do: libgit2 leaves a pack file it
    cannot read (one cut short) out whole, with no error, so a ref into it looked like one
    pointing at a commit never stored, and the damage went unnamed."""
    cause = unreadable_cause(gitdir, oid, indexes)
    if cause is not None:
        return (
            f"points at {oid}, which cannot be read: {cause}; `git fsck` names what is damaged, "
            f"and {REPAIR}"
        )
    return (
        f"points at {oid}, which is not in the store: its objects are missing or cannot be "
        f"read; `git fsck` names what is missing or damaged, and {REPAIR}"
    )


def _shown(ref: str) -> str:
    """A ref name as text: bytes that are not UTF-8 (held as surrogates by os.walk) escaped, as
    the name goes into --json output and onto a terminal."""
    return ref.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def verify_commits(
    repo: pygit2.Repository,
    trust: TrustStore,
    tips: Iterable[str],
    hide: Iterable[str] = (),
    *,
    workers: int | None = None,
) -> Report:
    """Verify every commit reachable from ``tips`` but not from ``hide``.

    A long history is checked by two processes when a core is idle (``workers``: see
    :func:`mindgit.store.split.check_in_halves`); the report is the one a single process makes.
    """
    from mindgit.store.generation_check import remembering
    from mindgit.store.split import check_in_halves

    v = Verifier(repo, trust)
    tips, hide = list(tips), list(hide)
    history = None if hide else v.linear_history(tips)
    if history is not None:
        commits = history
    else:
        try:
            commits = list(walk(repo, tips, hide))
        except pygit2.GitError as e:
            # libgit2's walk stops at the first commit it cannot read, or that is missing (a
            # KeyError too: NotFoundError); verify is what names it.
            if unreadable_object(str(e)) is None and not isinstance(e, KeyError):
                raise
            commits = _walk_past_damage(repo, tips, hide)

    def check(share: Sequence[str]) -> list[CommitResult]:
        # The generations of a run share their run.json, module, manifest shape and states.
        with remembering(repo):
            return [v.check_commit(oid) for oid in share]

    results, _ = check_in_halves(commits, check, workers=workers)
    return Report(results)


def _walk_past_damage(repo: pygit2.Repository, tips: list[str], hide: list[str]) -> list[str]:
    """What :func:`walk` lists, parents before children, in a store where some commits cannot
    be read: each such commit is listed (its check names it) as if it had no parents, since
    none can be known. The order among unrelated commits may differ from libgit2's."""

    def parents(oid: str) -> list[str]:
        try:
            kind, raw = repo.odb.read(oid)
        except (KeyError, ValueError, pygit2.GitError):
            return []
        if kind != _COMMIT:
            return []
        found = commit_parents(raw)
        if found is None:  # not laid out as git writes it: as libgit2 reads it
            try:
                commit = as_commit(repo.get(oid))
            except pygit2.GitError:
                return []
            found = [str(p) for p in commit.parent_ids] if commit is not None else []
        return found

    hidden: set[str] = set()
    todo = list(hide)
    while todo:
        oid = todo.pop()
        if oid not in hidden:
            hidden.add(oid)
            todo.extend(parents(oid))
    order: list[str] = []
    done = set(hidden)
    # Depth first, a commit listed once all its parents are: (commit, its parents or None
    # until read).
    stack: list[tuple[str, list[str] | None]] = [(t, None) for t in reversed(tips)]
    while stack:
        oid, known = stack.pop()
        if oid in done:
            continue
        if known is None:
            known = [p for p in parents(oid) if p not in done]
            stack.append((oid, known))
            stack.extend((p, None) for p in reversed(known))
            continue
        done.add(oid)
        order.append(oid)
    return order


def _module_refusal(
    repo: pygit2.Repository, tree: pygit2.Tree, modules: ModuleLoads | None = None
) -> Iterator[tuple[str, str]]:
    """A stored fitness module must load in the sandbox (its imports and exports checked), not
    just look like wasm: one that asks for WASI is named here, not when a merge first runs it."""
    from mindgit.store.generation import MODULE_FILE

    blob = tree[MODULE_FILE].id
    wasm = repo[blob].read_raw()
    refusal = _load_refusal(wasm) if modules is None else modules.refusal(blob, wasm)
    if refusal is not None:
        yield MODULE_FILE, refusal


def _load_refusal(wasm: bytes, *, bounded: bool = True) -> str | None:
    """Why the sandbox refuses to load ``wasm`` (under the default limits), or None.

    ``bounded``: the compile is given the sandbox's own time (``CompileTooSlow`` past it); a
    load on :class:`ModuleLoads`' thread is not, as the check's budget bounds the wait for it.
    """
    from mindgit.sandbox import COMPILE_SECONDS, FitnessModule, HostUnfit

    try:
        # Unbounded, the sandbox compiles on this thread: bounded, on a thread of its own.
        FitnessModule.load(wasm, compile_seconds=COMPILE_SECONDS if bounded else None)
    except HostUnfit:
        raise  # this process's state, not the module's fault: the check fails whole
    except MindgitError as e:
        return f"the fitness module is refused by the sandbox: {e}"
    return None


_W = TypeVar("_W")


class ModuleLoads:
    """Fitness modules loaded in the sandbox ahead of the commits that hold them, one after
    another on a thread of their own: wasmtime compiles without holding the GIL, so with a core
    to spare the compiles (~15 ms for a small module) overlap the checks of other commits.

    A load's answer is the one loading the same bytes when its commit is checked gives: the
    bytes (a blob's id fixes them) and the default limits decide it. Whatever else a load
    raises is raised where the module is checked, as it would have been.

    With ``budget`` (seconds this check may wait for compiles, in all), a module not compiled
    within what is left of it is refused for that, and any other module is loaded on a thread
    of its own, waited for as long: a compile
    cannot be stopped, and wasmtime's time grows with the square of a module's nesting (5,000
    nested loops, 35 KB of wasm that zlib packs into 126 bytes, took 4 s; 20,000 ~70 s). A
    refused push or pull ends its process, and with it such a compile.
    """

    def __init__(
        self, modules: Sequence[tuple[pygit2.Oid, bytes]] = (), *, budget: float | None = None
    ) -> None:
        self._loads: dict[bytes, _Load] = {}
        self._budget = budget
        # Seconds still to spend waiting for compiles: the time waited, not the time since this
        # began (a verify of a large store would otherwise refuse its last, quick modules).
        self._left = budget
        for blob, wasm in modules:
            self._loads.setdefault(blob.raw, _Load(wasm))
        self._threads: list[threading.Thread] = []
        if self._loads:
            self._start(list(self._loads.values()))

    def _start(self, loads: list[_Load]) -> None:
        # The engine is made here, before the thread starts, rather than raced for by it (the
        # sandbox guards its engines with a lock; a module compiled by one will not run in
        # another).
        from mindgit.sandbox.engine import engine
        from mindgit.sandbox.limits import Limits

        engine(Limits().stack_bytes)

        def run() -> None:
            for load in loads:
                load.run()

        # A daemon: a check that stops with an error must not wait for a compile to exit.
        thread = threading.Thread(target=run, name="mindgit-module-load", daemon=True)
        thread.start()
        self._threads.append(thread)

    def refusal(self, blob: pygit2.Oid, wasm: bytes) -> str | None:
        """Why the sandbox refuses the module ``blob`` holds (``wasm``), or None."""
        load = self._loads.get(blob.raw)
        if load is None:
            if self._left is None:
                return _load_refusal(wasm)
            load = self._loads[blob.raw] = _Load(wasm)
            self._start([load])
        if self._left is not None and not self._spend(load.wait):
            return (
                f"the fitness module is refused: it did not compile within "
                f"{self._budget:g} s, the time one check may spend compiling modules"
            )
        return load.result()

    def close(self) -> None:
        """Wait for the loads (none may outlive the check that wanted them, unless over the
        budget: those are left to end with the process)."""
        for thread in self._threads:
            if self._left is None:
                thread.join()
            else:
                self._spend(thread.join)

    def _spend(self, wait: Callable[[float], _W]) -> _W:
        """``wait(seconds left)``, the time it took taken from what is left of the budget."""
        assert self._left is not None
        start = time.monotonic()
        try:
            return wait(self._left)
        finally:
            self._left = max(0.0, self._left - (time.monotonic() - start))


class _Load:
    def __init__(self, wasm: bytes) -> None:
        self._wasm = wasm
        self._refusal: str | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()

    def run(self) -> None:
        try:
            self._refusal = _load_refusal(self._wasm, bounded=False)
        except BaseException as e:  # handed to the thread that wants the answer
            self._error = e
        finally:
            self._done.set()

    def wait(self, timeout: float) -> bool:
        return self._done.wait(max(0.0, timeout))

    def result(self) -> str | None:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._refusal
