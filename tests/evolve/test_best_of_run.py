"""A run's result is the best individual of any of its generations, never less fit than the
start state.

It was the last generation's best: with `--elite 0`, or a population of 1 (which the CLI gives
no elite), that one can be less fit than the start state, and `evolve` committed it over the
experiment. Now the result is the fittest individual seen in the whole run (strictly fitter than
every later one; the latest among equals, so a run with an elite commits what it did before);
when that is the start state itself, nothing is committed. A stopped, resumed or killed run ends
with the same result as an uninterrupted one.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pygit2
import pytest

from mindgit.evolve.run import (
    NothingToResume,
    RunResult,
    find_resumable,
    resume_run,
    start_run,
)
from mindgit.ipld.cid import CID
from mindgit.store.generation import RunParams, best_index, read_generation_commit
from mindgit.store.genome import Gene
from mindgit.store.repository import Store, open_store
from tests.conftest import ROOT, Mg, fsck
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store, stop_after
from tests.evolve.test_kill import evolve_process, gone, wait_for_pause
from tests.evolve.test_run import chain

# Four floats whose start state scores -32.17 under Rastrigin. With one individual (no elite),
# seed 2's last generation scores -82.94; its best, -26.80, is generation 5. Seed 1 never beats
# the start state. With four and no elite, seed 4's last generation scores -34.08, its best
# (-14.37) is generation 4.
GENES = [
    Gene.make(f"x{i}", "float", v, min=-5.12, max=5.12) for i, v in enumerate([0.5, -1, 3, 0.1])
]
ONE = RunParams(population=1, elite=0, generations=12, seed=2)
NO_ELITE = RunParams(population=4, elite=0, generations=8, seed=4)
UNBEATEN = RunParams(population=1, elite=0, generations=12, seed=1)


def run_best(store: Store, run_id: str, minimize: bool = False) -> tuple[int, CID, float]:
    """The rule, read from the stored generations oldest first: each generation's best
    (lowest index among equals) takes over unless it is strictly less fit."""
    held: tuple[int, CID, float] | None = None
    for commit in chain(store, run_id):
        record = read_generation_commit(store.repo, str(commit.id)).record
        i = best_index([ind.score for ind in record.individuals], minimize)
        if i is None:
            continue
        score = record.individuals[i].score
        assert score is not None
        if held is None or not ((score < held[2]) if not minimize else (score > held[2])):
            held = (record.generation, record.individuals[i].state, score)
    assert held is not None
    return held


def last_best(store: Store, run_id: str) -> float:
    record = read_generation_commit(store.repo, str(chain(store, run_id)[-1].id)).record
    assert record.best is not None
    score = record.individuals[record.best].score
    assert score is not None
    return score


def trailers(store: Store, commit: str) -> dict[str, str]:
    message = store.repo[commit].peel(pygit2.Commit).message
    last = message.rstrip("\n").split("\n\n")[-1]
    return dict(line.split(": ", 1) for line in last.splitlines())


def summary(r: RunResult) -> tuple[object, ...]:
    return (r.best_generation, r.best_state, r.best_score, r.result_commit is not None)


@pytest.mark.parametrize("params", [ONE, NO_ELITE], ids=["population-1", "elite-0"])
def test_the_result_is_the_best_of_the_run_not_of_its_last_generation(
    tmp_path: Path, params: RunParams
) -> None:
    store = new_store(tmp_path / "s", GENES)
    r = start_run(store, str(RASTRIGIN), params)
    assert r.start_score is not None and r.best_score is not None
    # The case: the last generation is less fit than the start; it was what got committed.
    assert last_best(store, r.run_id) < r.start_score < r.best_score
    generation, state, score = run_best(store, r.run_id)
    assert generation < params.generations - 1
    assert (r.best_generation, r.best_state, r.best_score) == (generation, state, score)
    assert r.result_commit is not None and store.head() == r.result_commit
    assert store.snapshot().manifest.cid == state
    t = trailers(store, r.result_commit)
    assert t["Mindgit-Generation"] == str(generation)
    assert t["Mindgit-Fitness"] == repr(score)
    assert t["Mindgit-State"] == str(state)
    with pytest.raises(NothingToResume):
        find_resumable(store)
    fsck(store.path)


@pytest.mark.parametrize("seed", [1, 2, 3, 5, 6])
def test_with_one_individual_no_run_makes_the_experiment_less_fit(
    tmp_path: Path, seed: int
) -> None:
    store = new_store(tmp_path / "s", GENES)
    start = store.head()
    r = start_run(
        store, str(RASTRIGIN), RunParams(population=1, elite=0, generations=12, seed=seed)
    )
    assert r.start_score is not None and r.best_score is not None
    assert r.best_score >= r.start_score
    assert (r.best_generation, r.best_state, r.best_score) == run_best(store, r.run_id)
    if r.result_commit is None:
        assert r.best_state == r.start_state and store.head() == start
    else:
        assert r.best_score > r.start_score or r.best_state != r.start_state


def test_a_run_with_an_elite_commits_its_last_generation_s_best(tmp_path: Path) -> None:
    """As before the change: with an elite the last generation holds the run's best, and among
    equals the latest generation's is taken."""
    store = new_store(tmp_path / "s", float_genes(6))
    params = RunParams(population=8, generations=6, seed=7)
    r = start_run(store, str(RASTRIGIN), params)
    assert r.best_generation == params.generations - 1
    assert r.best_score == last_best(store, r.run_id)
    assert r.result_commit is not None
    assert trailers(store, r.result_commit)["Mindgit-Generation"] == str(params.generations - 1)


def test_when_nothing_beats_the_start_state_nothing_is_committed(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s", GENES)
    start = store.head()
    r = start_run(store, str(RASTRIGIN), UNBEATEN)
    assert r.complete and r.result_commit is None and r.result_experiment is None
    assert r.best_state == r.start_state == store.snapshot().manifest.cid
    assert r.best_score == r.start_score and r.best_score is not None
    assert last_best(store, r.run_id) < r.best_score  # the last generation was less fit
    assert store.head() == start
    assert store.experiments() == ["main"]
    with pytest.raises(NothingToResume):  # finished: it has nothing to commit
        resume_run(store, r.run_id)


def test_an_unbeaten_run_whose_experiment_moved_makes_no_side_experiment(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s", GENES)
    first = start_run(store, str(RASTRIGIN), UNBEATEN, should_stop=stop_after(3))
    assert first.stopped
    store.think("meanwhile", ["test"])
    moved = store.head()
    r = resume_run(store, first.run_id)
    assert r.complete and r.result_commit is None and r.best_state == r.start_state
    assert store.head() == moved
    assert store.experiments() == ["main"]
    with pytest.raises(NothingToResume):
        find_resumable(store)


@pytest.mark.parametrize("params", [ONE, NO_ELITE], ids=["population-1", "elite-0"])
def test_stopping_after_any_generation_and_resuming_gives_the_same_result(
    tmp_path: Path, params: RunParams
) -> None:
    whole = new_store(tmp_path / "whole", GENES)
    expected = start_run(whole, str(RASTRIGIN), params)
    for k in range(params.generations - 1):
        parts = new_store(tmp_path / f"parts{k}", GENES)
        first = start_run(parts, str(RASTRIGIN), params, should_stop=stop_after(k))
        assert first.stopped and first.generations_done == k + 1
        done = resume_run(parts, first.run_id)
        assert done.complete
        assert summary(done) == summary(expected), k
        assert parts.snapshot().manifest.cid == whole.snapshot().manifest.cid


# Runs a whole evolve and dies (SIGKILL) where its result would be committed.
KILLED_BEFORE_THE_RESULT = r"""
import os, signal, sys
from mindgit.evolve import run
from mindgit.store.generation import RunParams
from mindgit.store.repository import open_store
run._commit_result = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
params = RunParams(population=4, elite=0, generations=8, seed=4)
run.start_run(open_store(sys.argv[1]), sys.argv[2], params)
"""


def test_a_run_killed_before_its_result_commits_the_best_of_the_run_on_resume(
    tmp_path: Path,
) -> None:
    store = new_store(tmp_path / "a", GENES)
    start = store.head()
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_BEFORE_THE_RESULT, str(store.path), str(RASTRIGIN)],
        cwd=ROOT,
        capture_output=True,
    )
    assert killed.returncode == -9, killed.stderr
    assert store.head() == start
    run_id = find_resumable(store)
    r = resume_run(store, run_id)
    generation, state, score = run_best(store, run_id)
    assert generation < NO_ELITE.generations - 1
    assert (r.best_generation, r.best_state, r.best_score) == (generation, state, score)
    assert r.result_commit is not None and store.snapshot().manifest.cid == state
    assert trailers(store, r.result_commit)["Mindgit-Generation"] == str(generation)


KILLED_PARAMS = RunParams(population=4, elite=0, generations=40, seed=2)
KILLED_ARGS = [
    "--population=4",
    "--elite=0",
    "--generations=40",
    "--seed=2",
    "--fitness=rastrigin",
    "-q",
]


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc; writer dies with its parent on Linux"
)
@pytest.mark.parametrize("pause_at", ["0", "1", "2"])
def test_a_cli_run_killed_inside_a_write_resumes_to_the_best_of_the_run(
    tmp_path: Path, pause_at: str
) -> None:
    from mindgit.evolve.fitness import add_fitness

    reference = new_store(tmp_path / "ref", float_genes(8))
    expected = start_run(reference, str(RASTRIGIN), KILLED_PARAMS)
    assert expected.best_generation is not None
    assert expected.best_generation < KILLED_PARAMS.generations - 1  # the case under test

    store = new_store(tmp_path / "s", float_genes(8))
    add_fitness(store, RASTRIGIN)
    marker = tmp_path / "paused"
    env = {"PAUSE_POINT": "before-ref", "PAUSE_MARKER": str(marker), "PAUSE_AT": pause_at}
    proc = evolve_process(store.path, KILLED_ARGS, env)
    wait_for_pause(proc, marker)
    writer_pid = int(marker.read_text() or "0")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert gone(writer_pid)
    fsck(store.path)
    runs = [r for r in store.repo.references if r.startswith("refs/runs/")]
    if runs:
        resumed = evolve_process(store.path, ["--resume", "--json", "-q"])
    else:  # killed before generation 0's ref moved
        resumed = evolve_process(store.path, [*KILLED_ARGS, "--json"])
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    got = json.loads(out)
    assert got["best_generation"] == expected.best_generation
    assert got["state"] == str(expected.best_state) and got["best"] == expected.best_score
    assert str(open_store(store.path).snapshot().manifest.cid) == str(expected.best_state)
    fsck(store.path)


def test_the_cli_says_which_generation_the_result_is_from(tmp_path: Path, mg: Mg) -> None:
    store = new_store(tmp_path / "s", GENES)
    at = f"--store={store.path}"
    args = ["evolve", f"--fitness={RASTRIGIN}", "--population=1", "--generations=12", "-q"]
    r = mg(at, *args, "--seed=2", "--json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["best_generation"] == 5 and out["commit"] == store.head()
    assert out["best"] > out["start"]
    plain = mg(at, *args, "--seed=3")
    assert plain.code == 0, plain.err
    # Started from the first run's result: this one's best is its generation 8.
    shown = next(x for x in plain.out.splitlines() if x.startswith("best "))
    assert shown.endswith("  (generation 8)")
    assert trailers(store, store.head())["Mindgit-Generation"] == "8"
    assert mg(at, "verify", "--recompute", "all").code == 0


def test_the_cli_says_nothing_beat_the_start_state(tmp_path: Path, mg: Mg) -> None:
    store = new_store(tmp_path / "s", GENES)
    start = store.head()
    refs = {r: store.repo.references[r].target for r in store.repo.references if "runs" not in r}
    args = [f"--store={store.path}", "evolve", f"--fitness={RASTRIGIN}", "--population=1"]
    r = mg(*args, "--generations=12", "--seed=1", "-q")
    assert r.code == 0, r.err
    assert "no state bred in the run was fitter than the start state" in r.err
    assert "commit " not in r.out
    assert store.head() == start
    after = {r: store.repo.references[r].target for r in store.repo.references if "runs" not in r}
    assert {k: v for k, v in after.items() if not k.startswith("refs/fitness")} == {
        k: v for k, v in refs.items() if not k.startswith("refs/fitness")
    }
    again = mg(f"--store={store.path}", "evolve", "--resume")
    assert again.code == 1 and "nothing to resume" in again.err


def test_the_docs_example_runs_as_written(tmp_path: Path) -> None:
    """docs/evolve.md's ```bash example (the ```sh and ```python ones are test_docs.py's): each
    command exits 0 and prints the `# ` lines after it (`...` stands for any text)."""
    import re

    from tests.evolve.test_docs import DOC, _bash, _mindgit_env

    (block,) = re.findall(r"```bash\n(.*?)```", DOC, re.S)
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("# "):
            steps[-1][1].append(line[2:])
        else:
            steps.append((line, []))
    store = tmp_path / "s"
    env = _mindgit_env(store)
    subprocess.run(["mindgit", "init", str(store), "--name", "alpha"], env=env, check=True)
    for command, shown in steps:
        proc = _bash(command, env, ROOT)
        assert proc.returncode == 0, (command, proc.stderr)
        said = (proc.stdout + proc.stderr).splitlines()
        for expected in shown:
            pattern = ".*".join(map(re.escape, expected.split("...")))
            assert any(re.fullmatch(pattern, x) for x in said), (command, expected, said)


def test_a_run_whose_earlier_generations_cannot_be_read_is_not_resumed(
    tmp_path: Path, mg: Mg
) -> None:
    """Its result cannot be told without them: one line, exit 1, nothing changed."""
    from mindgit.evolve.run import RunHistoryDamaged
    from mindgit.store.generation import RUNS_PREFIX

    store = new_store(tmp_path / "s", GENES)
    first = start_run(store, str(RASTRIGIN), NO_ELITE, should_stop=stop_after(3))
    assert first.stopped
    tip = store.repo[first.tip].peel(pygit2.Commit)
    # The last generation as it is, on a parent that is no generation of the run.
    forged = store.repo.create_commit(
        None, tip.author, tip.committer, tip.message, tip.tree_id, [pygit2.Oid(hex=store.head())]
    )
    store.repo.references.create(RUNS_PREFIX + first.run_id, forged, force=True)
    before = {r: str(store.repo.references[r].target) for r in store.repo.references}
    with pytest.raises(RunHistoryDamaged) as e:
        resume_run(store, first.run_id)
    assert e.value.generation == 2
    r = mg(f"--store={store.path}", "evolve", "--resume", "-q")
    assert r.code == 1 and len(r.err.strip().splitlines()) == 1, r.err
    assert f"run {first.run_id}: generation 2 cannot be read" in r.err
    assert {x: str(store.repo.references[x].target) for x in store.repo.references} == before
