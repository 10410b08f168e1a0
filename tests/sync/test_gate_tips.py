"""What a ref's tip must be beyond a verified commit: a run under its own id, a loadable module."""

from __future__ import annotations

import pytest
import wasmtime

from mindgit.evolve.run import start_run
from mindgit.store.fitness_store import store_module
from mindgit.store.generation import (
    RunFormatError,
    RunParams,
    read_generation_commit,
    read_generation_run,
)
from mindgit.store.genome import Gene
from mindgit.store.refs import read_ref
from mindgit.store.repository import Store
from mindgit.sync.gate import check_update
from tests.conftest import FIXTURES

FITNESS = FIXTURES / "fitness"


def test_a_module_that_imports_wasi_is_refused_on_arrival(store: Store) -> None:
    wasm = wasmtime.wat2wasm((FITNESS / "hostile" / "wasi_import.wat").read_text())
    entry = store_module(store, bytes(wasm), "wasi")
    # As it arrives: its objects are here, no ref reaches it yet.
    store.repo.references.delete("refs/fitness/wasi")
    problems = check_update(store.repo, store.trust, "refs/fitness/wasi", None, entry.commit)
    assert [p.object for p in problems] == ["module.wasm"]
    assert "refused by the sandbox" in problems[0].reason
    good = store_module(store, bytes(wasmtime.wat2wasm((FITNESS / "onemax.wat").read_text())), "om")
    assert check_update(store.repo, store.trust, "refs/fitness/om", None, good.commit) == []


def test_a_run_under_another_name_is_refused(store: Store) -> None:
    store.set_genes([Gene.make(f"x{i}", "float", 1.0, min=-5.12, max=5.12) for i in range(2)])
    run = start_run(store, str(FITNESS / "rastrigin.wat"), RunParams(population=4, generations=1))
    tip = read_ref(store.repo, f"refs/runs/{run.run_id}")
    assert tip is not None
    wrong = "refs/runs/0123456789ab"
    problems = check_update(store.repo, store.trust, wrong, None, tip)
    assert problems and "a run's ref is refs/runs/<its id>" in problems[0].reason
    assert check_update(store.repo, store.trust, f"refs/runs/{run.run_id}", None, tip) == []


def test_a_generation_s_run_is_read_alone_as_with_its_record(store: Store) -> None:
    """The gate names a run ref's run from run.json alone (the record was checked with its
    tree); what it reads, and how it fails on a commit that is no generation, are the whole
    read's."""
    store.set_genes([Gene.make("x0", "float", 1.0, min=-5.12, max=5.12)])
    run = start_run(store, str(FITNESS / "rastrigin.wat"), RunParams(population=4, generations=2))
    tip = read_ref(store.repo, f"refs/runs/{run.run_id}")
    assert tip is not None
    assert read_generation_run(store.repo, tip) == read_generation_commit(store.repo, tip).info
    head = store.head()
    errors = []
    for read in (read_generation_run, read_generation_commit):
        with pytest.raises(RunFormatError) as caught:
            read(store.repo, head)
        errors.append(str(caught.value))
    assert errors[0] == errors[1] and "not a generation" in errors[0]
