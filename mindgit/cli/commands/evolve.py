"""Evolution commands: fitness (add, list), evolve, runs, lineage, plot, demo."""

from __future__ import annotations

import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO, Protocol

import click

from mindgit.cli.housekeeping import housekeep
from mindgit.cli.main import exit_with
from mindgit.cli.options import (
    check_fitness_option,
    experiment_option,
    json_option,
    open_store_from,
)
from mindgit.cli.output import emit_json, info, shell_word, standard_output, table
from mindgit.errors import MindgitError, quoted, shown_path
from mindgit.evolve.chart import PNG_WIDTHS, TEXT_WIDTHS

_BARE_RESUME = "\0"
# RunParams' defaults, for --help (RunParams is imported only when a command runs); the run
# takes them from RunParams itself. tests/evolve/test_params_defaults.py holds the two equal.
_DEFAULTS = {
    "population": 64,
    "generations": 50,
    "mutation_scale": 0.1,
    "crossover_rate": 0.5,
    "elite": 1,
    "tournament": 3,
    "seed": 0,
}


def _size(text: str | None, what: str) -> int | None:
    if text is None:
        return None
    from mindgit.evolve.fitness import parse_size

    return parse_size(text, what)


def _check_limits(fuel: int | None, memory: int | None, memory_text: str | None) -> None:
    """Refuse --fuel and --memory values the sandbox would refuse, as the usage errors they are."""
    from mindgit.errors import UsageError
    from mindgit.sandbox import InvalidLimits, Limits

    for flag, field, value, shown in (
        ("--fuel", "fuel", fuel, str(fuel)),
        ("--memory", "memory_bytes", memory, quoted(memory_text)),
    ):
        if value is None:
            continue
        try:
            Limits(**{field: value})
        except InvalidLimits as e:
            raise UsageError(f"{flag} {shown} is out of range; it must be {e.bound}") from None


# ---- fitness -----------------------------------------------------------------------------------


@click.group()
def fitness() -> None:
    """Fitness modules kept in the store (WebAssembly, named by CID)."""


@fitness.command("add")
# As typed (str): click's Path('') is '.', which was named as the module file.
@click.argument("path", type=click.Path(path_type=str))
@click.option("--name", default=None, help="Name to store it under (default: the file's stem).")
@click.option(
    "--force",
    is_flag=True,
    help="Repoint NAME if it holds another module (the old one stays reachable by its CID).",
)
@json_option
@click.pass_context
def fitness_add(
    ctx: click.Context, path: str, name: str | None, force: bool, as_json: bool
) -> None:
    """Check a .wat/.wasm module with the sandbox and store it; print its CID.

    A NAME that already holds another module is refused unless --force is given."""
    from mindgit.cli.options import typed_given
    from mindgit.evolve.fitness import add_fitness, file_module_name
    from mindgit.store.fitness_store import check_module_name, stored_under

    module = Path(typed_given(path, "PATH", "give a .wat or .wasm module file"))
    store = open_store_from(ctx)
    name = check_module_name(name) if name is not None else file_module_name(module)
    previous = stored_under(store, name)
    entry = add_fitness(store, module, name, replace=force)
    replaced = previous is not None and previous.cid != entry.cid
    if as_json:
        emit_json(
            {
                "name": entry.name,
                "module": str(entry.cid),
                "commit": entry.commit,
                "replaced": str(previous.cid) if replaced and previous is not None else None,
            }
        )
    else:
        click.echo(str(entry.cid))
        if replaced and previous is not None:
            info(f"repointed fitness module {entry.name} from {previous.cid} (--force)")
        else:
            info(f"stored fitness module {entry.name} (refs/fitness/{entry.name})")


@fitness.command("list")
@json_option
@click.pass_context
def fitness_list(ctx: click.Context, as_json: bool) -> None:
    """The stored fitness modules.

    A fitness ref that holds no readable module is named on stderr, one line each, after the
    modules that read; the exit code is then 1 (as `mindgit runs` does with run refs)."""
    from mindgit.store.fitness_store import read_module, scan_modules

    store = open_store_from(ctx)
    listing = scan_modules(store)
    sizes = [len(read_module(store, e)) for e in listing.modules]
    if as_json:
        listed = [
            {"name": e.name, "module": str(e.cid), "bytes": size}
            for e, size in zip(listing.modules, sizes, strict=True)
        ]
        _emit_listing(
            listed, listing.damaged, "modules", ("fitness", "fitness modules"), "DamagedModules"
        )
    else:
        rows = [(e.name, str(e.cid), size) for e, size in zip(listing.modules, sizes, strict=True)]
        table("fitness modules", ["name", "module", "bytes"], rows)
    _report_damaged(listing.damaged)


# ---- evolve ------------------------------------------------------------------------------------


class _Stopper:
    """First Ctrl-C: stop after the generation being bred is committed. Second: stop now."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self) -> bool:
        return self.requested

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        info("stopping after this generation is committed (Ctrl-C again to stop at once)")


class StoppedAtOnce(MindgitError):
    """A second Ctrl-C stopped a run at once (as safe as a crash): said with the command that
    resumes it, as the first Ctrl-C's stop is. The type stays KeyboardInterrupt for --json."""

    exit_code = 130
    kind = "KeyboardInterrupt"

    def __init__(self, resume: str | None) -> None:
        hint = None if resume is None else f"`{resume}` continues the run"
        super().__init__("interrupted", hint=hint)


def _resume_command(run_id: str | None, experiment: str | None, store: str | None = None) -> str:
    """The command that resumes ``run_id`` (or, not known yet, the experiment's run)."""
    where = "" if store is None else f"--store {shell_word(store)} "
    if run_id is not None:
        return f"mindgit {where}evolve --resume {run_id}"
    if experiment is not None:
        return f"mindgit {where}evolve -e {shell_word(experiment)} --resume"
    return f"mindgit {where}evolve --resume"


@contextmanager
def _interruptible() -> Iterator[_Stopper]:
    stopper = _Stopper()
    old = signal.signal(signal.SIGINT, stopper.handle)
    try:
        yield stopper
    finally:
        signal.signal(signal.SIGINT, old)


class _Progress:
    """Rich progress on a terminal; a line every few seconds otherwise."""

    def __init__(self, enabled: bool) -> None:
        self._bar: Any = None
        self._task: Any = None
        self._enabled = enabled
        self._last = 0.0
        self._first: int | None = None  # the first generation this process bred
        self.run_id: str | None = None  # once a generation is bred
        if enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("generation"),
                MofNCompleteColumn(),
                BarColumn(),
                TextColumn("{task.fields[stats]}"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
                # No refresh thread: the run forks its writer process, best with one thread.
                auto_refresh=False,
            )

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, p: Any) -> None:
        from mindgit.evolve.chart import label

        self.run_id = p.run_id
        first = self._first = p.generation if self._first is None else self._first

        best = "-" if p.best is None else label(p.best)
        mean = "-" if p.mean is None else label(p.mean)
        rate = p.evaluations / p.elapsed if p.elapsed > 0 else 0.0
        failed = f"  failed {p.failures}" if p.failures else ""
        stats = f"best {best}  mean {mean}  {rate:,.0f} evals/s{failed}"
        if self._bar is not None:
            if self._task is None:
                self._task = self._bar.add_task("evolve", total=p.generations, stats=stats)
            self._bar.update(self._task, completed=p.generation + 1, stats=stats, refresh=True)
        elif self._enabled and time.monotonic() - self._last >= 5.0:
            self._last = time.monotonic()
            # The time left, as the terminal's bar shows it (the docs promise it on both),
            # from this process's pace: a resumed run did not breed its first generations here.
            done = p.generation - first + 1
            left = p.elapsed / done * (p.generations - p.generation - 1)
            info(f"generation {p.generation + 1}/{p.generations}  {stats}  {_clock(left)} left")


def _clock(seconds: float) -> str:
    """``seconds`` as a clock reads: 0:07, 12:30, 3:04:05."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _result_data(r: Any) -> dict[str, Any]:
    return {
        "run": r.run_id,
        "experiment": r.experiment,
        "generations": r.generations_done,
        "of": r.generations,
        "complete": r.complete,
        "stopped": r.stopped,
        "best": r.best_score,
        "state": None if r.best_state is None else str(r.best_state),
        "commit": r.result_commit,
        "result_experiment": r.result_experiment,
        "run_commit": r.tip,
        "start": r.start_score,
        "best_generation": r.best_generation,
    }


def _report(
    r: Any, as_json: bool, experiment_exists: bool = True, stopped: str | None = None
) -> None:
    """The run's summary; ``stopped`` says what to do after Ctrl-C, where the resume command
    would not work as printed (the demo's node is elsewhere, or gone)."""
    if as_json:
        emit_json(_result_data(r))
    else:
        click.echo(f"run         {r.run_id}")
        click.echo(f"generations {r.generations_done}/{r.generations}")
        if r.start_score is not None:
            click.echo(f"start       {r.start_score!r}")
        # The best of the whole run, and the generation it is from (not always the last).
        bred = "" if r.best_generation is None else f"  (generation {r.best_generation})"
        click.echo(f"best        {r.best_score!r}{bred}")
        if r.best_state is not None:
            click.echo(f"state       {r.best_state}")
        if r.result_commit is not None:
            on = r.result_experiment or r.experiment
            click.echo(f"commit      {r.result_commit}  (on {on})")
            if on != r.experiment and not experiment_exists:
                # There is nothing to merge it into: a merge --into would fail.
                info(f"{r.experiment} no longer exists, so the result is on {on}")
            elif on != r.experiment:
                info(
                    f"{r.experiment} changed during the run, so the result is on {on}; "
                    f"bring it in with `mindgit merge {on} --into {r.experiment}`"
                )
        elif r.complete and r.best_state is None:
            info("every individual of the run failed; nothing was committed")
        elif r.complete and r.best_state == r.start_state:
            info("no state bred in the run was fitter than the start state; nothing was committed")
        elif r.complete:
            info("the best state is already the experiment's state; nothing new was committed")
    if r.stopped:
        info(stopped or f"stopped; continue with `mindgit evolve --resume {r.run_id}`")
        exit_with(130)


def _run_with_progress(
    as_json: bool,
    quiet: bool,
    call: Callable[[Any, Callable[[], bool]], Any],
    resume: Callable[[str | None], str | None],
) -> Any:
    """``call`` under the progress display and Ctrl-C; after a second Ctrl-C, which stops at
    once, ``resume(run id)`` is the command that resumes it (None if nothing can)."""
    with _interruptible() as stopper, _Progress(not quiet and not as_json) as progress:
        try:
            return call(progress, stopper)
        except KeyboardInterrupt:
            # "interrupted" alone left the user to find --resume in the docs.
            raise StoppedAtOnce(resume(progress.run_id)) from None


@click.command()
@click.option(
    "--fitness",
    "fitness_ref",
    metavar="NAME|CID|PATH",
    help="The fitness module.  [default: the store's `fitness` setting]",
)
@click.option(
    "--population",
    type=int,
    default=None,
    help=f"Individuals per generation.  [default: {_DEFAULTS['population']}]",
)
@click.option(
    "--generations",
    type=int,
    default=None,
    help=f"Generations to breed.  [default: {_DEFAULTS['generations']}]",
)
@click.option(
    "--mutation-rate",
    type=float,
    default=None,
    help="Chance that each gene of a child mutates.  [default: 1/number of genes]",
)
@click.option(
    "--mutation-scale",
    type=float,
    default=None,
    help="Mutation step as a fraction of a gene's range (of 1 if unbounded), unless the gene "
    f"declares its own scale.  [default: {_DEFAULTS['mutation_scale']}]",
)
@click.option(
    "--crossover-rate",
    type=float,
    default=None,
    help=f"Chance that a child has two parents.  [default: {_DEFAULTS['crossover_rate']}]",
)
@click.option(
    "--elite",
    type=int,
    default=None,
    help=f"Fittest kept unchanged.  [default: {_DEFAULTS['elite']}, 0 for a population of 1]",
)
@click.option(
    "--tournament",
    type=int,
    default=None,
    help=f"Tournament size.  [default: {_DEFAULTS['tournament']}]",
)
@click.option(
    "--seed", type=int, default=None, help=f"Random seed.  [default: {_DEFAULTS['seed']}]"
)
@click.option("--minimize", is_flag=True, help="Lower scores are fitter.")
@click.option(
    "--fuel",
    type=int,
    default=None,
    help="Fuel per evaluation.  [default: config mindgit.fuel, else 50000000]",
)
@click.option(
    "--memory",
    metavar="SIZE",
    default=None,
    help="Memory per evaluation, e.g. 64M.  [default: config mindgit.memory, else 128M]",
)
@click.option(
    "--resume",
    "resume",
    is_flag=False,
    # A bare --resume gives a value no argument can hold (argv has no NUL), so an empty RUN
    # typed as `--resume ""` is refused as the run id it is not, not taken as a bare --resume.
    flag_value=_BARE_RESUME,
    default=None,
    metavar="[RUN]",
    help="Continue the experiment's unfinished run (or RUN) after a crash or Ctrl-C.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress display.")
@experiment_option
@json_option
@click.pass_context
def evolve(ctx: click.Context, /, **opts: Any) -> None:
    """Breed the current state under a fitness module; commit the best state at the end.

    Each generation is a signed commit on refs/runs/<run>. Ctrl-C stops after the current
    generation is committed; --resume continues with exactly the result of an uninterrupted run.
    """
    from mindgit.errors import UsageError
    from mindgit.evolve.run import resume_run, start_run
    from mindgit.store.generation import RunParams

    check_fitness_option(opts["fitness_ref"])  # as merge, pull and sync
    run_id = None if opts["resume"] in (None, _BARE_RESUME) else opts["resume"]
    if run_id is not None:
        from mindgit.store.generation import check_run_id

        check_run_id(run_id)  # a malformed RUN is the command line's fault, whatever the store
    store = open_store_from(ctx)
    as_json = opts["as_json"]
    names = (*_DEFAULTS, "mutation_rate", "minimize")
    typed = click.core.ParameterSource.COMMANDLINE
    given = {n: opts[n] for n in names if ctx.get_parameter_source(n) == typed}
    memory = _size(opts["memory"], "--memory")
    _check_limits(opts["fuel"], memory, opts["memory"])
    if opts["resume"] is not None:
        expect: dict[str, Any] = dict(given)
        if opts["fitness_ref"] is not None:
            expect["fitness"] = opts["fitness_ref"]
        if opts["fuel"] is not None:
            expect["fuel"] = opts["fuel"]
        if memory is not None:
            expect["memory"] = memory

        def call(progress: Any, stop: Callable[[], bool]) -> Any:
            return resume_run(
                store,
                run_id,
                experiment=opts["experiment"],
                expect=expect,
                on_progress=progress,
                should_stop=stop,
            )

    else:
        if opts["fitness_ref"] is None:
            # The store's default, as merge uses it.
            from mindgit.store.settings import read_setting

            opts["fitness_ref"] = read_setting(store.config_get, "fitness")
        if opts["fitness_ref"] is None:
            raise UsageError(
                "--fitness is required (a stored name, a module CID or a file)",
                hint="or set a default with `mindgit config set fitness NAME`",
            )
        # RunParams' own defaults (what _DEFAULTS shows in --help) for what is not given.
        params = RunParams(**given)

        def call(progress: Any, stop: Callable[[], bool]) -> Any:
            return start_run(
                store,
                opts["fitness_ref"],
                params,
                experiment=opts["experiment"],
                fuel=opts["fuel"],
                memory=memory,
                on_progress=progress,
                should_stop=stop,
            )

    # The store is named as it was found (--store or MINDGIT_STORE), as experiments --delete
    # names it: `mindgit evolve --resume RUN` run from elsewhere found another store, or none.
    where = str(store.path) if ctx.find_root().obj["store"] else None
    result = _run_with_progress(
        as_json,
        opts["quiet"],
        call,
        lambda bred: _resume_command(bred or run_id, opts["experiment"], where),
    )
    from mindgit.store.refs import read_ref
    from mindgit.store.repository import HEADS

    stopped = None
    if where is not None:
        stopped = f"stopped; continue with `{_resume_command(result.run_id, None, where)}`"
    _report(result, as_json, read_ref(store.repo, HEADS + result.experiment) is not None, stopped)
    housekeep(store)


# ---- runs, lineage, plot -----------------------------------------------------------------------


@click.command()
@click.option(
    "--check",
    metavar="RUN",
    default=None,
    help="Re-score and re-breed every generation of RUN and compare bit for bit (exit 1 if not).",
)
@click.option(
    "--delete",
    "delete",
    metavar="RUN",
    default=None,
    help="Delete RUN's ref instead of listing (not while it is evolved; one whose result an "
    "experiment holds only with --force).",
)
@click.option(
    "--force",
    is_flag=True,
    help="With --delete: delete it even if an experiment holds its result.",
)
@json_option
@click.pass_context
def runs(
    ctx: click.Context, check: str | None, delete: str | None, force: bool, as_json: bool
) -> None:
    """Every run: run id, experiment, generations, best fitness and its generation, module,
    seed.

    The best is the run's result as evolve commits it: the fittest individual of any
    generation (so far), not the last generation's best; 'best gen' is the generation it is
    from (0-based).

    A run ref that cannot be read is named on stderr, one line each, after the runs that can;
    the exit code is then 1."""
    from mindgit.errors import UsageError
    from mindgit.evolve.runs import scan_runs
    from mindgit.store.generation import check_run_id

    if check is not None and delete is not None:
        raise UsageError("give --check RUN or --delete RUN, not both")
    if force and delete is None:
        raise UsageError("--force goes with --delete RUN")
    if delete is not None:
        _delete_run(ctx, check_run_id(delete), force, as_json)
        return
    store = open_store_from(ctx)
    if check is not None:
        _check_run(store, check, as_json)
        return
    listing = scan_runs(store)
    summaries = listing.runs
    listed = [
        {
            "run": s.run_id,
            "experiment": s.experiment,
            "generations": s.generation + 1,
            "of": s.generations,
            "complete": s.complete,
            "best": s.best,
            "best_generation": s.best_generation,
            "module": str(s.module),
            "seed": s.seed,
            "commit": s.commit,
            "start": s.start_commit,
        }
        for s in summaries
    ]
    damaged = listing.damaged
    if as_json:
        _emit_listing(listed, damaged, "runs", ("run", "runs"), "DamagedRuns")
    else:
        rows = [
            (
                s.run_id,
                s.experiment or "",
                f"{s.generation + 1}/{s.generations}",
                "-" if s.best is None else repr(s.best),
                "-" if s.best_generation is None else s.best_generation,
                str(s.module),
                s.seed,
            )
            for s in summaries
        ]
        columns = ["run", "experiment", "generations", "best", "best gen", "module", "seed"]
        table("runs", columns, rows)
    _report_damaged(damaged)


class _Damaged(Protocol):
    """A ref a listing could not read (``DamagedRun``, ``DamagedModule``)."""

    @property
    def ref(self) -> str: ...

    @property
    def error(self) -> MindgitError: ...


def _emit_listing(
    listed: list[dict[str, Any]],
    damaged: Sequence[_Damaged],
    key: str,
    names: tuple[str, str],
    kind: str,
) -> None:
    """A listing's --json document: the list, or with damaged refs the error document."""
    if not damaged:
        emit_json(listed)
        return
    from mindgit.cli.main import error_json

    # A failed command's one document is an error document (as every --json command's);
    # the entries that did read ride along in it with the shape they have on success.
    ref, plural = names
    many = f"{len(damaged)} {ref} refs" if len(damaged) > 1 else f"{ref} ref {damaged[0].ref}"
    doc = error_json(f"{many} cannot be read as {plural}", damaged[0].error.hint, kind)
    doc[key] = listed
    doc["damaged"] = [{"ref": d.ref, "error": str(d.error)} for d in damaged]
    emit_json(doc)


def _report_damaged(damaged: Sequence[_Damaged]) -> None:
    """After the listing: one line on stderr per damaged ref, then exit 1."""
    from mindgit.cli.main import report_error

    for d in damaged:
        # As `git for-each-ref`: every readable entry is listed, each damaged ref named once.
        report_error(str(d.error), d.error.hint, type(d.error).__name__, as_json=False)
    if damaged:
        exit_with(1)


def _delete_run(ctx: click.Context, run_id: str, force: bool, as_json: bool) -> None:
    from mindgit.evolve.run_deletion import delete_run

    store = open_store_from(ctx)
    tip = delete_run(store, run_id, force=force)
    if as_json:
        emit_json({"deleted": run_id, "commit": tip})
    else:
        info(f"deleted run {run_id} (was {tip[:12]})")
        where = f"--git-dir {shell_word(str(store.path))}"
        info(f"  to bring it back: git {where} update-ref refs/runs/{run_id} {tip}")


def _check_run(store: Any, run_id: str, as_json: bool) -> None:
    from mindgit.evolve.recheck import recheck

    report = recheck(store, run_id)
    if as_json:
        emit_json(
            {
                "run": report.run_id,
                "generations": report.generations,
                "individuals": report.individuals,
                "ok": report.ok,
                "discrepancies": [str(d) for d in report.discrepancies],
            }
        )
    elif report.ok:
        click.echo(
            f"run {report.run_id}: {report.generations} generations, {report.individuals} "
            "individuals re-scored and re-bred: identical"
        )
    else:
        for d in report.discrepancies:
            click.echo(str(d))
        info(f"run {report.run_id}: {len(report.discrepancies)} recorded facts not reproduced")
    if not report.ok:
        exit_with(1)


@click.command()
@click.argument("target", metavar="STATE_CID|COMMIT|RUN")
@click.option("--all", "show_all", is_flag=True, help="Every ancestor, not only first parents.")
@json_option
@click.pass_context
def lineage(ctx: click.Context, target: str, show_all: bool, as_json: bool) -> None:
    """The ancestry of a state back to the commit its first run started from.

    A run id stands for the run's result (the fittest individual of any generation, which
    evolve commits); a generation commit for that generation's best."""
    from mindgit.cli.options import typed_given, typed_reflog_counts
    from mindgit.errors import one_line
    from mindgit.evolve.runs import lineage as find_lineage
    from mindgit.evolve.runs import main_line

    typed_given(target, "STATE_CID|COMMIT|RUN", "give a state CID, a commit or a run id")
    typed_reflog_counts(target, "STATE_CID|COMMIT|RUN")
    store = open_store_from(ctx)
    lin = find_lineage(store, target, everyone=show_all or as_json)
    if as_json:

        def anc(a: Any) -> dict[str, Any]:
            return {
                "generation": a.generation,
                "index": a.index,
                "state": str(a.state),
                "score": a.score,
                "failure": a.failure,
                "parents": list(a.parents),
            }

        emit_json(
            {
                "state": str(lin.state),
                "origin": lin.origin,
                "runs": [
                    {
                        "run": r.run_id,
                        "experiment": r.experiment,
                        "start": r.start_commit,
                        "start_state": str(r.start_state),
                        "main_line": [anc(a) for a in main_line(r)],
                        "ancestors": [[anc(a) for a in level] for level in r.generations],
                    }
                    for r in lin.runs
                ],
                "stop": None
                if lin.stop is None
                else {
                    "commit": lin.stop.commit,
                    "run": lin.stop.run_id,
                    "reason": lin.stop.reason,
                },
            }
        )
        return
    click.echo(f"state {lin.state}")
    for r in lin.runs:
        # The experiment is a trailer of a commit a peer may have written: shown as one line.
        on = f" on {one_line(r.experiment)}" if r.experiment else ""
        click.echo(f"run {r.run_id}{on}")
        if show_all:
            for level in r.generations:
                items = "  ".join(
                    f"#{a.index}<-{','.join(map(str, a.parents)) or 'start'}" for a in level
                )
                click.echo(f"  g{level[0].generation:<5} {items}")
        else:
            prev: str | None = None
            for a in main_line(r):
                score = a.failure or ("-" if a.score is None else repr(a.score))
                kept = " (kept)" if prev == str(a.state) else ""
                click.echo(f"  g{a.generation:<5} #{a.index:<4} {score:<24} {a.state}{kept}")
                prev = str(a.state)
        click.echo(f"  start {r.start_commit}  state {r.start_state}")
    click.echo(f"origin {lin.origin}")
    if lin.stop is not None:
        # The origin is a run's result all the same: said, not left to look like a plain start.
        click.echo(f"stops at {lin.stop.commit}: {one_line(lin.stop.reason)}")


@click.command()
@click.argument("run")
@click.option(
    "-o", "--output", type=click.Path(allow_dash=True), help="Write a PNG here (- for stdout)."
)
@click.option(
    "--width",
    type=int,
    default=None,
    help=f"Chart width: columns, {TEXT_WIDTHS[0]}-{TEXT_WIDTHS[1]} (default: 60), or pixels "
    f"for PNG, {PNG_WIDTHS[0]}-{PNG_WIDTHS[1]:,} (default: 800).",
)
@json_option
@click.pass_context
def plot(
    ctx: click.Context, run: str, output: str | None, width: int | None, as_json: bool
) -> None:
    """Best and mean fitness per generation: a terminal chart, or a PNG with -o."""
    from mindgit.errors import UsageError
    from mindgit.evolve.chart import check_width, png_chart, text_chart
    from mindgit.evolve.runs import history

    if output is not None and not output.strip():
        # Taken as a path, '' is the working directory ("-o . is a directory").
        raise UsageError("-o needs a file name")
    to_stdout = output == "-"  # as export-af -o - and export --car -
    if to_stdout and as_json:
        raise UsageError("-o - writes the PNG to stdout, where --json goes too; give a file")
    if to_stdout and standard_output().isatty():
        # Refused as -o /dev/stdout on a terminal is (_write_png) and export --car -: the
        # compressed bytes hold escape sequences a terminal would act on.
        raise UsageError(
            "-o - is a terminal; a PNG is not text",
            hint="redirect it (> FILE.png) or pipe it (| display)",
        )
    if output is not None and not to_stdout:
        from mindgit.cli.targets import refuse_directory_spelling

        refuse_directory_spelling("-o", output)
    png = None if output is None or to_stdout else Path(output)
    if width is not None:
        # Before the store is opened: a width no chart can have is the command line's fault.
        check_width(width, png=png is not None or to_stdout)
    store = open_store_from(ctx)
    if png is not None:
        _check_png_target(png, store.path)
    stats = history(store, run)
    best = [s.best for s in stats]
    mean = [s.mean for s in stats]
    if to_stdout:
        standard_output().write(png_chart(best, mean, width=width or 800))
        return
    if png is not None:
        # Written with --json too: the JSON is the data, the file what -o asked for.
        _write_png(png, png_chart(best, mean, width=width or 800), as_json)
        info(f"wrote {shown_path(png)}")
    if as_json:
        emit_json(
            [
                {"generation": s.generation, "best": s.best, "mean": s.mean, "failures": s.failures}
                for s in stats
            ]
        )
        return
    if png is not None:
        return
    for line in text_chart(best, mean, width=width or 60):
        click.echo(line)


def _check_png_target(output: Path, store: Path) -> None:
    """Refuse, before anything is read, a -o that cannot be right."""
    from mindgit.cli.options import refuse_inside_any_store, refuse_inside_store
    from mindgit.errors import UsageError

    # A PNG written over HEAD or a ref leaves a store that no longer opens.
    refuse_inside_store("-o", output, store)
    refuse_inside_any_store("-o", output)
    if output.is_dir():
        # As export-af -o and export --car: no file could be written there (exit 2).
        raise UsageError(f"-o {output} is a directory; give a file to write")


def _write_png(output: Path, data: bytes, as_json: bool) -> None:
    """A file is replaced whole; a device or a pipe (/dev/null, /dev/stdout, /dev/fd/N) is
    written through, appended to, as export-af -o does (adapters.agentfile_export.write_whole)."""
    from mindgit.adapters.agentfile_export import write_whole
    from mindgit.cli.targets import same_file
    from mindgit.errors import UsageError

    def through(f: BinaryIO) -> None:
        if f.isatty():
            # Compressed bytes hold escape sequences a terminal would act on.
            raise UsageError(
                f"-o {output} is a terminal; a PNG is not text",
                hint="give a file, or redirect -o - (> FILE.png) or pipe it (| display)",
            )
        if as_json and same_file(f.fileno(), sys.stdout):
            raise UsageError(f"-o {output} and --json both write to stdout; pick one")

    write_whole(output, data, through=through)


@click.command()
@click.option("--keep", "keep_dir", metavar="DIR", help="Make the demo node here and keep it.")
@click.option("--generations", type=int, default=50, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@json_option
@click.pass_context
def demo(
    ctx: click.Context, keep_dir: str | None, generations: int, seed: int, as_json: bool
) -> None:
    """A temporary node, a shipped 32-gene state and Rastrigin module, an evolution run.

    The demo makes a node of its own and uses no store: a --store typed before it is refused
    (MINDGIT_STORE is not read).
    """
    from mindgit.cli.options import typed_store
    from mindgit.demo import run_demo
    from mindgit.errors import UsageError

    if typed_store(ctx) is not None:
        # Passed over, it read as if the run were made in that store.
        raise UsageError(
            "--store does not apply to demo: it makes a node of its own",
            hint="`mindgit demo --keep DIR` makes the demo node at DIR and keeps it",
        )
    if keep_dir is not None and not keep_dir.strip():
        # Taken as a path, '' is the working directory: an unset variable in `--keep "$DIR"`
        # made the demo node there.
        raise UsageError("--keep needs a directory")
    keep = None if keep_dir is None else Path(keep_dir)

    def go(path: Path) -> None:
        def call(progress: Any, stop: Callable[[], bool]) -> Any:
            return run_demo(
                path, generations=generations, seed=seed, on_progress=progress, should_stop=stop
            )

        def resume(bred: str | None) -> str | None:
            if keep is None:
                return None  # the node is removed on the way out
            return _resume_command(bred, None, str(Path(path).absolute()))

        result = _run_with_progress(as_json, False, call, resume)
        if not as_json:
            kept = "kept" if keep else "removed afterwards"
            info(f"demo node at {shown_path(result.store)} ({kept})")
            info(f"fitness module rastrigin {result.module} (higher is fitter; best is 0)")
        # `mindgit evolve --resume RUN` alone resumes in the user's store, not the demo's: a
        # kept node is named with --store, and a temporary one is removed with its run.
        run_id = result.result.run_id
        if keep is not None:
            command = _resume_command(run_id, None, str(Path(result.store).absolute()))
            stopped = f"stopped; continue with `{command}`"
        else:
            stopped = (
                "stopped; the demo node was temporary and is removed, so its run cannot be "
                "resumed (`mindgit demo --keep DIR` keeps the node)"
            )
        _report(result.result, as_json, stopped=stopped)

    if keep is not None:
        from mindgit.cli.options import refuse_inside_any_store

        refuse_inside_any_store("--keep", keep)
        go(keep)
        from mindgit.store.repository import open_store

        housekeep(open_store(keep))  # a kept node is a store like any other
        return
    with tempfile.TemporaryDirectory(prefix="mindgit-demo-") as tmp:
        go(Path(tmp) / "demo")
