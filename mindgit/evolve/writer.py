"""Writing a run's generations: one pack of objects, one signed commit each, the ref last.

pygit2 writes one loose file per object (a few thousand a second); a generation is a few
hundred objects, so it is written as a pack (v2, with its v2 index) made here: the objects'
ids, their zlib streams, the index. The format is ``mindgit.store.generation``'s; this module
only puts it on disk, in the order that makes a crash harmless (see :meth:`GenerationWriter.write`).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shlex
import struct
import subprocess
import tempfile
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pygit2

from mindgit.errors import MindgitError
from mindgit.identity.keys import NodeKey
from mindgit.identity.sshsig import sign
from mindgit.procs import dying_with_parent
from mindgit.store.generation import (
    GENERATION_FILE,
    MODULE_FILE,
    RUN_FILE,
    STATES,
    TRAILER_EXPERIMENT,
    TRAILER_FITNESS,
    TRAILER_GENERATION,
    TRAILER_MODULE,
    TRAILER_RUN,
    RunInfo,
)
from mindgit.store.packs import (
    OBJ_BLOB,
    OBJ_COMMIT,
    OBJ_TREE,
    blob_tree,
    git_oid,
    object_header,
    tree_bytes,
)
from mindgit.store.refs import RefError, RefMoved, locked_ref
from mindgit.store.repository import Store

_STORED_HEAD = struct.Struct("<BHH")
# Each write adds a pack, and packs slow down whoever reads the store, a peer's fetch most: on
# the development VM a fetch of a run's store took 1.0 s with its 62 packs against 0.24 s once
# they were merged, 4.4 s against 0.9 s with 246, 9-14 s against 1.8 s with 478, and with ~1,300
# (a 20,000-generation run) it passed sync's 60 s timeout. So after every RUN_PACK_LIMIT packs a
# run writes, git merges the small ones in the background (``repack --geometric``: each merge
# leaves packs that at least double in size, so a long run keeps about log2 of its count more),
# as plain copies (``--window=0``: no delta search, ~1.5 s of CPU per 200 MiB of a 500-generation
# run); the collection at the end of ``evolve`` (mindgit.store.maintenance) compresses them.
# Merging costs a busy machine CPU the run could use, so it waits until packs cost readers more
# than ~a second.
RUN_PACK_LIMIT = 128
_MERGE_PACKS = ("repack", "--geometric=2", "-d", "-q", "--window=0", "--no-write-bitmap-index")
_ADLER = struct.Struct(">I")


def _stored(kind: int, data: bytes) -> bytes:
    """A pack entry: the object's header, then ``data`` as a zlib stream of stored
    (uncompressed) blocks: valid for git, ~20x cheaper to make than level-1 deflate.
    ``git gc`` compresses such objects later."""
    n = len(data)
    if n < 0xFFFF:  # one block: every manifest
        return b"".join(
            (
                object_header(kind, n),
                b"\x78\x01",
                _STORED_HEAD.pack(1, n, n ^ 0xFFFF),
                data,
                _ADLER.pack(zlib.adler32(data)),
            )
        )
    out = [object_header(kind, n), b"\x78\x01"]
    pos = 0
    while True:
        chunk = data[pos : pos + 0xFFFF]
        pos += 0xFFFF
        last = pos >= n
        size = len(chunk)
        out.append(_STORED_HEAD.pack(1 if last else 0, size, size ^ 0xFFFF))
        out.append(chunk)
        if last:
            break
    out.append(_ADLER.pack(zlib.adler32(data)))
    return b"".join(out)


def write_pack(
    objects_dir: Path,
    objects: Sequence[tuple[int, bytes, bytes]],
    *,
    fsync: bool = False,
) -> None:
    """Write ``objects`` (type, content, raw oid) as one pack with its v2 index, pack first.

    Objects are stored, not deflated (``git gc --auto``, which ``evolve`` ends with, compresses
    them): deflating cost ~4x storing, in the process that sets a long run's pace.

    git only looks at a pack once its ``.idx`` exists, so a crash at any moment leaves either a
    complete pack or stray temporary files (which ``git gc`` removes), never a torn pack; a
    kill between the two files leaves a ``.pack`` git never reads (one a failed index write
    removes).
    """
    if not objects:
        return
    # Written as comprehensions over all objects at once: per-object Python work is what a
    # generation's write costs, so it is kept to a few C-level passes.
    unique = list({oid: (kind, data, oid) for kind, data, oid in objects}.values())
    bodies = [_stored(kind, data) for kind, data, _ in unique]
    crcs = list(map(zlib.crc32, bodies))
    offsets = list(itertools.accumulate(map(len, bodies), initial=12))[:-1]
    head = b"PACK" + struct.pack(">II", 2, len(bodies))
    # Hashed and written entry by entry: a joined copy would hold the batch (several
    # generations when the writer is behind) in memory once more.
    digest = hashlib.sha1(head)
    for body in bodies:
        digest.update(body)
    pack_sum = digest.digest()
    order = sorted(range(len(unique)), key=[o[2] for o in unique].__getitem__)
    oids = [unique[i][2] for i in order]
    fanout = [0] * 256
    for oid in oids:
        fanout[oid[0]] += 1
    fanout = list(itertools.accumulate(fanout))
    small = [offsets[i] for i in order]
    large = [off for off in small if off >= 0x80000000]
    if large:
        n = itertools.count()
        small = [off if off < 0x80000000 else 0x80000000 | next(n) for off in small]
    idx = b"".join(
        (
            b"\xfftOc",
            struct.pack(">I", 2),
            struct.pack(">256I", *fanout),
            b"".join(oids),
            struct.pack(f">{len(oids)}I", *(crcs[i] for i in order)),
            struct.pack(f">{len(small)}I", *small),
            struct.pack(f">{len(large)}Q", *large),
            pack_sum,
        )
    )
    idx += hashlib.sha1(idx).digest()
    pack_dir = objects_dir / "pack"
    pack_dir.mkdir(parents=True, exist_ok=True)
    base = pack_dir / f"pack-{pack_sum.hex()}"
    pack, index = base.with_suffix(".pack"), base.with_suffix(".idx")
    _write_file(pack_dir, pack, [head, *bodies, pack_sum], fsync)
    try:
        _write_file(pack_dir, index, [idx], fsync)
    except BaseException:
        # A pack without its index is one git never reads nor removes (`count-objects`
        # calls it garbage): a full disk here left one batch's pack for good.
        if not index.is_file():
            pack.unlink(missing_ok=True)
        raise


def write_parts(fd: int, parts: Sequence[bytes]) -> None:
    """Write ``parts`` to ``fd`` in order, whole (one writev per 512 parts, no joined copy)."""
    # A pack is hundreds of parts, a generation's message too: joining them cost a copy each.
    if not hasattr(os, "writev"):
        data = memoryview(b"".join(parts))
        while data:
            data = data[os.write(fd, data) :]
        return
    pending = [memoryview(p) for p in parts if p]
    while pending:
        batch = pending[:512]
        n = os.writev(fd, batch)
        done = 0
        while done < len(batch) and n >= len(batch[done]):
            n -= len(batch[done])
            done += 1
        pending = pending[done:]
        if n:
            pending[0] = pending[0][n:]


def _write_file(directory: Path, final: Path, parts: Sequence[bytes], fsync: bool) -> None:
    fd, tmp = tempfile.mkstemp(prefix="tmp_pack_", dir=directory)
    try:
        try:
            write_parts(fd, parts)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, 0o444)
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class KeyRotatedDuringRun(MindgitError):
    """A key rotation started while the run was written: nothing more is signed with the key
    it retires (the rotation names the old key's history when it starts, and peers and
    ``verify`` refuse that key's signature on anything after it).

    ``kept`` is the last generation the run ref holds (-1: none); the ref is left there
    (:meth:`GenerationWriter.write`)."""

    def __init__(self, run_id: str, kept: int) -> None:
        if kept < 0:
            kept_text, then = "no generation of it is kept", "start it again"
        else:
            kept_text = f"generations up to {kept} are kept"
            then = f"`mindgit evolve --resume {run_id}` continues it"
        super().__init__(
            f"a key rotation started while run {run_id} was written; {kept_text}, and "
            "nothing after them is signed with the retiring key",
            hint="once the rotation has finished (`mindgit keys rotate` run again finishes one "
            f"that was interrupted), {then}",
        )
        self.run_id = run_id
        self.kept = kept


class RunRefNotMoved(MindgitError):
    """The run ref could not be moved onto a write's generations: another process moved or
    deleted it meanwhile (``RefMoved``), or its lock or file could not be taken or written.

    Said of the run, with what it keeps and how it goes on: the ref's own error said only
    "refs/runs/<id> moved while this command ran ...; nothing was changed" with the hint "run
    the command again", which starts a deleted run from scratch, or "cannot write ...", and
    neither what the run keeps nor ``--resume``."""

    def __init__(self, writer: GenerationWriter, error: RefError, kept: int) -> None:
        run_id, ref, tip = writer.info.run_id, writer.info.ref, writer.tip
        resume = f"`mindgit evolve --resume {run_id}`"
        if isinstance(error, RefMoved) and error.actual is None and tip is not None:
            restore = f"git --git-dir {shlex.quote(writer.gitdir)} update-ref {ref} {tip}"
            message = (
                f"run {run_id}: its ref {ref} was deleted by another process while the run "
                "was written; nothing more of it is written"
            )
            hint = (
                f"`{restore}` brings back its generations up to {kept}, and then {resume} "
                "continues the run; or start it again"
            )
        elif isinstance(error, RefMoved):
            message = (
                f"run {run_id}: its ref {ref} was moved by another process while the run was "
                f"written, to {error.actual or 'nothing'}; nothing more of it is written"
            )
            hint = (
                f"`mindgit verify` says whether what the ref holds is sound, and {resume} "
                "continues the run from it"
            )
        else:
            message = f"run {run_id}: writing its generations failed: {error}"
            hint = (
                "nothing of the run was written; start it again once that is mended"
                if kept < 0
                else f"generations up to {kept} are kept; {resume} continues the run once "
                "that is mended"
            )
            if error.hint:
                hint = f"{hint} ({error.hint})"
        super().__init__(message, hint=hint)
        self.run_id = run_id
        self.kept = kept


@dataclass(frozen=True, slots=True)
class StagedGeneration:
    """One generation, ready to write: its ``generation.json``, the blob id of every state it
    links (by CID text), and the manifests that are not in the store yet."""

    generation: int
    record: bytes
    best_score: float | None
    states: Mapping[str, bytes]  # CID text -> raw blob id
    new: Sequence[tuple[bytes, bytes]]  # (raw blob id, manifest bytes)


class GenerationWriter:
    """Writes one run's generations: objects as a pack, then a signed commit, then the ref (CAS).

    ``store`` is a ``mindgit.store.repository.Store`` (its signing key and identity are used).
    Not thread-safe: one writer per run, used from one thread at a time.
    """

    def __init__(
        self,
        store: Store,
        info: RunInfo,
        experiment: str,
        *,
        tip: str | None,
        module_blob: pygit2.Oid,
        shared: Mapping[str, pygit2.Oid],
        fsync: bool = False,
    ) -> None:
        self._store = store
        self._repo: pygit2.Repository = store.repo
        self.info = info
        self.experiment = experiment
        self.tip = tip
        self._module = module_blob.raw
        self._shared = {name: oid.raw for name, oid in shared.items()}
        self._fsync = fsync
        self.gitdir = self._repo.path
        self._objects = Path(self.gitdir) / "objects"
        self._run_blob = info.encode()
        self._run_oid = git_oid(OBJ_BLOB, self._run_blob)
        self._run_written = tip is not None
        # Read once: the store's name is a config lookup, which costs as much as a manifest.
        self._who = f"{store.name} <{store.public_key.did}>"
        self._key = store.signing_key
        # Looked at before each batch and under the ref's lock (a stat or two): a rotation
        # started while the run goes on retires this key, and a generation it signs after the
        # rotation named the old key's history fails verify here and at every peer. The
        # rotation's pending key is there while it runs, the retired copy of this key from
        # then on.
        self._pending = store.pending_key_path
        self._retired = store.retired_key_path(self._key.public)
        self._packs = 0  # written since the last merge was started
        self._merging: subprocess.Popen[bytes] | None = None
        self._can_merge = True

    def write(self, batch: Sequence[StagedGeneration]) -> list[str]:
        """Persist consecutive generations: their objects as one pack, then one signed commit
        each, then the run ref moves once, by compare-and-swap (``RefMoved`` if someone else
        moved it). Returns the commit ids.

        A key rotation seen before the batch, or under the ref's lock just before the ref is
        set (:meth:`_set_ref`), stops the run there with the ref unmoved
        (:class:`KeyRotatedDuringRun`): the rotation may have named the old key's history
        before those commits, and a resumed run breeds them again, the same, under the new
        key."""
        if self._rotating():
            raise KeyRotatedDuringRun(self.info.run_id, batch[0].generation - 1 if batch else -1)
        objects: list[tuple[int, bytes, bytes]] = []
        commits: list[str] = []
        parent = self.tip if self.tip is not None else self.info.start_commit
        message = ""
        for staged in batch:
            root = self._stage(staged, objects)
            oid, data, message = self._commit(staged, root, parent)
            objects.append((OBJ_COMMIT, data, oid))
            parent = oid.hex()
            commits.append(parent)
        write_pack(self._objects, objects, fsync=self._fsync)
        self._packs += 1
        if self._packs >= RUN_PACK_LIMIT:
            self._merge_packs()
        if commits:
            self._set_ref(commits[-1], message, batch[0].generation - 1)
        return commits

    def _set_ref(self, new: str, message: str, kept: int) -> None:
        """Move the run ref from :attr:`tip` to ``new``, unless a key rotation has started:
        looked for under the ref's lock, just before the ref is set. A rotation saves its
        pending key and then waits for every live ref lock before it reads the tips it names
        as the old key's history, so a writer that looked before the key was saved is waited
        for and its generations named, and one that looks after sees the key (or the retired
        one, once the rotation is over) and leaves the ref where it was, on generation
        ``kept``. Looking once the ref had moved needed a move back, and a kill -9 between
        the two (or a move back that failed) left on the ref generations the retiring key
        signed after the rotation named its history, which ``mindgit verify`` refused for
        good."""
        try:
            with locked_ref(self._repo, self.info.ref) as held:
                if held.current != self.tip:
                    raise RefMoved(self.info.ref, self.tip, held.current)
                if self._rotating():
                    raise KeyRotatedDuringRun(self.info.run_id, kept)
                held.set(new, message=message, committer=self._who)
        except RefError as e:
            raise RunRefNotMoved(self, e, kept) from None
        self.tip = new

    def _rotating(self) -> bool:
        """Whether a key rotation has started since the run took its key."""
        return self._pending.exists() or self._retired.exists()

    def close(self) -> None:
        """Wait for a merge of packs still under way: the collection ``evolve`` ends with must
        not run beside it."""
        if self._merging is not None:
            self._merging.wait()
            self._merging = None

    def _merge_packs(self) -> None:
        """Start git merging the store's small packs (see RUN_PACK_LIMIT), unless a merge is
        still under way (then the next write tries again) or git cannot (older than 2.32, no
        ``--geometric``): a store with many packs is slower to read, never wrong."""
        running = self._merging
        if running is not None:
            if running.poll() is None:
                return
            self._can_merge = self._can_merge and running.returncode == 0
            self._merging = None
        if not self._can_merge:
            return
        self._packs = 0
        try:
            # SIGINT stays ignored in git, as in this writer: Ctrl-C stops the run once its
            # generations are written. A kill -9 of the run kills repack too, rather than leave
            # it deleting packs under the --resume that follows. The pack-objects repack runs
            # lives on (the kernel clears a parent-death signal at fork): it finishes, and its
            # pack stays as objects/pack/.tmp-<pid>-pack-*, a complete copy of the packs it
            # merged, until a collection drops it, as the one evolve ends with does
            # (tests/evolve/test_merge_leftovers.py).
            self._merging = subprocess.Popen(
                ["git", f"--git-dir={self._repo.path}", *_MERGE_PACKS],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=dying_with_parent(),
            )
        except OSError:
            self._can_merge = False

    def _stage(self, staged: StagedGeneration, objects: list[tuple[int, bytes, bytes]]) -> bytes:
        objects.extend((OBJ_BLOB, data, oid) for oid, data in staged.new)
        states = staged.states
        # CID texts of one kind have one length, so plain string order is git's tree order.
        states_tree = blob_tree((name, states[name]) for name in sorted(states))
        gen_blob = staged.record
        gen_oid = git_oid(OBJ_BLOB, gen_blob)
        states_oid = git_oid(OBJ_TREE, states_tree)
        root_entries = [
            (RUN_FILE, False, self._run_oid),
            (GENERATION_FILE, False, gen_oid),
            (MODULE_FILE, False, self._module),
            (STATES, True, states_oid),
        ]
        root_entries.extend((name, True, oid) for name, oid in self._shared.items())
        root = tree_bytes(root_entries)
        root_oid = git_oid(OBJ_TREE, root)
        objects.append((OBJ_BLOB, gen_blob, gen_oid))
        objects.append((OBJ_TREE, states_tree, states_oid))
        objects.append((OBJ_TREE, root, root_oid))
        if not self._run_written:
            objects.append((OBJ_BLOB, self._run_blob, self._run_oid))
            self._run_written = True
        return root_oid

    def _commit(
        self, staged: StagedGeneration, root: bytes, parent: str
    ) -> tuple[bytes, bytes, str]:
        info = self.info
        score = "none" if staged.best_score is None else repr(staged.best_score)
        trailers = {
            TRAILER_RUN: info.run_id,
            TRAILER_GENERATION: str(staged.generation),
            TRAILER_EXPERIMENT: self.experiment,
            TRAILER_FITNESS: score,
            TRAILER_MODULE: str(info.module),
        }
        message = (
            f"evolve {info.run_id}: generation {staged.generation + 1}/"
            f"{info.params.generations}, best {score}"
        )
        data = signed_commit(
            self._store, root.hex(), [parent], message, trailers, who=self._who, key=self._key
        )
        return git_oid(OBJ_COMMIT, data), data, message


def signed_commit(
    store: Store,
    tree: str,
    parents: Sequence[str],
    message: str,
    trailers: Mapping[str, str],
    *,
    when: int | None = None,
    who: str | None = None,
    key: NodeKey | None = None,
) -> bytes:
    """The bytes of the commit ``Store.write_commit`` would write (same text, same signature),
    made without writing it, so that it can go into a generation's pack with the rest.
    ``who`` is the store's ``name <did>`` and ``key`` its ``signing_key``, if the caller has
    them already.

    libgit2 reads every object a commit names before writing the commit; doing that for each
    generation costs as much as the generation itself, and maps every pack into memory.
    """
    body = message.rstrip("\n") + "\n"
    if trailers:
        body += "\n" + "".join(f"{k}: {v}\n" for k, v in trailers.items())
    if who is None:
        who = f"{store.name} <{store.public_key.did}>"
    ident = f"{who} {int(when or time.time())} +0000"
    head = f"tree {tree}\n" + "".join(f"parent {p}\n" for p in parents)
    headers = f"{head}author {ident}\ncommitter {ident}\n".encode()
    content = headers + b"\n" + body.encode()
    armored = sign(store.signing_key if key is None else key, content).encode("ascii")
    # As libgit2 writes it: every line of the armour, the last empty one too, after a space.
    gpgsig = b"gpgsig" + b"".join(b" " + line + b"\n" for line in armored.split(b"\n"))
    return headers + gpgsig + b"\n" + body.encode()
