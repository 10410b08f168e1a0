"""Loading: binary or WAT accepted, everything else refused by name; limits; the module's identity;
determinism across loads; the package imports without wasmtime."""

from __future__ import annotations

import hashlib
import struct
import subprocess
import sys

import pytest

from mindgit.errors import MindgitError
from mindgit.sandbox import (
    FitnessModule,
    InvalidLimits,
    Limits,
    ModuleTooLarge,
    NotWasm,
)
from mindgit.sandbox.abi import describe_signature
from tests.sandbox.helpers import FITNESS, RASTRIGINS, float_genome, manifest

WAT = (FITNESS / "rastrigin.wat").read_bytes()


def test_wat_and_binary_are_both_accepted() -> None:
    import wasmtime

    binary = bytes(wasmtime.wat2wasm(WAT.decode()))
    from_text = FitnessModule.load(WAT)
    from_binary = FitnessModule.load(binary)
    assert from_text.has_batch and from_binary.has_batch
    vector = [0.25, -3.5, 4.0]
    assert from_text.score_batch([vector], 3) == from_binary.score_batch([vector], 3)
    # The digest is of the exact bytes given, so the text and the binary are two modules.
    assert from_text.cid_digest == hashlib.sha256(WAT).digest()
    assert from_binary.cid_digest == hashlib.sha256(binary).digest()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\0",
        b"\0asn\1\0\0\0",
        b"\0asm\1\0\0\0\xff",  # a bad section id
        b"\0asm\1\0\0",  # truncated header
        b"\0asm\2\0\0\0",  # unknown version
        b"\xff\xfe\xfa",  # not UTF-8, so not text either
        b'(module (func (export "fitness")',  # unbalanced WAT
        b"hello",
        b"\x7fELF\2\1\1\0",  # compiled code is not a module
    ],
)
def test_not_wasm(data: bytes) -> None:
    with pytest.raises(NotWasm) as info:
        FitnessModule.load(data)
    assert info.value.detail
    assert "\n" not in str(info.value)
    assert isinstance(info.value, MindgitError)


def test_module_too_large_is_refused_before_parsing() -> None:
    with pytest.raises(ModuleTooLarge) as info:
        FitnessModule.load(b"x" * 1001, limits=Limits(max_module_bytes=1000))
    assert (info.value.size, info.value.limit) == (1001, 1000)
    # No setting or flag raises the limit (nor does run.json record it): the hint offered to.
    assert info.value.hint is not None and "raise" not in info.value.hint
    FitnessModule.load(WAT, limits=Limits(max_module_bytes=len(WAT)))


@pytest.mark.parametrize(
    "field", ["fuel", "memory_bytes", "table_elements", "max_module_bytes", "stack_bytes"]
)
@pytest.mark.parametrize("value", [0, -1, 1.5, True, "1"])
def test_invalid_limits(field: str, value: object) -> None:
    with pytest.raises(InvalidLimits) as info:
        Limits(**{field: value})  # type: ignore[arg-type]
    assert info.value.field == field


def test_memory_limit_cannot_exceed_wasm32() -> None:
    with pytest.raises(InvalidLimits):
        Limits(memory_bytes=(1 << 32) + 1)
    Limits(memory_bytes=1 << 32)


def test_fuel_table_and_stack_stop_where_wasmtime_counts() -> None:
    # A stack over wasmtime's 2 MiB async stack aborted the whole process at the first run; a
    # table of 2**32-1 elements (wasm's own limit) let a module make the host allocate 32 GiB.
    limits = [("fuel", (1 << 64) - 1), ("table_elements", 1 << 26), ("stack_bytes", 2 << 20)]
    for field, most in limits:
        with pytest.raises(InvalidLimits, match=f"at most {most}") as info:
            Limits(**{field: most + 1})
        assert info.value.field == field
        Limits(**{field: most})


def test_limits_are_immutable_values() -> None:
    limits = Limits(fuel=7)
    with pytest.raises(AttributeError):
        limits.fuel = 8  # type: ignore[misc]
    assert limits == Limits(fuel=7) and hash(limits) == hash(Limits(fuel=7))


def test_scores_are_the_same_bits_on_every_load_and_call() -> None:
    data = manifest(float_genome([0.1, -2.7, 3.3333333333333335, 5.12]))
    vectors = [[0.1, -2.7, 3.3333333333333335, 5.12], [1e-300, -4.4, 2.5, 0.0]]
    seen = set()
    for name in RASTRIGINS:
        for _ in range(3):
            module = FitnessModule.load((FITNESS / name).read_bytes())
            scores = module.score_batch(vectors, 4)
            seen.add((struct.pack("<d", module.score(data)), *map(repr, scores)))
    assert len(seen) == 1


def test_describe_signature() -> None:
    assert describe_signature((("i32", "i32"), ("f64",))) == "func (i32, i32) -> f64"
    assert describe_signature((("i32",), ())) == "func (i32) -> ()"


def test_package_import_does_not_load_wasmtime() -> None:
    code = "import sys, mindgit.sandbox; print('wasmtime' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False"
