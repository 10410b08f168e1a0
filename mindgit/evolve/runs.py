"""Reading runs back: the list of runs, a run's fitness per generation, and lineage.

A run's best, as ``mindgit runs`` lists it and as ``mindgit lineage RUN`` starts from, is its
result as ``mindgit evolve`` defines it (:func:`mindgit.evolve.run.run_best`): the fittest
individual of any generation, not the last generation's best (which without an elite can be
less fit than an earlier one).

Lineage follows the parent indices each generation records, back to generation 0, whose origin
is the commit the run started from; if that commit is itself the result of an earlier run, the
walk goes on into that run.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import pygit2

from mindgit.errors import MindgitError, UsageError, quoted
from mindgit.ipld.cid import CID
from mindgit.store.fitness_store import parse_cid
from mindgit.store.generation import (
    GENERATION_FILE,
    RUN_FILE,
    RUNS_PREFIX,
    STATES,
    TRAILER_GENERATION,
    TRAILER_RUN,
    GenerationRecord,
    RunFormatError,
    RunInfo,
    RunTip,
    check_run_id,
    read_generation_commit,
    read_run_tip,
    unreadable,
)
from mindgit.store.objects import as_commit
from mindgit.store.refs import read_listed_ref, ref_names
from mindgit.store.repository import Store, UnknownRef
from mindgit.store.verify import STATE_TRAILER, trailer

# A chain of runs started from each other's results is followed this far.
MAX_RUN_CHAIN = 100


class NotFromARun(MindgitError):
    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what} was not produced by a run in this store",
            hint="lineage takes a state CID or a commit that `mindgit evolve` wrote",
        )
        self.what = what


class UnknownLineageTarget(NotFromARun):
    """What lineage was given names nothing in this store ("was not produced by a run" said
    it was there)."""

    def __init__(self, what: str) -> None:
        MindgitError.__init__(
            self,
            f"{what} names no state, commit or run in this store",
            hint="lineage takes a state CID, a commit `mindgit evolve` wrote, or a run id "
            "(`mindgit runs` lists them)",
        )
        self.what = what


class ResultRunUnreadable(NotFromARun):
    """A run's result commit whose run cannot be read (deleted, never fetched, damaged)."""

    def __init__(self, commit: str, why: str) -> None:
        MindgitError.__init__(
            self,
            f"commit {commit[:12]}: {why}",
            hint="`mindgit runs` lists the runs this store holds",
        )
        self.what = f"commit {commit[:12]}"


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One run as ``mindgit runs`` lists it (``generation`` is the last one written, 0-based).

    ``best`` is the run's result (so far, for a run not complete) as ``evolve`` defines it:
    the score of the fittest individual of any generation, from ``best_generation``; both
    None when every individual of every generation failed."""

    run_id: str
    experiment: str | None
    generation: int
    generations: int
    best: float | None
    best_generation: int | None
    module: CID
    seed: int
    commit: str
    start_commit: str

    @property
    def complete(self) -> bool:
        return self.generation + 1 == self.generations


def _summary(store: Store, tip: RunTip) -> RunSummary:
    """Unless the run has an elite and scores one individual at a time, reads the run's
    generation commits (their trailers) once: 5-40 us a generation (see ``run_best``)."""
    from mindgit.evolve.run import run_best

    # The last generation's best was listed: without an elite it can be less fit than an
    # earlier generation's, which is what `evolve` committed (and less fit than the start).
    best = run_best(store, tip)
    rec = tip.record
    return RunSummary(
        tip.run_id,
        tip.experiment,
        rec.generation,
        tip.info.params.generations,
        None if best is None else best.score,
        None if best is None else best.generation,
        tip.info.module,
        tip.info.params.seed,
        tip.commit,
        tip.info.start_commit,
    )


class RunRefMismatch(MindgitError):
    """A run ref that names a generation of another run (a peer's or a hand-moved ref)."""

    def __init__(self, ref_id: str, run_id: str) -> None:
        super().__init__(
            f"{RUNS_PREFIX}{ref_id} points at a generation of run {run_id}, not of run {ref_id}",
            hint="the run is corrupt; `mindgit verify` names it",
        )
        self.ref_id = ref_id
        self.run_id = run_id


def _is_ref(repo: pygit2.Repository, ref: str) -> bool:
    try:
        repo.lookup_reference(ref)
    except (KeyError, ValueError, pygit2.GitError):
        return False
    return True


def read_run(repo: pygit2.Repository, run_id: str) -> RunTip | None:
    """The newest generation of run ``run_id`` as ``refs/runs/<run_id>`` names it; None if
    there is no such ref.

    Every reader that takes a run by its ref goes through here (runs, plot, lineage, merge's
    fitness lookup, verify --recompute), so a damaged ref is refused the same way everywhere:
    named by its ref, as a :class:`RunFormatError`, or :class:`RunRefMismatch`.
    """
    ref = RUNS_PREFIX + run_id
    try:
        tip = read_run_tip(repo, run_id)
    except RunFormatError as e:
        # Named by its ref: "commit 0809…: holds no run.json" alone left the user to search
        # every refs/runs/* for the one that breaks `mindgit runs`.
        raise RunFormatError(f"{ref}: {e.what}", e.problem) from None
    if tip is None and _is_ref(repo, ref):
        read_listed_ref(repo, ref)  # a symbolic ref to nothing: CorruptRef, not "no run"
    # The ref's name is the run's identity everywhere it is shown: a ref that points at another
    # run's commit would list that run twice and plot or check it under the wrong name.
    if tip is not None and tip.run_id != run_id:
        raise RunRefMismatch(run_id, tip.run_id)
    return tip


@dataclass(frozen=True, slots=True)
class DamagedRun:
    """A run ref that cannot be read as a run, and why (``mindgit runs`` lists it apart)."""

    ref: str
    error: MindgitError


@dataclass(frozen=True, slots=True)
class RunListing:
    """The runs that read (newest first) and the run refs that do not (by ref name)."""

    runs: tuple[RunSummary, ...]
    damaged: tuple[DamagedRun, ...]


def scan_runs(store: Store) -> RunListing:
    """Every run in the store, as ``git for-each-ref`` lists refs: one damaged run ref is
    reported beside the others, never in place of them. A run whose best cannot be told (a
    generation commit missing, or not the run's, or its fitness trailer not a score:
    ``RunHistoryDamaged``) is reported as damaged too, under its ref."""
    tips, damaged = _scan_tips(store)
    out = []
    for tip in tips:
        try:
            out.append(_summary(store, tip))
        except MindgitError as e:
            damaged.append(DamagedRun(RUNS_PREFIX + tip.run_id, e))
    damaged.sort(key=lambda d: d.ref)
    return RunListing(tuple(out), tuple(damaged))


def _scan_tips(store: Store) -> tuple[list[RunTip], list[DamagedRun]]:
    """The newest generation of every run that reads, newest first, and the run refs that do
    not (in ref order); no run's history is read."""
    out = []
    damaged = []
    # A run ref libgit2 cannot parse is listed too, as damaged: it vanished from `mindgit runs`
    # (exit 0) while `verify --all` failed on it.
    for ref in ref_names(store.repo, (RUNS_PREFIX,)):
        try:
            tip = read_run(store.repo, ref.removeprefix(RUNS_PREFIX))
        except MindgitError as e:
            damaged.append(DamagedRun(ref, e))
            continue
        if tip is not None:
            out.append(tip)
    times = {t.run_id: store.repo[t.commit].peel(pygit2.Commit).commit_time for t in out}
    out.sort(key=lambda t: (-times[t.run_id], t.run_id))
    return out, damaged


def list_runs(store: Store) -> list[RunSummary]:
    """Every run in the store, newest first; the first damaged run ref is raised (see
    :func:`scan_runs` for a listing that goes on past it)."""
    listing = scan_runs(store)
    if listing.damaged:
        raise listing.damaged[0].error
    return list(listing.runs)


def get_run(store: Store, run_id: str) -> RunTip:
    from mindgit.evolve.run import UnknownRun

    tip = read_run(store.repo, check_run_id(run_id))
    if tip is None:
        raise UnknownRun(run_id)
    return tip


@dataclass(frozen=True, slots=True)
class GenerationStats:
    generation: int
    best: float | None
    mean: float | None
    failures: int
    commit: str


def generation_commits(store: Store, tip: str) -> Iterator[pygit2.Commit]:
    """A run's generation commits, newest first (first parents until the start commit)."""
    commit = as_commit(store.repo.get(tip))
    while commit is not None and GENERATION_FILE in commit.tree:
        yield commit
        if not commit.parent_ids:
            return
        parent = commit.parent_ids[0]
        commit = as_commit(store.repo.get(parent))
        if commit is None and store.repo.get(parent) is None:
            # A history cut short (a shallow fetch, a pruned object): named, not a KeyError.
            raise RunFormatError(f"commit {parent}", "is missing from this store")


def run_generations(store: Store, tip: RunTip) -> Iterator[tuple[pygit2.Commit, GenerationRecord]]:
    """A run's generations, newest first, each parsed as strictly as ``mindgit verify`` does,
    each holding the run's own run.json and each the generation before the one above it, down
    to generation 0. Every reader that walks a run goes through here: a history with a
    generation missing, another run's generation spliced in, or no generation 0 is named
    (:class:`RunFormatError`), never read as another generation's parents or scores."""
    run_file = tip.tree[RUN_FILE].id
    cids: dict[str, CID] = {}
    expected = tip.record.generation
    for commit in generation_commits(store, tip.commit):
        where = f"commit {str(commit.id)[:12]} of run {tip.run_id}"
        # An older generation a peer sent is data like any other (a NaN score or a record
        # that is not a map is named, not charted or walked).
        if RUN_FILE not in commit.tree or commit.tree[RUN_FILE].id != run_file:
            raise RunFormatError(
                where, f"holds another {RUN_FILE} than the run's newest generation"
            )
        try:
            raw = store.repo[commit.tree[GENERATION_FILE].id].read_raw()
        except (KeyError, pygit2.GitError) as e:
            raise RunFormatError(where, unreadable(e)) from None
        if len(cids) > 4 * tip.info.params.population:
            # States repeat between neighbouring generations; remembering every one a long run
            # ever linked cost ~1 GB over 100,000 generations.
            cids.clear()
        try:
            record = GenerationRecord.decode(raw, tip.info.params, cids)
        except RunFormatError as e:
            raise RunFormatError(f"{where}: {e.what}", e.problem) from None
        if record.generation != expected:
            raise RunFormatError(
                where, f"is generation {record.generation} where {expected} was expected"
            )
        yield commit, record
        if expected == 0:
            return
        expected -= 1
    raise RunFormatError(
        f"run {tip.run_id}", f"its generations end at {expected + 1}, before generation 0"
    )


def history(store: Store, run_id: str) -> list[GenerationStats]:
    """Best and mean fitness of every generation of a run, oldest first."""
    tip = get_run(store, run_id)
    minimize = tip.info.params.minimize
    out = []
    for commit, record in run_generations(store, tip):
        scores = [i.score for i in record.individuals if i.score is not None]
        best = (min(scores) if minimize else max(scores)) if scores else None
        failures = len(record.individuals) - len(scores)
        out.append(
            GenerationStats(record.generation, best, mean_score(scores), failures, str(commit.id))
        )
    out.reverse()
    return out


def mean_score(scores: list[float]) -> float | None:
    if not scores:
        return None
    mean = sum(scores) / len(scores)
    if not math.isfinite(mean):
        # Finite scores near the largest float overflow when summed; divided first they do not.
        mean = sum(x / len(scores) for x in scores)
    return mean


@dataclass(frozen=True, slots=True)
class Ancestor:
    """One individual on a lineage."""

    generation: int
    index: int
    state: CID
    score: float | None
    failure: str | None
    parents: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RunLineage:
    """The ancestors of an individual within one run: per generation, newest first."""

    run_id: str
    experiment: str | None
    generations: tuple[tuple[Ancestor, ...], ...]
    start_commit: str
    start_state: CID


@dataclass(frozen=True, slots=True)
class LineageStop:
    """Why a lineage ends at a commit that is itself a run's result: that run (``run_id``)
    cannot be walked (``reason``, one line)."""

    commit: str
    run_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Lineage:
    """Where a state came from: the runs that bred it, newest first, and the origin commit.

    ``stop`` is None when the origin is where the first run started from something no run
    made; otherwise the origin is an earlier run's result and ``stop`` says why the walk
    ended there (the run was deleted or never fetched, its ref is damaged, or the chain
    is over ``MAX_RUN_CHAIN`` runs long).
    """

    state: CID
    runs: tuple[RunLineage, ...]
    origin: str
    stop: LineageStop | None = None


def lineage(store: Store, target: str, *, everyone: bool = True) -> Lineage:
    """The ancestry of a state (by CID), of a commit a run wrote (generation or result), or of
    a run (by id).

    A generation commit stands for its best individual; a result commit for the state it holds;
    a run for its result (:func:`mindgit.evolve.run.run_best`: the fittest individual of any
    generation, which the result commit holds when there is one, so both give one lineage).
    With ``everyone`` false only the first-parent line is kept (each generation's level holds
    one ancestor), which is what plain `mindgit lineage` shows: all ancestors of a long run's
    best are most of every generation (lineage of a 96,267-generation run of 50 took 3 GB, with
    the link cache run_generations now bounds).
    """
    state, run_tip, generation = _locate(store, target)
    runs: list[RunLineage] = []
    origin = run_tip.info.start_commit
    stop: LineageStop | None = None
    while True:
        rl = _walk(store, run_tip, generation, state, everyone)
        runs.append(rl)
        origin = rl.start_commit
        result = _result_trailers(store, origin)
        if result is None:
            break
        run_id, generation, state = result
        # A result whose run cannot be read ended the walk here with no word: the origin then
        # looked like a commit no run made (after `runs --delete RUN --force`, say).
        why, tip = _next_run(store, run_id)
        if tip is not None and len(runs) == MAX_RUN_CHAIN:
            why = f"it is the result of run {run_id}, past the {MAX_RUN_CHAIN} runs lineage follows"
        if why is not None:
            stop = LineageStop(origin, run_id, why)
            break
        assert tip is not None
        run_tip = tip
    return Lineage(runs[0].generations[0][0].state, tuple(runs), origin, stop)


def _locate(store: Store, target: str) -> tuple[CID, RunTip, int]:
    cid = parse_cid(target)
    if cid is not None:
        found = _find_state(store, cid)
        if found is None:
            raise NotFromARun(f"state {cid}")
        return cid, found[0], found[1]
    try:
        run_id: str | None = check_run_id(target)
    except UsageError:
        run_id = None
    # A run as `mindgit runs` lists it stands for its result (its best). Tried before commits:
    # twelve hex digits are also an abbreviated commit id, rarely one here.
    tip = read_run(store.repo, run_id) if run_id is not None else None
    if tip is not None:
        return _result_of(store, tip)
    try:
        commit_id = store.resolve(target)
    except UnknownRef:
        # Quoted as typed: control characters or bytes that are not UTF-8 are escaped, never
        # written raw to the terminal (or unencodable on a strict stream), and cut: 100 KB
        # typed there made a 100 KB line.
        raise UnknownLineageTarget(quoted(target)) from None
    commit = as_commit(store.repo[commit_id])
    assert commit is not None
    if GENERATION_FILE in commit.tree:
        return _best_of(read_generation_commit(store.repo, commit_id))
    source = _result_source(store, commit_id)
    if source is None:
        result = _result_trailers(store, commit_id)
        why = None if result is None else _next_run(store, result[0])[0]
        if why is not None:
            # "not produced by a run" of a result whose run was deleted sent the user looking
            # for another commit.
            raise ResultRunUnreadable(commit_id, why)
        raise NotFromARun(f"commit {commit_id[:12]}")
    return source[2], source[0], source[1]


class NoBestIndividual(MindgitError):
    """A generation (or a whole run: ``generation`` None) stands for its best individual, and
    it has none."""

    def __init__(self, run_id: str, generation: int | None) -> None:
        what = f"run {run_id}" if generation is None else f"generation {generation} of run {run_id}"
        where = " of every generation" if generation is None else ""
        super().__init__(
            f"{what} has no best individual: every individual{where} failed",
            hint="give lineage one of its states' CIDs"
            + ("" if generation is None else ", or an earlier generation's commit"),
        )


def _result_of(store: Store, tip: RunTip) -> tuple[CID, RunTip, int]:
    """A run's result individual (the generation and state ``run_best`` names, as ``evolve``
    commits it): it was the last generation's best, which without an elite can be another
    (less fit) individual than the result commit holds."""
    from mindgit.evolve.run import RunHistoryDamaged, run_best

    try:
        best = run_best(store, tip)
    except RunHistoryDamaged:
        # A history that does not hold together is named in the words every reader that walks
        # a run uses (plot, runs --check); run_best reads trailers only, and its own words stand
        # when only those are wrong.
        for _ in run_generations(store, tip):
            pass
        raise
    if best is None:
        # The run made it; "not produced by a run" would send the user looking elsewhere.
        raise NoBestIndividual(tip.run_id, None)
    return best.state, tip, best.generation


def _best_of(tip: RunTip) -> tuple[CID, RunTip, int]:
    best = tip.record.best
    if best is None:
        # The run made it; "not produced by a run" would send the user looking elsewhere.
        raise NoBestIndividual(tip.run_id, tip.record.generation)
    return tip.record.individuals[best].state, tip, tip.record.generation


def _result_source(store: Store, commit_id: str) -> tuple[RunTip, int, CID] | None:
    """If ``commit_id`` records the result of a run this store can read: that run, the
    generation and the state."""
    result = _result_trailers(store, commit_id)
    if result is None:
        return None
    try:
        tip = read_run(store.repo, result[0])
    except MindgitError:
        return None
    if tip is None:
        return None
    return tip, result[1], result[2]


def _next_run(store: Store, run_id: str) -> tuple[str | None, RunTip | None]:
    """The run a result commit's trailer names, or why that commit's lineage cannot go on."""
    if not _is_run_id(run_id):
        return f"its {TRAILER_RUN} trailer {quoted(run_id)} is not a run id", None
    try:
        tip = read_run(store.repo, run_id)
    except MindgitError as error:
        return f"it is the result of run {run_id}, which cannot be read: {error}", None
    if tip is None:
        why = f"it is the result of run {run_id}, which is not in this store"
        return f"{why} (deleted, or never fetched)", None
    return None, tip


def _is_run_id(text: str) -> bool:
    try:
        return check_run_id(text) == text
    except UsageError:
        return False


def _result_trailers(store: Store, commit_id: str) -> tuple[str, int, CID] | None:
    """If ``commit_id``'s message records a run's result: the run id, generation and state it
    names (the run itself may not be in the store)."""
    commit = as_commit(store.repo.get(commit_id))
    if commit is None:
        return None
    run_id = trailer(commit.message, TRAILER_RUN)
    gen = trailer(commit.message, TRAILER_GENERATION)
    state = trailer(commit.message, STATE_TRAILER)
    if run_id is None or gen is None or state is None or not gen.isdigit():
        return None
    cid = parse_cid(state)
    if cid is None:
        return None
    return run_id, int(gen), cid


def _find_state(store: Store, cid: CID) -> tuple[RunTip, int] | None:
    """The newest generation, of any run, holding the state ``cid``."""
    name = str(cid)
    # The tips alone: the runs' best (what `mindgit runs` reads their histories for) is not
    # needed here.
    tips, damaged = _scan_tips(store)
    for tip in tips:
        for commit in generation_commits(store, tip.commit):
            tree = commit.tree
            states = store.repo.get(tree[STATES].id) if STATES in tree else None
            if isinstance(states, pygit2.Tree) and name in states:
                return tip, read_generation_commit(store.repo, str(commit.id)).record.generation
    if damaged:
        # The state may be in a run that cannot be read: that is the answer, not "no run".
        raise damaged[0].error
    return None


def _walk(
    store: Store, tip: RunTip, generation: int, state: CID, everyone: bool = True
) -> RunLineage:
    generations = run_generations(store, tip)
    record = None
    for _, gen_record in generations:
        if gen_record.generation == generation:
            record = gen_record
            break
    if record is None:
        raise NotFromARun(f"generation {generation} of run {tip.run_id}")
    index = next((i for i, ind in enumerate(record.individuals) if ind.state == state), None)
    if index is None:
        raise NotFromARun(f"state {state} in generation {generation} of run {tip.run_id}")
    levels: list[tuple[Ancestor, ...]] = []
    current = {index}
    while True:
        level = tuple(
            Ancestor(
                record.generation,
                i,
                record.individuals[i].state,
                record.individuals[i].score,
                f.reason if (f := record.individuals[i].failure) else None,
                record.individuals[i].parents,
            )
            for i in sorted(current)
        )
        levels.append(level)
        if everyone:
            current = {p for a in level for p in a.parents}
        else:  # the first parent of the one individual followed
            current = {level[0].parents[0]} if level[0].parents else set()
        if record.generation == 0 or not current:
            break
        # Never None: run_generations names a history that stops before generation 0.
        record = next(generations)[1]
    info: RunInfo = tip.info
    return RunLineage(
        tip.run_id, tip.experiment, tuple(levels), info.start_commit, info.start_state
    )


def main_line(run: RunLineage) -> list[Ancestor]:
    """The first-parent chain through a run's lineage, newest first."""
    out = []
    index: int | None = run.generations[0][0].index
    for level in run.generations:
        found = next((a for a in level if a.index == index), None)
        if found is None:
            break
        out.append(found)
        index = found.parents[0] if found.parents else None
    return out
