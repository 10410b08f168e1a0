"""`evolve --resume RUN` with a RUN that cannot be a run id is the command line's fault (exit 2,
one line, nothing changed), checked before the store is read; `--resume ""` was taken as a bare
`--resume` and silently continued the experiment's unfinished run, however long."""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.run import start_run
from mindgit.store.generation import RunParams
from mindgit.store.repository import Store
from tests.conftest import Mg
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.evolve.test_bad_input_audit import refused


@pytest.fixture
def node(tmp_path: Path) -> Store:
    store = new_store(tmp_path / "s", float_genes(3))
    add_fitness(store, RASTRIGIN)
    # An unfinished run a bare --resume would continue.
    params = RunParams(population=4, generations=1000, seed=3)
    start_run(store, "rastrigin", params, should_stop=lambda: True)
    return store


@pytest.mark.parametrize("run", ["", " ", "zz", "0123456789AB"])
def test_a_resume_of_no_run_id_is_refused(node: Store, mg: Mg, run: str) -> None:
    refused(mg, node.path, "evolve", "-q", "--resume", run, code=2, words="is not a run id")


def test_a_malformed_run_id_is_refused_before_the_store_is_read(tmp_path: Path, mg: Mg) -> None:
    r = mg("--store", str(tmp_path / "nowhere"), "evolve", "--resume", "zz")
    assert r.code == 2, r.err
    assert "'zz' is not a run id" in r.err, r.err


def test_a_bare_resume_still_continues_the_run(node: Store, mg: Mg) -> None:
    refused(
        mg, node.path, "evolve", "-q", "--resume", "--generations", "5",
        code=2, words="was started with generations 1000, not 5",
    )  # fmt: skip
