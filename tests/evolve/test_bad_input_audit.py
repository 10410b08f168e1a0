"""An audit of `mindgit evolve`'s refusals, resume and kill: a refused command prints one line,
exits non-zero and leaves the store byte for byte as it was (every file and directory under
it: refs, objects, config, logs, the private run locks and compiled-module cache)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.genes import GenomeCodec
from mindgit.evolve.operators import Mutator
from mindgit.evolve.persist import PersistFailed
from mindgit.evolve.prng import Stream
from mindgit.evolve.recheck import recheck
from mindgit.evolve.run import (
    NothingToResume,
    ParametersDiffer,
    Progress,
    resume_run,
    start_run,
)
from mindgit.identity.keys import NodeKey
from mindgit.ipld.cid import CID, RAW
from mindgit.store.fitness_store import list_modules
from mindgit.store.generation import RUNS_PREFIX, RunParams
from mindgit.store.genome import Gene
from mindgit.store.refs import read_ref
from mindgit.store.repository import MINDGIT_DIR, Store
from tests.conftest import Mg, fsck
from tests.evolve.helpers import HOSTILE, ONEMAX, RASTRIGIN, float_genes, new_store
from tests.evolve.test_kill import evolve_process, gone
from tests.evolve.test_run import fingerprint

SMALL = RunParams(population=6, generations=5, seed=3)


def tree_of(root: Path) -> dict[str, str]:
    """Every directory and file under ``root``, files with the SHA-256 of their bytes."""
    out: dict[str, str] = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs:
            out[os.path.relpath(os.path.join(directory, name), root) + "/"] = "dir"
        for name in files:
            path = os.path.join(directory, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def refused(mg: Mg, store: Path, *args: str, code: int, words: str) -> None:
    """``mindgit --store STORE ARGS`` fails with ``code`` and one line holding ``words``, and
    changes nothing under the store."""
    before = tree_of(store)
    r = mg("--store", str(store), *args)
    assert r.code == code, r.err
    assert words in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err, r.err
    assert changed(before, tree_of(store)) == []


@pytest.fixture
def node(tmp_path: Path) -> Store:
    store = new_store(tmp_path / "s", float_genes(3))
    add_fitness(store, RASTRIGIN)
    return store


def stopped_run(store: Store, params: RunParams = SMALL) -> str:
    """A run stopped after generation 0, as Ctrl-C leaves one."""
    return start_run(store, "rastrigin", params, should_stop=lambda: True).run_id


def as_fetched(store: Store) -> None:
    """Drop the node's private run locks: a run fetched from a peer has none here yet."""
    shutil.rmtree(store.path / MINDGIT_DIR / "runs", ignore_errors=True)


# ---- start: bad flags and names ------------------------------------------------------------


def _unknown_cid() -> str:
    return str(CID.of(b"no module has these bytes", RAW))


def _spelled(args: tuple[str, ...]) -> tuple[str, ...]:
    """Placeholders made real here: test ids must stay encodable (pytest-xdist sends them)."""
    real = {"@cid": _unknown_cid(), "@non-utf-8": os.fsdecode(b"bad\xff")}
    return tuple(real.get(a, a) for a in args)


@pytest.mark.parametrize(
    "args, code, words",
    [
        (("--fitness", "nosuch"), 1, "no fitness module named 'nosuch'"),
        (("--fitness", "@cid"), 1, "no fitness module with CID b"),
        (("--fitness", "missing/x.wat"), 1, "cannot read fitness module"),
        (("--fitness", "ev\x1b[31mil"), 1, "'ev\\x1b[31mil'"),
        (("--fitness", "@non-utf-8"), 1, "no fitness module"),
        (("--population", "0"), 2, "--population 0"),
        (("--population", "100001"), 2, "--population 100001"),
        (("--generations", "0"), 2, "--generations 0"),
        (("--generations", "-3"), 2, "--generations -3"),
        (("--mutation-rate", "-0.1"), 2, "--mutation-rate"),
        (("--mutation-rate", "1.5"), 2, "--mutation-rate"),
        (("--mutation-rate", "nan"), 2, "--mutation-rate nan"),
        (("--mutation-rate", "inf"), 2, "--mutation-rate inf"),
        (("--mutation-scale", "0"), 2, "--mutation-scale"),
        (("--mutation-scale", "-1"), 2, "--mutation-scale"),
        (("--mutation-scale", "nan"), 2, "--mutation-scale nan"),
        (("--mutation-scale", "inf"), 2, "--mutation-scale inf"),
        (("--crossover-rate", "nan"), 2, "--crossover-rate nan"),
        (("--crossover-rate", "1.0000001"), 2, "--crossover-rate"),
        (("--elite", "64"), 2, "--elite 64"),  # the default population is 64
        (("--population", "4", "--elite", "4"), 2, "--elite 4"),
        (("--elite", "-1"), 2, "--elite -1"),
        (("--tournament", "0"), 2, "--tournament 0"),
        (("--tournament", "1001"), 2, "--tournament 1001"),
        (("--seed", "-1"), 2, "--seed -1"),
        (("--seed", str(2**53)), 2, "--seed"),
        (("--seed", "9" * 40), 2, "--seed"),
        (("--fuel", "-5"), 2, "--fuel -5 is out of range; it must be positive"),
        (("--fuel", "0"), 2, "--fuel 0 is out of range; it must be positive"),
        (("--fuel", str(2**64)), 2, f"--fuel {2**64} is out of range; it must be at most"),
        (("--memory", "0"), 2, "--memory"),
        (("--memory", "99999999999G"), 2, "--memory '99999999999G' is out of range"),
        (("--memory", "lots"), 2, "not a size"),
        (("-e", "nosuch"), 1, "nosuch"),
        (("-e", "@non-utf-8"), 2, "is not an experiment name"),
    ],
)
def test_bad_start_flags_change_nothing(
    node: Store, mg: Mg, args: tuple[str, ...], code: int, words: str
) -> None:
    args = _spelled(args)
    if "--fitness" not in args:
        args = ("--fitness", "rastrigin", *args)
    refused(mg, node.path, "evolve", "-q", *args, code=code, words=words)


def test_a_file_name_that_is_no_module_name_is_refused_before_it_is_stored(
    node: Store, mg: Mg, tmp_path: Path
) -> None:
    odd = tmp_path / "ev\x1bil.wat"
    odd.write_bytes(RASTRIGIN.read_bytes())
    refused(
        mg,
        node.path,
        "evolve",
        "--fitness",
        str(odd),
        code=2,
        words="is not a valid fitness module name",
    )


def test_a_module_failing_on_the_start_state_leaves_no_trace(tmp_path: Path, mg: Mg) -> None:
    # A fresh store: nothing cached, no refs/fitness yet. The module given as a file used to be
    # stored (blob, tree, commit), its ref taken back out, and its compiled code kept.
    store = new_store(tmp_path / "s", float_genes(3))
    refused(
        mg,
        store.path,
        "evolve",
        "--fitness",
        str(HOSTILE / "unreachable.wat"),
        code=1,
        words="fails on the start state",
    )


def test_a_run_that_exists_is_refused_without_caching_anything(tmp_path: Path, mg: Mg) -> None:
    store = new_store(tmp_path / "s", float_genes(3))
    add_fitness(store, RASTRIGIN)
    stopped_run(store)  # so the experiment stays at the run's start
    # As on a node that fetched the run and never compiled the module itself.
    shutil.rmtree(store.path / MINDGIT_DIR / "wasm-cache")
    args = ["--population", "6", "--generations", "5", "--seed", "3", "--fitness", "rastrigin"]
    refused(mg, store.path, "evolve", *args, code=1, words="exists")


def test_no_evolvable_genes_given_a_file(tmp_path: Path, mg: Mg) -> None:
    store = new_store(tmp_path / "s", [Gene.make("label", "str", "fixed")])
    refused(
        mg, store.path, "evolve", "--fitness", str(RASTRIGIN), code=1, words="no evolvable genes"
    )


def test_a_store_that_is_not_a_store(tmp_path: Path, mg: Mg) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "x").write_text("not a store")
    for args in (("evolve", "--fitness", "x"), ("evolve", "--resume"), ("runs",)):
        refused(mg, plain, *args, code=1, words="is not a mindgit store")


# ---- resume --------------------------------------------------------------------------------


def test_resume_of_an_unknown_run_creates_no_lock(node: Store, mg: Mg) -> None:
    # It used to create <store>/mindgit/runs/ and a lock file for the run that is not there.
    refused(mg, node.path, "evolve", "--resume", "0123456789ab", code=1, words="no run")
    refused(mg, node.path, "evolve", "--resume", "zzz", code=2, words="not a run id")
    refused(mg, node.path, "evolve", "--resume", code=1, words="nothing to resume")


def test_refused_resumes_of_a_fetched_run_create_no_lock(node: Store, mg: Mg) -> None:
    run = stopped_run(node)
    as_fetched(node)
    refused(mg, node.path, "evolve", "--resume", run, "--seed", "4", code=2, words="seed 3")
    refused(mg, node.path, "evolve", "--resume", "--population", "7", code=2, words="population")
    resume_run(node, run)
    as_fetched(node)
    # Finished: resuming it again, by id or not, is refused and changes nothing.
    refused(mg, node.path, "evolve", "--resume", run, code=1, words="is complete")
    refused(mg, node.path, "evolve", "--resume", code=1, words="nothing to resume")


@pytest.mark.parametrize(
    "flag, value",
    [
        ("--fuel", "7"),
        ("--memory", "64M"),
        ("--minimize", None),
        ("--mutation-rate", "0.3"),
        ("--mutation-scale", "0.2"),
        ("--crossover-rate", "0.25"),
        ("--elite", "2"),
        ("--tournament", "4"),
        ("--generations", "6"),
        ("--fitness", str(ONEMAX)),
        ("--fitness", "nosuch"),
    ],
)
def test_resume_with_other_parameters_changes_nothing(
    node: Store, mg: Mg, flag: str, value: str | None
) -> None:
    stopped_run(node)
    args = [flag] if value is None else [flag, value]
    refused(mg, node.path, "evolve", "--resume", *args, code=2, words="nothing was changed")


def test_resume_takes_the_run_module_given_as_a_file_or_cid(node: Store, mg: Mg) -> None:
    # The same module named as --fitness takes it: a file used to be refused ("fitness ...
    # not '/path/rastrigin.wat'") though its bytes are the run's module.
    run = stopped_run(node)
    r = mg("--store", str(node.path), "evolve", "--resume", "--fitness", str(RASTRIGIN), "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["complete"] and json.loads(r.out)["run"] == run
    other = stopped_run(node, RunParams(population=6, generations=5, seed=4))
    (cid,) = [str(e.cid) for e in list_modules(node) if e.name == "rastrigin"]
    r = mg("--store", str(node.path), "evolve", "--resume", other, "--fitness", cid, "-q")
    assert r.code == 0, r.err


def test_resume_of_a_run_of_another_experiment_is_refused(node: Store, mg: Mg) -> None:
    # -e names the experiment to commit the result on; a run of another one used to be resumed
    # anyway and its result committed on its own experiment.
    run = stopped_run(node)
    node.fork("other", switch=True)
    as_fetched(node)
    refused(
        mg, node.path, "evolve", "--resume", run, "-e", "other", code=2, words="experiment 'main'"
    )
    refused(mg, node.path, "evolve", "--resume", "-e", "other", code=1, words="nothing to resume")
    with pytest.raises(ParametersDiffer):
        resume_run(node, run, experiment="other")
    r = resume_run(node, run, experiment="main")
    assert r.complete and r.result_experiment == "main"


def test_resume_after_the_module_name_moved_uses_the_run_module(tmp_path: Path, mg: Mg) -> None:
    reference = new_store(tmp_path / "ref", float_genes(3))
    whole = start_run(reference, str(RASTRIGIN), SMALL)
    store = new_store(tmp_path / "s", float_genes(3))
    add_fitness(store, RASTRIGIN)
    run = stopped_run(store)
    add_fitness(store, ONEMAX, "rastrigin")  # the name now holds another module
    refused(mg, store.path, "evolve", "--resume", "--fitness", "rastrigin", code=2, words="fitness")
    done = resume_run(store)
    assert done.run_id == run != whole.run_id  # each run's id holds its own start commit
    assert fingerprint(store, run) == fingerprint(reference, whole.run_id)
    assert done.best_state == whole.best_state
    with pytest.raises(NothingToResume):
        resume_run(store)
    fsck(store.path)


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc; writer dies with its parent on Linux"
)
def test_kill_then_resume_twice_with_the_module_name_moved(tmp_path: Path) -> None:
    # Enough generations that the writer cannot have written them all in two batches.
    params = RunParams(population=10, generations=40, seed=5)
    reference = new_store(tmp_path / "ref", float_genes(4))
    whole = start_run(reference, str(RASTRIGIN), params)
    store = new_store(tmp_path / "s", float_genes(4))
    add_fitness(store, RASTRIGIN)
    marker = tmp_path / "paused"
    args = ["--population", "10", "--generations", "40", "--seed", "5", "--fitness", "rastrigin"]
    env = {"PAUSE_POINT": "before-ref", "PAUSE_MARKER": str(marker), "PAUSE_AT": "1"}
    proc = evolve_process(store.path, [*args, "-q"], env)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.01)
    writer = int(marker.read_text() or "0")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert gone(writer)
    fsck(store.path)
    add_fitness(store, ONEMAX, "rastrigin")
    (ref,) = [r for r in store.repo.references if r.startswith(RUNS_PREFIX)]
    run = ref.removeprefix(RUNS_PREFIX)
    first = resume_run(store, run)
    assert first.complete and first.best_state == whole.best_state
    with pytest.raises(NothingToResume):
        resume_run(store, run)
    assert fingerprint(store, run) == fingerprint(reference, whole.run_id)
    fsck(store.path)


# ---- edge values that are accepted -----------------------------------------------------------


def test_an_int_gene_with_an_infinite_mutation_step(tmp_path: Path) -> None:
    # mutation_scale x range overflows to inf: round(inf) raised OverflowError (exit 3, an
    # internal error) in generation 0. Any finite step that large reflects and clamps to max.
    genes = [Gene.make("n", "int", 3, min=0, max=10), Gene.make("f", "float", 0.5, min=0, max=1)]
    store = new_store(tmp_path / "s", genes)
    params = RunParams(population=8, generations=4, seed=1, mutation_scale=1e308)
    r = start_run(store, str(RASTRIGIN), params)
    assert r.complete
    assert recheck(store, r.run_id).ok
    codec = GenomeCodec(store.state(), 1e308)
    values = list(codec.start_values)
    Mutator(codec, 1.0)(values, Stream.for_generation(1, 1))
    assert values[codec.slots.index(next(s for s in codec.slots if s.gene == "n"))] == 10
    assert math.isfinite(values[0]) and math.isfinite(values[1])
    fsck(store.path)


def test_tournament_larger_than_the_population_and_elite_one_short(node: Store) -> None:
    params = RunParams(population=3, generations=4, tournament=1000, elite=2, seed=2)
    r = start_run(node, "rastrigin", params)
    assert r.complete and recheck(node, r.run_id).ok


# ---- runs, lineage, plot -------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, code, words",
    [
        (("runs", "--check", "nosuch"), 2, "not a run id"),
        (("runs", "--check", ""), 2, "not a run id"),
        (("runs", "--check", "0123456789ab"), 1, "no run"),
        (("runs", "--check", "0123456789AB"), 2, "not a run id"),
        (("lineage", "nosuch"), 1, "'nosuch' names no state, commit or run"),
        (("lineage", "main"), 1, "not produced by a run"),
        (("lineage", "@cid"), 1, "not produced by a run"),
        (("lineage", "@non-utf-8"), 1, "'bad\\udcff' names no state"),
        (("lineage", "a\x1b[2Jb"), 1, "'a\\x1b[2Jb' names no state"),
        (("plot", "nosuch"), 2, "not a run id"),
        (("plot", "../../etc"), 2, "not a run id"),
        (("plot", "0123456789ab"), 1, "no run"),
    ],
)
def test_reading_commands_refuse_bad_input(
    node: Store, mg: Mg, args: tuple[str, ...], code: int, words: str
) -> None:
    args = _spelled(args)
    refused(mg, node.path, *args, code=code, words=words)


def test_plot_to_a_directory_is_one_line(node: Store, mg: Mg, tmp_path: Path) -> None:
    run = start_run(node, "rastrigin", SMALL).run_id
    refused(mg, node.path, "plot", run, "-o", str(tmp_path), code=2, words="is a directory")


@pytest.mark.parametrize("output", ["", "  "])
def test_plot_to_no_file_name_is_one_line(node: Store, mg: Mg, output: str) -> None:
    # Taken as a path, '' was the working directory: "-o . is a directory".
    run = start_run(node, "rastrigin", SMALL).run_id
    refused(mg, node.path, "plot", run, "-o", output, code=2, words="-o needs a file name")


def test_a_run_or_resume_waits_for_an_unfinished_key_rotation(node: Store, mg: Mg) -> None:
    # A rotation stopped halfway may have retired this key in the trust file already: a run
    # signed with it would never verify. Refused before anything is written, resume too.
    run_id = stopped_run(node)
    NodeKey.generate().save(node.pending_key_path, comment="alpha")
    for args in (
        ("evolve", "--fitness", "rastrigin", "--generations", "2"),
        ("evolve", "--resume"),
    ):
        refused(mg, node.path, *args, code=1, words="key rotation is unfinished")
    node.pending_key_path.unlink()
    assert resume_run(node, run_id).complete


def test_a_rotation_started_during_a_run_stops_it_before_the_next_generation(node: Store) -> None:
    # The writer took its key once: generations written after a rotation began would have been
    # signed with the key being retired. It looks for the rotation's pending key at each batch.
    pending = node.pending_key_path

    def rotate_once_written(progress: Progress) -> None:
        if pending.exists():
            return
        deadline = time.monotonic() + 30
        ref = f"refs/runs/{progress.run_id}"
        while read_ref(node.repo, ref) is None:  # a generation is on the run ref first
            assert time.monotonic() < deadline
            time.sleep(0.01)
        NodeKey.generate().save(pending, comment="alpha")

    params = RunParams(population=8, generations=40, seed=3)
    with pytest.raises(PersistFailed, match="a key rotation started while run"):
        start_run(node, "rastrigin", params, on_progress=rotate_once_written)
    pending.unlink()
    fsck(node.path)
    runs = [
        r.removeprefix("refs/runs/") for r in node.repo.references if r.startswith("refs/runs/")
    ]
    assert len(runs) == 1
    assert resume_run(node, runs[0]).complete
