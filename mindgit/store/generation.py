"""How a run of ``mindgit evolve`` is kept: one signed commit per generation on ``refs/runs/<id>``.

A generation commit's parent is the previous generation (generation 0's parent is the experiment
commit the run started from). Its tree holds::

    run.json             the run's definition: parameters, seed, start, module, limits (DAG-JSON)
    generation.json      this generation: each individual's state link, score or failure, and
                         the indices of its parents in the previous generation; the best index
    states/<cid>         the manifests of the population, once each (content-deduplicated)
    thoughts/<cid>       the thoughts the states link (carried along unchanged from the start)
    module.wasm          the fitness module, so anyone holding the run can re-check its scores

``run.json``::

    {"algorithm": 1, "entry": "fitness_batch", "limits": {"fuel": .., "memory": .., "stack": ..,
     "table": ..}, "module": {"/": <raw CID of the wasm>}, "params": {...}, "run": "<id>",
     "schema": 1, "start": {"commit": "<hex>", "state": {"/": <manifest CID>}}}

``generation.json``::

    {"best": 3, "generation": 12, "individuals": [{"parents": [0, 5], "score": -1.5,
     "state": {"/": <cid>}}, {"failure": {"error": "...", "reason": "fuel"}, "parents": [2],
     "state": {"/": <cid>}}, ...], "schema": 1}

The run id is a hash of everything that decides the result (start state, module, entry point,
limits, parameters), so the same run started twice has the same id. Objects of a generation are
written as one pack (``objects/pack``) before its commit, and the ref moves last by
compare-and-swap: a crash leaves at most unreferenced objects, never a half-written generation.
Writing generation 1,000 costs what writing generation 1 costs: nothing here walks history.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Container, Sequence
from dataclasses import dataclass, field, fields, replace
from json.encoder import encode_basestring
from typing import Any

import pygit2

from mindgit.errors import MindgitError, UsageError, quoted
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID, DAG_JSON, RAW
from mindgit.store import layout
from mindgit.store.objects import as_commit
from mindgit.store.refs import read_ref

RUN_FILE = "run.json"
GENERATION_FILE = "generation.json"
STATES = "states"
THOUGHTS = layout.THOUGHTS
BLOCKS = layout.BLOCKS
# Subtrees of the start state that every generation carries unchanged.
SHARED_DIRS = (THOUGHTS, BLOCKS)
MODULE_FILE = "module.wasm"
RUNS_PREFIX = "refs/runs/"
SCHEMA = 1
ALGORITHM = 1
ENTRIES = ("fitness_batch", "fitness")
WASM_MAGIC = b"\0asm"
MAX_SEED = 2**53 - 1
MAX_POPULATION = 100_000
MAX_GENERATIONS = 10_000_000
RUN_ID_LENGTH = 12
_RUN_ID = re.compile(r"[0-9a-f]{12}")
_INDIVIDUAL_KEYS = frozenset({"parents", "state", "score", "failure"})

# Trailers of generation commits (and of the commit that records a run's result).
TRAILER_RUN = "Mindgit-Run"
TRAILER_GENERATION = "Mindgit-Generation"
TRAILER_FITNESS = "Mindgit-Fitness"
TRAILER_MODULE = "Mindgit-Module"
TRAILER_EXPERIMENT = "Mindgit-Experiment"


class InvalidParameter(UsageError):
    """A run parameter is out of range."""

    def __init__(self, name: str, value: object, rule: str) -> None:
        super().__init__(f"--{name.replace('_', '-')} {quoted(value)}: {rule}")
        self.name = name
        self.value = value
        self.rule = rule


class RunFormatError(MindgitError):
    """A run's ``run.json`` or ``generation.json`` does not follow the run format."""

    def __init__(self, what: str, problem: str) -> None:
        super().__init__(f"{what}: {problem}", hint="the run is corrupt; `mindgit verify` names it")
        self.what = what
        self.problem = problem


def _int(name: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InvalidParameter(name, value, f"must be an integer in {lo}..{hi}")
    return value


def _rate(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidParameter(name, value, "must be a number in 0..1")
    x = float(value)
    if not 0.0 <= x <= 1.0:
        raise InvalidParameter(name, value, "must be a number in 0..1")
    return x + 0.0


class _EliteByPopulation:
    """RunParams' default elite, resolved when the parameters are made: 1, except for a
    population of one, which has no room for an elite (0). The CLI gave that; the library
    refused ``RunParams(population=1)`` with "--elite 1: must be an integer in 0..0"."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "min(1, population - 1)"


# Typed as the int it resolves to, so that ``RunParams.elite`` is an int to every reader.
_ELITE_BY_POPULATION: Any = _EliteByPopulation()


@dataclass(frozen=True, slots=True)
class RunParams:
    """Every parameter that decides what a run breeds. ``mutation_rate`` None means 1/genes.
    ``elite`` not given is 1, or 0 for a population of 1; one given is checked as given (an
    elite of 1 with a population of 1 is refused), and so is the one ``replace`` passes on."""

    population: int = 64
    generations: int = 50
    mutation_rate: float | None = None
    mutation_scale: float = 0.1
    crossover_rate: float = 0.5
    elite: int = _ELITE_BY_POPULATION
    tournament: int = 3
    seed: int = 0
    minimize: bool = False

    def __post_init__(self) -> None:
        _int("population", self.population, 1, MAX_POPULATION)
        if self.elite is _ELITE_BY_POPULATION:
            object.__setattr__(self, "elite", min(1, self.population - 1))
        _int("generations", self.generations, 1, MAX_GENERATIONS)
        if self.mutation_rate is not None:
            object.__setattr__(self, "mutation_rate", _rate("mutation_rate", self.mutation_rate))
        scale = self.mutation_scale
        if isinstance(scale, bool) or not isinstance(scale, int | float):
            raise InvalidParameter("mutation_scale", scale, "must be a positive number")
        if not (float(scale) > 0.0 and math.isfinite(scale)):
            raise InvalidParameter("mutation_scale", scale, "must be a positive number")
        object.__setattr__(self, "mutation_scale", float(scale))
        object.__setattr__(self, "crossover_rate", _rate("crossover_rate", self.crossover_rate))
        _int("elite", self.elite, 0, max(self.population - 1, 0))
        _int("tournament", self.tournament, 1, 1000)
        _int("seed", self.seed, 0, MAX_SEED)
        if not isinstance(self.minimize, bool):
            raise InvalidParameter("minimize", self.minimize, "must be true or false")

    def to_node(self) -> dict[str, Any]:
        if self.mutation_rate is None:
            raise RunFormatError("run parameters", "the mutation rate must be resolved first")
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_node(cls, node: object) -> RunParams:
        names = {f.name for f in fields(cls)}
        if not isinstance(node, dict) or set(node) != names:
            raise RunFormatError("run.json params", f"must be a map with exactly {sorted(names)}")
        values = dict(node)
        for key in ("mutation_rate", "mutation_scale", "crossover_rate"):
            if isinstance(values[key], int) and not isinstance(values[key], bool):
                values[key] = float(values[key])  # DAG-JSON writes 1.0 as 1
        try:
            return cls(**values)
        except InvalidParameter as e:
            raise RunFormatError(
                "run.json params", f"{e.name} {quoted(e.value)} {e.rule}"
            ) from None


@dataclass(frozen=True, slots=True)
class RunLimits:
    """The sandbox limits each evaluation ran under; they decide which individuals fail."""

    fuel: int
    memory: int
    stack: int
    table: int

    def to_node(self) -> dict[str, int]:
        return {"fuel": self.fuel, "memory": self.memory, "stack": self.stack, "table": self.table}

    @classmethod
    def from_node(cls, node: object) -> RunLimits:
        keys = {"fuel", "memory", "stack", "table"}
        if not isinstance(node, dict) or set(node) != keys:
            raise RunFormatError("run.json limits", f"must be a map with exactly {sorted(keys)}")
        for k in keys:
            v = node[k]
            if isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= 2**53:
                raise RunFormatError("run.json limits", f"{k} must be a positive integer")
        return cls(node["fuel"], node["memory"], node["stack"], node["table"])


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What ``run.json`` holds: everything that decides the run, and where it started."""

    params: RunParams
    module: CID
    entry: str
    limits: RunLimits
    start_commit: str
    start_state: CID
    algorithm: int = ALGORITHM
    # A run made before the start commit went into its id (see _identity); read back only.
    legacy_id: bool = field(default=False, compare=False)
    run_id: str = field(init=False)

    def __post_init__(self) -> None:
        if self.entry not in ENTRIES:
            raise RunFormatError("run.json", f"entry {quoted(self.entry)} is not one of {ENTRIES}")
        if self.module.codec != RAW or self.module.version != 1:
            raise RunFormatError("run.json", "module must be a CIDv1 with the raw codec")
        if self.start_state.codec != DAG_JSON or self.start_state.version != 1:
            raise RunFormatError("run.json", "start.state must be a dag-json CIDv1")
        if not re.fullmatch(r"[0-9a-f]{40}", self.start_commit):
            raise RunFormatError("run.json", "start.commit must be a 40-digit hex commit id")
        if self.algorithm != ALGORITHM:
            raise RunFormatError(
                "run.json", f"algorithm {quoted(self.algorithm)} is not {ALGORITHM}"
            )
        object.__setattr__(self, "run_id", self._identity(with_commit=not self.legacy_id))

    def _identity(self, *, with_commit: bool) -> str:
        """The run id: the hash of everything that decides the run, and of where it started.
        Two nodes holding one state on commits of their own, evolving it alike, made one run id
        with two unrelated histories, which no sync could ever reconcile (a run is never
        merged); runs made before carry the id without the commit, which is still read."""
        node: dict[str, Any] = {
            "algorithm": self.algorithm,
            "entry": self.entry,
            "limits": self.limits.to_node(),
            "module": self.module,
            "params": self.params.to_node(),
            "start": self.start_state,
        }
        if with_commit:
            node["start"] = {"commit": self.start_commit, "state": self.start_state}
        return hashlib.sha256(dagjson.encode(node)).hexdigest()[:RUN_ID_LENGTH]

    @property
    def ref(self) -> str:
        return RUNS_PREFIX + self.run_id

    def to_node(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "entry": self.entry,
            "limits": self.limits.to_node(),
            "module": self.module,
            "params": self.params.to_node(),
            "run": self.run_id,
            "schema": SCHEMA,
            "start": {"commit": self.start_commit, "state": self.start_state},
        }

    def encode(self) -> bytes:
        return dagjson.encode(self.to_node())

    @classmethod
    def decode(cls, data: bytes) -> RunInfo:
        """Parse ``run.json`` strictly, checking that its run id is the hash of its content."""
        try:
            node = dagjson.decode(data)
        except MindgitError as e:
            raise RunFormatError(RUN_FILE, str(e)) from None
        keys = {"algorithm", "entry", "limits", "module", "params", "run", "schema", "start"}
        if not isinstance(node, dict) or set(node) != keys:
            raise RunFormatError(RUN_FILE, f"must be a map with exactly {sorted(keys)}")
        if node["schema"] != SCHEMA or isinstance(node["schema"], bool):
            raise RunFormatError(RUN_FILE, f"schema {quoted(node['schema'])} is not {SCHEMA}")
        start = node["start"]
        if not isinstance(start, dict) or set(start) != {"commit", "state"}:
            raise RunFormatError(RUN_FILE, "start must be a map with 'commit' and 'state'")
        if not isinstance(start["state"], CID) or not isinstance(node["module"], CID):
            raise RunFormatError(RUN_FILE, "start.state and module must be links")
        if not isinstance(start["commit"], str) or not isinstance(node["entry"], str):
            raise RunFormatError(RUN_FILE, "start.commit and entry must be strings")
        algorithm = node["algorithm"]
        if isinstance(algorithm, bool) or not isinstance(algorithm, int):
            raise RunFormatError(RUN_FILE, "algorithm must be an integer")
        info = cls(
            RunParams.from_node(node["params"]),
            node["module"],
            node["entry"],
            RunLimits.from_node(node["limits"]),
            start["commit"],
            start["state"],
            algorithm,
        )
        if node["run"] != info.run_id:
            if node["run"] != info._identity(with_commit=False):
                raise RunFormatError(
                    RUN_FILE, f"run id {quoted(node['run'])} is not the hash of its content"
                )
            info = replace(info, legacy_id=True)
        if info.encode() != data:
            raise RunFormatError(RUN_FILE, "not in canonical form")
        return info


def check_run_id(text: str) -> str:
    """A run id as users type it (``refs/runs/`` may be given too), checked."""
    run_id = text.removeprefix(RUNS_PREFIX)
    if not _RUN_ID.fullmatch(run_id):
        raise UsageError(f"{quoted(text)} is not a run id (12 hex digits, as `mindgit runs` lists)")
    return run_id


@dataclass(frozen=True, slots=True)
class Failure:
    """Why an individual was disqualified: the sandbox's short reason code and its message."""

    reason: str
    error: str


@dataclass(frozen=True, slots=True)
class Individual:
    """One member of a generation: its state, its score or failure, its parents' indices."""

    state: CID
    score: float | None
    parents: tuple[int, ...]
    failure: Failure | None = None

    def __post_init__(self) -> None:
        if (self.score is None) == (self.failure is None):
            raise RunFormatError("individual", "has exactly one of a score and a failure")
        if self.score is not None:
            if not math.isfinite(self.score):
                raise RunFormatError("individual", f"score {quoted(self.score)} is not finite")
            object.__setattr__(self, "score", float(self.score) + 0.0)


def best_index(scores: Sequence[float | None], minimize: bool) -> int | None:
    """The fittest individual (lowest index among equals), or None if every one failed."""
    best: int | None = None
    for i, s in enumerate(scores):
        if s is None:
            continue
        if best is None:
            best = i
            continue
        b = scores[best]
        assert b is not None
        if (s < b) if minimize else (s > b):
            best = i
    return best


@dataclass(frozen=True, slots=True)
class GenerationRecord:
    """What ``generation.json`` holds."""

    generation: int
    individuals: tuple[Individual, ...]
    best: int | None

    def encode(self) -> bytes:
        """Canonical DAG-JSON, written directly: this runs once per generation on the hot path."""
        ft = dagjson.float_text
        parts: list[str] = []
        append = parts.append
        for ind in self.individuals:
            parents = ind.parents
            p = str(parents[0]) if len(parents) == 1 else ",".join(map(str, parents))
            score = ind.score
            failure = ind.failure
            if score is not None and failure is None:
                # repr is the canonical spelling but for "2.0" (-> "2") and exponent forms.
                t = float.__repr__(score)
                if "e" in t or t[-2:] == ".0":
                    t = ft(score)
                append(f'{{"parents":[{p}],"score":{t},"state":{{"/":"{ind.state!s}"}}}}')
                continue
            out = []
            if failure is not None:
                out.append('{"failure":{"error":')
                out.append(encode_basestring(failure.error))
                out.append(',"reason":')
                out.append(encode_basestring(failure.reason))
                out.append('},"parents":[')
            else:
                out.append('{"parents":[')
            out.append(p)
            if score is not None:
                t = float.__repr__(score)
                if "e" in t or t[-2:] == ".0":
                    t = ft(score)
                out.append('],"score":')
                out.append(t)
                out.append(',"state":{"/":"')
            else:
                out.append('],"state":{"/":"')
            out.append(str(ind.state))
            out.append('"}}')
            append("".join(out))
        best = "null" if self.best is None else str(self.best)
        head = f'{{"best":{best},"generation":{self.generation},"individuals":['
        return (head + ",".join(parts) + '],"schema":1}').encode("utf-8")

    def to_node(self) -> dict[str, Any]:
        individuals: list[dict[str, Any]] = []
        for ind in self.individuals:
            node: dict[str, Any] = {"parents": list(ind.parents), "state": ind.state}
            if ind.score is not None:
                node["score"] = ind.score
            if ind.failure is not None:
                node["failure"] = {"error": ind.failure.error, "reason": ind.failure.reason}
            individuals.append(node)
        return {
            "best": self.best,
            "generation": self.generation,
            "individuals": individuals,
            "schema": SCHEMA,
        }

    @classmethod
    def decode(
        cls, data: bytes, params: RunParams, cids: dict[str, CID] | None = None
    ) -> GenerationRecord:
        """Parse ``generation.json`` strictly and check it against the run's parameters.

        Read as plain JSON (links as ``{"/": text}``), then re-spelled by :meth:`encode`: the
        bytes must be exactly that canonical spelling, which is a stricter check than the
        generic DAG-JSON decoder's and ten times cheaper for a few hundred individuals.
        ``cids`` remembers the state links read so far (a run links the same states often).
        """
        try:
            node = json.loads(data)
        except (ValueError, RecursionError) as e:
            raise RunFormatError(GENERATION_FILE, f"not JSON: {e}") from None
        keys = {"best", "generation", "individuals", "schema"}
        if not isinstance(node, dict) or set(node) != keys:
            raise RunFormatError(GENERATION_FILE, f"must be a map with exactly {sorted(keys)}")
        if node["schema"] != SCHEMA or isinstance(node["schema"], bool):
            raise RunFormatError(
                GENERATION_FILE, f"schema {quoted(node['schema'])} is not {SCHEMA}"
            )
        gen = node["generation"]
        if isinstance(gen, bool) or not isinstance(gen, int) or not 0 <= gen < params.generations:
            raise RunFormatError(GENERATION_FILE, f"generation {quoted(gen)} is outside the run")
        raw = node["individuals"]
        if not isinstance(raw, list) or len(raw) != params.population:
            raise RunFormatError(
                GENERATION_FILE, f"must list exactly {params.population} individuals"
            )
        known = {} if cids is None else cids
        individuals = tuple(
            _individual(i, x, gen, params.population, known) for i, x in enumerate(raw)
        )
        best = node["best"]
        expected = best_index([i.score for i in individuals], params.minimize)
        if best != expected or isinstance(best, bool):
            raise RunFormatError(
                GENERATION_FILE, f"best is {quoted(best)} but the fittest is {expected}"
            )
        record = cls(gen, individuals, expected)
        if record.encode() != data:
            raise RunFormatError(GENERATION_FILE, "not in canonical form")
        return record

    @staticmethod
    def canonical_links(
        data: bytes, params: RunParams, named: Container[str]
    ) -> tuple[str, ...] | None:
        """The state link texts, in order, of a record that :meth:`decode` accepts, read
        without building it; None on any doubt (then :meth:`decode` says).

        Only a record spelt exactly as :meth:`encode` spells it is read, every individual
        scored and linking a text of ``named``, which must hold only texts that ``str()`` of
        a dag-json CIDv1 gives (as a checked state's name is). Its canonical spelling is
        checked piece by piece instead of by re-encoding it: the gate reads one record per
        generation, and needs only its links.
        """
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            return None
        head = _CANONICAL_HEAD.match(text)
        end = len(text) - len(_CANONICAL_TAIL)
        if head is None or not text.endswith(_CANONICAL_TAIL) or end < head.end():
            return None
        found = _CANONICAL_SCORED.findall(text, head.end(), end)
        population = params.population
        if len(head.group(2)) > _MAX_INDEX_DIGITS:  # int() refuses a text too long
            return None
        generation = int(head.group(2))
        if len(found) != population or generation >= params.generations:
            return None
        # The items found, spelt again and joined by commas, are the whole list only when it is
        # exactly such items joined by commas (each is what its groups spell): one pass over
        # the text fewer than matching the list as a whole first.
        if ",".join(map(_SCORED_SPELLING.__mod__, found)) != text[head.end() : end]:
            return None
        scores = [s for _, s, _ in found]
        values = list(map(float, scores))
        # The score texts encode writes: repr but for integral values (no ".0") and exponent
        # forms (written as DAG-JSON writes them), checked in bulk when none is either.
        joined = ",".join(scores) + ","
        if list(map(float.__repr__, values)) != scores or "e" in joined or ".0," in joined:
            for value, score in zip(values, scores, strict=True):
                if not math.isfinite(value):
                    return None
                value += 0.0  # as Individual keeps it, and so as encode writes it
                t = float.__repr__(value)
                if "e" in t or t[-2:] == ".0":
                    try:
                        t = dagjson.float_text(value)
                    except MindgitError:
                        return None
                if t != score:
                    return None
        links = tuple(link for _, _, link in found)
        if not all(link in named for link in links):
            return None
        parents = [p for p, _, _ in found]
        if generation == 0:
            if any(parents):  # only generation 0's individuals have no parents
                return None
        elif not all(parents):
            return None
        else:
            indices = ",".join(parents).split(",")
            if max(map(len, indices)) > _MAX_INDEX_DIGITS or max(map(int, indices)) >= population:
                return None
        if head.group(1) != str(best_index(values, params.minimize)):
            return None
        return links


# The canonical spelling of a record of scored individuals (see canonical_links): the parents
# are none (generation 0) or one or two indices, the score a JSON number (its exact spelling is
# checked apart), the state link a CID text in base32 (named decides which).
_CANONICAL_HEAD = re.compile(
    r'\{"best":(null|0|[1-9][0-9]*),"generation":(0|[1-9][0-9]*),"individuals":\['
)
_CANONICAL_TAIL = '],"schema":1}'
# More digits than any generation or index a run may have (MAX_GENERATIONS, MAX_POPULATION).
_MAX_INDEX_DIGITS = 9
_SCORED_TEXT = (
    r'\{"parents":\[((?:0|[1-9][0-9]*)(?:,(?:0|[1-9][0-9]*))?)?\],'
    r'"score":(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?),'
    r'"state":\{"/":"(b[a-z2-7]+)"\}\}'
)
_CANONICAL_SCORED = re.compile(_SCORED_TEXT)
# What _SCORED_TEXT matches, spelt from its groups.
_SCORED_SPELLING = '{"parents":[%s],"score":%s,"state":{"/":"%s"}}'


# Integer scores the common path takes: any other goes the full way (one float cannot hold).
_SAFE = 2**53


def _individual(
    index: int, node: object, generation: int, population: int, cids: dict[str, CID]
) -> Individual:
    # The common individual, a scored child whose state link was read before, in few steps;
    # anything else (and every problem) takes the full path below.
    if type(node) is dict and len(node) == 3 and generation > 0:
        parents, score, link = node.get("parents"), node.get("score"), node.get("state")
        if (
            type(parents) is list
            and (type(score) is float or (type(score) is int and -_SAFE <= score <= _SAFE))
            and type(link) is dict
            and len(link) == 1
        ):
            text = link.get("/")
            state = cids.get(text) if type(text) is str else None
            n = len(parents)
            if (
                state is not None
                and (n == 1 or n == 2)
                and type(parents[0]) is int
                and 0 <= parents[0] < population
                and (n == 1 or (type(parents[1]) is int and 0 <= parents[1] < population))
            ):
                return Individual(state, float(score), tuple(parents), None)
    return _individual_in_full(index, node, generation, population, cids)


def _individual_in_full(
    index: int, node: object, generation: int, population: int, cids: dict[str, CID]
) -> Individual:
    what = f"{GENERATION_FILE} individual {index}"
    if not isinstance(node, dict) or "parents" not in node or "state" not in node:
        raise RunFormatError(what, "must be a map with 'parents' and 'state'")
    if not node.keys() <= _INDIVIDUAL_KEYS:
        raise RunFormatError(
            what, f"unknown keys {quoted(sorted(set(node) - {'parents', 'state'}))}"
        )
    link = node["state"]
    text = link.get("/") if type(link) is dict and len(link) == 1 else None
    state = cids.get(text) if type(text) is str else None
    if state is None and type(text) is str:
        try:
            state = CID.parse(text)
        except MindgitError:
            state = None
        if state is not None and state.codec == DAG_JSON and state.version == 1:
            cids[text] = state
    if state is None or state.codec != DAG_JSON or state.version != 1:
        raise RunFormatError(what, "state must be a link to a dag-json manifest")
    parents = node["parents"]
    # json.loads makes exact ints (never bools) of integer literals: `type(p) is int` says both.
    if type(parents) is not list or not all(
        type(p) is int and 0 <= p < population for p in parents
    ):
        raise RunFormatError(what, f"parents must be indices in 0..{population - 1}")
    if generation == 0 and parents:
        raise RunFormatError(what, "generation 0 has no parents in the run")
    if generation > 0 and not 1 <= len(parents) <= 2:
        raise RunFormatError(what, "has one or two parents")
    score = node.get("score")
    if score is not None and type(score) is not float and type(score) is not int:
        raise RunFormatError(what, "score must be a number")
    try:
        value = None if score is None else float(score)
    except OverflowError:  # json reads integer literals exactly, of any length
        raise RunFormatError(what, "score is beyond what a float can hold") from None
    failure = None
    if "failure" in node:
        f = node["failure"]
        if (
            not isinstance(f, dict)
            or set(f) != {"error", "reason"}
            or not all(isinstance(v, str) for v in f.values())
        ):
            raise RunFormatError(what, "failure must be a map of 'error' and 'reason' strings")
        failure = Failure(f["reason"], f["error"])
    return Individual(state, value, tuple(parents), failure)


@dataclass(frozen=True, slots=True)
class RunTip:
    """The newest generation of a run as its ref names it."""

    run_id: str
    commit: str
    info: RunInfo
    record: GenerationRecord
    tree: pygit2.Tree
    experiment: str | None


def read_run_tip(repo: pygit2.Repository, run_id: str) -> RunTip | None:
    """The newest generation of a run, or None if the store has no such run."""
    commit_id = read_ref(repo, RUNS_PREFIX + run_id)
    if commit_id is None:
        return None
    return read_generation_commit(repo, commit_id)


def read_generation_commit(repo: pygit2.Repository, commit_id: str) -> RunTip:
    """A generation commit's run, record and tree (strictly parsed); a commit, tree or file
    missing from the repository is :class:`RunFormatError` naming the commit and the object."""
    commit, (run_raw, record_raw) = _generation_files(repo, commit_id, RUN_FILE, GENERATION_FILE)
    info = RunInfo.decode(run_raw)
    record = GenerationRecord.decode(record_raw, info.params)
    experiment = _trailer(commit.message, TRAILER_EXPERIMENT)
    return RunTip(info.run_id, commit_id, info, record, commit.tree, experiment)


def read_generation_run(repo: pygit2.Repository, commit_id: str) -> RunInfo:
    """A generation commit's run (``run.json`` alone, strictly parsed), failing as
    :func:`read_generation_commit` does: what names a run needs no record decoded."""
    _, (run_raw,) = _generation_files(repo, commit_id, RUN_FILE, GENERATION_FILE, read=1)
    return RunInfo.decode(run_raw)


def _generation_files(
    repo: pygit2.Repository, commit_id: str, *names: str, read: int | None = None
) -> tuple[pygit2.Commit, list[bytes]]:
    """The commit and the bytes of its files ``names`` (the first ``read`` of them; each must
    be there)."""
    where = f"commit {commit_id[:12]}"
    try:
        obj = repo.get(commit_id)
        if obj is None:
            raise KeyError(commit_id)
        commit = as_commit(obj)
        if commit is None:
            raise RunFormatError(commit_id, "is not a commit")
        tree = commit.tree
        for name in names:
            if name not in tree:
                raise RunFormatError(where, f"holds no {name}: not a generation")
        return commit, [repo[tree[name].id].read_raw() for name in names[:read]]
    except (KeyError, pygit2.GitError) as e:
        raise RunFormatError(where, unreadable(e)) from None


def unreadable(e: KeyError | pygit2.GitError) -> str:
    """Why an object could not be read, as pygit2 said it (KeyError: the id of an object that
    was never fetched or was pruned; GitError: one it cannot inflate)."""
    text = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
    return f"names an object this store cannot read ({text.strip() or type(e).__name__})"


def _trailer(message: str, key: str) -> str | None:
    value = None
    prefix = key + ": "
    for line in message.splitlines():
        if line.startswith(prefix):
            value = line[len(prefix) :].strip()
    return value
