"""Builders for sandbox tests: fixture paths, loaded modules, manifests spelled two ways."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path

from mindgit.sandbox import FitnessModule, Limits

FITNESS = Path(__file__).resolve().parent.parent.parent / "fixtures" / "fitness"
HOSTILE = FITNESS / "hostile"
DEFAULT_LIMITS = Limits()
RASTRIGINS = ("rastrigin.wat", "rastrigin-as.wasm", "rastrigin-c.wasm")


@functools.lru_cache(maxsize=64)
def load(name: str, limits: Limits = DEFAULT_LIMITS) -> FitnessModule:
    """A shipped module, compiled once per test process."""
    return FitnessModule.load((FITNESS / name).read_bytes(), limits=limits)


def es_number(x: float) -> str:
    """``x`` as ECMAScript's Number#toString spells it (the DAG-JSON codecs' float form)."""
    if not math.isfinite(x):
        raise ValueError(x)
    if x == 0:
        return "0"
    # The shortest round-trip digits, as ECMAScript also chooses them; value = digits * 10^exp.
    _, digit_tuple, exp = Decimal(repr(abs(x))).as_tuple()
    assert isinstance(exp, int)
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    stripped = digits.rstrip("0")
    exp += len(digits) - len(stripped)
    digits = stripped
    k = len(digits)
    n = k + exp  # ECMAScript's n: the decimal point sits after n digits.
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        fraction = "." + digits[1:] if k > 1 else ""
        text = f"{digits[0]}{fraction}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    return ("-" if x < 0 else "") + text


def encode(value: object, number: Callable[[float], str] = repr) -> str:
    """Canonical DAG-JSON text (sorted keys, no whitespace), floats spelled by ``number``."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return str(number(value))
    if isinstance(value, int | str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(encode(v, number) for v in value) + "]"
    if isinstance(value, Mapping):
        items = sorted(value.items(), key=lambda kv: kv[0].encode())
        return "{" + ",".join(f"{json.dumps(k)}:{encode(v, number)}" for k, v in items) + "}"
    raise TypeError(value)


def float_genome(values: list[float]) -> dict[str, dict[str, float | str]]:
    """A genome of float genes x000, x001... in [-5.12, 5.12] bounds (values may exceed them)."""
    return {
        f"x{i:03d}": {"max": 5.12, "min": -5.12, "type": "float", "value": v}
        for i, v in enumerate(values)
    }


def manifest(genome: Mapping[str, object], number: Callable[[float], str] = repr) -> bytes:
    """A state manifest around ``genome`` as canonical bytes."""
    doc = {
        "genome": genome,
        "schema": 1,
        "thoughts": [{"/": "bagaaierasords4njcts6vs7qvdjfcvgnume4hqohf65zsfguprqphs3icwea"}],
    }
    return encode(doc, number).encode()
