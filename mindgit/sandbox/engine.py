"""The one wasmtime configuration mindgit runs fitness modules under, and its cache key.

Every setting that could make a score depend on the machine is pinned here: NaNs are
canonicalised, and threads, relaxed SIMD, GC and every other proposal whose results are not
fully specified are off. Changing a setting changes ``config_key``, so compiled code cached
under another configuration is never reused.

Importing this module imports wasmtime (~80 ms): only ``FitnessModule.load`` does it.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import threading
from pathlib import Path

import wasmtime

# (Config attribute, value), applied in this order. Each entry is part of config_key.
_SETTINGS: tuple[tuple[str, bool | str], ...] = (
    ("consume_fuel", True),
    ("cranelift_nan_canonicalization", True),
    ("cranelift_opt_level", "speed"),
    ("wasm_threads", False),
    ("shared_memory", False),
    ("wasm_relaxed_simd", False),
    ("wasm_relaxed_simd_deterministic", True),
    ("wasm_multi_memory", False),
    ("wasm_memory64", False),
    ("wasm_custom_page_sizes", False),
    ("wasm_gc", False),
    ("wasm_function_references", False),
    ("wasm_exceptions", False),
    ("wasm_stack_switching", False),
    ("wasm_wide_arithmetic", False),
    ("wasm_component_model", False),
    ("gc_support", False),
    ("epoch_interruption", False),
)

# Fitness modules are small; compiling on one thread keeps a load from competing with the
# evolution loop for the machine's cores. It does not change the generated code.
_PARALLEL_COMPILATION = False
_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+)*")


def wasmtime_version() -> str:
    """The installed wasmtime-py version, e.g. ``50.0.1``."""
    # Read from the name of the one dist-info directory beside the package, as pip installs it:
    # importlib.metadata finds the same, but importing it costs ~10-20 ms of every evolve's
    # start-up. Any other layout is left to it.
    found = list(Path(wasmtime.__file__).parent.parent.glob("wasmtime-*.dist-info"))
    if len(found) == 1:
        version = found[0].name[len("wasmtime-") : -len(".dist-info")]
        if _VERSION.fullmatch(version):
            return version
    import importlib.metadata

    return importlib.metadata.version("wasmtime")


def config_key(stack_bytes: int) -> str:
    """``<wasmtime version>-<hash of every setting>``: the cache subdirectory for this config."""
    described = {
        "settings": [[name, value] for name, value in _SETTINGS],
        "max_wasm_stack": stack_bytes,
        "machine": platform.machine(),
        "system": platform.system(),
    }
    digest = hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()
    return f"{wasmtime_version()}-{digest[:16]}"


_ENGINES: dict[int, wasmtime.Engine] = {}
_ENGINES_LOCK = threading.Lock()


def engine(stack_bytes: int) -> wasmtime.Engine:
    """The shared engine for a stack limit (modules and stores must share one engine)."""
    # Under a lock: two threads making the first engine at once would get two, and a module
    # compiled in one cannot be instantiated in the other's stores.
    with _ENGINES_LOCK:
        made = _ENGINES.get(stack_bytes)
        if made is None:
            made = _ENGINES[stack_bytes] = _make_engine(stack_bytes)
        return made


def _make_engine(stack_bytes: int) -> wasmtime.Engine:
    config = wasmtime.Config()
    for name, value in _SETTINGS:
        setattr(config, name, value)
    config.parallel_compilation = _PARALLEL_COMPILATION
    config.max_wasm_stack = stack_bytes
    return wasmtime.Engine(config)
