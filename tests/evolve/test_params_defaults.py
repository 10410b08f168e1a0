"""RunParams' default elite is 1, or 0 for a population of 1, from Python as from the CLI.

``RunParams(population=1)`` was refused ("--elite 1: must be an integer in 0..0"): its default
elite was 1 whatever the population, and only `mindgit evolve` lowered it when --elite was not
given. An elite that is given is still checked as given, and run.json, which always holds the
elite, is read and written byte for byte as before.
"""

from __future__ import annotations

import json
from dataclasses import fields, replace
from pathlib import Path

import pytest

from mindgit.cli.commands.evolve import _DEFAULTS
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID, RAW
from mindgit.store.generation import (
    RUN_FILE,
    InvalidParameter,
    RunFormatError,
    RunInfo,
    RunLimits,
    RunParams,
    read_generation_commit,
)
from mindgit.store.repository import open_store
from tests.conftest import Mg, fsck
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.evolve.test_run import chain
from tests.snapshots import changed, snapshot

STATE = CID.of(b'{"genome":{},"schema":1,"thoughts":[]}')
MODULE = CID.of(b"\0asm\x01\0\0\0", RAW)
LIMITS = RunLimits(1000, 1 << 20, 1 << 16, 100)

# run.json of a run of one individual, as written before the change (elite written as 0).
ONE_RUN_JSON = (
    b'{"algorithm":1,"entry":"fitness_batch","limits":{"fuel":1000,"memory":1048576,'
    b'"stack":65536,"table":100},"module":{"/":"bafkreieturf3xfwhkeqy4taa2r46jqkdlajcuoe2zsqweb'
    b'nr4tinyx4uoy"},"params":{"crossover_rate":0.5,"elite":0,"generations":12,"minimize":false,'
    b'"mutation_rate":0.25,"mutation_scale":0.1,"population":1,"seed":2,"tournament":3},'
    b'"run":"46ca5560e281","schema":1,"start":{"commit":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",'
    b'"state":{"/":"baguqeerasqtdirhodbnq7hsn4t7r5ryvieilsdhxexb5ym253hs6honpum5a"}}}'
)


def run_info(params: RunParams) -> RunInfo:
    return RunInfo(params, MODULE, "fitness_batch", LIMITS, "a" * 40, STATE)


@pytest.mark.parametrize("population, elite", [(1, 0), (2, 1), (64, 1), (100_000, 1)])
def test_the_default_elite_leaves_room_for_the_population(population: int, elite: int) -> None:
    params = RunParams(population=population)
    assert params.elite == elite
    assert params == RunParams(population=population, elite=elite)
    assert repr(params) == repr(RunParams(population=population, elite=elite))


@pytest.mark.parametrize(
    "population, elite, rule", [(1, 1, "0..0"), (2, 2, "0..1"), (3, -1, "0..2")]
)
def test_an_elite_given_out_of_range_is_refused_as_before(
    population: int, elite: int, rule: str
) -> None:
    with pytest.raises(InvalidParameter) as e:
        RunParams(population=population, elite=elite)
    assert str(e.value) == f"--elite {elite}: must be an integer in {rule}"
    assert e.value.name == "elite"


def test_an_elite_passed_on_by_replace_is_a_given_one() -> None:
    """``replace`` passes every field on: the elite 1 of 64 is given to a population of 1."""
    with pytest.raises(InvalidParameter, match=r"--elite 1: must be an integer in 0\.\.0"):
        replace(RunParams(), population=1)
    assert replace(RunParams(population=1), population=5).elite == 0


def test_a_population_that_is_no_integer_is_refused_before_the_elite() -> None:
    with pytest.raises(InvalidParameter) as e:
        RunParams(population="1")  # type: ignore[arg-type]
    assert e.value.name == "population"


def test_run_json_of_a_default_elite_is_the_bytes_an_explicit_one_gave() -> None:
    one = run_info(RunParams(population=1, generations=12, seed=2, mutation_rate=0.25))
    assert one.encode() == ONE_RUN_JSON and one.run_id == "46ca5560e281"
    read = RunInfo.decode(ONE_RUN_JSON)
    assert read == one and read.params.elite == 0 and read.encode() == ONE_RUN_JSON
    # The default elite of a larger population is 1, written as it was: the same run id.
    assert run_info(RunParams(seed=7, mutation_rate=0.25)).run_id == "6955d2141745"


def test_run_json_without_an_elite_is_still_refused() -> None:
    node = dagjson.decode(ONE_RUN_JSON)
    assert isinstance(node, dict) and isinstance(node["params"], dict)
    del node["params"]["elite"]
    with pytest.raises(RunFormatError, match="must be a map with exactly"):
        RunInfo.decode(dagjson.encode(node))
    node = dagjson.decode(ONE_RUN_JSON)
    assert isinstance(node, dict) and isinstance(node["params"], dict)
    node["params"]["elite"] = 1
    with pytest.raises(RunFormatError, match=r"elite 1 must be an integer in 0\.\.0"):
        RunInfo.decode(dagjson.encode(node))


def test_a_run_of_one_individual_evolves_from_python(tmp_path: Path) -> None:
    from mindgit.evolve.run import start_run

    store = new_store(tmp_path / "s", float_genes(4))
    params = RunParams(population=1, generations=4, seed=2)
    r = start_run(store, str(RASTRIGIN), params)
    assert r.complete and r.generations == 4
    commits = chain(store, r.run_id)
    assert len(commits) == 4
    held = [read_generation_commit(store.repo, str(c.id)) for c in commits]
    assert [len(g.record.individuals) for g in held] == [1] * 4
    resolved = replace(params, mutation_rate=0.25)  # 1/genes, as start_run resolves it
    assert held[-1].info.params == resolved and resolved.elite == 0
    stored = dagjson.decode(store.repo[held[-1].tree[RUN_FILE].id].read_raw())
    assert isinstance(stored, dict) and isinstance(stored["params"], dict)
    assert stored["params"]["elite"] == 0
    fsck(store.path)


def test_the_cli_s_defaults_are_run_params_own() -> None:
    """--help shows _DEFAULTS; the run takes RunParams' defaults: they must be the same."""
    own = RunParams()
    assert {k: getattr(own, k) for k in _DEFAULTS} == _DEFAULTS
    assert set(_DEFAULTS) | {"mutation_rate", "minimize"} == {f.name for f in fields(RunParams)}


@pytest.fixture
def node(tmp_path: Path, mg: Mg, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "alpha"
    assert mg("init", str(path), "--name", "alpha").code == 0
    monkeypatch.chdir(path)
    set_genes = ("genome", "set", "x0=0.5", "x1=-1", "x2=3", "x3=0.1")
    assert mg(*set_genes, "--min", "-5.12", "--max", "5.12").code == 0
    return path


def test_evolve_with_a_population_of_one(node: Path, mg: Mg) -> None:
    before = snapshot(node)
    refused = mg("evolve", "--fitness", str(RASTRIGIN), "--population", "1", "--elite", "1")
    assert refused.code == 2
    assert "--elite 1: must be an integer in 0..0" in refused.err
    assert len(refused.err.strip().splitlines()) <= 2 and "Traceback" not in refused.err
    assert changed(before, node) == []

    args = ("--population", "1", "--generations", "3", "--seed", "2", "-q", "--json")
    r = mg("evolve", "--fitness", str(RASTRIGIN), *args)
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["complete"] and out["generations"] == 3
    tip = read_generation_commit(open_store(node).repo, out["run_commit"])
    assert tip.info.params == RunParams(
        population=1, elite=0, generations=3, seed=2, mutation_rate=0.25
    )
    fsck(node)
