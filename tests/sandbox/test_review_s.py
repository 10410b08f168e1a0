"""Review S: hostile modules whose own names or shapes ended up in error messages whole."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mindgit.sandbox import FitnessModule, ForbiddenImport, NotWasm, WrongExportType
from tests.conftest import Mg

# wasm allows names of up to 100,000 bytes; wasmparser refuses longer ones.
LONG = 99_000
HEAD = '(memory (export "memory") 1) (func (export "alloc") (param i32) (result i32) i32.const 16)'
FITNESS = '(func (export "fitness") (param i32 i32) (result f64) f64.const 1)'


def long_import() -> bytes:
    return f'(module (import "env" "{"A" * LONG}" (func)) {HEAD} {FITNESS})'.encode()


def test_a_long_import_name_is_cut_in_the_message() -> None:
    with pytest.raises(ForbiddenImport) as info:
        FitnessModule.load(long_import())
    message = str(info.value)
    assert len(message) < 400, len(message)
    assert f"({LONG} characters)" in message
    assert message.startswith("fitness module imports env.'AAAA")
    # The error keeps the names whole for a program that reads them.
    assert (info.value.module, info.value.name) == ("env", "A" * LONG)
    # A short name reads as before.
    with pytest.raises(ForbiddenImport) as short:
        FitnessModule.load(f'(module (import "env" "now" (func)) {HEAD} {FITNESS})'.encode())
    assert str(short.value).startswith("fitness module imports env.now; the fitness ABI")


def test_wasmtime_words_quoting_a_long_name_are_cut() -> None:
    name = "B" * LONG
    wat = f'(module {HEAD} (func (export "{name}")) (func (export "{name}")) {FITNESS})'
    with pytest.raises(NotWasm) as info:
        FitnessModule.load(wat.encode())
    assert "duplicate export name" in str(info.value)
    assert len(str(info.value)) < 500
    assert name in info.value.detail


def test_a_wrong_export_with_a_thousand_parameters_is_cut() -> None:
    params = "i32 " * 1000
    wat = f'(module {HEAD} (func (export "fitness") (param {params}) (result f64) f64.const 1))'
    with pytest.raises(WrongExportType) as info:
        FitnessModule.load(wat.encode())
    assert len(str(info.value)) < 500
    assert info.value.actual.count("i32") == 1000


def test_fitness_add_of_such_a_module_prints_one_short_line(tmp_path: Path, mg: Mg) -> None:
    store = tmp_path / "store"
    assert mg("init", str(store), "--name", "alpha").code == 0
    module = tmp_path / "hostile.wat"
    module.write_bytes(long_import())
    result = mg("--store", str(store), "fitness", "add", str(module))
    assert result.code == 1
    assert result.err.count("\n") == 1 and len(result.err) < 600, len(result.err)
    assert "ForbiddenImport" not in result.out
    refs = subprocess.run(
        ["git", "--git-dir", str(store), "for-each-ref", "refs/fitness/"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert refs.stdout == ""
