"""Every hostile module in fixtures/fitness/hostile gives its own named error, never a hang or a
crash, and nothing of a module runs before its imports and exports are checked."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mindgit.sandbox import (
    AbiViolation,
    FitnessModule,
    ForbiddenImport,
    FuelExhausted,
    InvalidScore,
    Limits,
    MemoryLimitExceeded,
    MissingExport,
    ModuleAborted,
    NotWasm,
    SandboxError,
    StackOverflow,
    TableLimitExceeded,
    Trap,
    WrongExportType,
)
from tests.sandbox.helpers import HOSTILE

EMPTY = b'{"genome":{},"schema":1}'

# Refused by FitnessModule.load: nothing of the module runs.
AT_LOAD: dict[str, type[SandboxError]] = {
    "abort_wrong_type.wat": ForbiddenImport,
    "clock_import.wat": ForbiddenImport,
    "wasi_import.wat": ForbiddenImport,
    "missing_alloc.wat": MissingExport,
    "missing_fitness.wat": MissingExport,
    "missing_memory.wat": MissingExport,
    "memory_not_memory.wat": WrongExportType,
    "wrong_signature.wat": WrongExportType,
    "wrong_batch_signature.wat": WrongExportType,
    "not_wasm.wat": NotWasm,
    "relaxed_simd.wat": NotWasm,
    "shared_memory.wat": NotWasm,
}

# Loaded, then refused when scoring.
AT_SCORE: dict[str, type[SandboxError]] = {
    "abort_call.wat": ModuleAborted,
    "bad_alloc.wat": AbiViolation,
    "big_table.wat": TableLimitExceeded,
    "divide_by_zero.wat": Trap,
    "inf_score.wat": InvalidScore,
    "infinite_loop.wat": FuelExhausted,
    "memory_bomb.wat": MemoryLimitExceeded,
    "memory_bomb_spin.wat": MemoryLimitExceeded,
    "memory_grow_once.wat": MemoryLimitExceeded,
    "memory_huge.wat": MemoryLimitExceeded,
    "nan_score.wat": InvalidScore,
    "out_of_bounds.wat": Trap,
    "recursion.wat": StackOverflow,
    "start_loop.wat": FuelExhausted,
    "unreachable.wat": Trap,
}

# Not failures: modules that test what the sandbox does between evaluations (test_batch.py).
BEHAVIOURAL = {"selective.wat", "stateful.wat"}


def wasm(name: str) -> bytes:
    return (HOSTILE / name).read_bytes()


def test_every_hostile_module_is_tested() -> None:
    shipped = {p.name for p in HOSTILE.glob("*.wat")}
    assert shipped == set(AT_LOAD) | set(AT_SCORE) | BEHAVIOURAL


@pytest.mark.parametrize("name", sorted(AT_LOAD))
def test_refused_at_load(name: str) -> None:
    with pytest.raises(AT_LOAD[name]):
        FitnessModule.load(wasm(name))


@pytest.mark.parametrize("name", sorted(AT_SCORE))
def test_refused_when_scoring(name: str) -> None:
    module = FitnessModule.load(wasm(name))
    with pytest.raises(AT_SCORE[name]):
        module.score(EMPTY)
    # And again: a failed evaluation leaves nothing behind that changes the next one.
    with pytest.raises(AT_SCORE[name]):
        module.score(EMPTY)


def test_forbidden_imports_are_named() -> None:
    with pytest.raises(ForbiddenImport) as info:
        FitnessModule.load(wasm("wasi_import.wat"))
    assert (info.value.module, info.value.name) == ("wasi_snapshot_preview1", "fd_write")
    assert "wasi_snapshot_preview1.fd_write" in str(info.value)
    with pytest.raises(ForbiddenImport) as info:
        FitnessModule.load(wasm("clock_import.wat"))
    assert (info.value.module, info.value.name) == ("env", "now")
    with pytest.raises(ForbiddenImport) as info:
        FitnessModule.load(wasm("abort_wrong_type.wat"))
    assert (info.value.module, info.value.name) == ("env", "abort")
    assert "(f64) -> ()" in str(info.value)


def test_missing_and_wrong_exports_are_named() -> None:
    for name, export in [
        ("missing_alloc.wat", "alloc"),
        ("missing_fitness.wat", "fitness"),
        ("missing_memory.wat", "memory"),
    ]:
        with pytest.raises(MissingExport) as missing:
            FitnessModule.load(wasm(name))
        assert missing.value.name == export
    with pytest.raises(WrongExportType) as wrong:
        FitnessModule.load(wasm("wrong_signature.wat"))
    assert wrong.value.name == "fitness"
    assert wrong.value.expected == "func (i32, i32) -> f64"
    assert wrong.value.actual == "func (i32, i32) -> i32"
    with pytest.raises(WrongExportType) as wrong:
        FitnessModule.load(wasm("wrong_batch_signature.wat"))
    assert wrong.value.name == "fitness_batch"
    with pytest.raises(WrongExportType) as wrong:
        FitnessModule.load(wasm("memory_not_memory.wat"))
    assert wrong.value.name == "memory"


def test_disabled_features_say_so() -> None:
    with pytest.raises(NotWasm) as info:
        FitnessModule.load(wasm("relaxed_simd.wat"))
    assert "relaxed SIMD support is not enabled" in str(info.value)
    with pytest.raises(NotWasm) as info:
        FitnessModule.load(wasm("shared_memory.wat"))
    assert "threads must be enabled" in str(info.value)


def test_fuel_error_carries_the_budget() -> None:
    module = FitnessModule.load(wasm("infinite_loop.wat"), limits=Limits(fuel=123_456))
    with pytest.raises(FuelExhausted) as info:
        module.score(EMPTY)
    assert info.value.fuel == 123_456
    assert info.value.reason == "fuel"
    assert "123456" in str(info.value)


def test_memory_errors_carry_the_limit() -> None:
    limit = 4 << 20
    module = FitnessModule.load(wasm("memory_bomb.wat"), limits=Limits(memory_bytes=limit))
    with pytest.raises(MemoryLimitExceeded) as info:
        module.score(EMPTY)
    assert info.value.limit == limit
    # Seen wanting more than the cap (a second run with twice the room shows how much).
    assert info.value.used is not None and limit < info.value.used <= 2 * limit
    grow_once = FitnessModule.load(wasm("memory_grow_once.wat"))
    with pytest.raises(MemoryLimitExceeded) as info:
        grow_once.score(EMPTY)
    assert info.value.used is not None and info.value.used >= 3000 * 65536
    # Asking for more than twice the cap in one step keeps the module's own error.
    small = FitnessModule.load(wasm("memory_grow_once.wat"), limits=Limits(memory_bytes=64 << 20))
    with pytest.raises(Trap):
        small.score(EMPTY)
    # With room enough, growing is fine.
    big = FitnessModule.load(wasm("memory_grow_once.wat"), limits=Limits(memory_bytes=256 << 20))
    assert big.score(EMPTY) == 0.0
    module = FitnessModule.load(wasm("memory_huge.wat"))
    with pytest.raises(MemoryLimitExceeded) as info:
        module.score(EMPTY)
    assert info.value.limit == Limits().memory_bytes
    # Under a cap it fits in, the same module is fine.
    roomy = FitnessModule.load(wasm("memory_huge.wat"), limits=Limits(memory_bytes=512 << 20))
    assert roomy.score(EMPTY) == 0.0


def test_table_error_carries_the_limit() -> None:
    module = FitnessModule.load(wasm("big_table.wat"), limits=Limits(table_elements=500))
    with pytest.raises(TableLimitExceeded) as info:
        module.score(EMPTY)
    assert info.value.limit == 500
    roomy = FitnessModule.load(wasm("big_table.wat"), limits=Limits(table_elements=2_000_000))
    assert roomy.score(EMPTY) == 0.0


def test_stack_overflow_names_the_stack_size() -> None:
    module = FitnessModule.load(wasm("recursion.wat"), limits=Limits(stack_bytes=256 << 10))
    with pytest.raises(StackOverflow) as info:
        module.score(EMPTY)
    assert info.value.stack_bytes == 256 << 10


def test_trap_message_is_one_line_without_backtrace() -> None:
    for name, text, code in [
        ("unreachable.wat", "wasm `unreachable` instruction executed", "unreachable"),
        ("divide_by_zero.wat", "integer divide by zero", "integer_division_by_zero"),
        ("out_of_bounds.wat", "out of bounds memory access", "memory_out_of_bounds"),
    ]:
        with pytest.raises(Trap) as info:
            FitnessModule.load(wasm(name)).score(EMPTY)
        assert info.value.message == text
        assert info.value.code == code
        assert "\n" not in str(info.value)


def test_abort_reads_the_assemblyscript_message() -> None:
    with pytest.raises(ModuleAborted) as info:
        FitnessModule.load(wasm("abort_call.wat")).score(EMPTY)
    error = info.value
    assert (error.text, error.file, error.line, error.column) == ("boom", "hostile.ts", 7, 3)
    assert error.reason == "abort"
    assert isinstance(error, Trap)
    assert "boom at hostile.ts:7:3" in str(error)


def test_invalid_scores_carry_the_value() -> None:
    with pytest.raises(InvalidScore) as info:
        FitnessModule.load(wasm("inf_score.wat")).score(EMPTY)
    assert info.value.value == float("inf")
    with pytest.raises(InvalidScore) as info:
        FitnessModule.load(wasm("nan_score.wat")).score(EMPTY)
    assert info.value.value != info.value.value


def test_bad_alloc_is_never_written_through() -> None:
    module = FitnessModule.load(wasm("bad_alloc.wat"))
    with pytest.raises(AbiViolation) as info:
        module.score(EMPTY)
    assert "2147418112" in str(info.value)
    with pytest.raises(AbiViolation):
        module.score_batch([[1.0]], 1)


def test_hostile_modules_in_a_fresh_interpreter() -> None:
    """Python itself survives them all: a crash would kill this child, not the test run, and the
    lines it printed before would show which module did it."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mindgit.sandbox import FitnessModule, SandboxError\n"
        "for path in sys.argv[1:]:\n"
        "    m = FitnessModule.load(Path(path).read_bytes())\n"
        "    try:\n"
        "        m.score(b'{}')\n"
        "        print(Path(path).name, 'scored', flush=True)\n"
        "    except SandboxError as e:\n"
        "        print(Path(path).name, type(e).__name__, flush=True)\n"
    )
    names = sorted(AT_SCORE)
    done = subprocess.run(
        [sys.executable, "-c", script, *(str(HOSTILE / name) for name in names)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert done.stdout.splitlines() == [f"{name} {AT_SCORE[name].__name__}" for name in names]
