"""Review: a run whose last generation has no individual that scored (every one failed).

Real store, real sandbox, the hostile `selective` fixture (traps on x < 0): with x in
[-1, 0.001], two individuals, no elite and wide mutations, generation 9 of seed 0 fails whole.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.evolve.run import NothingToResume, find_resumable, resume_run, start_run
from mindgit.store.generation import RunParams, read_run_tip
from mindgit.store.genome import Gene
from mindgit.store.repository import Store
from tests.conftest import Mg
from tests.evolve.helpers import HOSTILE, RASTRIGIN, new_store

SELECTIVE = HOSTILE / "selective.wat"
PARAMS = RunParams(
    population=2,
    generations=10,
    elite=0,
    mutation_rate=1.0,
    mutation_scale=5.0,
    crossover_rate=0.0,
    seed=0,
)


def _store(path: Path) -> Store:
    return new_store(path, [Gene.make("x0", "float", 0.001, min=-1, max=0.001)])


def _all_failed_run(store: Store) -> str:
    r = start_run(store, str(SELECTIVE), PARAMS)
    # Its best is generation 0's start state (nothing bred beat it): nothing is committed.
    assert r.complete and r.best_state == r.start_state and r.result_commit is None
    tip = read_run_tip(store.repo, r.run_id)
    assert tip is not None and tip.record.best is None  # the case under test
    return r.run_id


def test_it_is_finished_and_never_resumed_again(tmp_path: Path) -> None:
    """It stayed 'unfinished' for ever: every `evolve --resume` ran it again, and with one
    more interrupted run on the experiment, plain --resume was ambiguous."""
    store = _store(tmp_path / "a")
    run_id = _all_failed_run(store)
    with pytest.raises(NothingToResume):
        find_resumable(store)
    with pytest.raises(NothingToResume):
        resume_run(store, run_id)
    other = start_run(
        store, str(RASTRIGIN), RunParams(population=4, generations=5), should_stop=lambda: True
    )
    assert other.stopped
    assert find_resumable(store) == other.run_id


def test_the_cli_says_why_nothing_was_committed(tmp_path: Path, mg: Mg) -> None:
    store = _store(tmp_path / "a")
    args = [f"--store={store.path}", "evolve", f"--fitness={SELECTIVE}"]
    for name, value in PARAMS.to_node().items():
        if name != "minimize":
            args.append(f"--{name.replace('_', '-')}={value}")
    r = mg(*args)
    assert r.code == 0, r.err
    assert "already the experiment's state" not in r.err
    assert "no state bred in the run was fitter than the start state" in r.err
    run_id = next(line.split()[1] for line in r.out.splitlines() if line.startswith("run "))
    # The run's result is generation 0's start state: lineage RUN walks from it (57a8471).
    lin = mg(f"--store={store.path}", "lineage", run_id)
    assert lin.code == 0, lin.err
    # Its last generation, which has no best, is refused in one line.
    tip = read_run_tip(store.repo, run_id)
    assert tip is not None
    lin = mg(f"--store={store.path}", "lineage", tip.commit)
    assert lin.code == 1
    assert "was not produced by a run" not in lin.err, lin.err
    assert f"run {run_id}" in lin.err and "every individual failed" in lin.err, lin.err
    assert len(lin.err.strip().splitlines()) == 1
