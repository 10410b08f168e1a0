"""Fitness modules in the store: added only when the sandbox accepts them, found by name or CID."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest
import wasmtime

from mindgit.errors import UsageError
from mindgit.evolve.fitness import (
    FitnessFileError,
    add_fitness,
    add_fitness_bytes,
    limits_for,
    parse_size,
    resolve_fitness,
)
from mindgit.ipld.cid import CID, RAW
from mindgit.sandbox import ForbiddenImport, MissingExport, NotWasm
from mindgit.store.fitness_store import (
    FITNESS_PREFIX,
    NotAWasmBinary,
    UnknownFitness,
    check_fitness_module_tree,
    find_module,
    list_modules,
    read_module,
    store_module,
)
from mindgit.store.generation_check import check_fitness_tree
from mindgit.store.repository import Store
from mindgit.store.settings import BadConfigValue
from mindgit.store.verify import verify_commits
from tests.conftest import fsck
from tests.evolve.helpers import HOSTILE, ONEMAX, RASTRIGIN


def wasm_of(path: Path) -> bytes:
    return bytes(wasmtime.wat2wasm(path.read_text()))


def test_add_stores_the_wasm_under_its_raw_cid(store: Store) -> None:
    entry = add_fitness(store, RASTRIGIN)
    wasm = wasm_of(RASTRIGIN)
    assert entry.name == "rastrigin"
    assert entry.cid == CID.of(wasm, RAW) and str(entry.cid).startswith("bafkrei")
    assert read_module(store, entry) == wasm
    assert [e.name for e in list_modules(store)] == ["rastrigin"]
    commit = store.repo[entry.commit].peel(pygit2.Commit)
    assert f"Mindgit-Module: {entry.cid}" in commit.message
    assert list(check_fitness_tree(store.repo, commit.tree)) == []
    report = verify_commits(store.repo, store.trust, [entry.commit])
    assert report.ok, report.problems
    fsck(store.path)


def test_adding_again_is_idempotent_and_a_new_version_keeps_the_old(store: Store) -> None:
    first = add_fitness(store, RASTRIGIN)
    assert add_fitness(store, RASTRIGIN) == first
    second = add_fitness(store, ONEMAX, "rastrigin")
    assert second.cid != first.cid
    commit = store.repo[second.commit].peel(pygit2.Commit)
    assert [str(p) for p in commit.parent_ids] == [first.commit]
    assert find_module(store, "rastrigin") == second
    assert find_module(store, str(first.cid)).cid == first.cid


@pytest.mark.parametrize(
    "name, error",
    [
        ("wasi_import.wat", ForbiddenImport),
        ("clock_import.wat", ForbiddenImport),
        ("missing_fitness.wat", MissingExport),
        ("not_wasm.wat", NotWasm),
    ],
)
def test_bad_modules_are_refused_before_anything_is_stored(
    store: Store, name: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        add_fitness(store, HOSTILE / name)
    assert not [r for r in store.repo.references if r.startswith(FITNESS_PREFIX)]


def test_binary_garbage_and_bad_names_are_refused(store: Store, tmp_path: Path) -> None:
    junk = tmp_path / "junk.wasm"
    junk.write_bytes(b"\x00\x01\x02garbage")
    with pytest.raises(NotWasm):
        add_fitness(store, junk)
    with pytest.raises(FitnessFileError):
        add_fitness(store, tmp_path / "missing.wat")
    with pytest.raises(UsageError):
        add_fitness(store, RASTRIGIN, "bad/name")
    for name in ("x.lock", "a..b", "a.b.", "a."):
        with pytest.raises(UsageError):
            add_fitness_bytes(store, RASTRIGIN.read_bytes(), name)
    with pytest.raises(NotAWasmBinary):
        store_module(store, b"(module)", "text")


def test_resolve_by_name_cid_or_path(store: Store, tmp_path: Path) -> None:
    by_path = resolve_fitness(store, str(RASTRIGIN))
    assert resolve_fitness(store, "rastrigin") == by_path
    assert resolve_fitness(store, str(by_path.cid)) == by_path
    with pytest.raises(UnknownFitness):
        resolve_fitness(store, "nosuch")
    with pytest.raises(UnknownFitness):
        resolve_fitness(store, str(CID.of(b"other", RAW)))
    with pytest.raises(FitnessFileError):
        resolve_fitness(store, str(tmp_path / "nosuch.wat"))


def test_limits_come_from_config_then_flags(store: Store) -> None:
    assert limits_for(store).memory_bytes == 128 << 20
    store.config_set("mindgit.fuel", "12345")
    store.config_set("mindgit.memory", "64M")
    limits = limits_for(store)
    assert (limits.fuel, limits.memory_bytes) == (12345, 64 << 20)
    assert limits_for(store, fuel=7, memory=1 << 20).fuel == 7
    for key, value in [("mindgit.memory", "lots"), ("mindgit.fuel", "0"), ("mindgit.stack", "3M")]:
        store.config_set(key, value)
        # Bad data in the config (exit 1): `mindgit evolve` exited 2, as for a wrong command line.
        with pytest.raises(BadConfigValue, match=key.replace(".", r"\.")) as raised:
            limits_for(store)
        assert raised.value.exit_code == 1
        store.config_set(key, "64k" if key != "mindgit.fuel" else "12345")


@pytest.mark.parametrize(
    "text, value",
    [("100", 100), ("64k", 65536), ("2M", 2 << 20), ("1GiB", 1 << 30), (" 8 mb", 8 << 20)],
)
def test_parse_size(text: str, value: int) -> None:
    assert parse_size(text, "x") == value


@pytest.mark.parametrize("text", ["", "0", "-1", "1T", "1.5M", "M"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(UsageError):
        parse_size(text, "--memory")


def test_fitness_tree_problems_are_named(store: Store) -> None:
    entry = add_fitness(store, RASTRIGIN)
    repo = store.repo
    commit = repo[entry.commit].peel(pygit2.Commit)

    def tree_with(**files: bytes) -> pygit2.Tree:
        tb = repo.TreeBuilder(commit.tree)
        for name, data in files.items():
            tb.insert(name.replace("_", "."), repo.create_blob(data), pygit2.enums.FileMode.BLOB)
        t = repo[tb.write()]
        assert isinstance(t, pygit2.Tree)
        return t

    assert list(check_fitness_module_tree(repo, tree_with(module_wasm=b"\0asm\x01\0\0\0")))
    assert list(check_fitness_module_tree(repo, tree_with(extra_txt=b"x")))
    assert list(check_fitness_module_tree(repo, tree_with(fitness_json=b'{"abi":2}')))
    assert list(check_fitness_module_tree(repo, tree_with(fitness_json=b"not json")))


def test_the_shipped_demo_module_is_the_rastrigin_fixture_compiled() -> None:
    from mindgit.demo import demo_module, demo_state

    assert demo_module() == wasm_of(RASTRIGIN)
    state, blocks = demo_state()
    assert len(state.genome) == 32 and set(blocks) == state.thoughts
    assert all(g.min == -5.12 and g.max == 5.12 for g in state.genome.values())
