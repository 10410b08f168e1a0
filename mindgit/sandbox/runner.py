"""Compiling, checking and running a fitness module under wasmtime.

Every evaluation (one state, or one whole batch) gets a fresh Store and instance, so nothing one
evaluation leaves in memory or globals can change another's score, and its fuel, memory and
table limits are its own. Copies between Python and wasm memory go straight through the
memory's base pointer, after a bounds check against its current length (memory can move when
it grows, so the pointer is re-read after every call into wasm).
"""

from __future__ import annotations

import array
import contextlib
import ctypes
import re
import struct
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar, cast

import wasmtime

from mindgit.sandbox import abi, cache
from mindgit.sandbox.engine import config_key, engine
from mindgit.sandbox.errors import (
    AbiViolation,
    CompileTooSlow,
    EvaluationError,
    FitnessFailure,
    ForbiddenImport,
    FuelExhausted,
    HostFloatModeChanged,
    HostResourcesFailed,
    HostStackTooSmall,
    MemoryLimitExceeded,
    MissingExport,
    ModuleAborted,
    NotWasm,
    StackOverflow,
    TableLimitExceeded,
    Trap,
    WrongExportType,
    check_score,
)
from mindgit.sandbox.limits import COMPILE_SECONDS, MAX_FUEL, MAX_MEMORY_BYTES, Limits

T = TypeVar("T")

_WASM_MAGIC = b"\0asm"
# Tables per store: ample for any toolchain's output, small enough that table_elements bounds
# the total.
_MAX_TABLES = 8
# env.abort messages are AssemblyScript strings; a longer one is cut.
_ABORT_TEXT_BYTES = 4096
_LITTLE_ENDIAN = sys.byteorder == "little"
_CAUSE_NUMBER = re.compile(r"^\s*\d+:\s*")


def _one_line(text: str) -> str:
    """wasmtime's multi-line error text as one line: its cause chain, without the backtrace."""
    head, _, causes = text.partition("Caused by:")
    lines = head.strip().splitlines()
    parts = []
    if lines and not lines[0].startswith("error while executing at wasm backtrace"):
        parts.append(lines[0].strip())
        where = next((line.split("-->", 1)[1].strip() for line in lines if "-->" in line), None)
        if where:
            parts[0] += f" (at {where.removeprefix('<anon>:')})"
    for line in causes.splitlines():
        line = _CAUSE_NUMBER.sub("", line).strip()
        if line:
            parts.append(line)
    return ": ".join(parts) if parts else text.strip()


def to_binary(wasm: bytes) -> bytes:
    """The module as a wasm binary; WAT text is assembled. Anything else is ``NotWasm``."""
    if wasm.startswith(_WASM_MAGIC):
        return wasm
    if not wasm or wasm[:1] == b"\0":
        raise NotWasm("the bytes start with neither the \\0asm magic nor WAT text")
    try:
        text = wasm.decode("utf-8-sig")  # a leading BOM, as some editors write, dropped
    except UnicodeDecodeError:
        raise NotWasm("no \\0asm magic, and not UTF-8 WAT text either") from None
    try:
        return bytes(wasmtime.wat2wasm(text))
    except wasmtime.WasmtimeError as exc:
        raise NotWasm(f"no \\0asm magic, and not valid WAT text: {_one_line(str(exc))}") from exc


def compile_module(
    wasm: bytes,
    digest: bytes,
    limits: Limits,
    cache_dir: Path | None,
    *,
    compile_seconds: float | None = COMPILE_SECONDS,
) -> wasmtime.Module:
    """Compile ``wasm`` (binary or WAT), or load its compiled code from the private cache.

    A compile is waited for at most ``compile_seconds`` (``CompileTooSlow``; None: for as long
    as it takes): wasmtime's compile time grows with the square of a module's nesting, and a
    module may be a peer's. A compile cannot be stopped: one over the budget goes on, on a
    daemon thread, until it ends or the process does (the callers refuse and move on)."""
    eng = engine(limits.stack_bytes)
    path = None
    if cache_dir is not None:
        path = cache.cache_file(cache_dir, config_key(limits.stack_bytes), digest)
        cached = cache.load(path, eng)
        if cached is not None:
            return cached
    if compile_seconds is None:
        module = _compile(eng, wasm)
    else:
        _check_float_mode()  # here too: the error is this thread's, raised before any thread
        module = _compile_within(eng, wasm, compile_seconds)
    if path is not None:
        # The cache only saves time: a full disk must not stop a module from loading.
        with contextlib.suppress(OSError):
            cache.store(path, module)
    return module


def _compile(eng: wasmtime.Engine, wasm: bytes) -> wasmtime.Module:
    # Cranelift folds a module's constant float arithmetic while compiling, in the FPU mode of
    # the compiling thread: code compiled under flush-to-zero computes 0 where a subnormal is due,
    # for good, and the cache would hand that code to every later process. (WAT's decimal float
    # literals are read in that mode too.)
    _check_float_mode()
    binary = to_binary(wasm)
    try:
        return wasmtime.Module(eng, binary)
    except wasmtime.WasmtimeError as exc:
        raise NotWasm(_one_line(str(exc))) from exc


def _compile_within(eng: wasmtime.Engine, wasm: bytes, seconds: float) -> wasmtime.Module:
    """:func:`_compile` on a thread of its own (wasmtime compiles without the GIL), waited for
    at most ``seconds``."""
    if seconds <= 0:  # no time left to wait: no compile started to run on unwatched
        raise CompileTooSlow(seconds)
    done = threading.Event()
    outcome: list[wasmtime.Module | BaseException] = []

    def work() -> None:
        try:
            outcome.append(_compile(eng, wasm))
        except BaseException as exc:  # handed to the waiting thread
            outcome.append(exc)
        finally:
            done.set()

    # A daemon: a caller that refuses a module over its budget must not wait for it to exit.
    threading.Thread(target=work, name="mindgit-compile", daemon=True).start()
    if not done.wait(seconds):
        raise CompileTooSlow(seconds)
    found = outcome[0]
    if isinstance(found, BaseException):
        raise found
    return found


def _signature(ty: wasmtime.FuncType) -> abi.Signature:
    return tuple(str(p) for p in ty.params), tuple(str(r) for r in ty.results)


def _describe(ty: object) -> str:
    if isinstance(ty, wasmtime.FuncType):
        return abi.describe_signature(_signature(ty))
    if isinstance(ty, wasmtime.MemoryType):
        return "a 64-bit memory" if ty.is_64 else "a shared memory" if ty.is_shared else "a memory"
    if isinstance(ty, wasmtime.GlobalType):
        return "a global"
    if isinstance(ty, wasmtime.TableType):
        return "a table"
    return type(ty).__name__


def check_imports(module: wasmtime.Module) -> bool:
    """Refuse every import the ABI does not name; True if the module imports env.abort."""
    wants_abort = False
    for imp in module.imports:
        name = imp.name or ""
        allowed = abi.ALLOWED_IMPORTS.get((imp.module, name))
        if allowed is None:
            raise ForbiddenImport(imp.module, name)
        if not isinstance(imp.type, wasmtime.FuncType) or _signature(imp.type) != allowed:
            raise ForbiddenImport(
                imp.module,
                name,
                f"as {_describe(imp.type)} instead of {abi.describe_signature(allowed)}",
            )
        wants_abort = True
    return wants_abort


def check_exports(module: wasmtime.Module) -> bool:
    """Check the exports the ABI names; True if the module has ``fitness_batch``."""
    exports = {exp.name: exp.type for exp in module.exports}
    memory = exports.get(abi.MEMORY_EXPORT)
    if memory is None:
        raise MissingExport(abi.MEMORY_EXPORT)
    if not isinstance(memory, wasmtime.MemoryType) or memory.is_64 or memory.is_shared:
        raise WrongExportType(abi.MEMORY_EXPORT, "a 32-bit unshared memory", _describe(memory))
    for name, sig in (*abi.REQUIRED_FUNCS.items(), *abi.OPTIONAL_FUNCS.items()):
        ty = exports.get(name)
        if ty is None:
            if name in abi.REQUIRED_FUNCS:
                raise MissingExport(name)
            continue
        if not isinstance(ty, wasmtime.FuncType) or _signature(ty) != sig:
            raise WrongExportType(name, abi.describe_signature(sig), _describe(ty))
    return abi.BATCH_EXPORT in exports


def _as_string(store: wasmtime.Caller, memory: wasmtime.Memory, ptr: int) -> str:
    """An AssemblyScript string (UTF-16LE, byte length at ptr - 4), read defensively."""
    ptr &= 0xFFFFFFFF
    size = memory.data_len(store)
    if ptr < 4 or ptr > size:
        return ""
    length = int.from_bytes(memory.read(store, ptr - 4, ptr), "little")
    end = min(ptr + min(length, _ABORT_TEXT_BYTES), size)
    return bytes(memory.read(store, ptr, end)).decode("utf-16-le", errors="replace")


def _abort(caller: wasmtime.Caller, message: int, file: int, line: int, column: int) -> None:
    memory = caller.get(abi.MEMORY_EXPORT)
    if isinstance(memory, wasmtime.Memory):
        raise ModuleAborted(
            _as_string(caller, memory, message), _as_string(caller, memory, file), line, column
        )
    raise ModuleAborted("", "", line, column)


# Native stack a wasm call needs beyond its max_wasm_stack: the host frames above the wasm ones
# (Python's, wasmtime's entry and trap handling) and a host call (env.abort) made at the deepest
# point. Measured: ~20 KiB from a short script, so this leaves room for a deep caller.
_HOST_STACK_RESERVE = 256 << 10


def _thread_stack_reader() -> Callable[[], int | None] | None:
    """A reader of the calling thread's stack size (``pthread_getattr_np``, Linux), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        this_thread = libc.pthread_self
        get_attributes = libc.pthread_getattr_np
        get_stack = libc.pthread_attr_getstack
        destroy = libc.pthread_attr_destroy
    except (AttributeError, OSError):
        return None
    this_thread.argtypes = []
    this_thread.restype = ctypes.c_void_p  # pthread_t: an unsigned long (glibc), a pointer (musl)
    get_attributes.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    get_stack.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(ctypes.c_size_t),
    ]
    destroy.argtypes = [ctypes.c_void_p]

    def read() -> int | None:
        attributes = ctypes.create_string_buffer(256)  # a pthread_attr_t is 56 or 64 bytes
        if get_attributes(this_thread(), attributes) != 0:
            return None
        try:
            base, size = ctypes.c_void_p(), ctypes.c_size_t()
            if get_stack(attributes, ctypes.byref(base), ctypes.byref(size)) != 0:
                return None
            return size.value
        finally:
            destroy(attributes)

    return read


def _main_stack_reader() -> Callable[[], int | None] | None:
    """A reader of the main thread's stack size (``ulimit -s``; None if unlimited), or None on a
    system without one."""
    try:
        import resource
    except ImportError:  # not a Unix
        return None

    def read() -> int | None:
        soft = resource.getrlimit(resource.RLIMIT_STACK)[0]
        return None if soft == resource.RLIM_INFINITY else soft

    return read


_MAIN_STACK_SIZE = _main_stack_reader()
_THREAD_STACK_SIZE = _thread_stack_reader()
# Each thread's stack size, read once (it cannot change).
_THREAD_STACKS = threading.local()


def _check_host_stack(stack_bytes: int) -> None:
    """Refuse to run wasm on a thread whose stack is smaller than the wasm stack wasmtime will
    let a module use, and some: past its end the process dies of SIGSEGV.

    The main thread's stack is ``ulimit -s``; another thread's is read where the system tells it
    (Linux), else left to the caller (docs/fitness-abi.md).
    """
    needed = stack_bytes + _HOST_STACK_RESERVE
    if threading.current_thread() is threading.main_thread():
        # Read each time: the limit can be changed (setrlimit), and it bounds the main thread's
        # growth when it is reached.
        main = _MAIN_STACK_SIZE() if _MAIN_STACK_SIZE is not None else None
        if main is not None and main < needed:
            raise HostStackTooSmall(stack_bytes, main, needed)
        return
    if _THREAD_STACK_SIZE is None:
        return
    size: int | None
    try:
        size = _THREAD_STACKS.size
    except AttributeError:
        size = _THREAD_STACKS.size = _THREAD_STACK_SIZE()
    if size is not None and size < needed:
        raise HostStackTooSmall(stack_bytes, size, needed, thread=True)


def _f64(bits: int) -> float:
    """The double of these bits, made without arithmetic (which the mode under test would touch,
    as it would the parsing of a decimal literal)."""
    value: float = struct.unpack("<d", bits.to_bytes(8, "little"))[0]
    return value


# Operands and the exact results IEEE 754's default mode gives (round to nearest, subnormals
# kept), as bits: the smallest normal halved (0 if results are flushed to zero), the smallest
# subnormal plus zero (0 if operands are), and 1 + 2**-60, -1 - 2**-60, 1 - 2**-60 (each 1 or -1
# only when rounding to nearest). Compared as bytes: comparing floats is itself subject to the
# mode (a subnormal equals 0 when operands are flushed).
_SMALLEST_NORMAL = _f64(0x0010000000000000)
_HALF = _f64(0x3FE0000000000000)
_SMALLEST_SUBNORMAL = _f64(0x0000000000000001)
_ZERO = _f64(0)
_ONE = _f64(0x3FF0000000000000)
_TINY = _f64(0x3C30000000000000)  # 2**-60
_DEFAULT_MODE_RESULTS = b"".join(
    bits.to_bytes(8, "little")
    for bits in (
        0x0008000000000000,
        0x0000000000000001,
        0x3FF0000000000000,
        0xBFF0000000000000,
        0x3FF0000000000000,
    )
)
_PACK_RESULTS = struct.Struct("<5d").pack


def _float_traps_reader() -> Callable[[], int] | None:
    """C's ``fegetexcept`` (glibc: the exceptions ``feenableexcept`` made traps), if the process
    has it; it cannot be tested by computing, as a trap would end the process."""
    try:
        read: Callable[[], int] = ctypes.CDLL(None).fegetexcept
    except (AttributeError, OSError, TypeError):  # not glibc; Windows has no CDLL(None)
        return None
    return read


_ENABLED_FLOAT_TRAPS = _float_traps_reader()


def _check_float_mode() -> None:
    """Refuse to run wasm while this thread's floating-point mode is not the default: compiled
    wasm inherits it, and would compute bits no other machine does, or end the process."""
    # Traps first: the sums below raise the inexact and underflow exceptions.
    if _ENABLED_FLOAT_TRAPS is not None and _ENABLED_FLOAT_TRAPS():
        raise HostFloatModeChanged(traps=True)
    results = _PACK_RESULTS(
        _SMALLEST_NORMAL * _HALF,
        _SMALLEST_SUBNORMAL + _ZERO,
        _ONE + _TINY,
        -_ONE - _TINY,
        _ONE - _TINY,
    )
    if results != _DEFAULT_MODE_RESULTS:
        raise HostFloatModeChanged()


def _i32(value: int) -> int:
    """An unsigned 32-bit address as the signed i32 wasm parameters carry."""
    return value - (1 << 32) if value >= 1 << 31 else value


def _base(memory: wasmtime.Memory, store: wasmtime.Store) -> int:
    address = ctypes.cast(memory.data_ptr(store), ctypes.c_void_p).value
    return address or 0


@dataclass(frozen=True, slots=True)
class _Outcome(Generic[T]):
    """How one attempt ended: a value, or an error and what wasmtime raised; and its memory."""

    value: T | None
    error: EvaluationError | None
    cause: BaseException | None
    memory_grew: bool
    memory_used: int


class Runner:
    """A compiled, checked module, ready to be instantiated once per evaluation."""

    __slots__ = ("_engine", "_limits", "_pre", "has_batch")

    def __init__(self, module: wasmtime.Module, limits: Limits) -> None:
        wants_abort = check_imports(module)
        self.has_batch = check_exports(module)
        self._limits = limits
        self._engine = engine(limits.stack_bytes)
        linker = wasmtime.Linker(self._engine)
        if wants_abort:
            i32 = wasmtime.ValType.i32()
            linker.define_func(
                "env", "abort", wasmtime.FuncType([i32, i32, i32, i32], []), _abort, True
            )
        self._pre = linker.instantiate_pre(module)

    # ---- one evaluation --------------------------------------------------------------------

    def _run(
        self,
        fuel: int,
        entry: str,
        body: Callable[[wasmtime.Store, wasmtime.Memory, wasmtime.Func, wasmtime.Func], T],
    ) -> T:
        """Instantiate afresh with ``fuel`` and run ``body(store, memory, alloc, entry)``.

        Every failure comes out as its ``EvaluationError``.
        """
        _check_host_stack(self._limits.stack_bytes)
        _check_float_mode()
        cap = self._limits.memory_bytes
        outcome = self._attempt(fuel, entry, body, cap)
        if outcome.error is None:
            return cast(T, outcome.value)
        error = outcome.error
        # A refused memory.grow only returns -1 to the module, which then fails in its own way
        # (a trap, an abort, an endless retry). So after a trap, or after running out of fuel
        # with memory grown, run the evaluation again with twice the room: if it then grows
        # past the cap, the cap was the cause. The cap itself stays hard, only failures pay
        # for the second run, and a module asking for more than twice the cap in one step
        # keeps its own error.
        retried = isinstance(error, Trap) or (
            isinstance(error, FuelExhausted) and outcome.memory_grew
        )
        if retried and cap < MAX_MEMORY_BYTES:
            probe = self._attempt(fuel, entry, body, min(2 * cap, MAX_MEMORY_BYTES))
            if probe.memory_used > cap:
                raise MemoryLimitExceeded(cap, probe.memory_used) from outcome.cause
        if outcome.cause is error:
            raise error
        raise error from outcome.cause

    def _attempt(
        self,
        fuel: int,
        entry: str,
        body: Callable[[wasmtime.Store, wasmtime.Memory, wasmtime.Func, wasmtime.Func], T],
        memory_cap: int,
    ) -> _Outcome[T]:
        limits = self._limits
        store = wasmtime.Store(self._engine)
        store.set_limits(
            memory_size=memory_cap,
            table_elements=limits.table_elements,
            instances=1,
            tables=_MAX_TABLES,
            memories=1,
        )
        store.set_fuel(fuel)
        memory: wasmtime.Memory | None = None
        initial = 0
        error: EvaluationError
        cause: BaseException
        try:
            exports = self._pre.instantiate(store).exports(store)
            found, alloc, func = (
                exports[abi.MEMORY_EXPORT],
                exports[abi.ALLOC_EXPORT],
                exports[entry],
            )
            # check_exports made sure of these kinds before the module was accepted.
            assert isinstance(found, wasmtime.Memory)
            assert isinstance(alloc, wasmtime.Func) and isinstance(func, wasmtime.Func)
            memory = found
            initial = memory.data_len(store)
            value = body(store, memory, alloc, func)
            return _Outcome(value, None, None, False, memory.data_len(store))
        except EvaluationError as exc:
            error = cause = exc
        except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:
            error, cause = self._classify(exc, fuel), exc
        used = memory.data_len(store) if memory is not None else 0
        return _Outcome(None, error, cause, used > initial, used)

    def _classify(self, exc: wasmtime.Trap | wasmtime.WasmtimeError, fuel: int) -> EvaluationError:
        limits = self._limits
        code = exc.trap_code if isinstance(exc, wasmtime.Trap) else None
        if code == wasmtime.TrapCode.STACK_OVERFLOW:
            return StackOverflow(limits.stack_bytes)
        if code == wasmtime.TrapCode.OUT_OF_FUEL:
            return FuelExhausted(fuel)
        text = _one_line(exc.message if isinstance(exc, wasmtime.Trap) else str(exc))
        # Instantiation refused by the store's limits (a module's declared minimum sizes).
        if "exceeds memory limits" in text:
            return MemoryLimitExceeded(limits.memory_bytes)
        if "exceeds table limits" in text:
            return TableLimitExceeded(limits.table_elements)
        if "table count too high" in text:
            return TableLimitExceeded(limits.table_elements, tables=_MAX_TABLES)
        if not isinstance(exc, wasmtime.Trap):
            # What a module does wrong, at instantiation too (a data segment out of bounds, a
            # start function that fails), wasmtime says as a trap; its other errors here are
            # the system's ("mmap failed to reserve ..."), which another machine would not
            # meet: recorded as the module's trap, they made claims no peer reproduces.
            raise HostResourcesFailed(text) from exc
        # Keep what the trap says, not where: "wasm `unreachable` instruction executed".
        text = text.rsplit("wasm trap: ", 1)[-1]
        return Trap(text, code.name.lower() if code is not None else None)

    def _put(
        self,
        store: wasmtime.Store,
        memory: wasmtime.Memory,
        alloc: wasmtime.Func,
        data: bytes | array.array[float],
        size: int,
        extra: int,
    ) -> int:
        """Ask ``alloc`` for ``size + extra`` bytes and copy ``data`` (``size`` bytes) there."""
        total = size + extra
        if total > self._limits.memory_bytes:
            raise MemoryLimitExceeded(self._limits.memory_bytes, total)
        ptr = int(alloc(store, total)) & 0xFFFFFFFF
        have = memory.data_len(store)
        if ptr + total > have:
            raise AbiViolation(f"alloc({total}) returned {ptr}, past its {have}-byte memory")
        if size:
            if isinstance(data, bytes):
                ctypes.memmove(_base(memory, store) + ptr, data, size)
            else:
                ctypes.memmove(_base(memory, store) + ptr, data.buffer_info()[0], size)
        return ptr

    def fitness(self, manifest: bytes) -> float:
        """Call ``fitness`` on one state's canonical manifest bytes."""

        def body(
            store: wasmtime.Store,
            memory: wasmtime.Memory,
            alloc: wasmtime.Func,
            fitness: wasmtime.Func,
        ) -> float:
            ptr = self._put(store, memory, alloc, manifest, len(manifest), 0)
            return float(fitness(store, _i32(ptr), len(manifest)))

        return check_score(self._run(self._limits.fuel, abi.FITNESS_EXPORT, body))

    def batch(self, vectors: bytes | array.array[float], count: int, dim: int) -> list[float]:
        """Call ``fitness_batch`` once on ``count`` packed vectors; raw scores, unchecked."""
        size = count * dim * 8

        def body(
            store: wasmtime.Store,
            memory: wasmtime.Memory,
            alloc: wasmtime.Func,
            batch: wasmtime.Func,
        ) -> list[float]:
            ptr = self._put(store, memory, alloc, vectors, size, count * 8)
            out = ptr + size
            batch(store, _i32(ptr), count, dim, _i32(out))
            if out + count * 8 > memory.data_len(store):
                raise AbiViolation("the score buffer fell outside memory")
            scores: array.array[float] = array.array("d")
            scores.frombytes(ctypes.string_at(_base(memory, store) + out, count * 8))
            if not _LITTLE_ENDIAN:
                scores.byteswap()
            return scores.tolist()

        # A batch's budget is per individual; past what wasmtime counts it is simply unlimited.
        return self._run(min(self._limits.fuel * max(count, 1), MAX_FUEL), abi.BATCH_EXPORT, body)

    def check_batch_alloc(self, count: int, dim: int) -> None:
        """Raise ``AbiViolation`` if ``alloc`` answers a batch of ``count`` vectors of ``dim``
        with a region outside memory.

        alloc sees only the size (in a fresh instance), so this is the answer for every batch of
        that shape. Other failures are left to the batch itself, which then scores its vectors
        one at a time.
        """
        size = count * dim * 8

        def body(
            store: wasmtime.Store,
            memory: wasmtime.Memory,
            alloc: wasmtime.Func,
            batch: wasmtime.Func,
        ) -> None:
            self._put(store, memory, alloc, b"", 0, size + count * 8)

        try:
            self._run(min(self._limits.fuel * max(count, 1), MAX_FUEL), abi.BATCH_EXPORT, body)
        except AbiViolation:
            raise
        except EvaluationError:
            pass

    def batch_checked(
        self, vectors: bytes | array.array[float], count: int, dim: int
    ) -> list[float | FitnessFailure]:
        """``batch``, with failures as values; a failed call is retried one vector at a time."""
        try:
            scores = self.batch(vectors, count, dim)
        except (FuelExhausted, StackOverflow, Trap, MemoryLimitExceeded, TableLimitExceeded) as exc:
            if count == 1:
                return [FitnessFailure.from_error(exc)]
            return self._one_by_one(vectors, count, dim)
        results: list[float | FitnessFailure] = []
        for score in scores:
            try:
                results.append(check_score(score))
            except EvaluationError as exc:
                results.append(FitnessFailure.from_error(exc))
        return results

    def _one_by_one(
        self, vectors: bytes | array.array[float], count: int, dim: int
    ) -> list[float | FitnessFailure]:
        raw = vectors if isinstance(vectors, bytes) else vectors.tobytes()
        width = dim * 8
        results: list[float | FitnessFailure] = []
        for i in range(count):
            one = raw[i * width : (i + 1) * width]
            try:
                results.append(check_score(self.batch(one, 1, dim)[0]))
            except EvaluationError as exc:
                results.append(FitnessFailure.from_error(exc))
        return results
