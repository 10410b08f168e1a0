"""Persisting generations, overlapped with breeding on the second core.

Storing a generation (spelling its new manifests, hashing, packing, signing a commit, moving a
ref) is pure-Python work of the same size as breeding and scoring one, so a thread would only
take turns with the breeding thread for the GIL. On POSIX the writer is a forked child process
instead, and the work is split so that each process has about half: the breeding process spells
and hashes each generation's new states (a ``Namer`` replays each child's breeding recipe on the
last generation's manifest parts, joins the manifest, hashes it for its blob id), then puts the
manifests in memory shared with the child and sends a small pickle of the rest, and where they
are, down a pipe (``SharedManifests``; they go down the pipe when they do not fit); the child
hashes them for their CIDs, spells the CID texts and ``generation.json`` (``RecordMaker``),
packs, signs and moves the ref. It writes up to ``WRITE_BATCH`` generations as one pack and moves the run ref once for them,
waiting at most ``WRITE_WAIT`` after the first for the rest (and taking everything queued when
it has fallen behind, so it catches up). Objects are stored uncompressed (``git gc --auto``,
which ``evolve`` ends with, compresses them): deflating cost ~4x as much, and the writer sets a
long run's pace.

Crash safety is the writer's (objects, then commits, then the ref by compare-and-swap). The
child ignores SIGINT (the parent decides when to stop and then waits for it) and dies with its
parent (``PR_SET_PDEATHSIG`` on Linux; elsewhere it stops at the end of its input), so a
``kill -9`` of ``mindgit evolve`` never leaves a writer behind.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import itertools
import mmap
import os
import pickle
import select
import signal
import struct
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from itertools import compress
from json.encoder import encode_basestring
from math import isfinite
from operator import itemgetter
from typing import Any, cast

from mindgit.errors import MindgitError
from mindgit.evolve.genes import GenomeCodec, Texts, Values, float_texts
from mindgit.evolve.operators import Recipe
from mindgit.evolve.writer import GenerationWriter, StagedGeneration, write_parts
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID, base32, base32_digests
from mindgit.procs import die_with_parent
from mindgit.sandbox import FitnessFailure
from mindgit.store.generation import RunFormatError, best_index

# A message: the lengths of its pickled part and of its raw part, then the two parts. Manifests
# travel raw: pickling a generation's few hundred KiB of them cost ~0.8 ms each way.
_HEADER = struct.Struct(">QQ")
_READ = 1 << 20
_PIPE_BYTES = 1 << 20
# Generations breeding may run ahead of the writer (each ~0.3 MB in flight for 200 x 32 genes).
MAX_BACKLOG = 16
# Further ahead than this, the breeding process spells the new states' CIDs itself (hashing and
# base32, ~8% of the writer's work), until the writer catches up. Which process sets a run's
# pace depends on the fitness, the genome and the machine: with the split fixed, the long
# benchmark job's breeding process waited ~0.4 s for its writer. Below MAX_BACKLOG, so that help
# starts before breeding would have to wait, and above the WRITE_BATCH a writer that keeps up
# gathers anyway.
HELP_BACKLOG = 12
# The writer gathers up to this many generations for one write (one pack, one ref move), waiting
# at most WRITE_WAIT seconds after the first: a write's fixed cost (four new files: the pack, its
# index, the ref lock's token and the ref's new value, each ~0.5 ms of kernel CPU to create on
# the development VM's ext4, and the Python around them) is then paid once for several. Writing
# what happened to be queued made ~1.8 generations a write in the long benchmark job. The wait
# bounds what a kill -9 can lose beyond the backlog; a slow fitness still gets one write per
# generation.
WRITE_BATCH = 8
WRITE_WAIT = 0.05
# Manifests go to the writer through memory both processes share, the pipe carrying only where
# they are: through the pipe they cost a kernel copy on each side (~0.3 s of CPU in the long
# benchmark job) and the breeding process waited whenever the pipe was full. A generation that
# does not fit beside the ones in flight goes through the pipe, as a whole message.
SHARED_BYTES = 8 << 20

Job = tuple[
    int,  # generation
    Sequence[tuple[int, ...]],  # parents
    Sequence[float | FitnessFailure],  # results
    Sequence[Recipe] | None,  # how each child was bred from the last generation sent
    Sequence[Values] | None,  # or else the whole population (the first generation sent)
]
WriterFactory = Callable[[], GenerationWriter]
# Every manifest's CID is CIDv1 dag-json sha2-256, whose text is this head and the digest in
# base32 (the prefix is whole 5-byte groups); the tests check the texts against CID.
_CID_HEAD = str(CID.of(b""))[: -len(base32(bytes(32)))]


class PersistFailed(MindgitError):
    """Writing a generation failed; the message is the writer's error, and ``kind`` (what
    ``--json`` reports as the error's type) its type's name when it was one of ours: the same
    error as an evolve that writes in its own process raises (``MINDGIT_EVOLVE_FORK=0``)."""

    def __init__(self, message: str, hint: str | None = None, kind: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.kind = kind or type(self).__name__


def failure_text(e: BaseException) -> tuple[str, str | None]:
    """What a writer's error says, and its hint: an OSError as the CLI says one ("No space
    left on device: PATH"), not as its repr ("OSError: [Errno 28] No space left on device")."""
    if isinstance(e, MindgitError):
        return str(e), e.hint
    if isinstance(e, OSError):
        text = str(e.strerror or e)
        return (f"{text}: {e.filename}" if e.filename else text), None
    return f"{type(e).__name__}: {e}", None


# A generation's states as the writer receives them: for each individual, where its state comes
# from (``-1 - p``: unchanged from individual p of the last generation; ``j >= 0``: entry j of
# the new ones); and the new states as columns: manifest bytes, git blob ids, and their CIDs'
# texts or None. Columns, not a tuple per state: they are made, sent and read back by a few
# C-level passes each. The CIDs are the writer's to spell (``RecordMaker``) unless it has fallen
# behind (see ``HELP_BACKLOG``): then the breeding process spells them, the same texts.
Sources = list[int]
NewStates = tuple[list[bytes], list[bytes], list[str] | None]
Named = tuple[
    int,  # generation
    Sequence[tuple[int, ...]],  # parents
    Sequence[float | FitnessFailure],  # results
    Sources,
    NewStates,
]


class Namer:
    """Spells each generation's new states and hashes them for their git blob ids, in the
    breeding process.

    It keeps the last generation's manifests as their parts (the template's literal text with
    the slot texts between, ``GenomeCodec.parts``), so a child's manifest is its recipe replayed
    on its parents' parts (only mutated genes are spelled anew) and one join; a child that is an
    unchanged copy of its parent is not spelled or hashed at all.
    """

    def __init__(self, codec: GenomeCodec) -> None:
        self._codec = codec
        self._parts: list[Texts] = []

    def __call__(self, job: Job, *, cids: bool = False) -> Named:
        """``job`` named; with ``cids``, its new states' CID texts spelt too."""
        generation, parents, results, recipes, population = job
        parts, manifests = self._spell(recipes, population)
        self._parts = parts
        data = [m for m in manifests if m is not None]
        # Inlined git_oid: this runs for every new state of every generation.
        sha1 = hashlib.sha1
        oids = [sha1(b"blob %d\0%s" % (len(m), m)).digest() for m in data]
        sources: Sources
        if len(data) == len(manifests):
            sources = list(range(len(data)))
        else:
            fresh = itertools.count()
            sources = [
                -1 - ps[0] if m is None else next(fresh)
                for ps, m in zip(parents, manifests, strict=True)
            ]
        new: NewStates = (data, oids, cid_texts(data) if cids else None)
        return generation, parents, results, sources, new

    def _spell(
        self, recipes: Sequence[Recipe] | None, population: Sequence[Values] | None
    ) -> tuple[list[Texts], list[bytes | None]]:
        """Each individual's manifest parts and manifest (None: an unchanged copy of its
        parent)."""
        codec = self._codec
        if recipes is None:
            assert population is not None
            parts = [codec.parts(codec.texts(values)) for values in population]
            return parts, ["".join(p).encode("utf-8") for p in parts]
        prev = self._parts
        # Slot i's text is part 2i + 1.
        slot_parts = range(1, 2 * codec.dim, 2)
        out: list[Texts] = []
        manifests: list[bytes | None] = []
        for a, b, take_a, mutations in recipes:
            if take_a is None:
                if not mutations:
                    out.append(prev[a])
                    manifests.append(None)
                    continue
                t = prev[a].copy()
            else:
                # b's texts, then a's where the mask takes a: half the genes are assigned, and
                # no pair is made per gene (twice as fast as picking from zipped pairs).
                t = prev[b].copy()
                ta = prev[a]
                for i in compress(slot_parts, take_a):
                    t[i] = ta[i]
            for i, text in mutations:
                t[2 * i + 1] = text
            out.append(t)
            manifests.append("".join(t).encode("utf-8"))
        return out, manifests


def cid_texts(manifests: Sequence[bytes]) -> list[str]:
    """``str(CID.of(m))`` of each manifest, in C-level passes."""
    sha256 = hashlib.sha256
    digests = [sha256(m).digest() for m in manifests]
    return list(map(_CID_HEAD.__add__, base32_digests(digests)))


# A scored individual's entry in generation.json, as GenerationRecord.encode spells it.
_SCORED = '{"parents":[%s],"score":%s,"state":{"/":"%s"}}'


class RecordMaker:
    """Turns named generations into what the writer stores, one generation after the other:
    each new state's CID text, and ``generation.json``.

    It keeps the last generation's (CID text, blob id) of each individual, for the states that
    are unchanged copies. ``generation.json`` is spelled directly, as
    ``GenerationRecord.encode`` spells it (the tests check they agree), without making 200
    ``Individual`` values first.
    """

    def __init__(self, minimize: bool) -> None:
        self._minimize = minimize
        self._named: list[tuple[str, bytes]] = []  # (CID text, blob id) per individual
        self._parent_texts: dict[tuple[int, ...], str] = {}

    def __call__(self, named_job: Named) -> StagedGeneration:
        generation, parents, results, sources, new = named_job
        prev = self._named
        data, oids, texts = new
        fresh = list(zip(cid_texts(data) if texts is None else texts, oids, strict=True))
        named = [fresh[s] if s >= 0 else prev[-1 - s] for s in sources]
        self._named = named
        scores = [None if isinstance(r, FitnessFailure) else float(r) + 0.0 for r in results]
        best = best_index(scores, self._minimize)
        head = f'{{"best":{"null" if best is None else best},"generation":{generation},'
        scored = cast(list[float], scores)  # when None is not in it
        if None in scores or not all(map(isfinite, scored)):
            entries = ",".join(map(self._entry, parents, results, scores, named))
        else:
            # Every individual scored: its entry is one template, filled in C-level passes.
            cache = self._parent_texts
            lists = [cache.get(p) or self._parents_text(p) for p in parents]
            values = float_texts(scored)
            cids = map(itemgetter(0), named)
            entries = ",".join(map(_SCORED.__mod__, zip(lists, values, cids, strict=True)))
        record = (head + '"individuals":[' + entries + '],"schema":1}').encode()
        return StagedGeneration(
            generation,
            record,
            None if best is None else scores[best],
            dict(named),
            list(zip(oids, data, strict=True)),
        )

    def _entry(
        self,
        parents: tuple[int, ...],
        result: float | FitnessFailure,
        score: float | None,
        named: tuple[str, bytes],
    ) -> str:
        """One individual's entry in ``generation.json``."""
        p = self._parent_texts.get(parents)
        if p is None:
            p = self._parents_text(parents)
        if score is None:
            assert isinstance(result, FitnessFailure)
            return (
                f'{{"failure":{{"error":{encode_basestring(result.error)},'
                f'"reason":{encode_basestring(result.reason)}}},'
                f'"parents":[{p}],"state":{{"/":"{named[0]}"}}}}'
            )
        t = float.__repr__(score)
        if "e" in t or t[-2:] == ".0" or t[-1] > "9":
            if not isfinite(score):  # as Individual refuses it
                raise RunFormatError("individual", f"score {score!r} is not finite")
            t = dagjson.float_text(score)
        return _SCORED % (p, t, named[0])

    def _parents_text(self, parents: tuple[int, ...]) -> str:
        text = self._parent_texts[parents] = ",".join(map(str, parents))
        return text


class Persister(ABC):
    """Writes submitted generations in order. ``written`` is the last one on the run ref."""

    written: int = -1
    tip: str | None = None

    @abstractmethod
    def submit(self, job: Job) -> None:
        """Queue (or write) one generation."""

    @abstractmethod
    def close(self) -> None:
        """Wait until everything submitted is written; raise the first write error."""


class InlinePersister(Persister):
    """Writes each generation before ``submit`` returns."""

    def __init__(self, writer: GenerationWriter, codec: GenomeCodec, minimize: bool) -> None:
        self._writer = writer
        self._names = Namer(codec)
        self._records = RecordMaker(minimize)

    def submit(self, job: Job) -> None:
        try:
            self.tip = self._writer.write([self._records(self._names(job))])[-1]
        except OSError as e:  # the world refused (a full disk): as the writer process says it
            raise PersistFailed(*failure_text(e)) from None
        self.written = job[0]

    def close(self) -> None:
        self._writer.close()


def _frame(obj: object, raw: Sequence[bytes] = ()) -> list[bytes]:
    """A message as the parts to write: header, pickled ``obj``, then ``raw`` joined."""
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    size = sum(map(len, raw))
    return [_HEADER.pack(len(payload), size), payload, *raw]


def named_frame(named: Named, shared: SharedManifests | None = None) -> list[bytes]:
    """A named generation as a message (``named_of`` reads it back): the new manifests in
    ``shared`` if they fit there, else as the message's raw part."""
    generation, parents, results, sources, (data, oids, texts) = named
    sizes = list(map(len, data))
    at = None if shared is None else shared.put(generation, data, sum(sizes))
    head = (generation, parents, results, sources, sizes, oids, texts, at)
    return _frame(head, data if at is None else ())


def named_of(message: Message, shared: mmap.mmap | None = None) -> Named:
    """A named generation from its message; its manifests are copied out of ``shared``."""
    (generation, parents, results, sources, sizes, oids, texts, at), raw = message
    ends = list(itertools.accumulate(sizes, initial=0 if at is None else at))
    if at is None:
        source: bytes | mmap.mmap = raw
    elif shared is None:
        raise PersistFailed("a generation's manifests are in memory this process does not share")
    else:
        source = shared
    data = list(map(source.__getitem__, map(slice, ends[:-1], ends[1:])))
    new: NewStates = (data, oids, texts)
    return generation, parents, results, sources, new


class SharedManifests:
    """The breeding process's side of the memory it shares with the writer: where each
    generation's manifests go, after the last ones and wrapping to the start; a generation's
    room is used again once the writer has written it (``release``), by when it has copied
    them out."""

    def __init__(self, size: int) -> None:
        self.memory = mmap.mmap(-1, size)  # anonymous: shared with the child after fork
        self._size = size
        # (generation, start, end) of each generation in flight, oldest first.
        self._held: collections.deque[tuple[int, int, int]] = collections.deque()

    def release(self, written: int) -> None:
        """The writer has written every generation up to ``written``."""
        held = self._held
        while held and held[0][0] <= written:
            held.popleft()

    def place(self, generation: int, n: int) -> int | None:
        """Where ``n`` bytes of ``generation`` go, now held; None if they do not fit."""
        if n == 0 or n > self._size:
            return None
        held = self._held
        if not held:
            start = 0
        else:
            first, (_, last, head) = held[0][1], held[-1]
            if last >= first:  # in use: [first, head)
                if head + n <= self._size:
                    start = head
                elif n <= first:
                    start = 0
                else:
                    return None
            elif head + n <= first:  # wrapped; in use: [first, ...) and [0, head)
                start = head
            else:
                return None
        held.append((generation, start, start + n))
        return start

    def put(self, generation: int, data: Sequence[bytes], n: int) -> int | None:
        """Copy ``data`` (``n`` bytes in all) in; where it starts, or None if it does not fit."""
        at = self.place(generation, n)
        if at is not None:
            self.memory[at : at + n] = b"".join(data)
        return at


# A message read back: its unpickled part and its raw part.
Message = tuple[Any, bytes]


def take_message(buf: bytearray) -> Message | None:
    """The first whole message in ``buf``, removed from it; None if none is whole yet."""
    h = _HEADER.size
    if len(buf) < h:
        return None
    n, r = _HEADER.unpack_from(buf)
    if len(buf) < h + n + r:
        return None
    with memoryview(buf) as view:
        obj = pickle.loads(view[h : h + n])
        raw = bytes(view[h + n : h + n + r])
    del buf[: h + n + r]
    return obj, raw


class _Reader:
    """Messages (see ``_frame``) from a pipe, with a non-blocking 'what has arrived' mode."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = bytearray()
        self.eof = False

    def _fill(self, block: bool) -> None:
        if self.eof:
            return
        if not block and not select.select([self.fd], [], [], 0)[0]:
            return
        data = os.read(self.fd, _READ)
        if data:
            self.buf += data
        else:
            self.eof = True

    def _take(self) -> Message | None:
        return take_message(self.buf)

    def available(self) -> list[Message]:
        """Every complete message that has arrived, without waiting."""
        out = []
        while True:
            msg = self._take()
            if msg is not None:
                out.append(msg)
                continue
            before = len(self.buf)
            self._fill(block=False)
            if len(self.buf) == before:
                return out

    def next(self) -> Message | None:
        """The next message, waiting for it; None at the end of the stream."""
        while True:
            msg = self._take()
            if msg is not None:
                return msg
            if self.eof:
                return None  # a torn last message means the sender died mid-write: drop it
            self._fill(block=True)


class _Drain(_Reader):
    """A `_Reader` whose pipe is emptied by a thread as data arrives, so the sender never waits
    on a full pipe and the writer sees the whole backlog at once (one pack for all of it)."""

    def __init__(self, fd: int) -> None:
        super().__init__(fd)
        self._chunks: collections.deque[bytes] = collections.deque()
        self._cv = threading.Condition()
        self._done = False
        threading.Thread(target=self._pump, name="mindgit-drain", daemon=True).start()

    def _pump(self) -> None:
        while True:
            try:
                data = os.read(self.fd, _READ)
            except OSError:
                data = b""
            with self._cv:
                if data:
                    self._chunks.append(data)
                else:
                    self._done = True
                self._cv.notify()
            if not data:
                return

    def _fill(self, block: bool) -> None:
        with self._cv:
            while block and not self._chunks and not self._done:
                self._cv.wait()
            while self._chunks:
                self.buf += self._chunks.popleft()
            if self._done and not self._chunks:
                self.eof = True

    def gather(self, count: int, wait: float) -> list[Message]:
        """The next messages (none: the stream has ended): waits for the first, then until
        ``count`` have arrived, ``wait`` seconds have passed or the stream ends."""
        first = self.next()
        if first is None:
            return []
        out = [first, *self.available()]
        deadline = time.monotonic() + wait
        while len(out) < count and not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            with self._cv:
                if not self._chunks and not self._done:
                    self._cv.wait(left)
            out += self.available()
        return out


class ProcessPersister(Persister):
    """Writes generations in a forked child process (see the module docstring)."""

    def __init__(self, factory: WriterFactory, codec: GenomeCodec, minimize: bool) -> None:
        jobs_r, jobs_w = os.pipe()
        _widen(jobs_w)
        status_r, status_w = os.pipe()
        parent = os.getpid()
        shared = SharedManifests(SHARED_BYTES)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child; exercised by the evolve tests
            os.close(jobs_w)
            os.close(status_r)
            _child(parent, jobs_r, status_w, factory, minimize, shared.memory)
        os.close(jobs_r)
        os.close(status_w)
        self._pid = pid
        self._shared = shared
        self._jobs = jobs_w
        self._names = Namer(codec)
        self._status = _Reader(status_r)
        self._error: PersistFailed | None = None
        self._reported = False
        self._closed = False

    def submit(self, job: Job) -> None:
        self._poll(block=False)
        self._raise()
        try:
            self._shared.release(self.written)
            behind = job[0] - self.written > HELP_BACKLOG
            named = self._names(job, cids=behind)
            write_parts(self._jobs, named_frame(named, self._shared))
        except BrokenPipeError:
            self._poll(block=True)
            self._raise()
            raise PersistFailed("the generation writer stopped unexpectedly") from None
        # The writer drains the pipe at once, so bound how far breeding may run ahead of it.
        while job[0] - self.written > MAX_BACKLOG and self._error is None:
            msg = self._status.next()
            if msg is None:
                self._poll(block=True)
                break
            self._handle([msg])
        self._raise()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self._jobs)
            try:
                self._poll(block=True)
            finally:
                os.close(self._status.fd)
                os.waitpid(self._pid, 0)
                self._shared.memory.close()
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            self._reported = True
            raise error

    def _poll(self, *, block: bool) -> None:
        messages = self._status.available() if not block else []
        if block:
            while True:
                msg = self._status.next()
                if msg is None:
                    break
                messages.append(msg)
        self._handle(messages)
        ended = any(m[0][0] in ("done", "error") for m in messages)
        # A writer that stopped on an error already raised has ended as it said: the close that
        # follows must not replace that error with "died".
        if block and not ended and self._error is None and not self._reported:
            self._error = PersistFailed("the generation writer died before finishing")

    def _handle(self, messages: list[Message]) -> None:
        for msg, _ in messages:
            if msg[0] == "ok":
                self.written = msg[1]
                self.tip = msg[2]
            elif msg[0] == "error" and self._error is None:
                self._error = PersistFailed(msg[1], msg[2], msg[3])


def _widen(fd: int) -> None:
    # Room for the whole backlog, so that breeding never waits on a full pipe while the child's
    # drain thread waits for the GIL.
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        pass


def _child(
    parent: int,
    jobs_fd: int,
    status_fd: int,
    factory: WriterFactory,
    minimize: bool,
    shared: mmap.mmap,
) -> None:  # pragma: no cover - runs in the child
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        die_with_parent(parent)
        writer = factory()
        records = RecordMaker(minimize)
        reader = _Drain(jobs_fd)
        while True:
            # Everything queued is written as one batch: behind, the writer catches up.
            messages = reader.gather(WRITE_BATCH, WRITE_WAIT)
            if not messages:
                break
            # Copied out of the shared memory before the write that lets the breeding
            # process use it again.
            jobs = [named_of(m, shared) for m in messages]
            commits = writer.write([records(job) for job in jobs])
            write_parts(status_fd, _frame(("ok", jobs[-1][0], commits[-1])))
        writer.close()
        write_parts(status_fd, _frame(("done",)))
    except BaseException as e:
        code = 1
        with contextlib.suppress(BaseException):
            kind = type(e).__name__ if isinstance(e, MindgitError) else None
            write_parts(status_fd, _frame(("error", *failure_text(e), kind)))
    finally:
        os._exit(code)


def can_fork() -> bool:
    """Whether generations are written by a second process (``MINDGIT_EVOLVE_FORK=0``: not)."""
    return hasattr(os, "fork") and os.environ.get("MINDGIT_EVOLVE_FORK", "1") != "0"


def make_persister(
    factory: WriterFactory, codec: GenomeCodec, minimize: bool, *, fork: bool
) -> Persister:
    """A persister on a second process (``fork``), else one that writes inline."""
    if fork:
        return ProcessPersister(factory, codec, minimize)
    return InlinePersister(factory(), codec, minimize)
