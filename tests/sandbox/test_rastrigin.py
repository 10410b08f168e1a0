"""The shipped Rastrigin modules: WAT, AssemblyScript and C agree bit for bit, on both entry
points, with each other and with a Python mirror of their algorithm, and the algorithm is
accurate against libm."""

from __future__ import annotations

import math
import struct
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.sandbox import FitnessFailure, FitnessModule, Trap, genome_vector
from tests.sandbox import reference
from tests.sandbox.helpers import RASTRIGINS, es_number, float_genome, load, manifest


def bits(x: float | FitnessFailure) -> bytes:
    assert isinstance(x, float), x
    return struct.pack("<d", x)


def modules() -> list[FitnessModule]:
    return [load(name) for name in RASTRIGINS]


genes = st.floats(min_value=-5.12, max_value=5.12, allow_nan=False, allow_infinity=False)
wide = st.floats(min_value=-1e150, max_value=1e150, allow_nan=False, allow_infinity=False)
vectors = st.lists(st.one_of(genes, wide), min_size=0, max_size=12)


@pytest.mark.parametrize("name", RASTRIGINS)
def test_origin_scores_positive_zero(name: str) -> None:
    module = load(name)
    for dim in (1, 2, 32):
        [score] = module.score_batch([[0.0] * dim], dim)
        assert bits(score) == bits(0.0)  # +0.0, not -0.0
        assert bits(module.score(manifest(float_genome([0.0] * dim)))) == bits(0.0)


@pytest.mark.parametrize("name", RASTRIGINS)
def test_known_values(name: str) -> None:
    module = load(name)
    # Integers are local optima: cos(2 pi k) = 1, so each gene adds k^2.
    assert module.score_batch([[1.0, 2.0], [-3.0, 0.0]], 2) == [-5.0, -9.0]
    # x = 0.5: cos(pi) = -1, so the term is 0.25 + 10 + 10.
    assert module.score_batch([[0.5]], 1) == [-20.25]
    assert module.score(manifest(float_genome([0.5, 1.0]))) == -21.25


@given(st.lists(genes, min_size=1, max_size=40))
@settings(max_examples=60, deadline=None)
def test_accurate_against_libm(xs: list[float]) -> None:
    expected = reference.rastrigin_exact(xs)
    for module in modules():
        [score] = module.score_batch([xs], len(xs))
        assert score == pytest.approx(expected, abs=1e-9, rel=0)


@given(
    st.lists(vectors.filter(bool), min_size=1, max_size=8).flatmap(
        lambda rows: st.just([row[: min(map(len, rows))] for row in rows])
    )
)
@settings(max_examples=100, deadline=None)
def test_batch_bit_identical_across_languages(rows: list[list[float]]) -> None:
    dim = len(rows[0])
    expected = [bits(reference.rastrigin_score(row)) for row in rows]
    for module in modules():
        scores = module.score_batch(rows, dim)
        assert all(isinstance(s, float) for s in scores)
        assert [bits(s) for s in scores if isinstance(s, float)] == expected


@given(vectors, st.sampled_from([repr, es_number]))
@settings(max_examples=100, deadline=None)
def test_fitness_bit_identical_across_languages(
    xs: list[float], spell: Callable[[float], str]
) -> None:
    data = manifest(float_genome(xs), spell)
    # The modules parse the spelling in the manifest; the mirror parses the same text.
    parsed = [reference.parse_number(spell(x)) for x in xs]
    expected = bits(reference.rastrigin_score(parsed))
    assert [bits(module.score(data)) for module in modules()] == [expected] * len(RASTRIGINS)


@given(st.lists(st.integers(min_value=-4096, max_value=4096), max_size=10))
@settings(max_examples=50, deadline=None)
def test_entry_points_agree_when_the_decimal_parse_is_exact(eighths: list[int]) -> None:
    # Multiples of 1/8 have short decimals that the parse reads exactly.
    xs = [k / 8 for k in eighths]
    for module in modules():
        from_manifest = module.score(manifest(float_genome(xs), es_number))
        [from_vector] = module.score_batch([xs], len(xs))
        assert bits(from_manifest) == bits(from_vector)


def test_fitness_walks_every_numeric_gene_kind() -> None:
    genome: dict[str, dict[str, object]] = {
        "a": {"type": "bool", "value": True},
        "b": {"choices": ["x", 'y"z', "w"], "type": "choice", "value": "w"},
        "c": {"type": "str", "value": "not a number, skipped"},
        "d": {"type": "floats", "value": [1.5, -2.0]},
        "e": {"max": 3, "min": 0, "type": "int", "value": 2},
        "f": {"type": "bool", "value": False},
    }
    numeric = {k: v for k, v in genome.items() if k != "c"}
    vector = genome_vector(numeric)
    assert vector == (1.0, 2.0, 1.5, -2.0, 2.0, 0.0)
    expected = reference.rastrigin_score(vector)
    for module in modules():
        assert module.score(manifest(genome)) == expected
        assert module.score_batch([vector], len(vector)) == [expected]


def test_genome_without_genes_scores_zero() -> None:
    for module in modules():
        assert module.score(b'{"genome":{},"schema":1}') == 0.0
        assert module.score(b'{"schema":1}') == 0.0


def test_other_keys_are_skipped_whatever_they_hold() -> None:
    data = (
        b'{"a":[{"b":"}]\\"{["},[],{}],"genome":{"x":{"note":{"deep":[1,[2,{"value":3}]]},'
        b'"type":"float","value":1}},"meta":null,"z":-1.5e-3}'
    )
    for module in modules():
        assert module.score(data) == -1.0


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[]",
        b'{"genome":{"x":{"type":"float","value":1}}',  # unterminated
        b'{"genome":{"x":{"type":"float","value":1}}}trailing',
        b'{"genome":{"x":{"type":"float","value":null}},"schema":1}',
        b'{"genome":{"x":{"type":"float","value":.5}},"schema":1}',
        b'{"genome":{"x":{"type":"float","value":1.}},"schema":1}',
        b'{"genome":{"x":{"type":"float","value":1e}},"schema":1}',
        b'{"genome":{"x":{"type":"float","value":[1,[2]]}},"schema":1}',
        b'{"genome":{"x":{"choices":["a"],"type":"choice","value":"b"}},"schema":1}',
        b'{"genome":{"x":{"type":"bool","value":tru}},"schema":1}',
        b'{"genome":[1,2],"schema":1}',
        b'{"genome":{"x":1},"schema":1}',
        b'{"genome" :{},"schema":1}',  # whitespace is not canonical
    ],
)
def test_malformed_manifest_traps(data: bytes) -> None:
    for module in modules():
        with pytest.raises(Trap) as info:
            module.score(data)
        assert info.value.code == "unreachable"


@given(st.floats(allow_nan=False, allow_infinity=False))
@settings(max_examples=300, deadline=None)
def test_mirror_parse_reads_both_spellings(x: float) -> None:
    # Not correctly rounded (documented): each rounding step (the 17-digit mantissa to f64, each
    # scaling by 1e22, the last by 10^k) may add up to an ulp, and |e10| is at most the
    # decimal exponent plus the 17 digits kept.
    steps = 3 + (abs(int(f"{x:e}".split("e")[1])) + 17) // 22
    for text in (repr(x), es_number(x)):
        parsed = reference.parse_number(text)
        assert parsed == x or abs(parsed - x) <= steps * math.ulp(x)


def test_parse_is_exact_for_short_decimals() -> None:
    for text, value in [
        ("0.5", 0.5),
        ("-2", -2.0),
        ("1e-7", 1e-7),
        ("5.12", 5.12),
        ("1e+21", 1e21),
    ]:
        assert reference.parse_number(text) == value


fifteen_digits = st.floats(min_value=1e-6, max_value=1e6).map(lambda x: float(f"{x:.15g}"))


@given(st.lists(st.tuples(fifteen_digits, st.booleans()), min_size=1, max_size=8))
@settings(max_examples=60, deadline=None)
def test_parse_is_exact_up_to_fifteen_digits(signed: list[tuple[float, bool]]) -> None:
    # docs/fitness-abi.md promises exact parses (so equal entry points) for these numbers.
    xs = [-x if negative else x for x, negative in signed]
    for x in xs:
        assert reference.parse_number(repr(x)) == x
        assert reference.parse_number(es_number(x)) == x
    module = load("rastrigin.wat")
    [from_vector] = module.score_batch([xs], len(xs))
    assert bits(module.score(manifest(float_genome(xs), es_number))) == bits(from_vector)
