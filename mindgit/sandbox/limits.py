"""The resource limits one fitness evaluation runs under."""

from __future__ import annotations

from dataclasses import dataclass, fields

from mindgit.sandbox.errors import InvalidLimits

# The largest wasm32 linear memory: 65536 pages of 64 KiB.
MAX_MEMORY_BYTES = 1 << 32
# wasmtime counts fuel in a u64: a larger budget would wrap, not grow.
MAX_FUEL = (1 << 64) - 1
# wasm allows 2**32-1 elements a table, but wasmtime stores each in 8 bytes as the table grows:
# 32 GiB a table (of the eight a store may hold) at that limit. 2**26 elements is 512 MiB a
# table, 4 GiB for eight, what the largest memory takes; no toolchain's tables come near it.
MAX_TABLE_ELEMENTS = 1 << 26
# wasmtime refuses a wasm stack larger than its async stack (2 MiB unless configured, and the
# sandbox does not configure it) by aborting the whole process, not by raising an error.
MAX_STACK_BYTES = 2 << 20
# How long a module's compile is waited for (``FitnessModule.load``'s ``compile_seconds``): the
# gate's budget (mindgit.store.verify.MODULE_COMPILE_SECONDS), so a module that passed a gate
# compiles within it here too, on a machine alike. wasmtime's compile time grows with the
# square of a module's nesting (5,000 nested loops, 35 KB: ~4 s; 20,000: ~70 s).
COMPILE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-evaluation limits. A batch of ``count`` individuals gets ``fuel * count`` fuel.

    Fuel costs differ by toolchain for the same function (WAT, AssemblyScript and C differ by
    about 2x), so a fuel budget belongs with a module, not with a language-independent constant.
    """

    fuel: int = 50_000_000
    memory_bytes: int = 128 << 20
    table_elements: int = 10_000
    max_module_bytes: int = 16 << 20
    stack_bytes: int = 512 << 10

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise InvalidLimits(field.name, value)
        if self.memory_bytes > MAX_MEMORY_BYTES:
            raise InvalidLimits("memory_bytes", self.memory_bytes, MAX_MEMORY_BYTES)
        if self.fuel > MAX_FUEL:
            raise InvalidLimits("fuel", self.fuel, MAX_FUEL)
        if self.table_elements > MAX_TABLE_ELEMENTS:
            raise InvalidLimits("table_elements", self.table_elements, MAX_TABLE_ELEMENTS)
        if self.stack_bytes > MAX_STACK_BYTES:
            raise InvalidLimits("stack_bytes", self.stack_bytes, MAX_STACK_BYTES)
