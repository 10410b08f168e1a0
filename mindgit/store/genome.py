"""The genome: a mind's typed, tunable parameters.

A gene's declared type, not the spelling of its value, says what it is. DAG-JSON writes an
integral float the way JavaScript does (``2`` for ``2.0``), so decoding coerces each value by the
gene's ``type``. Every gene knows whether evolution may change it and within which bounds.

Manifest form (one DAG-JSON map per gene, keys sorted by the encoder)::

    {"type": "float", "value": 0.7, "min": -5.12, "max": 5.12, "scale": 0.1}
    {"type": "int", "value": 3, "min": 0, "max": 10}
    {"type": "bool", "value": true}
    {"type": "choice", "value": "explore", "choices": ["explore", "exploit", "rest"]}
    {"type": "floats", "value": [0.1, 0.2]}
    {"type": "str", "value": "anything"}          # fixed: never evolved
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mindgit.errors import MindgitError, quoted

GeneKind = Literal["float", "int", "bool", "choice", "floats", "str"]
GENE_KINDS: tuple[GeneKind, ...] = ("float", "int", "bool", "choice", "floats", "str")
GeneValue = float | int | bool | str | tuple[float, ...]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,127}")
# Beyond 2**53 an int no longer round-trips through the JavaScript codecs as the same number.
_MAX_SAFE_INT = 2**53 - 1


class GenomeError(MindgitError):
    """A gene is malformed: bad name, value of the wrong type, out of bounds."""

    def __init__(self, gene: str, problem: str) -> None:
        super().__init__(f"gene {quoted(gene)}: {problem}")
        self.gene = gene
        self.problem = problem


def _finite(gene: str, x: float, what: str = "value") -> float:
    if not math.isfinite(x):
        raise GenomeError(gene, f"{what} must be a finite number, not {x!r}")
    # -0.0 is not valid DAG-JSON; it equals 0.0 for every purpose a gene has.
    return 0.0 if x == 0 else float(x)


def _number(gene: str, raw: object, what: str = "value") -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise GenomeError(gene, f"{what} must be a number, not {type(raw).__name__}")
    return _finite(gene, float(raw), what)


def _integer(gene: str, raw: object, what: str = "value") -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        if not isinstance(raw, float) or not raw.is_integer():
            raise GenomeError(gene, f"{what} must be an integer, not {quoted(raw)}")
        # A whole float (a bound read as a number first): "must be an integer, not -9e+18"
        # said the wrong thing about a bound past what an int gene holds.
        raw = int(raw)
    if abs(raw) > _MAX_SAFE_INT:
        raise GenomeError(
            gene, f"{what} {quoted(raw)} is beyond ±2**53-1, which JSON tools cannot hold exactly"
        )
    return raw


def check_gene_name(name: object) -> str:
    """``name`` if a gene may have it, else :class:`GenomeError`."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise GenomeError(
            str(name), "a gene name is a letter or _ then up to 127 of [A-Za-z0-9_.-]"
        )
    return name


@dataclass(frozen=True, slots=True)
class Gene:
    """One typed gene. Construct with :meth:`make` so the invariants are checked."""

    name: str
    kind: GeneKind
    value: GeneValue
    min: float | None = None
    max: float | None = None
    scale: float | None = None
    choices: tuple[str, ...] | None = None

    @classmethod
    def make(
        cls,
        name: str,
        kind: GeneKind,
        value: object,
        *,
        min: float | None = None,
        max: float | None = None,
        scale: float | None = None,
        choices: Iterable[str] | None = None,
    ) -> Gene:
        check_gene_name(name)
        if kind not in GENE_KINDS:
            raise GenomeError(name, f"unknown type {quoted(kind)} (one of {', '.join(GENE_KINDS)})")
        lo = None if min is None else _number(name, min, "min")
        hi = None if max is None else _number(name, max, "max")
        if lo is not None and hi is not None and lo > hi:
            raise GenomeError(name, f"min {lo} is above max {hi}")
        if scale is not None:
            scale = _number(name, scale, "scale")
            if scale <= 0:
                raise GenomeError(name, "scale must be positive")
        bounded = kind in ("float", "int", "floats")
        if not bounded and (lo is not None or hi is not None or scale is not None):
            raise GenomeError(name, f"{_a(kind)} gene takes no min, max or scale")
        opts: tuple[str, ...] | None = None
        if choices is not None:
            if kind != "choice":
                raise GenomeError(name, f"{_a(kind)} gene takes no choices")
            opts = tuple(choices)
            if not opts or not all(isinstance(c, str) for c in opts):
                raise GenomeError(name, "choices must be a non-empty list of strings")
            if len(set(opts)) != len(opts):
                raise GenomeError(name, "choices must not repeat")

        val: GeneValue
        if kind == "float":
            val = _number(name, value)
        elif kind == "int":
            val = _integer(name, value)
            lo = None if lo is None else float(_integer(name, lo, "min"))
            hi = None if hi is None else float(_integer(name, hi, "max"))
        elif kind == "bool":
            if not isinstance(value, bool):
                raise GenomeError(name, f"value must be true or false, not {quoted(value)}")
            val = value
        elif kind == "choice":
            if not isinstance(value, str):
                raise GenomeError(name, f"value must be a string, not {quoted(value)}")
            if opts is None:
                raise GenomeError(name, "a choice gene needs its choices")
            if value not in opts:
                raise GenomeError(
                    name, f"{quoted(value)} is not one of its choices {quoted(list(opts))}"
                )
            val = value
        elif kind == "floats":
            if not isinstance(value, list | tuple):
                raise GenomeError(name, f"value must be a list of numbers, not {quoted(value)}")
            val = tuple(_number(name, x, "element") for x in value)
        else:
            if not isinstance(value, str):
                raise GenomeError(name, f"value must be a string, not {quoted(value)}")
            val = value

        gene = cls(name, kind, val, lo, hi, scale, opts)
        gene._check_bounds()
        return gene

    def _check_bounds(self) -> None:
        xs: tuple[float, ...]
        if self.kind in ("float", "int"):
            xs = (float(self.value),)  # type: ignore[arg-type]
        elif self.kind == "floats":
            xs = self.value  # type: ignore[assignment]
        else:
            return
        for x in xs:
            if self.min is not None and x < self.min:
                raise GenomeError(self.name, f"value {x} is below min {self.min}")
            if self.max is not None and x > self.max:
                raise GenomeError(self.name, f"value {x} is above max {self.max}")

    @property
    def evolvable(self) -> bool:
        """Whether mutation can change this gene at all."""
        if self.kind == "str":
            return False
        if self.kind == "choice":
            return self.choices is not None and len(self.choices) > 1
        if self.kind in ("float", "int"):
            return self.min is None or self.max is None or self.min < self.max
        if self.kind == "floats":
            return len(self.value) > 0  # type: ignore[arg-type]
        return True

    def with_value(self, value: object) -> Gene:
        """The same gene (type, bounds, choices) holding another value, checked."""
        return Gene.make(
            self.name,
            self.kind,
            value,
            min=self.min,
            max=self.max,
            scale=self.scale,
            choices=self.choices,
        )

    def to_node(self) -> dict[str, Any]:
        """The gene as a DAG-JSON data-model map."""
        node: dict[str, Any] = {"type": self.kind}
        if self.kind == "int":
            node["value"] = self.value
            if self.min is not None:
                node["min"] = int(self.min)
            if self.max is not None:
                node["max"] = int(self.max)
        else:
            node["value"] = list(self.value) if self.kind == "floats" else self.value  # type: ignore[arg-type]
            if self.min is not None:
                node["min"] = self.min
            if self.max is not None:
                node["max"] = self.max
        if self.scale is not None:
            node["scale"] = self.scale
        if self.choices is not None:
            node["choices"] = list(self.choices)
        return node

    @classmethod
    def from_node(cls, name: str, node: object) -> Gene:
        """Parse a gene from its manifest map, coercing numbers by the declared type."""
        if not isinstance(node, dict):
            raise GenomeError(name, "must be a map with a 'type' and a 'value'")
        unknown = set(node) - {"type", "value", "min", "max", "scale", "choices"}
        if unknown:
            raise GenomeError(name, f"unknown field(s) {quoted(sorted(unknown))}")
        if "type" not in node or "value" not in node:
            raise GenomeError(name, "must have a 'type' and a 'value'")
        kind = node["type"]
        if kind not in GENE_KINDS:
            raise GenomeError(name, f"unknown type {quoted(kind)}")
        choices = node.get("choices")
        if choices is not None and not isinstance(choices, list):
            raise GenomeError(name, "choices must be a list")
        return cls.make(
            name,
            kind,
            node["value"],
            min=node.get("min"),
            max=node.get("max"),
            scale=node.get("scale"),
            choices=choices,
        )

    def display(self) -> str:
        """The value as a user would type it."""
        if self.kind == "bool":
            return "true" if self.value else "false"
        if self.kind == "floats":
            return "[" + ", ".join(repr(x) for x in self.value) + "]"  # type: ignore[union-attr]
        if self.kind == "float":
            return repr(self.value)
        return str(self.value)


@dataclass(frozen=True, slots=True)
class Genome(Mapping[str, Gene]):
    """An immutable mapping of gene name to :class:`Gene`, iterated in name order."""

    genes: tuple[Gene, ...] = field(default=())
    # Genes by name, built at the first lookup: a scan of ``genes`` per lookup made every loop
    # over names quadratic (diff of two 4,000-gene states: 0.6 s in lookups alone; the evolve
    # codec looks each gene of each individual up). Not built up front, as genomes the breeder
    # makes are mostly never looked into by name.
    _by_name: dict[str, Gene] | None = field(
        default=None, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        names = [g.name for g in self.genes]
        if names != sorted(set(names)):
            object.__setattr__(
                self,
                "genes",
                tuple(sorted({g.name: g for g in self.genes}.values(), key=lambda g: g.name)),
            )

    def __getitem__(self, name: str) -> Gene:
        index = self._by_name
        if index is None:
            index = {g.name: g for g in self.genes}
            object.__setattr__(self, "_by_name", index)
        return index[name]

    def __iter__(self) -> Iterator[str]:
        return (g.name for g in self.genes)

    def __len__(self) -> int:
        return len(self.genes)

    def with_genes(self, *genes: Gene) -> Genome:
        """A genome with ``genes`` added or replacing the ones of the same name."""
        merged = {g.name: g for g in self.genes}
        merged.update((g.name, g) for g in genes)
        return Genome(tuple(merged[n] for n in sorted(merged)))

    def without(self, *names: str) -> Genome:
        missing = [n for n in names if n not in self]
        if missing:
            raise GenomeError(missing[0], "no such gene")
        gone = set(names)
        return Genome(tuple(g for g in self.genes if g.name not in gone))

    def to_node(self) -> dict[str, Any]:
        return {g.name: g.to_node() for g in self.genes}

    @classmethod
    def from_node(cls, node: object) -> Genome:
        if not isinstance(node, dict):
            raise GenomeError("<genome>", "the genome must be a map of gene name to gene")
        return cls(tuple(Gene.from_node(name, node[name]) for name in sorted(node)))

    @property
    def evolvable(self) -> tuple[Gene, ...]:
        return tuple(g for g in self.genes if g.evolvable)


def parse_assignment(
    text: str,
    current: Gene | None,
    *,
    min: float | None = None,
    max: float | None = None,
    scale: float | None = None,
    choices: Iterable[str] | None = None,
) -> Gene:
    """Parse ``name=value`` as a user types it into a gene.

    An existing gene keeps its type (a value of another type is refused) and, unless new ones are
    given, its bounds and choices. A new gene's type is read from the value: ``true``/``false`` is
    a bool, ``3`` an int, ``0.7`` a float, ``[0.1, 0.2]`` a list of floats, anything else a string
    (a choice if ``choices`` is given), but for ``nan`` and ``inf``: no gene holds such a number.
    """
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise GenomeError(text, "expected name=value")
    opts = tuple(c.strip() for c in choices) if choices is not None else None
    kind: GeneKind
    if current is not None:
        kind = current.kind
        if opts is not None and kind not in ("str", "choice"):
            raise GenomeError(name, f"is {_a(kind)} gene; only a text gene can take --choices")
        value: object = _coerce_text(name, raw, kind)
        if kind == "str" and opts is not None:
            kind = "choice"
        return Gene.make(
            name,
            kind,
            value,
            min=current.min if min is None else min,
            max=current.max if max is None else max,
            scale=current.scale if scale is None else scale,
            choices=(current.choices if opts is None else opts) if kind == "choice" else None,
        )
    if opts is not None:
        # A choice is the text as typed, whatever it would read as alone (`["a"]` included).
        return Gene.make(name, "choice", raw, min=min, max=max, scale=scale, choices=opts)
    kind, value = _infer(raw, name)
    if kind == "int" and (_is_fractional(min) or _is_fractional(max)):
        # x=1 --min -5.12 means a float that happens to start whole.
        kind, value = "float", float(value)  # type: ignore[arg-type]
    return Gene.make(name, kind, value, min=min, max=max, scale=scale, choices=opts)


def _is_fractional(x: float | None) -> bool:
    return x is not None and not float(x).is_integer()


def _infer(raw: str, name: str) -> tuple[GeneKind, object]:
    s = raw.strip()
    if s in ("true", "false"):
        return "bool", s == "true"
    # ASCII digits only: int() would read "٣" (Arabic-Indic three) as 3.
    if re.fullmatch(r"[+-]?[0-9]+", s):
        digits = s.lstrip("+-").lstrip("0") or "0"
        if len(digits) > 4300:
            # int() refuses to read so many (an internal error was printed); the number is
            # beyond what a float holds too.
            raise GenomeError(name, f"value {quoted(s)} is beyond any number a gene can hold")
        return "int", int(s[0] + digits if s[0] in "+-" else digits)
    try:
        x = float(s)
    except ValueError:
        pass
    else:
        if re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", s):
            return "float", x
        if not math.isfinite(x):
            # nan, inf, -Infinity: read as text, they made a str gene where 1e400 (as infinite)
            # was refused; and a float gene called 'inf' "not a float".
            raise GenomeError(
                name,
                f"value must be a finite number, not {quoted(s)} (as text: a choice gene, "
                "--choices)",
            )
    if s.startswith("["):
        try:
            items = json.loads(s)
        except json.JSONDecodeError:
            return "str", raw
        if isinstance(items, list):
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in items):
                raise GenomeError(name, "a list gene holds numbers only, e.g. [0.1, 0.2]")
            return "floats", [float(v) for v in items]
    return "str", raw


# What a value of each kind is, after "is not" ("'2.5' is not an int").
_VALUE_OF = {"floats": "a list of floats"}


def _a(kind: str) -> str:
    """``kind`` with its article: "a float", "an int" ("a int gene" was printed)."""
    return f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}"


def _coerce_text(name: str, raw: str, kind: GeneKind) -> object:
    if kind in ("str", "choice"):
        # Before reading it as a number: `[1, "a"]` is no list gene's value but is text.
        return raw
    got, value = _infer(raw, name)
    if kind == "float" and got in ("int", "float"):
        return float(value)  # type: ignore[arg-type]
    if got == kind:
        return value
    raise GenomeError(
        name, f"is {_a(kind)} gene; {quoted(raw)} is not {_VALUE_OF.get(kind, _a(kind))}"
    )
