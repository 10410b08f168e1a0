"""The PRNG and its exact-arithmetic transforms: pinned output, ln accuracy, distributions."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mindgit.evolve.prng import Stream, ln, stream_key


def test_the_stream_is_pinned() -> None:
    # These numbers are what every machine must produce; a change here breaks every stored run.
    s = Stream.for_generation(7, 0)
    assert s.words(3) == [6101114942692920968, 13522232966101620517, 4494955846413819164]
    assert s.gaussian() == -0.00198036584096461
    assert s.uniform() == 0.04121119831626152
    assert s.below(1000) == 648
    assert stream_key(0, 0).hex() == (
        "c4c9547bd75bb631f5679e837d8dac414979b728dc3b0b944b23da2c30587f1c"
    )


def test_words_cross_block_boundaries_like_single_words() -> None:
    a, b = Stream(b"k"), Stream(b"k")
    assert a.words(5000) == [b.word() for _ in range(5000)]


def test_streams_differ_by_seed_and_generation() -> None:
    first = Stream.for_generation(1, 0).words(4)
    assert Stream.for_generation(1, 1).words(4) != first
    assert Stream.for_generation(2, 0).words(4) != first


@pytest.mark.parametrize("seed, gen", [(-1, 0), (0, -1), (2**64, 0)])
def test_stream_key_refuses_out_of_range(seed: int, gen: int) -> None:
    with pytest.raises(ValueError):
        stream_key(seed, gen)


@given(st.floats(min_value=5e-324, max_value=1.7e308, allow_nan=False, allow_infinity=False))
def test_ln_is_accurate(x: float) -> None:
    assert math.isclose(ln(x), math.log(x), rel_tol=4e-16, abs_tol=1e-300)


def test_ln_exact_points() -> None:
    assert ln(1.0) == 0.0
    assert ln(2.0) == math.log(2.0)
    assert abs(ln(math.e) - 1.0) < 4e-16


@pytest.mark.parametrize("x", [0.0, -1.0, math.inf, math.nan])
def test_ln_refuses_outside_its_domain(x: float) -> None:
    with pytest.raises(ValueError):
        ln(x)


def test_uniform_and_below_ranges() -> None:
    s = Stream(b"ranges")
    for _ in range(2000):
        assert 0.0 <= s.uniform() < 1.0
        assert 0 <= s.below(7) < 7


def test_gaussian_has_mean_zero_and_unit_variance() -> None:
    s = Stream(b"gauss")
    xs = [s.gaussian() for _ in range(40000)]
    mean = sum(xs) / len(xs)
    var = sum((x - mean) ** 2 for x in xs) / len(xs)
    assert abs(mean) < 0.02
    assert abs(var - 1.0) < 0.03
    assert sum(1 for x in xs if abs(x) > 1.96) / len(xs) == pytest.approx(0.05, abs=0.005)
