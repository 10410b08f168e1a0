"""A run's result goes to `<experiment>-<run>` when the experiment moved; an experiment named
under that name (`main-<run>/mine`) made that name impossible as a ref, and every `--resume`
failed with "clashes with existing refs under it" for ever. The name is passed over like one
holding other work, and the run is then finished."""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.evolve.run import NothingToResume, result_experiment, resume_run, start_run
from mindgit.store.generation import RunParams
from tests.conftest import git
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store, stop_after

PARAMS = RunParams(population=8, generations=4, seed=7)


@pytest.mark.parametrize("packed", [False, True])
def test_a_result_name_taken_by_a_directory_of_experiments(tmp_path: Path, packed: bool) -> None:
    store = new_store(tmp_path / "a", float_genes(6))
    first = start_run(store, str(RASTRIGIN), PARAMS, should_stop=stop_after(1))
    assert first.stopped
    side = result_experiment("main", first.run_id)
    store.fork(f"{side}/mine", switch=False)
    mine = store.head(f"{side}/mine")
    store.think("written on main while the run was paused")
    if packed:  # the experiment under the name only in packed-refs, as git gc leaves it
        git("--git-dir", str(store.path), "pack-refs", "--all")
    r = resume_run(store)
    assert r.complete and r.result_commit is not None
    assert r.result_experiment == f"{side}-2"
    assert store.head(r.result_experiment) == r.result_commit
    assert store.head(f"{side}/mine") == mine
    assert sorted(store.experiments()) == sorted(["main", f"{side}/mine", f"{side}-2"])
    with pytest.raises(NothingToResume):
        resume_run(store)


def test_a_result_of_an_experiment_with_a_long_name(tmp_path: Path) -> None:
    # A ref name's part is at most 100 characters: `<95 a's>-<run>` was no valid name, and
    # every --resume failed with "invalid ref name" for ever.
    store = new_store(tmp_path / "a", float_genes(6))
    long = "a" * 95
    store.fork(long, switch=True)
    first = start_run(store, str(RASTRIGIN), PARAMS, should_stop=stop_after(1))
    store.think("written while the run was paused", experiment=long)
    r = resume_run(store, first.run_id)
    assert r.complete and r.result_commit is not None
    side = result_experiment(long, first.run_id)
    assert r.result_experiment == side
    assert side.endswith(f"-{first.run_id}") and len(side) <= 100
    assert store.head(side) == r.result_commit
    with pytest.raises(NothingToResume):
        resume_run(store, first.run_id)


def test_a_long_name_under_a_path_keeps_its_path() -> None:
    run = "0123456789ab"
    side = result_experiment("team/" + "b" * 100, run)
    assert side == "team/" + "b" * (100 - 17) + f"-{run}"
    assert result_experiment("main", run) == f"main-{run}"
