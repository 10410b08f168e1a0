"""``mindgit evolve``: breed a state under a sandboxed fitness module, one commit per generation.

This process breeds and scores; a forked writer process (``mindgit.evolve.persist``) stores
each generation (spelling its new states, hashing, packing, signing the commit, moving the ref)
while the next one is bred, so the second core does the storage work. A generation counts once
its ref has moved; stopping (``should_stop``) or an exception waits for the generations already
handed over, so nothing that was bred is dropped on a clean stop, and a crash loses only
generations that never reached their ref.

Resuming reads the run's last generation (population, scores) and continues with the stream of
the next generation number, so a resumed run ends bit-identical to an uninterrupted one. The
result is the best individual of any generation (``_Leader``), kept in memory during the run and
recovered from the stored generations' fitness trailers on resume (``run_best``).
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pygit2

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no forked writer, nothing to guard
    fcntl = None  # type: ignore[assignment]

from mindgit.errors import MindgitError, UsageError, quoted, shown_path
from mindgit.evolve.breeding import Breeding, make_breeding
from mindgit.evolve.fitness import (
    FitnessSource,
    cache_dir,
    cache_undone_on_error,
    find_fitness,
    fitness_cid,
    limits_for,
    load_fitness,
    store_source,
)
from mindgit.evolve.genes import GenomeCodec, Values
from mindgit.evolve.operators import (
    Recipe,
    Variation,
    default_mutation_rate,
    initial_population,
)
from mindgit.evolve.persist import Persister, PersistFailed, can_fork, make_persister
from mindgit.evolve.prng import Stream, stream_key
from mindgit.evolve.runs import mean_score, read_run
from mindgit.evolve.writer import GenerationWriter
from mindgit.ipld.cid import CID
from mindgit.sandbox import FitnessFailure, FitnessModule, Limits
from mindgit.store import layout
from mindgit.store.fitness_store import parse_cid
from mindgit.store.generation import (
    MODULE_FILE,
    RUNS_PREFIX,
    SHARED_DIRS,
    TRAILER_EXPERIMENT,
    TRAILER_FITNESS,
    TRAILER_GENERATION,
    TRAILER_MODULE,
    TRAILER_RUN,
    RunFormatError,
    RunInfo,
    RunLimits,
    RunParams,
    RunTip,
    best_index,
    check_run_id,
    read_generation_commit,
)
from mindgit.store.generation_check import read_manifest
from mindgit.store.objects import as_commit
from mindgit.store.refs import REF_NAME_MAX, read_ref
from mindgit.store.repository import (
    HEADS,
    MINDGIT_DIR,
    ExperimentExists,
    NothingChanged,
    Store,
    UnknownRef,
    check_experiment_name,
)
from mindgit.store.state import State
from mindgit.store.verify import STATE_TRAILER, trailer, trailers

ENTRY_BATCH = "fitness_batch"
ENTRY_FITNESS = "fitness"
# How far back along an experiment to look for a run's result commit.
_RESULT_SEARCH = 1000


class RunExists(MindgitError):
    def __init__(self, run_id: str) -> None:
        super().__init__(
            f"run {run_id} exists (same start commit, module and parameters); nothing was changed",
            hint=f"continue it with `mindgit evolve --resume {run_id}`, or change --seed",
        )
        self.run_id = run_id


class ResultNotCommitted(MindgitError):
    """Every generation of a run is written, but its result commit failed (a key rotation
    unfinished, the experiment's ref locked, a full disk): said with the run and that
    ``--resume`` commits the result, which the commit's own error ("a key rotation is
    unfinished ...; nothing is signed until it is finished") left out."""

    def __init__(self, run_id: str, generations: int, error: MindgitError) -> None:
        resume = f"`mindgit evolve --resume {run_id}` commits it"
        super().__init__(
            f"run {run_id}: its {generations} generations are written, but its result was not "
            f"committed: {error}",
            hint=resume if error.hint is None else f"{error.hint}; then {resume}",
        )
        self.run_id = run_id
        self.error = error


class ResultNowhere(MindgitError):
    """Every name a run's result could go to holds other work."""

    def __init__(self, run_id: str, first: str) -> None:
        super().__init__(
            f"run {run_id}: {first} and the next {_SIDE_NAMES - 1} names after it all hold "
            "other work; nowhere to commit the result",
            hint=f"delete one of them (`mindgit experiments --delete NAME`), then `mindgit "
            f"evolve --resume {run_id}` commits it there",
        )
        self.run_id = run_id


class UnknownRun(MindgitError):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"no run {run_id} in this store", hint="`mindgit runs` lists the runs")
        self.run_id = run_id


class NothingToResume(MindgitError):
    def __init__(self, what: str) -> None:
        super().__init__(f"nothing to resume: {what}", hint="`mindgit runs` lists the runs")
        self.what = what


class OnlyBusyRuns(NothingToResume):
    """A bare ``--resume`` found no unfinished run but ones other processes are evolving."""

    def __init__(self, experiment: str, runs: Sequence[tuple[str, int | None]]) -> None:
        held = "; ".join(
            f"run {run_id} is being evolved by "
            + ("another process" if pid is None else f"pid {pid}")
            for run_id, pid in runs
        )
        super().__init__(
            f"experiment {experiment!r} has no other unfinished run ({held} right now)"
        )
        self.hint = (
            "wait for it to finish, or stop it (Ctrl-C) first; `mindgit runs` lists the runs"
        )
        self.experiment = experiment
        self.runs = tuple(runs)


class AmbiguousResume(UsageError):
    def __init__(self, experiment: str, runs: Sequence[str]) -> None:
        super().__init__(
            f"experiment {experiment!r} has {len(runs)} unfinished runs ({', '.join(runs)})",
            hint="name one: `mindgit evolve --resume RUN`",
        )
        self.experiment = experiment
        self.runs = tuple(runs)


class ParametersDiffer(UsageError):
    def __init__(self, run_id: str, name: str, given: object, recorded: object) -> None:
        super().__init__(
            f"run {run_id} was started with {name} {recorded!r}, not {given!r}; nothing was changed",
            hint="resume without changing parameters, or start a new run",
        )
        self.run_id = run_id
        self.name = name
        self.given = given
        self.recorded = recorded


class StartStateFails(MindgitError):
    def __init__(self, module: CID, failure: FitnessFailure) -> None:
        super().__init__(
            f"fitness module {module} fails on the start state ({failure.reason}): "
            f"{failure.error}; nothing was run"
        )
        self.module = module
        self.failure = failure


@dataclass(frozen=True, slots=True)
class Progress:
    """Reported after each generation is bred and scored (and handed over to be written)."""

    run_id: str
    generation: int  # 0-based
    generations: int
    best: float | None
    mean: float | None
    failures: int
    evaluations: int  # in this process so far
    elapsed: float  # seconds in this process so far


@dataclass(frozen=True, slots=True)
class RunResult:
    run_id: str
    experiment: str
    generations_done: int
    generations: int
    stopped: bool
    best_score: float | None
    best_state: CID | None
    tip: str
    result_commit: str | None
    start_score: float | None = None  # known when the run started in this call
    # The experiment the result was committed on: the run's own, or, when that one moved during
    # the run, result_experiment(experiment, run_id).
    result_experiment: str | None = None
    # The generation best_state and best_score come from (None when every individual failed).
    best_generation: int | None = None
    # The run's start state: when it is best_state, nothing was committed (no state bred in the
    # run beat it).
    start_state: CID | None = None

    @property
    def complete(self) -> bool:
        return self.generations_done == self.generations


ProgressCallback = Callable[[Progress], None]
StopCheck = Callable[[], bool]


@dataclass(frozen=True, slots=True)
class _Plan:
    info: RunInfo
    experiment: str
    codec: GenomeCodec
    module: FitnessModule
    module_blob: pygit2.Oid
    shared: dict[str, pygit2.Oid]
    start_tree: pygit2.Tree
    start_score: float | None = None
    # A new run's module as --fitness found it: stored (a file's under its name) only once the
    # run holds its lock and no run of its id exists, so a refused run adds no module name.
    source: FitnessSource | None = None


def _limits_node(limits: Limits) -> RunLimits:
    return RunLimits(limits.fuel, limits.memory_bytes, limits.stack_bytes, limits.table_elements)


def _limits_of(run: RunLimits) -> Limits:
    return Limits(
        fuel=run.fuel, memory_bytes=run.memory, stack_bytes=run.stack, table_elements=run.table
    )


def _shared(tree: pygit2.Tree) -> dict[str, pygit2.Oid]:
    """The start state's thoughts and blocks subtrees, which every generation carries."""
    return {name: tree[name].id for name in SHARED_DIRS if name in tree}


def plan_run(
    store: Store,
    fitness: str,
    params: RunParams,
    *,
    experiment: str | None = None,
    fuel: int | None = None,
    memory: int | None = None,
) -> _Plan:
    """Everything a new run needs, checked, before anything is written: nothing is stored, not
    even a module given as a path (:func:`start_run` stores it once it holds the run). A refused
    run leaves the store as it was, down to the compiled-module cache."""
    with cache_undone_on_error(store):
        return _checked_plan(store, fitness, params, experiment, fuel, memory)


def _checked_plan(
    store: Store,
    fitness: str,
    params: RunParams,
    experiment: str | None,
    fuel: int | None,
    memory: int | None,
) -> _Plan:
    exp = store.experiment(experiment)
    # A key that cannot sign (a bad key file, a rotation stopped halfway) stops the run before
    # anything is written, not in the writer after generation 0.
    _ = store.signing_key
    snap = store.snapshot(exp)
    codec = GenomeCodec(snap.state, params.mutation_scale)
    limits = limits_for(store, fuel=fuel, memory=memory)
    source = find_fitness(store, fitness)
    module = load_fitness(store, source.wasm, limits)
    if params.mutation_rate is None:
        params = replace(params, mutation_rate=default_mutation_rate(codec))
    entry_point = ENTRY_BATCH if module.has_batch and codec.batchable else ENTRY_FITNESS
    info = RunInfo(
        params, source.cid, entry_point, _limits_node(limits), snap.commit, snap.manifest.cid
    )
    scorer = _Scorer(module, codec, entry_point)
    start = scorer.score([codec.start_values])[0]
    if isinstance(start, FitnessFailure):
        raise StartStateFails(source.cid, start)
    start_score = start + 0.0  # as _scores: -0.0 is 0.0
    if entry_point == ENTRY_BATCH and params.population > 1:
        # The start state went alone; a module whose alloc cannot hold a whole population's
        # batch breaks the ABI at generation 0, after the run was accepted and its module stored.
        module.check_batch(params.population, codec.dim)
    if read_ref(store.repo, info.ref) is not None:
        raise RunExists(info.run_id)
    # The blob the module is (or will be, once stored) in: its id, computed, nothing written.
    blob = pygit2.hash(source.wasm)
    shared = _shared(snap.tree)
    return _Plan(info, exp, codec, module, blob, shared, snap.tree, start_score, source)


def start_run(
    store: Store,
    fitness: str,
    params: RunParams,
    *,
    experiment: str | None = None,
    fuel: int | None = None,
    memory: int | None = None,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> RunResult:
    """Evolve the experiment's current state; commit the best state on it when done.

    >>> start_run(store, "rastrigin", RunParams(generations=50, seed=7))  # doctest: +SKIP
    """
    with contextlib.ExitStack() as held:
        # Refused until the module is stored, the cache included (plan_run): a second process
        # starting the same run at the same moment is refused once it has planned, by the lock
        # or by the run ref, and stored, it left a module name the user never saw a run under.
        with cache_undone_on_error(store):
            plan = _checked_plan(store, fitness, params, experiment, fuel, memory)
            held.enter_context(run_lock(store, plan.info.run_id))
            if read_ref(store.repo, plan.info.ref) is not None:
                raise RunExists(plan.info.run_id)
            assert plan.source is not None
            store_source(store, plan.source)  # as the blob plan.module_blob names
        return _execute(store, plan, None, on_progress, should_stop)


def find_resumable(store: Store, experiment: str | None = None) -> str:
    """The one unfinished run of an experiment (default: the current one)."""
    exp = store.experiment(experiment)
    unfinished = []
    # Another experiment's damaged run does not keep this one from resuming; it is the answer
    # only when nothing else could be resumed (it may be the run that was meant).
    damaged: MindgitError | None = None
    # A run another process is evolving right now is not this one's to resume (resuming it was
    # refused as busy, and next to a killed run, the pair was called ambiguous).
    busy: list[tuple[str, int | None]] = []
    for ref in sorted(r for r in store.repo.references if r.startswith(RUNS_PREFIX)):
        run_id = ref.removeprefix(RUNS_PREFIX)
        try:
            tip = read_run(store.repo, run_id)
        except MindgitError as e:
            damaged = damaged or e
            continue
        if tip is None or tip.experiment != exp:
            continue
        holder = run_holder(store, run_id)
        if holder is not False:
            busy.append((run_id, holder))
            continue
        try:
            finished = tip.record.generation + 1 >= tip.info.params.generations and (
                _result_committed(store, tip)
            )
        except MindgitError as e:  # its history cannot be read for its result
            damaged = damaged or e
            continue
        if not finished:
            unfinished.append(run_id)
    if not unfinished:
        if damaged is not None:
            raise damaged
        if busy:
            raise OnlyBusyRuns(exp, busy)
        raise NothingToResume(f"experiment {exp!r} has no unfinished run")
    if len(unfinished) > 1:
        raise AmbiguousResume(exp, unfinished)
    return unfinished[0]


# A part of a ref name is at most this long (mindgit.store.refs), and a result's experiment
# adds `-<run>` and perhaps `-<n>` (up to -100, _SIDE_NAMES) to the experiment's last part.
_NAME_PART = 100
_SIDE_SUFFIX = len("-0123456789ab-100")
# And a whole ref name at most REF_NAME_MAX characters, refs/heads/ included.
_NAME_MAX = REF_NAME_MAX - len(HEADS)


def result_experiment(experiment: str, run_id: str) -> str:
    """Where a run's result goes when its experiment moved during the run: `<experiment>-<run>`,
    the experiment's last part cut short when the whole would be no valid name (a part of a ref
    name is at most 100 characters: a long experiment's result had nowhere to go; a whole name
    at most 1,012, and past that every look at the name was an internal error, for ever). When
    the path above the last part leaves it no room, the result goes to the top level."""
    head, _, last = experiment.rpartition("/")
    room = _NAME_PART - _SIDE_SUFFIX
    if head:
        room = min(room, _NAME_MAX - len(head) - 1 - _SIDE_SUFFIX)
        if room < 1:
            head, room = "", _NAME_PART - _SIDE_SUFFIX
    last = last[:room]
    return f"{head}/{last}-{run_id}" if head else f"{last}-{run_id}"


# `<experiment>-<run>` may already hold someone's own work (a fork given that name): the result
# then goes to `<experiment>-<run>-2`, and so on, never over that work.
_SIDE_NAMES = 100


def _side_experiments(experiment: str, run_id: str) -> Iterator[str]:
    first = result_experiment(experiment, run_id)
    yield first
    for n in range(2, _SIDE_NAMES + 1):
        yield f"{first}-{n}"


def _name_taken_below(repo: pygit2.Repository, name: str) -> bool:
    """Whether experiments live under ``name/`` (a fork named ``main-<run>/mine``, loose or
    packed): no ref can then be named ``name``, so the name holds other work, as an
    experiment of that name would."""
    below = HEADS + name + "/"
    return any(ref.startswith(below) for ref in repo.references)


def _holds_result(repo: pygit2.Repository, head: str, tip: RunTip) -> bool:
    """Whether the commits ``head`` reaches since the run's start (the newest
    ``_RESULT_SEARCH`` of them, merged ones too) hold the run's result commit.

    Not only ``head`` itself and its first parents: work goes on on top of a result, on the
    `<experiment>-<run>` it went to as anywhere, and a merge brings such an experiment in (after
    which it is often deleted). Looking at a side experiment's head alone took its result for
    uncommitted once a thought followed it, and `--resume` committed it again on the next name."""
    walker = repo.walk(pygit2.Oid(hex=head), pygit2.enums.SortMode.NONE)
    with contextlib.suppress(KeyError, ValueError, pygit2.GitError):
        walker.hide(pygit2.Oid(hex=tip.info.start_commit))
    needle = f"{TRAILER_RUN}: {tip.run_id}"
    with contextlib.suppress(pygit2.GitError):  # a lost commit ends the look there
        for n, commit in enumerate(walker):
            if n >= _RESULT_SEARCH:
                break
            # A cheap look at the bytes first: most commits name no run at all.
            if needle in commit.message and trailer(commit.message, TRAILER_RUN) == tip.run_id:
                return True
    return False


def _result_committed(store: Store, tip: RunTip) -> bool:
    exp = tip.experiment
    if exp is None:
        return True
    for name in _side_experiments(exp, tip.run_id):
        side = read_ref(store.repo, HEADS + name)
        if side is None:
            if _name_taken_below(store.repo, name):
                continue
            break
        if _holds_result(store.repo, side, tip):
            return True
    head = read_ref(store.repo, HEADS + exp)
    if head is not None and _holds_result(store.repo, head, tip):
        return True
    # No result commit: the run is finished if it has nothing to commit. Only then is its
    # history read for its best (once, at resume; a finished run's result is found above).
    best = run_best(store, tip)
    if best is None or best.state == tip.info.start_state:
        # Every individual failed, or no state bred in the run beat the start state: there is
        # no result to commit (else every --resume would run it again).
        return True
    if head is None:
        # The experiment is gone and no side experiment holds the result (looked at above):
        # _commit_result puts it on one. Taken for committed, a run killed between its last
        # generation and its result lost the result for good.
        return False
    # When the best state was already the experiment's state there is no commit to find.
    head_commit = as_commit(store.repo[head])
    return head_commit is not None and trailer(head_commit.message, STATE_TRAILER) == str(
        best.state
    )


def resume_run(
    store: Store,
    run: str | None = None,
    *,
    experiment: str | None = None,
    expect: Mapping[str, Any] | None = None,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> RunResult:
    """Continue a run from its last stored generation (``run`` or the experiment's unfinished one).

    ``expect`` holds parameters the caller gave explicitly (``population``, ``seed``, ...,
    ``fitness``, ``fuel``, ``memory``); any that differs from the run's is refused.
    """
    run_id = check_run_id(run) if run is not None else find_resumable(store, experiment)
    expect = expect or {}
    # Refused before the run is locked: taking the lock creates its file, and a refused
    # resume changes nothing on disk. Checked again under the lock, which decides.
    _resumable_tip(store, run_id, experiment, expect)
    with run_lock(store, run_id):
        return _resume(store, run_id, experiment, expect, on_progress, should_stop)


def _resumable_tip(
    store: Store, run_id: str, experiment: str | None, expect: Mapping[str, Any]
) -> RunTip:
    """The run's last generation, if the run can be resumed as asked; else the reason."""
    # read_run refuses a hand-moved or peer's ref naming another run: resuming it would go on
    # with another run under this id.
    tip = read_run(store.repo, run_id)
    if tip is None:
        raise UnknownRun(run_id)
    if tip.experiment is not None:
        # Its result goes there, or beside it: a name no experiment can have (a run made by
        # hand or by a broken peer) was an internal error ("ValueError: refs/heads/...") or a
        # refusal of "<name>-<run>", a name the user never typed, at every resume.
        try:
            check_experiment_name(tip.experiment)
        except MindgitError as e:
            raise RunExperimentInvalid(run_id, tip.experiment, e) from None
    _check_expected(store, tip.info, expect)
    if experiment is not None and tip.experiment is not None:
        exp = store.experiment(experiment)
        if exp != tip.experiment:
            # Its result is committed on its own experiment, never on the one asked for.
            raise ParametersDiffer(run_id, "experiment", exp, tip.experiment)
    if tip.record.generation + 1 >= tip.info.params.generations and _result_committed(store, tip):
        raise NothingToResume(f"run {run_id} is complete and its result is committed")
    return tip


def _resume(
    store: Store,
    run_id: str,
    experiment: str | None,
    expect: Mapping[str, Any],
    on_progress: ProgressCallback | None,
    should_stop: StopCheck | None,
) -> RunResult:
    tip = _resumable_tip(store, run_id, experiment, expect)
    _ = store.signing_key  # as for a new run: refused before anything is written
    info = tip.info
    exp = tip.experiment or store.current
    snap = store.snapshot(info.start_commit)
    if snap.manifest.cid != info.start_state:
        raise MindgitError(f"run {run_id}: start commit does not hold its start state")
    codec = GenomeCodec(snap.state, info.params.mutation_scale)
    wasm: bytes = store.repo[tip.tree[MODULE_FILE].id].read_raw()
    module = load_fitness(store, wasm, _limits_of(info.limits))
    plan = _Plan(
        info,
        exp,
        codec,
        module,
        tip.tree[MODULE_FILE].id,
        _shared(snap.tree),
        snap.tree,
    )
    return _execute(store, plan, tip, on_progress, should_stop)


class RunExperimentInvalid(MindgitError):
    def __init__(self, run_id: str, name: str, error: MindgitError) -> None:
        reason = getattr(error, "reason", None) or str(error)
        super().__init__(
            f"run {run_id}'s generations name experiment {quoted(name)} ({TRAILER_EXPERIMENT}),"
            f" which no experiment can be named ({reason}); nothing was changed",
            hint=f"the run cannot be resumed: its result has nowhere to go (`mindgit runs "
            f"--delete {run_id}` deletes it)",
        )
        self.run_id = run_id
        self.name = name


class RunBusy(MindgitError):
    def __init__(self, run_id: str) -> None:
        super().__init__(
            f"run {run_id} is being run by another process right now",
            hint="wait for it to finish, or stop it (Ctrl-C) first",
        )
        self.run_id = run_id


class RunLockUnusable(MindgitError):
    """The run's lock file cannot be made: ``mindgit/runs`` is a file, or not writable."""

    def __init__(self, path: Path, error: OSError) -> None:
        reason = error.strerror or type(error).__name__
        if isinstance(error, FileExistsError | NotADirectoryError):
            reason = f"{shown_path(path.parent)} is not a directory"
        super().__init__(
            f"cannot take the run's lock {shown_path(path)}: {reason}; nothing was changed",
            hint=f"{shown_path(path.parent)} must be a directory this user can write",
        )


# A look at whether a run is held (run_holder) holds its lock for a moment: a process taking
# the run in that moment tries again for this long before it calls the run busy.
_LOCK_PATIENCE = 0.5


def _run_lock_path(store: Store, run_id: str) -> Path:
    return store.path / MINDGIT_DIR / "runs" / f"{run_id}.lock"


@contextmanager
def run_lock(store: Store, run_id: str) -> Iterator[None]:
    """Hold the run for this process (an advisory lock the kernel drops when it dies); the lock
    file then holds this process's id, for :func:`run_holder` to name.

    A ``kill -9`` can leave git's ``refs/runs/<id>.lock`` behind mid-update; while we hold
    the run, no live process can own that file, so it is removed.
    """
    path = _run_lock_path(store, run_id)
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:
        raise RunLockUnusable(path, e) from None
    named = False
    try:
        if fcntl is not None:
            deadline = time.monotonic() + _LOCK_PATIENCE
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise RunBusy(run_id) from None
                    time.sleep(0.01)
            with contextlib.suppress(OSError):  # only a name for messages
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
                named = True
            (Path(store.repo.path) / f"{RUNS_PREFIX}{run_id}.lock").unlink(missing_ok=True)
        yield
    finally:
        if named:
            # Emptied again, as it was: a command refused while it held the run (a delete of
            # a run whose result is kept, say) leaves the store as it found it.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
        os.close(fd)


def run_holder(store: Store, run_id: str) -> int | bool | None:
    """Whether another process holds the run (:func:`run_lock`) right now: False if none does,
    else its process id, or None when the lock file does not say it. Creates nothing."""
    try:
        fd = os.open(_run_lock_path(store, run_id), os.O_RDONLY)
    except OSError:  # no lock file: never run here, or not by a process that could lock it
        return False
    try:
        held = False  # without fcntl, as in run_lock, nothing is held
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # closing the file releases it
            except BlockingIOError:
                held = True
            except OSError:
                pass
        if not held:
            return False
        try:
            text = os.pread(fd, 32, 0).decode("ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return int(text) if text.isdigit() and int(text) > 0 else None
    finally:
        os.close(fd)


def _check_expected(store: Store, info: RunInfo, expect: Mapping[str, Any]) -> None:
    recorded: dict[str, Any] = info.params.to_node()
    recorded["fuel"] = info.limits.fuel
    recorded["memory"] = info.limits.memory
    for name, given in expect.items():
        if name == "fitness":
            # A name, a CID or a file: the run's module is the one its bytes hash to. A CID is
            # compared as it is: the run's own module is in the run's tree whether or not a
            # refs/fitness/ name still holds it ("started with fitness X, not X" was said).
            spec = str(given)
            cid = parse_cid(spec)
            if (cid if cid is not None else fitness_cid(store, spec)) != info.module:
                raise ParametersDiffer(info.run_id, "fitness", given, str(info.module))
            continue
        if name not in recorded:
            raise UsageError(f"unknown run parameter {name!r}")
        if given is not None and given != recorded[name]:
            raise ParametersDiffer(info.run_id, name, given, recorded[name])


class _Scorer:
    """Scores a population with one sandbox call (or one per state without a batch entry)."""

    def __init__(self, module: FitnessModule, codec: GenomeCodec, entry: str) -> None:
        self._module = module
        self._codec = codec
        self.entry = entry

    def score(self, population: Sequence[Values]) -> list[float | FitnessFailure]:
        if self.entry == ENTRY_BATCH:
            return self._module.score_batch(population, self._codec.dim)
        return self._module.score_many(list(map(self._codec.encode, population)))

    def score_bred(self, breeding: Breeding) -> list[float | FitnessFailure]:
        """Score a breeding's current population (as packed vectors, for a batch)."""
        if self.entry == ENTRY_BATCH:
            return self._module.score_batch(breeding.vectors(), self._codec.dim)
        return self._module.score_many(list(map(self._codec.encode, breeding.population())))


def _scores(results: Sequence[float | FitnessFailure]) -> list[float | None]:
    """The scores as a generation stores them: a module's -0.0 is 0.0 there (DAG-JSON has no
    -0.0), so it is here too. The run's result kept -0.0: its commit said `Mindgit-Fitness:
    -0.0` where its generation's says 0.0, and `runs` and a resumed run said 0.0."""
    return [None if isinstance(r, FitnessFailure) else r + 0.0 for r in results]


def _progress(
    run_id: str,
    generation: int,
    total: int,
    scores: Sequence[float | None],
    minimize: bool,
    evaluations: int,
    started: float,
) -> Progress:
    ok = [s for s in scores if s is not None]
    best = (min(ok) if minimize else max(ok)) if ok else None
    # As `runs` and `plot` take it: finite scores near the largest float made a mean of inf.
    mean = mean_score(ok)
    return Progress(
        run_id,
        generation,
        total,
        best,
        mean,
        len(scores) - len(ok),
        evaluations,
        time.perf_counter() - started,
    )


class _Leader:
    """The run's result as it stands: the fittest individual of any generation so far,
    strictly fitter than every one after it (so the latest generation's among equals; with an
    elite that is most often the last generation's best, but an elite scored in a batch can
    fail in a later one: see :func:`run_best`), and within its
    generation the lowest index among equals (``best_index``, as ``generation.json`` names its
    best). Kept in memory during a run, one comparison per generation: a generation costs the
    same at 1,000 as at 1. A resumed run recovers it from the stored generations
    (:func:`_history_leader`), so it ends as an uninterrupted run does.

    Without it the result was the last generation's best, which with ``--elite 0`` (a
    population of 1 has no room for an elite) could be worse than the start state."""

    __slots__ = ("generation", "minimize", "score", "values")

    def __init__(self, minimize: bool) -> None:
        self.minimize = minimize
        self.generation: int | None = None
        self.score: float | None = None
        self.values: Values | None = None

    def offer(
        self, generation: int, scores: Sequence[float | None], individual: Callable[[int], Values]
    ) -> None:
        """Take generation ``generation``'s best unless it is strictly less fit than the one
        held (``individual(i)``: its values, read only when taken)."""
        i = best_index(scores, self.minimize)
        if i is None:
            return
        score = scores[i]
        assert score is not None
        held = self.score
        if held is not None and ((score > held) if self.minimize else (score < held)):
            return
        self.generation, self.score = generation, score
        self.values = individual(i)


class RunHistoryDamaged(MindgitError):
    def __init__(self, run_id: str, generation: int, problem: str) -> None:
        super().__init__(
            f"run {run_id}: generation {generation} cannot be read ({problem}), so the run's"
            " best state cannot be told",
            hint="`mindgit verify` names the damage",
        )
        self.run_id = run_id
        self.generation = generation


@dataclass(frozen=True, slots=True)
class RunBest:
    """A run's result as its stored generations give it (see :class:`_Leader`): what
    ``evolve`` commits when the run is complete, unless it is the start state."""

    generation: int
    index: int
    score: float
    state: CID
    tree: pygit2.Tree  # the generation's, which holds the state


def run_best(store: Store, tip: RunTip) -> RunBest | None:
    """The fittest individual of the run's stored generations up to ``tip``, chosen as
    :class:`_Leader` chooses during the run; None if every individual failed.

    With an elite, for a run scored one individual at a time (the ``fitness`` entry point),
    that is the last generation's best. Otherwise it is read once, when a run resumes or its
    result is looked for: each generation commit's ``Mindgit-Fitness`` trailer is its best
    score (``mindgit verify --recompute`` holds it to ``generation.json``), so only commits are
    read, newest first, and the one generation that wins is read whole for its state, whose
    best must be the trailer's score."""
    info = tip.info
    if info.params.elite >= 1 and info.entry == ENTRY_FITNESS:
        # Exact without reading the history: the elite is carried unchanged and scored again,
        # alone, in a fresh instance with its own fuel (the same score), so no generation is
        # less fit than the one before, and among equals the result is the latest
        # generation's: the last one's best. Not so for a batch (fitness_batch): its
        # individuals share the batch's fuel, and a batch that fails is scored again one at a
        # time with an individual's fuel each, so an elite that scored inside one batch can
        # fail in the next (an expensive best beside a genome that traps), and an earlier
        # generation's best is then the result, as _Leader keeps it during the run.
        last = tip.record.best
        if last is None:
            return None
        chosen = tip.record.individuals[last]
        assert chosen.score is not None
        return RunBest(tip.record.generation, last, chosen.score, chosen.state, tip.tree)
    minimize = info.params.minimize
    repo = store.repo
    oid = tip.commit
    won: str | None = None
    won_generation = -1
    won_score = math.nan
    for generation in range(tip.record.generation, -1, -1):
        commit = as_commit(repo.get(oid))
        if commit is None:
            raise RunHistoryDamaged(info.run_id, generation, f"commit {oid[:12]} is missing")
        fields = trailers(commit.message)
        if (
            fields.get(TRAILER_RUN) != info.run_id
            or fields.get(TRAILER_GENERATION) != str(generation)
            or (generation > 0 and not commit.parent_ids)
        ):
            raise RunHistoryDamaged(
                info.run_id, generation, f"commit {oid[:12]} is not that generation of the run"
            )
        text = fields.get(TRAILER_FITNESS)
        if text != "none":
            try:
                score = float(text or "")
            except ValueError:
                score = math.nan
            if not math.isfinite(score):
                raise RunHistoryDamaged(
                    info.run_id, generation, f"{TRAILER_FITNESS} {text!r} is not a score"
                )
            # Newest first: an older generation takes the lead only by being strictly fitter.
            if won is None or ((score < won_score) if minimize else (score > won_score)):
                won, won_generation, won_score = oid, generation, score
        if generation > 0:
            oid = str(commit.parent_ids[0])
    if won is None:
        return None
    if won == tip.commit:
        record, tree = tip.record, tip.tree
    else:
        try:
            held = read_generation_commit(repo, won)
        except RunFormatError as e:
            raise RunHistoryDamaged(info.run_id, won_generation, str(e)) from None
        record, tree = held.record, held.tree
        if held.run_id != info.run_id:
            raise RunHistoryDamaged(info.run_id, won_generation, f"it is run {held.run_id}'s")
    best = record.best
    if record.generation != won_generation or best is None:
        raise RunHistoryDamaged(info.run_id, won_generation, "its record has no best")
    chosen = record.individuals[best]
    if chosen.score != won_score:
        raise RunHistoryDamaged(
            info.run_id,
            won_generation,
            f"{TRAILER_FITNESS} {won_score!r} is not its record's best {chosen.score!r}",
        )
    return RunBest(won_generation, best, won_score, chosen.state, tree)


def _history_leader(store: Store, tip: RunTip, codec: GenomeCodec) -> _Leader:
    """The :class:`_Leader` the run had in memory after writing ``tip``'s generation."""
    leader = _Leader(tip.info.params.minimize)
    best = run_best(store, tip)
    if best is not None:
        leader.generation, leader.score = best.generation, best.score
        leader.values = codec.values_of_manifest(
            best.state, read_manifest(store.repo, best.tree, best.state)
        )
    return leader


def _execute(
    store: Store,
    plan: _Plan,
    tip: RunTip | None,
    on_progress: ProgressCallback | None,
    should_stop: StopCheck | None,
) -> RunResult:
    info = plan.info
    tip_commit = tip.commit if tip is not None else None
    fork = can_fork()

    def make_writer(in_child: bool) -> GenerationWriter:
        return GenerationWriter(
            Store(store.path) if in_child else store,
            info,
            plan.experiment,
            tip=tip_commit,
            module_blob=plan.module_blob,
            shared=plan.shared,
        )

    # Read before the writer starts: a run whose stored history is damaged stops here.
    leader = (
        _history_leader(store, tip, plan.codec)
        if tip is not None
        else _Leader(info.params.minimize)
    )
    with _lean_gc():
        persister = make_persister(
            lambda: make_writer(fork), plan.codec, info.params.minimize, fork=fork
        )
        try:
            return _loop(store, plan, tip, persister, leader, on_progress, should_stop)
        except PersistFailed as e:
            if e.hint is not None:  # the writer's own error says what to do
                raise
            # A full disk said only "OSError: [Errno 28] No space left on device": not which
            # run, nor that it resumes from what was written.
            kept = persister.written if persister.written >= 0 else None
            if kept is None and tip is not None:
                kept = tip.record.generation
            raise PersistFailed(
                f"run {info.run_id}: writing its generations failed: {e}",
                hint="nothing of the run was written; start it again once that is mended"
                if kept is None
                else f"generations up to {kept} are kept; `mindgit evolve --resume "
                f"{info.run_id}` continues the run once that is mended",
                kind=e.kind,
            ) from None


@contextmanager
def _lean_gc() -> Iterator[None]:
    """Fewer, cheaper cyclic collections while generations are bred.

    A generation allocates tens of thousands of small containers and almost no cycles, so the
    collector's default pace (every 700 allocations) costs ~10% of a run; objects that exist
    before the run are frozen out of its scans (which also keeps the forked writer's pages
    shared).
    """
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], 20_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _loop(
    store: Store,
    plan: _Plan,
    tip: RunTip | None,
    persister: Persister,
    leader: _Leader,
    on_progress: ProgressCallback | None,
    should_stop: StopCheck | None,
) -> RunResult:
    info = plan.info
    params = info.params
    codec = plan.codec
    scorer = _Scorer(plan.module, codec, info.entry)
    breeding = make_breeding(codec, Variation.of(params), cache_dir(store))
    tip_commit = tip.commit if tip is not None else None
    started = time.perf_counter()
    evaluations = 0
    generation: int
    scores: list[float | None]
    # The writer rebuilds each generation from the last one it was sent and the recipes.
    sent_whole = False
    if tip is not None:
        generation = tip.record.generation
        breeding.load(
            [
                codec.values_of_manifest(ind.state, read_manifest(store.repo, tip.tree, ind.state))
                for ind in tip.record.individuals
            ]
        )
        scores = [ind.score for ind in tip.record.individuals]
    stopped = False
    try:
        if tip is None:
            generation = 0
            population, parents = initial_population(
                codec, params.population, Stream.for_generation(params.seed, 0)
            )
            breeding.load(population)
            results = scorer.score_bred(breeding)
            evaluations += len(population)
            scores = _scores(results)
            leader.offer(0, scores, breeding.individual)
            persister.submit((0, parents, results, None, population))
            sent_whole = True
            if on_progress is not None:
                on_progress(
                    _progress(
                        info.run_id,
                        0,
                        params.generations,
                        scores,
                        params.minimize,
                        evaluations,
                        started,
                    )
                )
        while generation + 1 < params.generations:
            if should_stop is not None and should_stop():
                stopped = True
                break
            generation += 1
            recipes: list[Recipe] = []
            parents = breeding.breed(scores, stream_key(params.seed, generation), recipes)
            results = scorer.score_bred(breeding)
            evaluations += breeding.size
            scores = _scores(results)
            leader.offer(generation, scores, breeding.individual)
            if sent_whole:
                persister.submit((generation, parents, results, recipes, None))
            else:
                persister.submit((generation, parents, results, None, breeding.population()))
                sent_whole = True
            if on_progress is not None:
                on_progress(
                    _progress(
                        info.run_id,
                        generation,
                        params.generations,
                        scores,
                        params.minimize,
                        evaluations,
                        started,
                    )
                )
    finally:
        persister.close()
    done = generation + 1
    # The best of the whole run so far, not of the last generation: without an elite that one
    # may be less fit than the start state.
    best_values = leader.values
    best_cid = CID.of(codec.encode(best_values)) if best_values is not None else None
    result_commit = result_exp = None
    if done == params.generations and best_values is not None and best_cid != info.start_state:
        assert leader.generation is not None
        try:
            result_commit, result_exp = _commit_result(
                store, plan, best_values, leader.score, leader.generation
            )
        except ResultNowhere:
            raise
        except MindgitError as e:
            raise ResultNotCommitted(info.run_id, done, e) from None
    return RunResult(
        info.run_id,
        plan.experiment,
        done,
        params.generations,
        stopped,
        leader.score,
        best_cid,
        persister.tip or tip_commit or info.start_commit,
        result_commit,
        plan.start_score,
        result_exp,
        leader.generation,
        info.start_state,
    )


def _commit_result(
    store: Store, plan: _Plan, values: Values, score: float | None, generation: int
) -> tuple[str | None, str]:
    info = plan.info
    # The key is read again: one rotated while the run went on is retired, and a result it
    # signed would be refused by verify and by every peer (the writer stops on a rotation it
    # sees; one that ends after the last generation was written is only seen here).
    store.forget_key()
    state = plan.codec.to_state(values)
    blocks = dict(layout.read_thoughts(store.repo, plan.start_tree, state.thoughts))
    blocks.update(layout.read_blocks(store.repo, plan.start_tree, state.blocks))
    trailers = {
        TRAILER_RUN: info.run_id,
        TRAILER_GENERATION: str(generation),
        TRAILER_FITNESS: repr(score),
        TRAILER_MODULE: str(info.module),
    }
    message = f"evolve {info.run_id}: best of {info.params.generations} generations, {score!r}"

    def commit_on(experiment: str) -> tuple[str | None, str] | None:
        """Commit the result on ``experiment`` if its state is still the run's start state;
        None if it is not. Checked under the experiment's ref lock, where the commit is made:
        a thought that lands after a check made outside it would be replaced by the result."""

        def change(old: State) -> tuple[State, Mapping[CID, bytes]]:
            if old.manifest().cid != info.start_state:
                raise _Moved
            return state, blocks

        try:
            commit = store.update(change, message, experiment=experiment, trailers=trailers)
        except (_Moved, UnknownRef):  # moved, or deleted since it was looked at
            return None
        except NothingChanged:
            return None, experiment
        return commit.id, experiment

    if read_ref(store.repo, HEADS + plan.experiment) == info.start_commit:
        done = commit_on(plan.experiment)
        if done is not None:
            return done
    # The experiment moved during the run (a thought, a gene set by hand): committing the
    # result over it would silently drop that work. The result goes on an experiment of its
    # own, forked from the run's start, for the user to merge. So it does when the experiment
    # was deleted meanwhile: the run's generations are kept, and its result with them.
    for side in _side_experiments(plan.experiment, info.run_id):
        if read_ref(store.repo, HEADS + side) is None:
            if _name_taken_below(store.repo, side):
                continue
            # Made by someone else just now, it is taken only if it is still at the start.
            with contextlib.suppress(ExperimentExists):
                store.fork(side, start=info.start_commit, switch=False)
        done = commit_on(side)
        if done is not None:
            return done
    raise ResultNowhere(info.run_id, result_experiment(plan.experiment, info.run_id))


class _Moved(Exception):
    """The experiment's state is no longer the run's start state (never leaves this module)."""
