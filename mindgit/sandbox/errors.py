"""What can go wrong when loading or running a fitness module, each failure a type with its data.

Two families: ``LoadError`` refuses a module before any of its code runs; ``EvaluationError``
is one evaluation failing, which ``score_batch`` reports per individual as a ``FitnessFailure``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mindgit.errors import MindgitError, quoted

# How much of a text the module chose (an import's name, wasmtime's words about the module's
# bytes, which may quote its names) a message shows. wasm allows names of 100,000 bytes, and an
# error that echoes one whole is a 100,000-character line.
_SHOWN_NAME = 80
_SHOWN_DETAIL = 300


def _shown(text: str, limit: int = _SHOWN_NAME) -> str:
    """``text`` as is when it is short; else its start, quoted, and its length."""
    return text if len(text) <= limit else quoted(text, limit)


class SandboxError(MindgitError):
    """Any failure of the fitness sandbox."""


# ---- refused before running ----------------------------------------------------------------


class LoadError(SandboxError):
    """The module was refused at load time; nothing of it ran."""


class NotWasm(LoadError):
    """The bytes are neither a valid WebAssembly binary nor WAT text that compiles."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(
            f"fitness module is not valid WebAssembly: {_shown(detail, _SHOWN_DETAIL)}",
            hint="give a .wasm binary or .wat text that a WebAssembly validator accepts",
        )


class ModuleTooLarge(LoadError):
    """The module's bytes exceed ``Limits.max_module_bytes``."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(
            f"fitness module is {size} bytes, over the {limit}-byte limit",
            # Not "or raise the limit": no setting or flag raises it, and run.json does not
            # record it, so a peer re-checking a run holds every module to the default.
            hint="shrink the module (build it optimised, strip debug sections)",
        )


class CompileTooSlow(LoadError):
    """The module did not compile within the time the caller waits for a compile."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"the module did not compile within {seconds:g} s, the longest a compile is waited for"
        )
        self.seconds = seconds


class ForbiddenImport(LoadError):
    """The module imports something the fitness ABI does not provide (WASI, a clock, ...)."""

    def __init__(self, module: str, name: str, detail: str = "") -> None:
        self.module = module
        self.name = name
        self.detail = detail
        why = f" ({_shown(detail, _SHOWN_DETAIL)})" if detail else ""
        super().__init__(
            f"fitness module imports {_shown(module)}.{_shown(name)}{why}; the fitness ABI "
            "allows no import but env.abort(i32, i32, i32, i32)",
            hint="rebuild the module without WASI, clocks, randomness or other host calls",
        )


class MissingExport(LoadError):
    """A required export (``memory``, ``alloc``, ``fitness``) is absent."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"fitness module does not export {name!r}, which the fitness ABI requires",
            hint="export memory, alloc(i32) -> i32 and fitness(i32, i32) -> f64",
        )


class WrongExportType(LoadError):
    """An export the ABI names exists with the wrong kind or signature."""

    def __init__(self, name: str, expected: str, actual: str) -> None:
        self.name = name
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"fitness module exports {name!r} as {_shown(actual, _SHOWN_DETAIL)}, the fitness ABI "
            f"needs {expected}",
            hint="fix the export's signature (see docs/fitness-abi.md)",
        )


class InvalidLimits(SandboxError):
    """A sandbox limit is out of range."""

    def __init__(self, field: str, value: int, most: int | None = None) -> None:
        self.field = field
        self.value = value
        self.bound = "positive" if most is None else f"at most {most}"
        super().__init__(f"sandbox limit {field}={value} is out of range; it must be {self.bound}")


class InvalidBatch(SandboxError):
    """The caller's batch of genome vectors is malformed (a caller bug, not the module's)."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"invalid fitness batch: {detail}")


class HostUnfit(SandboxError):
    """This process cannot run or compile fitness modules faithfully; no module is at fault.

    Whoever checks modules (verify, a pull's gate, ``verify --recompute``) lets it through as
    the command's own error rather than refusing the module, or the claim, it met it on: a
    peer's commit is not refused, nor a claim called unverifiable, for this machine's state.
    """


class HostResourcesFailed(HostUnfit):
    """wasmtime could not get from the system what an evaluation needs (the address space it
    reserves for a module's memory, say): this machine's state at that moment, not what the
    module does, so it is not recorded as the module's failure."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(
            f"the system refused what running a fitness module needs: {detail}",
            hint="free memory, or raise this process's limits (ulimit -v), and run it again",
        )


class UnsafeCacheDir(HostUnfit):
    """The compiled-module cache directory is not private to this user."""

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(
            f"refusing compiled-module cache {path}: {detail}",
            hint="use a cache directory owned by you with mode 0700",
        )


class HostStackTooSmall(HostUnfit):
    """The calling thread's own stack cannot hold the wasm stack ``Limits.stack_bytes`` allows.

    wasmtime stops a module's recursion ``stack_bytes`` below where the call began, trusting the
    thread's stack to go that deep: a smaller one (``ulimit -s`` for the main thread, its own
    size for another) would end the process with a segmentation fault instead. Not an
    ``EvaluationError``: no module is at fault, and no evaluation is tried. ``thread`` is True
    when the stack is another thread's than the main one.
    """

    def __init__(
        self, stack_bytes: int, available: int, needed: int, *, thread: bool = False
    ) -> None:
        self.stack_bytes = stack_bytes
        self.available = available
        self.needed = needed
        self.thread = thread
        whose = "this thread's stack is" if thread else "this process's stack is"
        where = "" if thread else " (ulimit -s)"
        super().__init__(
            f"{whose} {available} bytes{where}, too small for a fitness module's {stack_bytes}-byte "
            f"wasm stack: running one needs at least {needed}",
            hint=(
                "give the thread a larger stack (threading.stack_size) or lower the stack limit"
                if thread
                # In backquotes, which the CLI gives the typed --store: it set another store's.
                else f"raise it (`ulimit -s {-(-needed // 1024)}`) or lower the stack limit "
                "(`mindgit config set stack SIZE`)"
            ),
        )


class HostFloatModeChanged(HostUnfit):
    """This thread's floating-point mode is not IEEE 754's default, so wasm computes other bits.

    Compiled wasm runs on the CPU's floating-point unit as the host left it: a library built
    with -ffast-math sets flush-to-zero when it is loaded, ``fesetround`` changes rounding and
    ``feenableexcept`` makes an invalid operation (0/0) a signal that ends the process, for every
    later computation of the thread, wasm's and the compiler's constant folding included. No
    module is compiled or evaluated under such a mode (not an ``EvaluationError``). ``traps`` says which: enabled exceptions, or the rounding and
    subnormals.
    """

    def __init__(self, *, traps: bool = False) -> None:
        self.traps = traps
        if traps:
            what = (
                "floating-point exceptions enabled as traps, which would end the process at a "
                "module's 0/0"
            )
        else:
            what = (
                "subnormal numbers flushed to zero, or rounding other than to nearest, so fitness "
                "scores computed under it would not match other machines'"
            )
        super().__init__(
            f"this process's floating-point mode is not IEEE 754's default, as a library loaded "
            f"into it left it: {what}",
            hint="score in a process that does not load that library (one built with "
            "-ffast-math changes the mode when it is loaded), or restore the mode first",
        )


# ---- one evaluation failing -----------------------------------------------------------------


class EvaluationError(SandboxError):
    """One evaluation of the module failed; ``reason`` is its short code in a FitnessFailure."""

    reason = "error"


class FuelExhausted(EvaluationError):
    """The evaluation used up its fuel (an endless or too-long loop)."""

    reason = "fuel"

    def __init__(self, fuel: int) -> None:
        self.fuel = fuel
        super().__init__(
            f"fitness module ran out of fuel ({fuel} units) before returning a score",
            hint="fix the module's loop, or raise the fuel limit if it is just slow",
        )


class MemoryLimitExceeded(EvaluationError):
    """The module needed more linear memory than ``Limits.memory_bytes``.

    ``used`` is how much it was seen to want, when that is known.
    """

    reason = "memory"

    def __init__(self, limit: int, used: int | None = None) -> None:
        self.limit = limit
        self.used = used
        at = f" (it wanted at least {used} bytes)" if used is not None else ""
        super().__init__(
            f"fitness module needed more than its {limit}-byte memory limit{at}",
            hint="raise the memory limit, or fix the module's allocation",
        )


class TableLimitExceeded(EvaluationError):
    """The module's tables need more elements than ``Limits.table_elements``, or the module
    defines more tables than a store holds (``tables``, set then)."""

    reason = "table"

    def __init__(self, limit: int, tables: int | None = None) -> None:
        self.limit = limit
        self.tables = tables
        if tables is not None:
            super().__init__(
                f"fitness module defines more than {tables} tables, the most a sandbox holds",
                hint=f"merge the module's tables into {tables} or fewer",
            )
            return
        super().__init__(
            f"fitness module needs more than {limit} table elements",
            hint="raise the table limit, or shrink the module's tables",
        )


class StackOverflow(EvaluationError):
    """The module recursed past the wasm stack limit."""

    reason = "stack"

    def __init__(self, stack_bytes: int | None = None) -> None:
        self.stack_bytes = stack_bytes
        size = f" of {stack_bytes} bytes" if stack_bytes is not None else ""
        super().__init__(
            f"fitness module overflowed its wasm stack{size} (unbounded recursion?)",
            hint="bound the module's recursion, or raise the stack limit",
        )


class Trap(EvaluationError):
    """The module trapped: ``unreachable``, an out-of-bounds access, a division by zero..."""

    reason = "trap"

    def __init__(self, message: str, code: str | None = None) -> None:
        self.message = message
        self.code = code
        super().__init__(f"fitness module trapped: {message}")


class ModuleAborted(Trap):
    """The module called ``env.abort`` (AssemblyScript's assertion and error path)."""

    reason = "abort"

    def __init__(self, text: str, file: str, line: int, column: int) -> None:
        self.text = text
        self.file = file
        self.line = line
        self.column = column
        where = f" at {file}:{line}:{column}" if file else ""
        super().__init__(f"module called env.abort: {text or '(no message)'}{where}", "abort")


class AbiViolation(EvaluationError):
    """The module broke the ABI at run time, e.g. ``alloc`` returned memory it does not have."""

    reason = "abi"

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(
            f"fitness module broke the fitness ABI: {detail}",
            hint="see docs/fitness-abi.md for what alloc and fitness must do",
        )


class InvalidScore(EvaluationError):
    """The module returned NaN or an infinity, which cannot be compared or verified."""

    reason = "invalid"

    def __init__(self, value: float) -> None:
        self.value = value
        super().__init__(
            f"fitness module returned {value!r}, not a finite score",
            hint="a score must be a finite f64; NaN and infinities are refused",
        )


@dataclass(frozen=True, slots=True)
class FitnessFailure:
    """One individual's failed evaluation inside a batch: a short ``reason`` code and the message.

    ``reason`` is the ``EvaluationError.reason`` of the failure: "fuel", "memory", "table",
    "stack", "trap", "abort", "abi" or "invalid".
    """

    reason: str
    error: str

    @classmethod
    def from_error(cls, error: EvaluationError) -> FitnessFailure:
        """The failure value that stands for ``error`` in a result list."""
        return cls(reason=error.reason, error=str(error))


def check_score(value: float) -> float:
    """``value`` if it is finite, else ``InvalidScore``."""
    if not math.isfinite(value):
        raise InvalidScore(value)
    return value
