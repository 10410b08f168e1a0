"""How fast the fitness sandbox scores a population, on one core.

Run: ``.venv/bin/python bench/sandbox.py [seconds-per-case]``

Prints, for each shipped Rastrigin build (WAT, AssemblyScript, C):
- evals/s through ``score_batch`` (one fresh instance and one call into wasm per population of
  200 x 32 genes) against one ``score_batch`` call per individual and one ``score`` (the
  manifest-parsing ``fitness`` entry point) per individual;
- what an evaluation costs before any wasm runs: a fresh Store with its limits and fuel, and
  instantiating the pre-linked module;
- the fuel one population uses (toolchains differ: a fuel budget belongs to a module);
- loading a module: compiling it, and loading it from the compiled-module cache.
"""

from __future__ import annotations

import random
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import wasmtime

from mindgit.sandbox import FitnessModule
from mindgit.sandbox.engine import engine, wasmtime_version

FITNESS = Path(__file__).resolve().parent.parent / "fixtures" / "fitness"
BUILDS = ("rastrigin.wat", "rastrigin-as.wasm", "rastrigin-c.wasm")
POPULATION, DIM = 200, 32


def rate(fn: Callable[[], object], seconds: float, rounds: int = 5) -> float:
    """Seconds per call of the fastest of ``rounds`` timed rounds (CPU time: others only slow
    a round down)."""
    fn()
    calls = 1
    while True:
        start = time.process_time()
        for _ in range(calls):
            fn()
        spent = time.process_time() - start
        if spent >= seconds / rounds / 4 or calls >= 1 << 20:
            break
        calls *= 2
    best = spent / calls
    for _ in range(rounds - 1):
        start = time.process_time()
        for _ in range(calls):
            fn()
        best = min(best, (time.process_time() - start) / calls)
    return best


def manifest(vector: list[float]) -> bytes:
    genes = ",".join(
        f'"x{i:03d}":{{"max":5.12,"min":-5.12,"type":"float","value":{v!r}}}'
        for i, v in enumerate(vector)
    )
    return f'{{"genome":{{{genes}}},"schema":1,"thoughts":[]}}'.encode()


def scoring_rates(
    module: FitnessModule, population: list[list[float]], manifest: bytes, seconds: float
) -> tuple[float, float, float]:
    """Seconds per call: the whole population in one batch, one individual, one manifest."""
    return (
        rate(lambda: module.score_batch(population, DIM), seconds),
        rate(lambda: module.score_batch(population[:1], DIM), seconds),
        rate(lambda: module.score(manifest), seconds),
    )


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    rng = random.Random(7)
    population = [[rng.uniform(-5.12, 5.12) for _ in range(DIM)] for _ in range(POPULATION)]
    manifests = [manifest(v) for v in population]

    print(f"population {POPULATION} x {DIM} genes, wasmtime-py {wasmtime_version()}")
    print(f"{'module':20} {'batch evals/s':>14} {'1-by-1 evals/s':>15} {'fitness evals/s':>16}")
    for name in BUILDS:
        module = FitnessModule.load((FITNESS / name).read_bytes())
        batch, single, parsed = scoring_rates(module, population, manifests[0], seconds)
        print(f"{name:20} {POPULATION / batch:14,.0f} {1 / single:15,.0f} {1 / parsed:16,.0f}")

    eng = engine(512 << 10)
    wat = (FITNESS / "rastrigin.wat").read_bytes()
    compiled = wasmtime.Module(eng, wat)
    pre = wasmtime.Linker(eng).instantiate_pre(compiled)

    def fresh_store() -> wasmtime.Store:
        store = wasmtime.Store(eng)
        store.set_limits(memory_size=128 << 20, table_elements=10_000, instances=1, memories=1)
        store.set_fuel(50_000_000)
        return store

    store_cost = rate(fresh_store, seconds)
    instance_cost = rate(lambda: pre.instantiate(fresh_store()), seconds) - store_cost
    print(f"fresh Store + limits + fuel: {store_cost * 1e6:8.1f} us")
    print(f"instantiate (pre-linked):    {instance_cost * 1e6:8.1f} us")

    for name in BUILDS:
        wasm = (FITNESS / name).read_bytes()
        store = wasmtime.Store(eng)
        store.set_fuel(1 << 62)
        linker = wasmtime.Linker(eng)
        # The AssemblyScript build imports env.abort; it is never called here.
        linker.define_unknown_imports_as_traps(wasmtime.Module(eng, wasm))
        exports = linker.instantiate(store, wasmtime.Module(eng, wasm)).exports(store)
        alloc, batch_fn, memory = exports["alloc"], exports["fitness_batch"], exports["memory"]
        assert isinstance(alloc, wasmtime.Func) and isinstance(batch_fn, wasmtime.Func)
        assert isinstance(memory, wasmtime.Memory)
        size = POPULATION * DIM * 8
        ptr = alloc(store, size + POPULATION * 8)
        memory.write(store, b"".join(struct.pack(f"<{DIM}d", *v) for v in population), ptr)
        before = store.get_fuel()
        batch_fn(store, ptr, POPULATION, DIM, ptr + size)
        print(f"fuel per population, {name:18} {before - store.get_fuel():>10,}")

    with tempfile.TemporaryDirectory() as tmp:
        compile_cost = rate(lambda: FitnessModule.load(wat), seconds)
        FitnessModule.load(wat, cache_dir=Path(tmp))
        cached_cost = rate(lambda: FitnessModule.load(wat, cache_dir=Path(tmp)), seconds)
    print(
        f"load rastrigin.wat: compile {compile_cost * 1e3:.2f} ms, cached {cached_cost * 1e3:.2f} ms"
    )


if __name__ == "__main__":
    main()
