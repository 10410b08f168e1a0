"""`mindgit fitness add` never repoints a name to other bytes unless told to (--force)."""

from __future__ import annotations

import json
from pathlib import Path

import pygit2
import pytest

from mindgit.evolve.fitness import add_fitness, to_wasm
from mindgit.store.fitness_store import (
    FITNESS_PREFIX,
    FitnessNameTaken,
    module_cid,
    store_module,
    stored_under,
)
from mindgit.store.repository import Store
from tests.conftest import FIXTURES, Mg

RASTRIGIN = FIXTURES / "fitness" / "rastrigin.wat"
ONEMAX = FIXTURES / "fitness" / "onemax.wat"


def fitness_refs(store: Store) -> dict[str, str]:
    repo = store.repo
    return {
        r: str(repo.lookup_reference(r).target)
        for r in repo.references
        if r.startswith(FITNESS_PREFIX)
    }


def test_store_module_without_replace(store: Store) -> None:
    wasm = to_wasm(ONEMAX.read_bytes())
    first = add_fitness(store, RASTRIGIN, "x", replace=False)  # a free name
    again = store_module(store, to_wasm(RASTRIGIN.read_bytes()), "x", replace=False)
    assert again == first  # the same bytes
    before = fitness_refs(store)
    with pytest.raises(FitnessNameTaken) as e:
        store_module(store, wasm, "x", replace=False)
    assert fitness_refs(store) == before
    assert (e.value.name, e.value.stored, e.value.offered) == ("x", first.cid, module_cid(wasm))
    assert "--force" in str(e.value.hint)
    assert stored_under(store, "x") == first and stored_under(store, "y") is None


def test_another_module_under_a_taken_name_is_refused(mg: Mg, store: Store) -> None:
    s = str(store.path)
    assert mg("--store", s, "fitness", "add", str(RASTRIGIN), "--name", "x").code == 0
    before = fitness_refs(store)
    r = mg("--store", s, "fitness", "add", str(ONEMAX), "--name", "x")
    assert r.code == 1 and r.out == ""
    assert len(r.err.splitlines()) == 1
    assert "fitness module 'x' already holds" in r.err and "--force" in r.err
    assert fitness_refs(store) == before
    # The file's stem as the name, too.
    copy = store.path.parent / "x.wat"
    copy.write_bytes(ONEMAX.read_bytes())
    assert mg("--store", s, "fitness", "add", str(copy)).code == 1
    assert fitness_refs(store) == before


def test_the_same_bytes_again_is_a_no_op(mg: Mg, store: Store) -> None:
    s = str(store.path)
    first = mg("--store", s, "fitness", "add", str(RASTRIGIN), "--name", "x", "--json")
    before = fitness_refs(store)
    again = mg("--store", s, "fitness", "add", str(RASTRIGIN), "--name", "x", "--json")
    assert again.code == 0 and json.loads(again.out) == json.loads(first.out)
    assert json.loads(again.out)["replaced"] is None
    assert fitness_refs(store) == before


def test_force_repoints_and_keeps_the_old_version(mg: Mg, store: Store) -> None:
    s = str(store.path)
    old = json.loads(
        mg("--store", s, "fitness", "add", str(RASTRIGIN), "--name", "x", "--json").out
    )
    r = mg("--store", s, "fitness", "add", str(ONEMAX), "--name", "x", "--force", "--json")
    assert r.code == 0
    new = json.loads(r.out)
    assert new["replaced"] == old["module"] and new["module"] != old["module"]
    commit = store.repo[new["commit"]].peel(pygit2.Commit)
    assert [str(p) for p in commit.parent_ids] == [old["commit"]]
    r = mg("--store", s, "fitness", "add", str(ONEMAX), "--name", "x", "--force")
    assert r.code == 0 and r.out.strip() == new["module"] and "stored" in r.err


def test_a_missing_file_under_a_taken_name_names_the_file(
    mg: Mg, store: Store, tmp_path: Path
) -> None:
    s = str(store.path)
    assert mg("--store", s, "fitness", "add", str(RASTRIGIN), "--name", "x").code == 0
    r = mg("--store", s, "fitness", "add", str(tmp_path / "gone.wat"), "--name", "x")
    assert r.code == 1 and "gone.wat" in r.err and "Traceback" not in r.err
