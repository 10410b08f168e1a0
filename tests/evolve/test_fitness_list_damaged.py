"""`mindgit fitness list` past a damaged refs/fitness/* ref: as `mindgit runs` with a damaged
run ref, every readable module is listed, each damaged ref is one line on stderr, exit 1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mindgit.evolve.fitness import add_fitness
from mindgit.store.fitness_store import FitnessRefCorrupt, scan_modules
from mindgit.store.repository import Store, open_store
from tests.conftest import Mg
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.evolve.test_damaged_refs import LISTED_KINDS, damage_fitness
from tests.evolve.test_readers_s7 import MISSING, git, one_line_each
from tests.snapshots import changed, snapshot


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fitness-list-damaged") / "s"
    add_fitness(new_store(path, float_genes(3)), RASTRIGIN)
    return path


@pytest.fixture
def store(made: Path, tmp_path: Path) -> Store:
    shutil.copytree(made, tmp_path / "s", symlinks=True)
    return open_store(tmp_path / "s")


def test_scan_lists_the_good_modules_beside_the_damaged(store: Store) -> None:
    words = damage_fitness(store, "blob")
    listing = scan_modules(store)
    assert [e.name for e in listing.modules] == ["rastrigin"]
    assert [d.ref for d in listing.damaged] == ["refs/fitness/aaa"]
    assert words in str(listing.damaged[0].error)


@pytest.mark.parametrize("kind", LISTED_KINDS)
def test_fitness_list_shows_the_readable_modules(store: Store, mg: Mg, kind: str) -> None:
    # It stopped at the first damaged ref, listing nothing: rastrigin sorts after aaa.
    good = mg("--store", str(store.path), "fitness", "list")
    assert good.code == 0, good.err
    words = damage_fitness(store, kind)
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "fitness", "list")
    assert r.code == 1, r.err
    assert r.out == good.out
    (line,) = one_line_each(r.err, 1)
    assert words in line, line
    assert changed(before, store.path) == []


@pytest.mark.parametrize("kind", LISTED_KINDS)
def test_fitness_list_json_keeps_the_modules_beside_the_damaged(
    store: Store, mg: Mg, kind: str
) -> None:
    good = mg("--store", str(store.path), "fitness", "list", "--json")
    assert good.code == 0, good.err
    listed = json.loads(good.out)
    words = damage_fitness(store, kind)
    r = mg("--store", str(store.path), "fitness", "list", "--json")
    assert r.code == 1, r.err
    doc = json.loads(r.out)
    # The error document `runs --json` fails with, the modules in it as listed on success.
    assert doc["type"] == "DamagedModules" and "refs/fitness/aaa" in doc["error"]
    assert doc["modules"] == listed
    assert [d["ref"] for d in doc["damaged"]] == ["refs/fitness/aaa"]
    assert words in doc["damaged"][0]["error"]
    one_line_each(r.err, 1)


def test_fitness_list_names_every_damaged_ref_once(store: Store, mg: Mg) -> None:
    blob = git(store, "hash-object", "-w", "--stdin", data=b"x\n")
    git(store, "update-ref", "refs/fitness/bbb", blob)
    (store.path / "refs" / "fitness" / "zzz").write_text(MISSING + "\n")
    r = mg("--store", str(store.path), "fitness", "list")
    assert r.code == 1
    assert [line.split("\t")[0] for line in r.out.splitlines()] == ["rastrigin"]
    lines = one_line_each(r.err, 2)
    assert "error: refs/fitness/bbb:" in lines[0] and "error: refs/fitness/zzz:" in lines[1]
    doc = json.loads(mg("--store", str(store.path), "fitness", "list", "--json").out)
    assert doc["error"] == "2 fitness refs cannot be read as fitness modules"


def test_the_hint_names_what_brings_a_lost_module_back(store: Store) -> None:
    # It said "fetch it again (git fetch)": a store has no fetch refspec, so that moved nothing.
    damage_fitness(store, "missing")
    (damaged,) = scan_modules(store).damaged
    assert isinstance(damaged.error, FitnessRefCorrupt)
    hint = damaged.error.hint or ""
    assert "git fetch" not in hint
    assert "mindgit pull PEER" in hint and MISSING in hint
    assert "update-ref -d refs/fitness/aaa" in hint


@pytest.mark.parametrize("kind", ["blob", "no-module"])
def test_the_hint_for_a_ref_at_no_module_says_repair_or_delete(store: Store, kind: str) -> None:
    damage_fitness(store, kind)
    (damaged,) = scan_modules(store).damaged
    hint = damaged.error.hint or ""
    assert "git fetch" not in hint
    assert "repair the ref, or delete it" in hint and "mindgit pull PEER" in hint
