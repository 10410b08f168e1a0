"""Review: a module whose alloc breaks the ABI only for a whole population's batch.

`stateful.wat` (a shipped hostile fixture) answers every alloc with address 1024 in its one
64 KiB page: a state alone fits, 300 vectors of 32 genes (79,200 bytes) do not. The start state
scored fine, so the run was accepted (the module stored, a lock file made) and then died at
generation 0 with "broke the fitness ABI": a refused run must leave the store as it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.evolve.run import start_run
from mindgit.sandbox.errors import AbiViolation
from mindgit.store.generation import RunParams
from tests.conftest import Mg
from tests.evolve.helpers import HOSTILE, float_genes, new_store
from tests.snapshots import changed, snapshot

STATEFUL = HOSTILE / "stateful.wat"


def test_a_batch_alloc_outside_memory_refuses_the_run_and_changes_nothing(tmp_path: Path) -> None:
    store = new_store(tmp_path / "a", float_genes(32))
    before = snapshot(store.path)
    with pytest.raises(AbiViolation, match=r"alloc\(79200\) returned 1024"):
        start_run(store, str(STATEFUL), RunParams(population=300, generations=2))
    assert changed(before, store.path) == []


def test_the_same_module_runs_when_the_batch_fits(tmp_path: Path) -> None:
    store = new_store(tmp_path / "a", float_genes(32))
    r = start_run(store, str(STATEFUL), RunParams(population=8, generations=2))
    assert r.complete


def test_through_the_cli_it_is_one_line_and_exit_1(tmp_path: Path, mg: Mg) -> None:
    store = new_store(tmp_path / "a", float_genes(32))
    before = snapshot(store.path)
    r = mg(f"--store={store.path}", "evolve", f"--fitness={STATEFUL}", "--population=300")
    assert r.code == 1 and "broke the fitness ABI" in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1
    assert changed(before, store.path) == []
