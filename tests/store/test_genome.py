from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mindgit.ipld import dagjson
from mindgit.store.genome import Gene, Genome, GenomeError, parse_assignment


def roundtrip(g: Genome) -> Genome:
    return Genome.from_node(dagjson.decode(dagjson.encode(g.to_node())))


def test_assignment_infers_types() -> None:
    assert parse_assignment("curiosity=0.7", None) == Gene.make("curiosity", "float", 0.7)
    assert parse_assignment("patience=3", None).kind == "int"
    assert parse_assignment("bold=true", None).value is True
    assert parse_assignment("mode=explore", None).kind == "str"
    assert parse_assignment("v=[0.5, 1]", None).value == (0.5, 1.0)
    g = parse_assignment("mode=explore", None, choices=["explore", "exploit", "rest"])
    assert g.kind == "choice" and g.choices == ("explore", "exploit", "rest")


def test_whole_number_with_fractional_bounds_is_a_float() -> None:
    g = parse_assignment("x1=-1", None, min=-5.12, max=5.12)
    assert g.kind == "float" and g.value == -1.0 and g.min == -5.12


def test_existing_gene_keeps_its_type() -> None:
    cur = Gene.make("patience", "int", 3, min=0, max=10)
    assert parse_assignment("patience=5", cur) == Gene.make("patience", "int", 5, min=0, max=10)
    with pytest.raises(GenomeError, match="int gene"):
        parse_assignment("patience=abc", cur)
    with pytest.raises(GenomeError, match="above max"):
        parse_assignment("patience=11", cur)
    f = Gene.make("c", "float", 0.5)
    assert parse_assignment("c=1", f).value == 1.0 and parse_assignment("c=1", f).kind == "float"


@pytest.mark.parametrize(
    ("kind", "value", "kw", "match"),
    [
        ("float", math.nan, {}, "finite"),
        ("float", math.inf, {}, "finite"),
        ("float", "x", {}, "number"),
        ("float", True, {}, "number"),
        ("int", 1.5, {}, "integer"),
        ("int", 2**60, {}, "2\\*\\*53"),
        # A bound read as a float first: it was "min must be an integer, not -9e+18".
        ("int", 0, {"min": -9e18}, "min -9000000000000000000 is beyond ±2\\*\\*53-1"),
        ("int", 0, {"max": 2.0**60}, "max 1152921504606846976 is beyond"),
        ("bool", 1, {}, "true or false"),
        ("choice", "z", {"choices": ["a", "b"]}, "not one of"),
        ("choice", "a", {}, "needs its choices"),
        ("float", 1.0, {"min": 2.0, "max": 1.0}, "above max"),
        ("bool", True, {"min": 0}, "takes no min"),
        ("str", "x", {"choices": ["x"]}, "takes no choices"),
        ("float", 0.0, {"scale": -1}, "positive"),
    ],
)
def test_bad_genes_are_refused(kind: str, value: object, kw: dict[str, object], match: str) -> None:
    with pytest.raises(GenomeError, match=match):
        Gene.make("g", kind, value, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["", "1abc", "a b", "a/b", "x" * 200])
def test_bad_gene_names(name: str) -> None:
    with pytest.raises(GenomeError):
        Gene.make(name, "float", 1.0)


def test_negative_zero_is_normalised() -> None:
    g = Gene.make("z", "float", -0.0)
    assert isinstance(g.value, float) and math.copysign(1, g.value) == 1


finite = st.floats(allow_nan=False, allow_infinity=False)


@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), finite, max_size=8))
def test_float_genome_roundtrips_through_dagjson(values: dict[str, float]) -> None:
    g = Genome(tuple(Gene.make(k, "float", v) for k, v in values.items()))
    back = roundtrip(g)
    assert back == g
    for name in values:
        assert isinstance(back[name].value, float)


def test_mixed_genome_roundtrips() -> None:
    g = Genome(
        (
            Gene.make("a", "float", 2.0, min=-5.12, max=5.12, scale=0.25),
            Gene.make("b", "int", 3, min=0, max=9),
            Gene.make("c", "bool", False),
            Gene.make("d", "choice", "y", choices=["x", "y"]),
            Gene.make("e", "floats", [1.0, -2.5, 1e-7]),
            Gene.make("f", "str", "fixed"),
        )
    )
    assert roundtrip(g) == g
    assert [x.name for x in g.evolvable] == ["a", "b", "c", "d", "e"]


def test_from_node_refuses_unknown_fields() -> None:
    with pytest.raises(GenomeError, match="unknown field"):
        Genome.from_node({"a": {"type": "float", "value": 1, "colour": "red"}})
    with pytest.raises(GenomeError, match="unknown type"):
        Genome.from_node({"a": {"type": "complex", "value": 1}})


def test_assignment_quirks_are_refused() -> None:
    assert parse_assignment("y=\u0663", None).kind == "str"  # an Arabic-Indic digit is text
    with pytest.raises(GenomeError, match="numbers only"):
        parse_assignment("y=[true]", None)
    with pytest.raises(GenomeError, match="--choices"):
        parse_assignment("g=2", Gene.make("g", "int", 1), choices=["a", "b"])


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "+Infinity", "-infinity"])
def test_a_number_that_is_not_finite_is_refused_as_one(value: str) -> None:
    """nan and inf made a text gene where 1e400 was refused, and a float gene said "'inf' is not
    a float": each is a number no gene holds, refused in the same words."""
    for current in (None, Gene.make("g", "float", 0.5)):
        with pytest.raises(GenomeError, match="must be a finite number, not"):
            parse_assignment(f"g={value}", current)
    # As text, where text is wanted.
    assert parse_assignment(f"g={value}", Gene.make("g", "str", "x")).value == value
    assert parse_assignment(f"g={value}", None, choices=[value, "b"]).value == value
    assert parse_assignment("g=nano", None).kind == "str"
