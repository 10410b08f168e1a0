"""Fitness modules and runs read past a damaged ref: `fitness list`, `evolve --fitness`, a
lookup by CID, `runs --check` and `evolve --resume` name the damage in one line (exit 1) or
look past it, never stop with an internal error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.run import find_resumable, start_run
from mindgit.store.fitness_store import FitnessRefCorrupt, find_module, list_modules
from mindgit.store.generation import RunFormatError, RunParams
from mindgit.store.repository import Store, open_store
from tests.conftest import Mg
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.evolve.test_readers_s7 import MISSING, git, one_line_each, retip
from tests.snapshots import changed, snapshot


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("damaged-refs") / "s"
    store = new_store(path, float_genes(3))
    add_fitness(store, RASTRIGIN)
    run = start_run(store, "rastrigin", RunParams(population=4, generations=3, seed=3))
    return path, run.run_id


@pytest.fixture
def store(made: tuple[Path, str], tmp_path: Path) -> Store:
    shutil.copytree(made[0], tmp_path / "s", symlinks=True)
    return open_store(tmp_path / "s")


def damage_fitness(store: Store, kind: str) -> str:
    """refs/fitness/aaa damaged as ``kind``; words its error must hold."""
    ref = store.path / "refs" / "fitness" / "aaa"
    if kind == "blob":
        oid = git(store, "hash-object", "-w", "--stdin", data=b"x\n")
        git(store, "update-ref", "refs/fitness/aaa", oid)
        return f"refs/fitness/aaa: {oid} is not a commit"
    if kind == "missing":
        ref.write_text(MISSING + "\n")
        return f"refs/fitness/aaa: {MISSING} is missing from this repository"
    if kind == "junk-file":  # libgit2 lists no such ref: fitness list skipped it (exit 0)
        ref.write_text("junk\n")
        return "refs/fitness/aaa cannot be read (corrupted loose reference file"
    if kind == "dangling":  # a symbolic ref to nothing, which a lookup takes for no ref
        git(store, "symbolic-ref", "refs/fitness/aaa", "refs/fitness/nothing")
        return "refs/fitness/aaa cannot be read (it points at refs/fitness/nothing"
    assert kind == "no-module"  # a commit, but no module's
    git(store, "update-ref", "refs/fitness/aaa", store.head())
    return f"refs/fitness/aaa: {store.head()} holds no fitness.json and module.wasm"


KINDS = ["blob", "missing", "no-module"]
# Refs no lookup of a name reads, which only a listing meets.
LISTED_KINDS = [*KINDS, "junk-file", "dangling"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_damaged_fitness_ref_is_one_line(store: Store, mg: Mg, kind: str) -> None:
    # A bare assertion or KeyError in fitness_store: an internal error, exit 3.
    words = damage_fitness(store, kind)
    with pytest.raises(FitnessRefCorrupt, match=words):
        list_modules(store)
    before = snapshot(store.path)
    for args in (["fitness", "list"], ["evolve", "--fitness", "aaa", "--generations", "2"]):
        r = mg("--store", str(store.path), *args)
        assert r.code == 1, r.err
        (line,) = one_line_each(r.err, 1)
        assert words in line, line
    assert changed(before, store.path) == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_lookup_by_cid_looks_past_a_damaged_name(store: Store, kind: str) -> None:
    damage_fitness(store, kind)
    good = find_module(store, "rastrigin")
    assert find_module(store, str(good.cid)) == good


def test_a_cid_only_a_damaged_name_could_hold_names_the_damage(store: Store) -> None:
    words = damage_fitness(store, "missing")
    unknown = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    with pytest.raises(FitnessRefCorrupt, match=words):
        find_module(store, unknown)


def test_runs_check_names_a_generation_whose_record_is_lost(
    store: Store, made: tuple[Path, str], mg: Mg
) -> None:
    # recheck read the generation with a KeyError on the lost generation.json: exit 3.
    run_id = made[1]
    grandparent = git(store, "rev-parse", f"refs/runs/{run_id}~2")
    retip(store, run_id, grandparent, older_record=MISSING)
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "runs", "--check", run_id)
    assert r.code == 1, r.err
    (line,) = one_line_each(r.err, 1)
    assert f"names an object this store cannot read ({MISSING})" in line, line
    assert changed(before, store.path) == []


def test_resume_looks_past_another_damaged_run(store: Store, mg: Mg) -> None:
    # One damaged run ref anywhere stopped every `evolve --resume`.
    unfinished = start_run(
        store, "rastrigin", RunParams(population=4, generations=5, seed=4), should_stop=lambda: True
    )
    (store.path / "refs" / "runs" / "cccccccccccc").write_text(MISSING + "\n")
    assert find_resumable(store) == unfinished.run_id
    r = mg("--store", str(store.path), "evolve", "--resume", "-q")
    assert r.code == 0, r.err


def test_resume_with_only_a_damaged_run_names_it(store: Store) -> None:
    (store.path / "refs" / "runs" / "cccccccccccc").write_text(MISSING + "\n")
    with pytest.raises(RunFormatError, match="refs/runs/cccccccccccc"):
        find_resumable(store)


def test_a_module_whose_wasm_is_lost_is_named(store: Store, mg: Mg) -> None:
    # The entry read fine and reading the module's bytes was a KeyError (exit 3) in
    # `fitness list` (which sizes every module) and evolve.
    good = git(store, "rev-parse", "refs/fitness/rastrigin")
    meta = git(store, "rev-parse", f"{good}:fitness.json")
    tree = git(
        store,
        "mktree",
        "--missing",
        data=f"100644 blob {meta}\tfitness.json\n100644 blob {MISSING}\tmodule.wasm\n".encode(),
    )
    lost = git(store, "commit-tree", tree, "-m", "fitness: add lost")
    git(store, "update-ref", "refs/fitness/lost", lost)
    words = f"refs/fitness/lost: {lost} holds a module.wasm ({MISSING}) is missing"
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "fitness", "list")
    assert r.code == 1, r.err
    assert "rastrigin" in r.out  # the readable module is still listed
    (line,) = one_line_each(r.err, 1)
    assert words in line, line
    r = mg("--store", str(store.path), "evolve", "--fitness", "lost", "--generations", "2")
    assert r.code == 1, r.err
    (line,) = one_line_each(r.err, 1)
    assert words in line, line
    assert changed(before, store.path) == []
