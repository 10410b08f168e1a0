"""A compile is waited for at most ``compile_seconds`` (the gate's 60 s unless the caller says
otherwise): wasmtime's compile time grows with the square of a module's nesting, and only the
gate bounded it. `verify --recompute` compiled a claim's module (anyone's: a CI job re-runs what
a pull request brings) with no bound, before verify's own budget was reached: a module of
20,000 nested loops held it over a minute, 100,000 for hours."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mindgit.sandbox import COMPILE_SECONDS, CompileTooSlow, FitnessModule
from mindgit.sandbox.module import FitnessModule as _Module
from mindgit.store.generation import RunParams
from mindgit.store.repository import Store
from mindgit.sync import recompute as recompute_mod
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.sync.test_gate_dos import nested_loops

# ~1.5 s to compile on the 2-core development machine: a budget of 0.05 s refuses it on any
# machine up to ~30 times faster.
DEPTH = 3000
BUDGET = 0.05


@pytest.fixture(autouse=True)
def compiles_end_with_the_test() -> Iterator[None]:
    """A compile over its budget runs on to its end on a thread of its own: left running, it
    kept a later test of this process from forking (mindgit.store.split forks with no other
    thread running), and test_split's worker never started. Each test waits for its own."""
    yield
    for thread in threading.enumerate():
        if thread.name == "mindgit-compile":
            thread.join(timeout=300)
            assert not thread.is_alive(), "a compile this test started is still running"


def slow_rastrigin() -> bytes:
    """Rastrigin with an unexported function of DEPTH nested loops: a valid fitness module
    whose compile takes seconds."""
    loops = "(loop (br_if 0 (local.get 0)) " * DEPTH + ")" * DEPTH
    text = RASTRIGIN.read_text()
    head, _, _ = text.rstrip().rpartition(")")
    return f"{head}\n  (func $slow (param i32) {loops}))\n".encode()


def test_a_compile_over_the_budget_is_refused_at_the_budget() -> None:
    start = time.monotonic()
    with pytest.raises(CompileTooSlow) as e:
        FitnessModule.load(nested_loops(DEPTH), compile_seconds=BUDGET)
    assert time.monotonic() - start < 1.0
    assert "did not compile within 0.05 s" in str(e.value)


def test_no_time_left_compiles_nothing_but_a_cached_module_still_loads(tmp_path: Path) -> None:
    with pytest.raises(CompileTooSlow):
        FitnessModule.load(RASTRIGIN.read_bytes(), compile_seconds=0)
    FitnessModule.load(RASTRIGIN.read_bytes(), cache_dir=tmp_path, compile_seconds=5)
    module = FitnessModule.load(RASTRIGIN.read_bytes(), cache_dir=tmp_path, compile_seconds=0)
    assert module.score_batch([[0.0, 0.0]], 2) == [0.0]


def test_errors_of_the_compile_are_raised_as_they_were() -> None:
    from mindgit.sandbox import NotWasm

    with pytest.raises(NotWasm):
        FitnessModule.load(b"(module (func (export", compile_seconds=5)


def test_the_default_is_the_gates_budget() -> None:
    import inspect

    from mindgit.store.verify import MODULE_COMPILE_SECONDS

    default = inspect.signature(_Module.load).parameters["compile_seconds"].default
    assert default == COMPILE_SECONDS == MODULE_COMPILE_SECONDS


def test_recompute_refuses_a_module_over_its_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mindgit.evolve.run import start_run

    store: Store = new_store(tmp_path / "s", float_genes(2))
    wat = tmp_path / "slow.wat"
    wat.write_bytes(slow_rastrigin())
    run = start_run(store, str(wat), RunParams(population=2, generations=3, seed=1))
    monkeypatch.setattr(recompute_mod, "COMPILE_SECONDS", BUDGET)
    start = time.monotonic()
    # As a CI job runs it (verify --trust): no compiled-module cache.
    report = recompute_mod.recompute(store.repo, [run.tip], cache_dir=None)
    assert time.monotonic() - start < 1.0  # compiled (and waited for) once, not per claim
    reasons = {p.reason for p in report.problems}
    assert reasons == {
        f"cannot be re-checked: module {run_module(store, run.run_id)} did not compile within "
        "0.05 s, the time one recompute may spend compiling modules"
    }, reasons
    assert not report.ok and len(report.problems) == len(report.checked) == 3


def run_module(store: Store, run_id: str) -> str:
    from mindgit.evolve.runs import read_run

    tip = read_run(store.repo, run_id)
    assert tip is not None
    return str(tip.info.module)
