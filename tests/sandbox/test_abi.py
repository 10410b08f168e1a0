"""The ABI's genome vector, and OneMax reading it from manifests and vectors alike."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.sandbox import genome_vector
from tests.sandbox.helpers import load, manifest


def test_each_gene_kind() -> None:
    genome: dict[str, dict[str, object]] = {
        "f": {"max": 1, "min": 0, "type": "float", "value": 0.25},
        "i": {"max": 9, "min": 0, "type": "int", "value": 7},
        "b": {"type": "bool", "value": True},
        "c": {"choices": ["rest", "explore", "exploit"], "type": "choice", "value": "exploit"},
        "l": {"type": "floats", "value": [1.5, -2, 3]},
        "e": {"type": "floats", "value": []},
    }
    # Gene-name order: b, c, e, f, i, l.
    assert genome_vector(genome) == (1.0, 2.0, 0.25, 7.0, 1.5, -2.0, 3.0)


def test_names_sort_by_code_point() -> None:
    genome = {
        name: {"type": "float", "value": float(i)} for i, name in enumerate(["b", "B", "a_", "a."])
    }
    # "B" < "a." < "a_" < "b" in UTF-8 byte order.
    assert genome_vector(genome) == (1.0, 3.0, 2.0, 0.0)


@pytest.mark.parametrize(
    "gene",
    [
        {"type": "str", "value": "hello"},
        {"type": "float", "value": "1.0"},
        {"type": "float", "value": True},
        {"type": "float", "value": float("nan")},
        {"type": "int", "value": None},
        {"type": "bool", "value": 1},
        {"choices": ["a", "b"], "type": "choice", "value": "z"},
        {"choices": "ab", "type": "choice", "value": "a"},
        {"type": "choice", "value": "a"},
        {"type": "floats", "value": [1.0, "x"]},
        {"type": "floats", "value": [True]},
        {"type": "floats", "value": 1.0},
        {"type": "mystery", "value": 1.0},
        {"value": 1.0},
    ],
)
def test_non_numeric_genes_make_no_vector(gene: dict[str, object]) -> None:
    assert genome_vector({"a": {"type": "float", "value": 1.0}, "g": gene}) is None


genes = st.one_of(
    st.builds(lambda v: {"type": "float", "value": v}, st.floats(-1e6, 1e6)),
    st.builds(lambda v: {"type": "int", "value": v}, st.integers(-(2**53), 2**53)),
    st.builds(lambda v: {"type": "bool", "value": v}, st.booleans()),
    st.builds(
        lambda v: {"choices": ["x", "y", "z"], "type": "choice", "value": v},
        st.sampled_from(["x", "y", "z"]),
    ),
    st.builds(lambda v: {"type": "floats", "value": v}, st.lists(st.floats(-1e6, 1e6), max_size=4)),
)


@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True), genes, max_size=8))
@settings(max_examples=100, deadline=None)
def test_vector_is_the_concatenation_in_name_order(genome: dict[str, Any]) -> None:
    vector = genome_vector(genome)
    assert vector is not None
    expected: list[float] = []
    for name in sorted(genome):
        gene = genome[name]
        if gene["type"] == "floats":
            expected.extend(gene["value"])
        elif gene["type"] == "choice":
            expected.append(float(gene["choices"].index(gene["value"])))
        else:
            expected.append(float(gene["value"]))
    assert vector == tuple(expected)


@given(st.lists(st.booleans(), max_size=30))
@settings(max_examples=50, deadline=None)
def test_onemax_counts_true_genes_both_ways(bits: list[bool]) -> None:
    module = load("onemax.wat")
    genome = {f"g{i:02d}": {"type": "bool", "value": b} for i, b in enumerate(bits)}
    vector = genome_vector(genome)
    assert vector is not None
    assert module.score(manifest(genome)) == float(sum(bits))
    assert module.score_batch([vector], len(vector)) == [float(sum(bits))]
