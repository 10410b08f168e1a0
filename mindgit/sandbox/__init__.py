"""The fitness sandbox: WebAssembly fitness modules run under wasmtime with fuel, memory, table
and stack limits, no imports but those the fitness ABI names, and NaN canonicalisation, so that
a score is bit-identical on every node. It knows nothing of git or of the store.

Importing this package does not import wasmtime; ``FitnessModule.load`` does.
"""

from __future__ import annotations

from mindgit.sandbox.abi import ABI_VERSION, ENTRY_BATCH, ENTRY_FITNESS, genome_vector
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
    HostUnfit,
    InvalidBatch,
    InvalidLimits,
    InvalidScore,
    LoadError,
    MemoryLimitExceeded,
    MissingExport,
    ModuleAborted,
    ModuleTooLarge,
    NotWasm,
    SandboxError,
    StackOverflow,
    TableLimitExceeded,
    Trap,
    UnsafeCacheDir,
    WrongExportType,
)
from mindgit.sandbox.limits import COMPILE_SECONDS, Limits
from mindgit.sandbox.module import FitnessModule

__all__ = [
    "ABI_VERSION",
    "COMPILE_SECONDS",
    "ENTRY_BATCH",
    "ENTRY_FITNESS",
    "AbiViolation",
    "CompileTooSlow",
    "EvaluationError",
    "FitnessFailure",
    "FitnessModule",
    "ForbiddenImport",
    "FuelExhausted",
    "HostFloatModeChanged",
    "HostResourcesFailed",
    "HostStackTooSmall",
    "HostUnfit",
    "InvalidBatch",
    "InvalidLimits",
    "InvalidScore",
    "Limits",
    "LoadError",
    "MemoryLimitExceeded",
    "MissingExport",
    "ModuleAborted",
    "ModuleTooLarge",
    "NotWasm",
    "SandboxError",
    "StackOverflow",
    "TableLimitExceeded",
    "Trap",
    "UnsafeCacheDir",
    "WrongExportType",
    "genome_vector",
]
