"""Review S: a module's own names in error messages; a process stack smaller than the wasm stack;
NaN bits; ints past f64 in a batch; the table count; the host thread's floating-point mode (flush
to zero, rounding, traps) at evaluation and at compile time."""

from __future__ import annotations

import ctypes.util
import os
import platform
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mindgit.sandbox import (
    FitnessFailure,
    FitnessModule,
    ForbiddenImport,
    InvalidBatch,
    Limits,
    NotWasm,
    TableLimitExceeded,
    WrongExportType,
    genome_vector,
)
from tests.conftest import Mg
from tests.sandbox.helpers import FITNESS as FITNESS_DIR
from tests.sandbox.helpers import HOSTILE

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


def small_stack(size: int) -> Callable[[], None]:
    """A ``preexec_fn``: the child's main thread gets a ``size``-byte stack (``ulimit -s``)."""

    def limit() -> None:
        hard = resource.getrlimit(resource.RLIMIT_STACK)[1]
        resource.setrlimit(resource.RLIMIT_STACK, (size, hard))

    return limit


def test_a_stack_smaller_than_the_wasm_stack_is_refused_not_a_crash() -> None:
    """wasmtime lets a module recurse stack_bytes deep, trusting the thread's stack to hold that:
    under `ulimit -s 1024` a 2 MiB wasm stack ended Python with SIGSEGV (and so would a 512 KiB
    one under `ulimit -s 512`)."""
    script = (
        "import sys\n"
        "from mindgit.sandbox import FitnessModule, HostStackTooSmall, Limits\n"
        "module = FitnessModule.load(open(sys.argv[1], 'rb').read(), "
        "limits=Limits(stack_bytes=2 << 20))\n"
        "try:\n"
        "    module.score(b'{}')\n"
        "except HostStackTooSmall as e:\n"
        "    print(e.available, e.needed, e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(HOSTILE / "recursion.wat")],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=small_stack(1 << 20),
        check=False,
    )
    assert done.returncode == 0, (done.returncode, done.stderr)
    available, needed, message = done.stdout.split(" ", 2)
    assert int(available) == 1 << 20
    assert int(needed) > 2 << 20
    assert "ulimit -s" in message


def test_evolve_under_a_small_stack_fails_with_one_line_and_writes_nothing(
    tmp_path: Path,
) -> None:
    node = tmp_path / "node"
    env = {**os.environ, "HOME": str(tmp_path)}
    mindgit = [sys.executable, "-m", "mindgit"]
    made = subprocess.run(
        [*mindgit, "demo", "--keep", str(node), "--generations", "1"],
        capture_output=True,
        env=env,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    before = sorted(str(p.relative_to(node)) for p in node.rglob("*"))
    refs = subprocess.run(
        ["git", "--git-dir", str(node), "for-each-ref"], capture_output=True, check=True
    ).stdout
    done = subprocess.run(
        [*mindgit, "--store", str(node), "evolve", "--fitness", "rastrigin", "-q"],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=small_stack(512 << 10),
        check=False,
    )
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert done.stderr.count("\n") == 1
    assert "too small for a fitness module's 524288-byte wasm stack" in done.stderr
    assert sorted(str(p.relative_to(node)) for p in node.rglob("*")) == before
    assert (
        subprocess.run(
            ["git", "--git-dir", str(node), "for-each-ref"], capture_output=True, check=True
        ).stdout
        == refs
    )


# Each line: an operation whose NaN result the wasm spec leaves to the machine (x86 makes 0/0
# negative, ARM positive, payloads propagate or not), and the canonical bits it must have here.
NAN_OPERATIONS = [
    ("(i64.reinterpret_f64 (f64.div (f64.const 0) (f64.const 0)))", 0x7FF8000000000000),
    ("(i64.reinterpret_f64 (f64.sqrt (f64.const -1)))", 0x7FF8000000000000),
    ("(i64.reinterpret_f64 (f64.add (f64.const -nan:0x1234) (f64.const 1)))", 0x7FF8000000000000),
    ("(i64.reinterpret_f64 (f64.min (f64.const -nan:0x1234) (f64.const 1)))", 0x7FF8000000000000),
    ("(i64.reinterpret_f64 (f64.promote_f32 (f32.const -nan:0x1234)))", 0x7FF8000000000000),
    (
        "(i64.extend_i32_u (i32.reinterpret_f32 (f32.demote_f64 (f64.const -nan:0x1234))))",
        0x7FC00000,
    ),
    (
        "(i64x2.extract_lane 1 (f64x2.div (f64x2.splat (f64.const 0)) (f64x2.splat (f64.const 0))))",
        0x7FF8000000000000,
    ),
]


def test_nan_bits_are_the_same_on_every_machine() -> None:
    """A module can read a NaN's bits and score them: the engine canonicalises every NaN an
    operation makes, or a score would depend on the CPU that computed it."""
    checks = "".join(
        f"(if (i64.ne {op} (i64.const {bits})) (then (local.set $wrong (f64.add (local.get $wrong)"
        f" (f64.const {1 << k})))))"
        for k, (op, bits) in enumerate(NAN_OPERATIONS)
    )
    wat = (
        f'(module {HEAD} (func (export "fitness") (param i32 i32) (result f64) (local $wrong f64)'
        f" {checks} (local.get $wrong)))"
    )
    assert FitnessModule.load(wat.encode()).score(b"{}") == 0.0


def test_a_batch_or_genome_with_an_int_past_f64_is_refused_by_name() -> None:
    """float(10**400) raises OverflowError, which score_batch and genome_vector let out."""
    module = FitnessModule.load((FITNESS_DIR / "rastrigin.wat").read_bytes())
    with pytest.raises(InvalidBatch, match="too large for an f64"):
        module.score_batch([[1.0], [10**400]], 1)
    with pytest.raises(InvalidBatch, match="vector 0 is not a sequence"):
        module.score_batch([1.0], 1)  # type: ignore[list-item]
    assert genome_vector({"a": {"type": "int", "value": 10**400}}) is None
    assert genome_vector({"a": {"type": "floats", "value": [1, 10**400]}}) is None
    assert genome_vector({"a": {"type": "int", "value": 2**64 - 1}}) == (float(2**64 - 1),)


def test_a_module_of_nine_tables_is_over_the_table_limit_not_a_trap() -> None:
    """A store holds eight tables; a ninth was 'trapped: resource limit exceeded: table count
    too high at 9', reason 'trap', and retried with twice the memory as a trap is."""
    tables = "(table 1 funcref)" * 9
    module = FitnessModule.load(f"(module {HEAD} {tables} {FITNESS})".encode())
    with pytest.raises(TableLimitExceeded) as info:
        module.score(b"{}")
    assert info.value.tables == 8
    assert info.value.reason == "table"
    assert str(info.value) == (
        "fitness module defines more than 8 tables, the most a sandbox holds"
    )
    eight = FitnessModule.load(f"(module {HEAD} {'(table 1 funcref)' * 8} {FITNESS})".encode())
    assert eight.score(b"{}") == 1.0


# x86-64: stmxcsr [rsp-4]; or dword [rsp-4], 0x8040 (flush-to-zero, denormals-are-zero);
# ldmxcsr [rsp-4]; ret. What a library built with -ffast-math does when it is loaded.
SET_FLUSH_TO_ZERO = "0FAE5C24FC 814C24FC40800000 0FAE5424FC C3"
FLOAT_MODE_SCRIPT = """
import ctypes, ctypes.util, mmap, struct, sys
from mindgit.sandbox import FitnessModule, HostFloatModeChanged
# (a * 0.5) * 2**1000 + ((b + 2**-60) - b) * 2**60 + ((b - 2**-60) - b) * 2**60: 2**-23 for
# a = 2**-1022 and b = 1 in the default mode; 0 with flush-to-zero, 2**-23 + 256 rounding
# upward, 2**-23 - 128 rounding downward or toward zero.
wat = '''(module (memory (export "memory") 1) (func (export "alloc") (param i32) (result i32) i32.const 0)
  (func (export "fitness") (param i32 i32) (result f64) (local $b f64)
    (local.set $b (f64.load (i32.const 8)))
    (f64.add (f64.add
      (f64.mul (f64.mul (f64.load (i32.const 0)) (f64.const 0.5)) (f64.const 0x1p1000))
      (f64.mul (f64.sub (f64.add (local.get $b) (f64.const 0x1p-60)) (local.get $b)) (f64.const 0x1p60)))
      (f64.mul (f64.sub (f64.sub (local.get $b) (f64.const 0x1p-60)) (local.get $b)) (f64.const 0x1p60)))))'''
module = FitnessModule.load(wat.encode())
smallest_normal = struct.pack("<dd", 2.2250738585072014e-308, 1.0)
print(module.score(smallest_normal))
if sys.argv[1] == "flush":
    buf = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    buf.write(bytes.fromhex(sys.argv[2]))
    ctypes.CFUNCTYPE(None)(ctypes.addressof(ctypes.c_char.from_buffer(buf)))()
elif sys.argv[1] == "round":
    ctypes.CDLL(ctypes.util.find_library("m")).fesetround(int(sys.argv[2]))
else:
    ctypes.CDLL(ctypes.util.find_library("m")).feenableexcept(int(sys.argv[2]))
try:
    print(module.score(smallest_normal))
except HostFloatModeChanged as e:
    print(type(e).__name__, e.traps)
"""


def float_mode_run(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", FLOAT_MODE_SCRIPT, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86-64 machine code")
def test_a_flush_to_zero_mode_left_by_a_library_is_refused() -> None:
    """Compiled wasm inherits the thread's MXCSR: with flush-to-zero set (by any library the
    process loaded), (2**-1022 * 0.5) * 2**1000 scored 0.0 instead of 2**-23."""
    assert float_mode_run("flush", SET_FLUSH_TO_ZERO.replace(" ", "")) == [
        repr(2.0**-23),
        "HostFloatModeChanged",
        "False",
    ]


@pytest.mark.skipif(
    platform.machine() not in ("x86_64", "AMD64") or ctypes.util.find_library("m") is None,
    reason="x86-64's FE_UPWARD and FE_TOWARDZERO",
)
@pytest.mark.parametrize("mode", ["0x800", "0x400", "0xc00"])  # upward, downward, toward zero
def test_a_rounding_mode_left_by_a_library_is_refused(mode: str) -> None:
    """Rounding too: after fesetround the same module scored 2**-23 + 256 or 2**-23 - 128."""
    assert float_mode_run("round", str(int(mode, 16))) == [
        repr(2.0**-23),
        "HostFloatModeChanged",
        "False",
    ]


@pytest.mark.skipif(
    platform.machine() not in ("x86_64", "AMD64") or ctypes.util.find_library("m") is None,
    reason="glibc's feenableexcept on x86-64",
)
@pytest.mark.parametrize("exception", ["0x01", "0x20"])  # FE_INVALID, FE_INEXACT
def test_floating_point_traps_left_by_a_library_are_refused(exception: str) -> None:
    """With FE_INEXACT made a trap, this module's inexact sums ended Python with SIGFPE, which
    wasmtime does not catch outside its own trap sites (with FE_INVALID, any module's 0/0 did)."""
    assert float_mode_run("traps", str(int(exception, 16))) == [
        repr(2.0**-23),
        "HostFloatModeChanged",
        "True",
    ]


@pytest.mark.parametrize(
    ("tables", "limit"), [("(table 1 funcref)" * 9, 10_000), ("(table 600 funcref)", 500)]
)
def test_a_batch_over_the_table_limit_gives_failures_not_an_exception(
    tables: str, limit: int
) -> None:
    """score_batch reports each individual's failure as a value, reason "table" among them; the
    table limit was raised out of it instead (only fuel, stack, trap and memory were caught)."""
    batch = '(func (export "fitness_batch") (param i32 i32 i32 i32))'
    module = FitnessModule.load(
        f"(module {HEAD} {tables} {FITNESS} {batch})".encode(),
        limits=Limits(table_elements=limit),
    )
    for vectors in ([[1.0]], [[1.0], [2.0], [3.0]]):
        results = module.score_batch(vectors, 1)
        assert [r.reason for r in results if isinstance(r, FitnessFailure)] == ["table"] * len(
            vectors
        )


CONSTANT_SUBNORMAL = (
    '(module (memory (export "memory") 1) (func (export "alloc") (param i32) (result i32) '
    'i32.const 0) (func (export "fitness") (param i32 i32) (result f64) (f64.mul (f64.mul '
    "(f64.const 0x1p-1022) (f64.const 0.5)) (f64.const 0x1p1000))))"
)
COMPILE_SCRIPT = """
import ctypes, mmap, sys
from pathlib import Path
from mindgit.sandbox import FitnessModule, HostFloatModeChanged
if sys.argv[1] == "flush":
    buf = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    buf.write(bytes.fromhex(sys.argv[2]))
    code = ctypes.c_char.from_buffer(buf)
    ctypes.CFUNCTYPE(None)(ctypes.addressof(code))()
try:
    module = FitnessModule.load(sys.argv[3].encode(), cache_dir=Path(sys.argv[4]))
except HostFloatModeChanged as e:
    print(type(e).__name__)
else:
    print("loaded")
    if sys.argv[1] != "flush":
        print(module.score(b"{}"))
"""


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86-64 machine code")
def test_a_module_is_not_compiled_under_flush_to_zero(tmp_path: Path) -> None:
    """Cranelift folds constant float arithmetic at compile time, in the compiling thread's mode:
    compiled under flush-to-zero, this module's (2**-1022 * 0.5) * 2**1000 became 0.0, and the
    cache served that code to the next process, whose own mode was the default."""
    cache_dir = tmp_path / "cache"

    def run(*args: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", COMPILE_SCRIPT, *args, CONSTANT_SUBNORMAL, str(cache_dir)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert run("flush", SET_FLUSH_TO_ZERO.replace(" ", "")) == ["HostFloatModeChanged"]
    assert list(cache_dir.rglob("*.cwasm")) == []
    assert run("default", "") == ["loaded", repr(2.0**-23)]
    assert len(list(cache_dir.rglob("*.cwasm"))) == 1


THREAD_SCRIPT = """
import sys, threading
from mindgit.sandbox import FitnessModule, HostStackTooSmall, StackOverflow
module = FitnessModule.load(open(sys.argv[1], 'rb').read())
def score():
    try:
        module.score(b'{}')
    except (HostStackTooSmall, StackOverflow) as e:
        print(type(e).__name__, getattr(e, 'available', ''), getattr(e, 'thread', ''))
threading.stack_size(int(sys.argv[2]))
thread = threading.Thread(target=score)
thread.start()
thread.join()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pthread_getattr_np")
def test_a_thread_whose_stack_is_smaller_than_the_wasm_stack_is_refused_not_a_crash() -> None:
    """A thread of 256 KiB (or of 520 KiB: the wasm stack's 512 KiB and a little) recursing in
    hostile/recursion.wat ended Python with SIGSEGV; the main thread's check did not cover it."""
    for size, expected in [
        (256 << 10, ["HostStackTooSmall", str(256 << 10), "True"]),
        (520 << 10, ["HostStackTooSmall"]),
        (1 << 20, ["StackOverflow"]),
    ]:
        done = subprocess.run(
            [sys.executable, "-c", THREAD_SCRIPT, str(HOSTILE / "recursion.wat"), str(size)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, (size, done.returncode, done.stderr)
        assert done.stdout.split()[: len(expected)] == expected
