"""`evolve --fitness FILE` stored the file's module (under the file's name) before it took the
run's lock and looked again for the run's ref: a second process starting the same run at the
same moment was refused as busy, or as existing, having added a module name of its own. The
module is stored once the run holds its lock and is new; a refusal there changes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.run import RunBusy, plan_run, run_lock, start_run
from mindgit.store.fitness_store import list_modules
from mindgit.store.generation import RunParams
from mindgit.store.repository import Store
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.evolve.test_bad_input_audit import changed, tree_of

PARAMS = RunParams(population=4, generations=3, seed=5)


@pytest.fixture
def node(tmp_path: Path) -> Store:
    store = new_store(tmp_path / "s", float_genes(3))
    add_fitness(store, RASTRIGIN)
    return store


def test_planning_a_run_stores_nothing(node: Store, tmp_path: Path) -> None:
    copy = tmp_path / "other.wat"
    shutil.copyfile(RASTRIGIN, copy)
    before = tree_of(node.path)
    plan_run(node, str(copy), PARAMS)
    assert changed(before, tree_of(node.path)) == []


def test_a_run_refused_as_busy_adds_no_module_name(node: Store, tmp_path: Path) -> None:
    copy = tmp_path / "other.wat"  # the same module, under another name
    shutil.copyfile(RASTRIGIN, copy)
    run_id = plan_run(node, "rastrigin", PARAMS).info.run_id
    with run_lock(node, run_id):  # another process starting the same run right now
        before = tree_of(node.path)
        with pytest.raises(RunBusy):
            start_run(node, str(copy), PARAMS)
        assert changed(before, tree_of(node.path)) == []
    assert [m.name for m in list_modules(node)] == ["rastrigin"]
    r = start_run(node, str(copy), PARAMS)
    assert r.run_id == run_id and r.complete
    assert sorted(m.name for m in list_modules(node)) == ["other", "rastrigin"]
