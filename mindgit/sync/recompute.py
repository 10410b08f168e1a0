"""Re-running fitness claims in the sandbox instead of believing them (``verify --recompute``).

A store makes two kinds of fitness claim, both in signed commits:

* a **generation** of a run (``refs/runs/<id>``): ``generation.json`` records every individual's
  score or failure, and the commit's ``Mindgit-Fitness`` trailer the best score;
* a **result**: the best state committed on an experiment, whose ``Mindgit-Fitness`` trailer
  claims its score under the module of run ``Mindgit-Run``.

Evolution is deterministic and the sandbox bit-exact, so re-running a claim with the run's own
module (``module.wasm`` of the run's tree), entry point and limits (``run.json``) must give the
same float, bit for bit. A generation is re-scored the way it was scored, as one population;
a result, as its state alone. Scores are compared as IEEE-754 bit patterns; failures by reason.
"""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pygit2

from mindgit.errors import MindgitError
from mindgit.evolve.runs import read_run
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID, RAW
from mindgit.merge.lookup import config_limits
from mindgit.sandbox import (
    COMPILE_SECONDS,
    ENTRY_BATCH,
    ENTRY_FITNESS,
    CompileTooSlow,
    FitnessFailure,
    FitnessModule,
    HostUnfit,
    Limits,
    SandboxError,
    genome_vector,
)
from mindgit.store import layout
from mindgit.store.generation import (
    GENERATION_FILE,
    MODULE_FILE,
    RUNS_PREFIX,
    TRAILER_FITNESS,
    TRAILER_GENERATION,
    TRAILER_MODULE,
    TRAILER_RUN,
    RunFormatError,
    RunInfo,
    RunTip,
    read_generation_commit,
)
from mindgit.store.generation_check import read_manifest
from mindgit.store.objects import as_commit
from mindgit.store.refs import read_ref
from mindgit.store.verify import trailer, walk

GENERATION = "generation"
RESULT = "result"


@dataclass(frozen=True, slots=True)
class Claim:
    """A commit that claims fitness: a run's generation, or a result committed on an experiment."""

    commit: str
    kind: str  # GENERATION or RESULT
    run_id: str
    generation: int | None


@dataclass(frozen=True, slots=True)
class ClaimProblem:
    """A claim that does not hold, or cannot be re-checked; ``individual`` None is the whole claim.

    ``claimed`` and ``recomputed`` spell both values (with their bits) when the scores differ.
    """

    commit: str
    reason: str
    individual: int | None = None
    claimed: str | None = None
    recomputed: str | None = None

    def __str__(self) -> str:
        who = f" individual {self.individual}" if self.individual is not None else ""
        return f"{self.commit[:12]}{who}: {self.reason}"


@dataclass(frozen=True, slots=True)
class RecomputeReport:
    """Which claims were re-run (of how many found) and what did not hold; ``runs`` are the
    run tips the results rest on (verify their signatures too)."""

    found: int
    checked: tuple[Claim, ...]
    problems: tuple[ClaimProblem, ...]
    runs: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


class InvalidRecomputeCount(MindgitError):
    """``--recompute`` was given something other than a count or ``all``."""

    exit_code = 2

    def __init__(self, text: str) -> None:
        super().__init__(
            f"--recompute {text!r}: give a number of claims (0 or more) or 'all'",
            hint="e.g. --recompute 20, or --recompute all",
        )
        self.text = text


def parse_count(text: str) -> int | None:
    """``"20"`` -> 20, ``"all"`` -> None (every claim)."""
    if text.strip().lower() == "all":
        return None
    try:
        count = int(text)
    except ValueError:
        raise InvalidRecomputeCount(text) from None
    if count < 0:
        raise InvalidRecomputeCount(text)
    return count


def bits(value: float) -> str:
    """The IEEE-754 binary64 bit pattern of ``value``, as 16 hex digits."""
    return struct.pack(">d", value).hex()


def spell(value: float | FitnessFailure | None) -> str:
    """A score with its bits (``-1.5 (0xbff8000000000000)``), or a failure by its reason."""
    if value is None:
        return "no score"
    if isinstance(value, FitnessFailure):
        return f"failure ({value.reason})"
    return f"{value!r} (0x{bits(value)})"


# ---- finding and choosing claims ---------------------------------------------------------------


def find_claims(
    repo: pygit2.Repository, tips: Iterable[str], hide: Iterable[str] = ()
) -> list[Claim]:
    """Every fitness claim among the commits reachable from ``tips`` and not from ``hide``,
    oldest first; with each result, the generations of its run (they are its evidence)."""
    hide = list(hide)
    claims = _claims_in(repo, walk(repo, tips, hide))
    run_tips = run_tips_of(repo, claims)
    if run_tips:
        seen = {c.commit for c in claims}
        for claim in _claims_in(repo, walk(repo, run_tips, hide)):
            if claim.commit not in seen:
                claims.append(claim)
    return claims


def run_tips_of(repo: pygit2.Repository, claims: Iterable[Claim]) -> list[str]:
    """The newest generation commit of each run the results among ``claims`` name (if held)."""
    runs = sorted({c.run_id for c in claims if c.kind == RESULT})
    tips = (read_ref(repo, RUNS_PREFIX + run_id) for run_id in runs)
    # A ref at an object this store lacks cannot be walked (it stopped the whole verify with an
    # internal error); the result that names its run says why it cannot be re-checked.
    return [t for t in tips if t is not None and as_commit(repo.get(t)) is not None]


def _claims_in(repo: pygit2.Repository, commits: Iterable[str]) -> list[Claim]:
    claims: list[Claim] = []
    for oid in commits:
        commit = as_commit(repo[oid])
        assert commit is not None
        message = commit.message
        run_id = trailer(message, TRAILER_RUN)
        if run_id is None or trailer(message, TRAILER_FITNESS) is None:
            continue
        names = {e.name for e in commit.tree}
        if GENERATION_FILE in names:
            kind = GENERATION
        elif layout.MANIFEST in names:
            kind = RESULT
        else:
            continue
        claims.append(Claim(oid, kind, run_id, _int_or_none(trailer(message, TRAILER_GENERATION))))
    return claims


def _int_or_none(text: str | None) -> int | None:
    if text is None or not text.isdigit():
        return None
    return int(text)


def _rank(claim: Claim) -> int:
    # Generation 0 is a generation: `or -1` ranked it with a claim whose number is unreadable.
    return -1 if claim.generation is None else claim.generation


def select_claims(claims: Sequence[Claim], count: int | None) -> list[Claim]:
    """The claims to re-run: every final claim (each result, and each run's newest generation
    here), plus ``count`` of the others spread evenly over them (None: all). Deterministic."""
    newest: dict[str, Claim] = {}
    for c in claims:
        if c.kind == GENERATION:
            held = newest.get(c.run_id)
            if held is None or _rank(c) >= _rank(held):
                newest[c.run_id] = c
    final = {c.commit for c in claims if c.kind == RESULT} | {c.commit for c in newest.values()}
    others = [c for c in claims if c.commit not in final]
    if count is None or count >= len(others):
        chosen = {c.commit for c in others}
    else:
        # The middle of each of ``count`` equal slices: spread out, and never the same one twice.
        n = len(others)
        chosen = {others[(2 * i + 1) * n // (2 * count)].commit for i in range(count)}
    return [c for c in claims if c.commit in final or c.commit in chosen]


# ---- re-running one claim ----------------------------------------------------------------------


def _limits(info: RunInfo) -> Limits:
    run = info.limits
    return Limits(
        fuel=run.fuel, memory_bytes=run.memory, stack_bytes=run.stack, table_elements=run.table
    )


class _Unverifiable(Exception):
    """A claim that cannot be re-run; the message says why."""


class Recomputer:
    """Re-runs claims in one repository, compiling each (module, limits) once."""

    def __init__(self, repo: pygit2.Repository, *, cache_dir: Path | None = None) -> None:
        self.repo = repo
        self.cache_dir = cache_dir
        self._modules: dict[tuple[CID, Limits], FitnessModule] = {}
        self._unloadable: dict[tuple[CID, Limits], str] = {}
        # Seconds still to wait for compiles, in all (the time waited, as verify's budget): a
        # claim's module may be anyone's (a CI job re-runs what a pull request brings), and one
        # that takes minutes to compile held the job, before verify's own budget was reached.
        self._compile_left = COMPILE_SECONDS

    def check(self, claim: Claim) -> list[ClaimProblem]:
        """What does not hold about ``claim`` (empty: every score is re-run bit-identical)."""
        try:
            if claim.kind == GENERATION:
                return self._generation(claim)
            return self._result(claim)
        except _Unverifiable as e:
            return [ClaimProblem(claim.commit, f"cannot be re-checked: {e}")]
        except HostUnfit:
            raise  # this machine's state (a shared cache, the FPU mode): every claim would say it
        except MindgitError as e:
            # Content the verifier refuses too (a manifest that does not decode, say).
            return [ClaimProblem(claim.commit, f"cannot be re-checked: {e}")]

    def _module(self, tip: RunTip) -> FitnessModule:
        info = tip.info
        key = (info.module, _limits(info))
        ceiling = config_limits(self.repo)
        # A claim re-runs with the limits its run recorded, but a peer's run must not make this
        # node spend more than it allows itself (a module that loops up to 2**53 fuel, say).
        if (
            key[1].fuel > ceiling.fuel
            or key[1].memory_bytes > ceiling.memory_bytes
            or key[1].stack_bytes > ceiling.stack_bytes
            or key[1].table_elements > ceiling.table_elements
        ):
            raise _Unverifiable(
                f"the run's limits ({key[1]}) exceed this node's ({ceiling}); raise them with "
                "`mindgit config set fuel|memory|stack|table` to re-check it"
            )
        module = self._modules.get(key)
        if module is None:
            if MODULE_FILE not in tip.tree:
                raise _Unverifiable(f"the run's tree {tip.tree.id} holds no {MODULE_FILE}")
            wasm = self.repo[tip.tree[MODULE_FILE].id].read_raw()
            if CID.of(wasm, RAW) != info.module:
                raise _Unverifiable(f"{MODULE_FILE} is not the module {info.module} run.json names")
            refused = self._unloadable.get(key)
            if refused is None:
                try:
                    module = self._load(wasm, key[1])
                except SandboxError as e:
                    # Once per module: a claim of the same run does not compile it again.
                    refused = self._unloadable[key] = self._refusal(info.module, e)
            if refused is not None:
                raise _Unverifiable(refused)
            assert module is not None
            self._modules[key] = module
        return module

    def _load(self, wasm: bytes, limits: Limits) -> FitnessModule:
        start = time.monotonic()
        try:
            return FitnessModule.load(
                wasm, limits=limits, cache_dir=self.cache_dir, compile_seconds=self._compile_left
            )
        finally:
            self._compile_left = max(0.0, self._compile_left - (time.monotonic() - start))

    @staticmethod
    def _refusal(module: CID, error: SandboxError) -> str:
        if isinstance(error, HostUnfit):
            raise error  # this machine's state, not the module's: every claim would say it
        if isinstance(error, CompileTooSlow):
            return (
                f"module {module} did not compile within {COMPILE_SECONDS:g} s, the time one "
                "recompute may spend compiling modules"
            )
        return f"module {module} does not load: {error}"

    def _score(
        self, module: FitnessModule, entry: str, manifests: Sequence[bytes]
    ) -> list[float | FitnessFailure]:
        if entry == ENTRY_FITNESS:
            return module.score_many(manifests)
        if entry != ENTRY_BATCH:
            raise _Unverifiable(f"entry point {entry!r} is not one this mindgit runs")
        vectors = []
        for data in manifests:
            node = dagjson.decode(data)
            genome = node.get("genome") if isinstance(node, dict) else None
            vector = None
            if isinstance(genome, dict) and all(isinstance(g, dict) for g in genome.values()):
                vector = genome_vector(cast(dict[str, dict[str, Any]], genome))
            if vector is None:
                raise _Unverifiable(f"a state has no numeric genome for {ENTRY_BATCH}")
            vectors.append(vector)
        dims = {len(v) for v in vectors}
        if len(dims) != 1:
            raise _Unverifiable("the population's genome vectors differ in length")
        return module.score_batch(vectors, dims.pop())

    def _read_generation(self, commit: str) -> RunTip:
        try:
            return read_generation_commit(self.repo, commit)
        except (RunFormatError, KeyError) as e:
            raise _Unverifiable(f"its run generation cannot be read ({e})") from None

    def _generation(self, claim: Claim) -> list[ClaimProblem]:
        tip = self._read_generation(claim.commit)
        problems = []
        if tip.run_id != claim.run_id:
            # The trailer is what `select_claims`, `run_tips_of` and a reader of the log go by;
            # a generation filed under another run's name is a false claim, however it scores.
            problems.append(
                ClaimProblem(
                    claim.commit,
                    f"{TRAILER_RUN} says run {claim.run_id} but its run.json is run {tip.run_id}",
                    claimed=claim.run_id,
                    recomputed=tip.run_id,
                )
            )
        module = self._module(tip)
        individuals = tip.record.individuals
        try:
            manifests = [read_manifest(self.repo, tip.tree, ind.state) for ind in individuals]
        except (RunFormatError, KeyError) as e:
            raise _Unverifiable(f"a state of the generation is missing ({e})") from None
        results = self._score(module, tip.info.entry, manifests)
        for i, (ind, got) in enumerate(zip(individuals, results, strict=True)):
            claimed: float | FitnessFailure | None = ind.score
            if ind.failure is not None:
                claimed = FitnessFailure(ind.failure.reason, ind.failure.error)
            if not _same(claimed, got):
                problems.append(_mismatch(claim.commit, i, f"state {ind.state}", claimed, got))
        commit = as_commit(self.repo[claim.commit])
        assert commit is not None
        text = trailer(commit.message, TRAILER_FITNESS) or ""
        best = tip.record.best
        recorded = individuals[best].score if best is not None else None
        if not _trailer_matches(text, recorded):
            problems.append(
                ClaimProblem(
                    claim.commit,
                    f"{TRAILER_FITNESS} says {text!r} but generation.json's best is "
                    f"{spell(recorded)}",
                    claimed=text,
                    recomputed=spell(recorded),
                )
            )
        if claim.generation != tip.record.generation:
            problems.append(
                ClaimProblem(
                    claim.commit,
                    f"{TRAILER_GENERATION} says {claim.generation} but generation.json is "
                    f"generation {tip.record.generation}",
                )
            )
        return problems

    def _result(self, claim: Claim) -> list[ClaimProblem]:
        commit = as_commit(self.repo[claim.commit])
        assert commit is not None
        text = trailer(commit.message, TRAILER_FITNESS) or ""
        claimed = _parse_score(text)
        if claimed is None:
            return [ClaimProblem(claim.commit, f"{TRAILER_FITNESS} {text!r} is not a finite score")]
        oid = commit.tree[layout.MANIFEST].id
        try:
            data = self.repo[oid].read_raw()
        except (KeyError, pygit2.GitError):
            # A lost blob stopped the whole verify with a KeyError (exit 3).
            raise _Unverifiable(f"its {layout.MANIFEST} (object {oid}) cannot be read") from None
        state = CID.of(data)
        # Read as every reader reads a run by its ref: a ref moved onto another run's generation
        # is refused here by name (RunRefMismatch), not later as "generation N cannot be found".
        tip = read_run(self.repo, claim.run_id)
        if tip is None:
            raise _Unverifiable(
                f"run {claim.run_id} is not in this store (fetch refs/runs/*, or restore a run "
                "deleted here, to re-check it)"
            )
        problems = []
        module_text = trailer(commit.message, TRAILER_MODULE)
        if module_text != str(tip.info.module):
            problems.append(
                ClaimProblem(
                    claim.commit,
                    f"{TRAILER_MODULE} says {module_text} but run {claim.run_id} used "
                    f"{tip.info.module}",
                )
            )
        problems.extend(self._best_of_generation(claim, tip, state))
        got = self._score(self._module(tip), tip.info.entry, [data])[0]
        if not _same(claimed, got):
            problems.append(_mismatch(claim.commit, None, f"state {state}", claimed, got))
        return problems

    def _best_of_generation(self, claim: Claim, tip: RunTip, state: CID) -> list[ClaimProblem]:
        """The result must be the best of the generation it names, in the run it names."""
        wanted = claim.generation
        if wanted is None or wanted > tip.record.generation:
            return [
                ClaimProblem(
                    claim.commit,
                    f"{TRAILER_GENERATION} {wanted} is not a generation of run {claim.run_id} here",
                )
            ]
        oid = tip.commit
        for _ in range(tip.record.generation - wanted):
            commit = as_commit(self.repo[oid])
            assert commit is not None
            if not commit.parent_ids:
                raise _Unverifiable(f"run {claim.run_id} is shorter than its generation numbers")
            oid = str(commit.parent_ids[0])
        generation = self._read_generation(oid)
        record = generation.record
        best = record.best
        best_state = record.individuals[best].state if best is not None else None
        if record.generation != wanted or generation.run_id != claim.run_id:
            raise _Unverifiable(f"generation {wanted} of run {claim.run_id} cannot be found")
        if best_state != state:
            return [
                ClaimProblem(
                    claim.commit,
                    f"generation {wanted} of run {claim.run_id} has best state {best_state}, "
                    f"not this state {state}",
                )
            ]
        return []


def _parse_score(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _trailer_matches(text: str, recorded: float | None) -> bool:
    if recorded is None:
        return text == "none"
    value = _parse_score(text)
    return value is not None and bits(value) == bits(recorded)


def _same(claimed: float | FitnessFailure | None, got: float | FitnessFailure) -> bool:
    if isinstance(claimed, FitnessFailure) or isinstance(got, FitnessFailure):
        return (
            isinstance(claimed, FitnessFailure)
            and isinstance(got, FitnessFailure)
            and claimed.reason == got.reason
        )
    # DAG-JSON has no -0.0, so a stored score is always normalised by adding 0.0.
    return claimed is not None and bits(claimed + 0.0) == bits(got + 0.0)


def _mismatch(
    commit: str,
    individual: int | None,
    what: str,
    claimed: float | FitnessFailure | None,
    got: float | FitnessFailure,
) -> ClaimProblem:
    c, g = spell(claimed), spell(got)
    return ClaimProblem(
        commit,
        f"{what}: claimed {c} but the sandbox gives {g}",
        individual,
        c,
        g,
    )


ClaimCallback = Callable[[Claim, list[ClaimProblem]], None]


def recompute(
    repo: pygit2.Repository,
    tips: Iterable[str],
    hide: Iterable[str] = (),
    count: int | None = None,
    *,
    cache_dir: Path | None = None,
    on_claim: ClaimCallback | None = None,
) -> RecomputeReport:
    """Re-run ``count`` fitness claims (None: all) among the commits ``tips`` bring past ``hide``
    (with the generations of the runs their results name).

    >>> recompute(store.repo, [store.head()], count=20).ok  # doctest: +SKIP
    True
    """
    claims = find_claims(repo, tips, hide)
    chosen = select_claims(claims, count)
    recomputer = Recomputer(repo, cache_dir=cache_dir)
    problems: list[ClaimProblem] = []
    for claim in chosen:
        found = recomputer.check(claim)
        problems.extend(found)
        if on_claim is not None:
            on_claim(claim, found)
    runs = tuple(run_tips_of(repo, claims))
    return RecomputeReport(len(claims), tuple(chosen), tuple(problems), runs)
