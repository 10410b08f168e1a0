"""A bare `evolve --resume` chooses among the experiment's unfinished runs; a run another
process is evolving right now is none of them. It was taken as one: with it alone, the resume
tried it and said only that it was busy; beside a killed run, the two were called ambiguous and
the killed one could not be resumed without its id."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.run import (
    OnlyBusyRuns,
    find_resumable,
    resume_run,
    run_holder,
    run_lock,
    start_run,
)
from mindgit.store.generation import RunParams
from mindgit.store.repository import MINDGIT_DIR, Store
from tests.conftest import Mg
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.evolve.test_bad_input_audit import refused

PARAMS = RunParams(population=4, generations=6, seed=3)

_HOLDER = """
import sys, time
from mindgit.evolve.run import run_lock
from mindgit.store.repository import open_store
with run_lock(open_store(sys.argv[1]), sys.argv[2]):
    print("held", flush=True)
    sys.stdin.read()
"""


@contextmanager
def evolved_elsewhere(store: Store, run_id: str) -> Iterator[int]:
    """The run held, as a run being evolved holds it, by another process (its pid)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(store.path), run_id],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "held\n"
        yield proc.pid
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=60)


@pytest.fixture
def node(tmp_path: Path) -> Store:
    store = new_store(tmp_path / "s", float_genes(3))
    add_fitness(store, RASTRIGIN)
    return store


def stopped(store: Store, seed: int) -> str:
    params = RunParams(population=4, generations=6, seed=seed)
    return start_run(store, "rastrigin", params, should_stop=lambda: True).run_id


def test_the_run_being_evolved_is_not_chosen_beside_a_killed_one(node: Store) -> None:
    busy, killed = stopped(node, 1), stopped(node, 2)
    with evolved_elsewhere(node, busy):
        assert find_resumable(node) == killed
        assert resume_run(node).run_id == killed
    assert find_resumable(node) == busy


def test_a_run_being_evolved_alone_is_named_with_its_process(node: Store, mg: Mg) -> None:
    run_id = stopped(node, 1)
    with evolved_elsewhere(node, run_id) as pid:
        assert run_holder(node, run_id) == pid
        with pytest.raises(OnlyBusyRuns) as e:
            find_resumable(node)
        assert f"run {run_id} is being evolved by pid {pid}" in str(e.value)
        refused(
            mg, node.path, "evolve", "-q", "--resume",
            code=1, words=f"run {run_id} is being evolved by pid {pid} right now",
        )  # fmt: skip
        # Named, it is still refused as busy, as before.
        refused(mg, node.path, "evolve", "-q", "--resume", run_id, code=1, words="another process")
    assert run_holder(node, run_id) is False
    assert resume_run(node).complete


def test_looking_at_a_run_creates_nothing(node: Store) -> None:
    run_id = stopped(node, 1)
    locks = node.path / MINDGIT_DIR / "runs"
    (locks / f"{run_id}.lock").unlink()
    assert run_holder(node, run_id) is False
    assert not (locks / f"{run_id}.lock").exists()
    assert find_resumable(node) == run_id
    assert not (locks / f"{run_id}.lock").exists()


def test_the_lock_file_names_its_holder_while_it_holds_it(node: Store) -> None:
    run_id = stopped(node, 1)
    lock = node.path / MINDGIT_DIR / "runs" / f"{run_id}.lock"
    assert lock.read_bytes() == b""
    with run_lock(node, run_id):
        assert lock.read_text() == f"{os.getpid()}\n"
    assert lock.read_bytes() == b""  # as it was: a refusal under the lock changes nothing
