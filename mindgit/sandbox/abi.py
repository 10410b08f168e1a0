"""The fitness ABI v1 as data: the names and signatures a module must have, and the genome vector.

docs/fitness-abi.md is the contract; this module is its machine-checked half.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

ABI_VERSION = 1

# A signature is (parameter types, result types), spelled as wasm value types.
Signature = tuple[tuple[str, ...], tuple[str, ...]]

MEMORY_EXPORT = "memory"
ALLOC_EXPORT = "alloc"
FITNESS_EXPORT = "fitness"
BATCH_EXPORT = "fitness_batch"

REQUIRED_FUNCS: Mapping[str, Signature] = {
    ALLOC_EXPORT: (("i32",), ("i32",)),
    FITNESS_EXPORT: (("i32", "i32"), ("f64",)),
}
OPTIONAL_FUNCS: Mapping[str, Signature] = {
    BATCH_EXPORT: (("i32", "i32", "i32", "i32"), ()),
}

# The only import a module may declare. AssemblyScript emits it for assertion failures; calling
# it ends the evaluation with ModuleAborted.
ALLOWED_IMPORTS: Mapping[tuple[str, str], Signature] = {
    ("env", "abort"): (("i32", "i32", "i32", "i32"), ()),
}

ENTRY_FITNESS = FITNESS_EXPORT
ENTRY_BATCH = BATCH_EXPORT


def describe_signature(sig: Signature) -> str:
    """``func (i32, i32) -> f64``: how error messages spell a signature."""
    params, results = sig
    result = ", ".join(results) if results else "()"
    return f"func ({', '.join(params)}) -> {result}"


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int past the largest f64
        return None
    return number if math.isfinite(number) else None


def gene_values(gene: Mapping[str, Any]) -> list[float] | None:
    """The numbers one gene contributes to its genome vector, or None if it is not numeric."""
    kind = gene.get("type")
    value = gene.get("value")
    if kind in ("float", "int"):
        number = _number(value)
        return None if number is None else [number]
    if kind == "bool":
        return [1.0 if value else 0.0] if isinstance(value, bool) else None
    if kind == "choice":
        choices = gene.get("choices")
        if not isinstance(choices, Sequence) or isinstance(choices, str | bytes):
            return None
        for index, choice in enumerate(choices):
            if choice == value and type(choice) is type(value):
                return [float(index)]
        return None
    if kind in ("floats", "list"):
        if not isinstance(value, list):
            return None
        numbers = [_number(item) for item in value]
        if any(number is None for number in numbers):
            return None
        return [number for number in numbers if number is not None]
    return None


def genome_vector(genome: Mapping[str, Mapping[str, Any]]) -> tuple[float, ...] | None:
    """A decoded manifest genome as the f64 vector ``fitness_batch`` scores, or None.

    Genes are taken in gene-name order (the order of the canonical manifest, where keys sort by
    their UTF-8 bytes, which is code-point order): float and int give their value, bool 0/1,
    choice the index of its value in ``choices``, floats (a list of numbers) its elements. None
    means the genome is not all-numeric (a str gene, say), and the caller must score it through
    ``fitness`` instead.

    >>> genome_vector({"b": {"type": "bool", "value": True}, "a": {"type": "float", "value": 2}})
    (2.0, 1.0)
    """
    vector: list[float] = []
    for name in sorted(genome):
        values = gene_values(genome[name])
        if values is None:
            return None
        vector.extend(values)
    return tuple(vector)
