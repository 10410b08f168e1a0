"""`mindgit runs` and `mindgit lineage RUN` agree with the run's result as `evolve` commits it.

Since 4b914f7 a run's result is the fittest individual of any generation (``run_best``), not
the last generation's best. `runs` still listed the last generation's best score, and `lineage
RUN` still walked from the last generation's best: with `--elite 0` or `--population 1` both
named a less fit individual than the one committed, and `lineage RUN` told another story than
`lineage <the result commit>`. With an elite the two rules agree, and nothing changes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.run import RunHistoryDamaged, RunResult, start_run
from mindgit.evolve.runs import lineage, scan_runs
from mindgit.store.generation import RunParams, read_generation_commit
from mindgit.store.repository import Store, open_store
from tests.conftest import Mg
from tests.evolve.helpers import RASTRIGIN, new_store
from tests.evolve.test_best_of_run import GENES, NO_ELITE, ONE, UNBEATEN, last_best
from tests.evolve.test_readers_audit import git, refused
from tests.evolve.test_readers_s7 import one_line_each
from tests.evolve.test_review_all_failed import PARAMS as ALL_FAILED_LAST
from tests.evolve.test_review_all_failed import SELECTIVE
from tests.evolve.test_review_all_failed import _store as selective_store
from tests.evolve.test_run import chain
from tests.snapshots import changed, snapshot

ELITE = RunParams(population=4, generations=6, seed=4)
CASES = {"population-1": ONE, "elite-0": NO_ELITE, "elite": ELITE, "unbeaten": UNBEATEN}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, RunResult]]:
    """One store, each case's run on an experiment of its own forked from the same start."""
    path = tmp_path_factory.mktemp("runs-result") / "s"
    store = new_store(path, GENES)
    add_fitness(store, RASTRIGIN)
    start = store.head()
    done = {}
    for name, params in CASES.items():
        store.fork(name, start=start, switch=False)
        done[name] = start_run(store, "rastrigin", params, experiment=name)
    return path, done


@pytest.fixture
def node(
    made: tuple[Path, dict[str, RunResult]], tmp_path: Path
) -> tuple[Store, dict[str, RunResult]]:
    path = tmp_path / "s"
    shutil.copytree(made[0], path, symlinks=True)
    return open_store(path), made[1]


def listed(mg: Mg, store: Store) -> dict[str, dict[str, object]]:
    r = mg("--store", str(store.path), "runs", "--json")
    assert r.code == 0, r.err
    return {entry["run"]: entry for entry in json.loads(r.out)}


def rows(mg: Mg, store: Store) -> dict[str, list[str]]:
    r = mg("--store", str(store.path), "runs")
    assert r.code == 0, r.err
    return {line.split("\t")[0]: line.split("\t") for line in r.out.splitlines()}


@pytest.mark.parametrize("case", ["population-1", "elite-0"])
def test_runs_lists_the_run_s_result_not_its_last_generation_s_best(
    node: tuple[Store, dict[str, RunResult]], mg: Mg, case: str
) -> None:
    store, done = node
    r = done[case]
    params = CASES[case]
    assert r.best_score is not None and r.best_generation is not None
    # The case: an earlier generation's best is fitter than the last generation's.
    assert r.best_generation < params.generations - 1
    assert last_best(store, r.run_id) < r.best_score
    (summary,) = [s for s in scan_runs(store).runs if s.run_id == r.run_id]
    assert (summary.best, summary.best_generation) == (r.best_score, r.best_generation)
    entry = listed(mg, store)[r.run_id]
    assert (entry["best"], entry["best_generation"]) == (r.best_score, r.best_generation)
    assert entry["generations"] == params.generations and entry["complete"]
    row = rows(mg, store)[r.run_id]
    assert row[3:5] == [repr(r.best_score), str(r.best_generation)]


@pytest.mark.parametrize("case", ["population-1", "elite-0"])
def test_lineage_of_a_run_starts_at_its_result(
    node: tuple[Store, dict[str, RunResult]], mg: Mg, case: str
) -> None:
    store, done = node
    r = done[case]
    assert r.result_commit is not None and r.best_generation is not None
    lin = lineage(store, r.run_id)
    first = lin.runs[0].generations[0][0]
    assert lin.state == r.best_state
    assert (first.generation, first.state, first.score) == (
        r.best_generation,
        r.best_state,
        r.best_score,
    )
    # The index run_best names: the generation's best (lowest index among equals).
    record = read_generation_commit(
        store.repo, str(chain(store, r.run_id)[r.best_generation].id)
    ).record
    assert first.index == record.best
    assert [level[0].generation for level in lin.runs[0].generations][-1] == 0
    # The run and its result commit tell one story, in every form.
    for extra in ((), ("--all",), ("--json",)):
        by_run = mg("--store", str(store.path), "lineage", r.run_id, *extra)
        by_result = mg("--store", str(store.path), "lineage", r.result_commit, *extra)
        assert by_run.code == by_result.code == 0, by_run.err + by_result.err
        assert by_run.out == by_result.out
    assert (
        mg("--store", str(store.path), "lineage", r.run_id)
        .out.splitlines()[2]
        .startswith(f"  g{r.best_generation:<5} #{record.best:<4} {r.best_score!r}")
    )


def test_an_elite_run_lists_and_walks_its_last_generation_as_before(
    node: tuple[Store, dict[str, RunResult]], mg: Mg
) -> None:
    store, done = node
    r = done["elite"]
    last = ELITE.generations - 1
    assert (r.best_generation, r.best_score) == (last, last_best(store, r.run_id))
    entry = listed(mg, store)[r.run_id]
    assert (entry["best"], entry["best_generation"]) == (r.best_score, last)
    tip = git(store, "rev-parse", f"refs/runs/{r.run_id}")
    assert r.result_commit is not None
    outs = {
        mg("--store", str(store.path), "lineage", target).out
        for target in (r.run_id, tip, r.result_commit)
    }
    assert len(outs) == 1
    assert lineage(store, r.run_id).runs[0].generations[0][0].generation == last


def test_a_run_whose_result_is_its_start_state(
    node: tuple[Store, dict[str, RunResult]], mg: Mg
) -> None:
    # Nothing was committed: its best, from generation 0, is the state it started from.
    store, done = node
    r = done["unbeaten"]
    assert r.result_commit is None and r.best_state == r.start_state
    assert r.best_generation is not None
    entry = listed(mg, store)[r.run_id]
    assert (entry["best"], entry["best_generation"]) == (r.best_score, r.best_generation)
    assert last_best(store, r.run_id) < (r.best_score or 0)
    lin = lineage(store, r.run_id)
    assert lin.state == r.start_state == lin.runs[0].start_state
    assert lin.runs[0].generations[0][0].generation == r.best_generation


def test_lineage_of_a_run_whose_last_generation_failed_whole(tmp_path: Path, mg: Mg) -> None:
    # It was refused (the last generation has no best); the run's result is generation 0's
    # start state, and the lineage shows it. The last generation's own commit still has none.
    store = selective_store(tmp_path / "a")
    r = start_run(store, str(SELECTIVE), ALL_FAILED_LAST)
    assert r.result_commit is None and r.best_state == r.start_state
    by_run = mg("--store", str(store.path), "lineage", r.run_id)
    assert by_run.code == 0, by_run.err
    assert by_run.out.splitlines()[0] == f"state {r.start_state}"
    tip = git(store, "rev-parse", f"refs/runs/{r.run_id}")
    refused(mg, store, "lineage", tip, code=1, words="every individual failed")
    entry = listed(mg, store)[r.run_id]
    assert (entry["best"], entry["best_generation"]) == (r.best_score, r.best_generation)


# ---- damaged histories --------------------------------------------------------------------------


def rewrite_from(store: Store, run_id: str, generation: int, message: str | None = None) -> None:
    """The run's generations from ``generation`` up, each as it is, on fresh commits: with
    ``message`` as ``generation``'s message, or (None) with ``generation`` put straight on
    generation ``generation - 2`` (generation ``generation - 1`` gone)."""
    commits = [str(c.id) for c in chain(store, run_id)]
    parent = commits[generation - 1] if message is not None else commits[generation - 2]
    for n in range(generation, len(commits)):
        text = git(store, "log", "-1", "--format=%B", commits[n])
        if n == generation and message is not None:
            text = message
        parent = git(store, "commit-tree", f"{commits[n]}^{{tree}}", "-p", parent, "-m", text)
    git(store, "update-ref", f"refs/runs/{run_id}", parent)


def test_runs_names_a_run_whose_fitness_trailer_is_not_a_score(
    node: tuple[Store, dict[str, RunResult]], mg: Mg
) -> None:
    store, done = node
    damaged = done["population-1"].run_id
    commit = str(chain(store, damaged)[3].id)
    text = git(store, "log", "-1", "--format=%B", commit)
    assert "Mindgit-Fitness: " in text
    lines = [
        "Mindgit-Fitness: high" if ln.startswith("Mindgit-Fitness: ") else ln
        for ln in text.splitlines()
    ]
    rewrite_from(store, damaged, 3, "\n".join(lines))
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "runs")
    assert r.code == 1
    (line,) = one_line_each(r.err, 1)
    assert f"run {damaged}: generation 3 cannot be read" in line and "'high'" in line, line
    # Every other run is listed, the damaged one only on stderr.
    assert sorted(ln.split("\t")[0] for ln in r.out.splitlines()) == sorted(
        d.run_id for name, d in done.items() if name != "population-1"
    )
    doc = json.loads(mg("--store", str(store.path), "runs", "--json").out)
    assert doc["type"] == "DamagedRuns"
    assert [d["ref"] for d in doc["damaged"]] == [f"refs/runs/{damaged}"]
    assert len(doc["runs"]) == len(CASES) - 1
    with pytest.raises(RunHistoryDamaged, match="is not a score"):
        lineage(store, damaged)
    refused(mg, store, "lineage", damaged, code=1, words="'high' is not a score")
    assert changed(before, store.path) == []
    # The others still read, and the damaged run can be checked and deleted.
    assert mg("--store", str(store.path), "lineage", done["elite"].run_id).code == 0
    assert mg("--store", str(store.path), "runs", "--check", damaged).code == 0
    deleted = mg("--store", str(store.path), "runs", "--delete", damaged, "--force")
    assert deleted.code == 0, deleted.err
    assert mg("--store", str(store.path), "runs").code == 0


def test_runs_names_a_run_with_a_generation_missing(
    node: tuple[Store, dict[str, RunResult]], mg: Mg
) -> None:
    store, done = node
    damaged = done["elite-0"].run_id
    rewrite_from(store, damaged, 4)
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "runs")
    assert r.code == 1
    (line,) = one_line_each(r.err, 1)
    assert f"run {damaged}: generation 3 cannot be read" in line, line
    assert "is not that generation of the run" in line, line
    assert len(r.out.splitlines()) == len(CASES) - 1
    # lineage names it as every reader that walks the run does.
    refused(mg, store, "lineage", damaged, code=1, words="is generation 2 where 3 was expected")
    assert changed(before, store.path) == []
