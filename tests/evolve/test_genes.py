"""The slot codec: its fast manifest spelling is the canonical one, and reading it back is strict."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mindgit.evolve.genes import GenomeCodec, GenomeMismatch, NoEvolvableGenes
from mindgit.evolve.operators import Mutator
from mindgit.evolve.prng import Stream
from mindgit.ipld.cid import CID
from mindgit.store.generation_check import ManifestShape
from mindgit.store.genome import Gene, GeneKind, Genome
from mindgit.store.state import State, make_thought
from tests.evolve.helpers import strictly_valid

TRICKY_FLOATS = [
    0.0,
    1.0,
    2.0,
    -3.0,
    0.1,
    1e-7,
    1.5e-7,
    1e21,
    1.5e21,
    2.0**53,
    2.0**53 + 2,
    5e-324,
    123456.789,
]
TEXTS = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=6)


def finite(lo: float = -1e30, hi: float = 1e30) -> st.SearchStrategy[float]:
    return st.one_of(
        st.floats(lo, hi, allow_nan=False, allow_infinity=False),
        st.sampled_from([x for x in TRICKY_FLOATS if lo <= x <= hi] or [lo]),
    )


KINDS: list[GeneKind] = ["float", "int", "bool", "choice", "floats", "str"]


@st.composite
def genes(draw: st.DrawFn, name: str) -> Gene:
    kind = draw(st.sampled_from(KINDS))
    if kind in ("float", "floats"):
        lo = draw(st.one_of(st.none(), finite(-1e6, 0.0)))
        hi = draw(st.one_of(st.none(), finite(0.0, 1e6)))
        bound_lo = -1e30 if lo is None else lo
        bound_hi = 1e30 if hi is None else hi
        scale = draw(st.one_of(st.none(), st.floats(1e-3, 10.0)))
        if kind == "float":
            value: object = draw(finite(bound_lo, bound_hi))
        else:
            value = draw(st.lists(finite(bound_lo, bound_hi), max_size=4))
        return Gene.make(name, kind, value, min=lo, max=hi, scale=scale)
    if kind == "int":
        lo_i = draw(st.one_of(st.none(), st.integers(-1000, 0)))
        hi_i = draw(st.one_of(st.none(), st.integers(0, 1000)))
        v = draw(st.integers(-1000 if lo_i is None else lo_i, 1000 if hi_i is None else hi_i))
        return Gene.make(name, "int", v, min=lo_i, max=hi_i)
    if kind == "bool":
        return Gene.make(name, "bool", draw(st.booleans()))
    if kind == "choice":
        choices = draw(st.lists(TEXTS, min_size=1, max_size=4, unique=True))
        return Gene.make(name, "choice", draw(st.sampled_from(choices)), choices=choices)
    return Gene.make(name, "str", draw(st.text(max_size=8)))


@st.composite
def states(draw: st.DrawFn) -> State:
    names = draw(
        st.lists(
            st.from_regex(r"[a-z][a-z0-9_.-]{0,5}", fullmatch=True),
            min_size=1,
            max_size=6,
            unique=True,
        )
    )
    gs = [draw(genes(n)) for n in names]
    thoughts = frozenset(
        make_thought(t).cid for t in draw(st.lists(st.sampled_from(["a", "b", "c"]), unique=True))
    )
    return State(Genome(tuple(gs)), thoughts)


def codec_of(state: State) -> GenomeCodec:
    try:
        return GenomeCodec(state, 0.1)
    except NoEvolvableGenes:
        assume(False)
        raise


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(states(), st.integers(0, 2**20))
def test_fast_encoding_is_the_canonical_encoding(state: State, seed: int) -> None:
    codec = codec_of(state)
    assert codec.encode(codec.start_values) == state.manifest().data
    stream = Stream.for_generation(seed, 0)
    for rate in (1.0, 0.5):
        values = list(codec.start_values)
        Mutator(codec, rate)(values, stream)
        data = codec.encode(values)
        mutated = codec.to_state(values)
        assert data == mutated.manifest().data
        assert codec.values_of_manifest(CID.of(data), data) == values


# Spellings of one slot's value. (An empty text would drop an element from a list: another
# genome layout, which the shape rightly does not match.)
SPELLINGS = [
    "1",
    "1.0",
    "1e0",
    "-0",
    "0",
    "0.0",
    "1e21",
    "1e+21",
    "1e-7",
    "1e-07",
    "true",
    "false",
    '"x"',
    "NaN",
    "Infinity",
    "2.5",
    "-2.5",
    "9007199254740993",
    "1E5",
    "01",
    "+1",
    "1000001",
    "-1000001",
    "null",
    "[]",
    "0.5",
    "3",
]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(states(), st.data())
def test_shape_match_agrees_with_the_strict_parser(state: State, data: st.DataObject) -> None:
    shape = ManifestShape(state)
    assume(shape.slots)
    texts = list(shape.match(state.manifest().data) or ())
    assert len(texts) == len(shape.slots)
    i = data.draw(st.integers(0, len(texts) - 1))
    choices = shape.slots[i].choices
    texts[i] = data.draw(st.sampled_from(SPELLINGS + [f'"{c}"' for c in choices]))
    raw = (shape.template % tuple(texts)).encode()
    strict = strictly_valid(raw, state)
    assert (shape.match(raw) is not None) == strict


def test_vector_spells_bools_and_choices_as_numbers() -> None:
    genome = Genome(
        (
            Gene.make("a", "bool", True),
            Gene.make("b", "choice", "y", choices=["x", "y", "z"]),
            Gene.make("c", "int", 3, min=0, max=9),
            Gene.make("d", "floats", [0.5, -1.0]),
        )
    )
    codec = GenomeCodec(State(genome), 0.1)
    assert codec.vector(codec.start_values) == [1.0, 1.0, 3.0, 0.5, -1.0]
    assert codec.batchable and not codec.all_float and codec.dim == 5


def test_a_str_gene_makes_the_genome_unbatchable() -> None:
    genome = Genome((Gene.make("x", "float", 0.5), Gene.make("name", "str", "fixed")))
    codec = GenomeCodec(State(genome), 0.1)
    assert not codec.batchable and codec.dim == 1


@pytest.mark.parametrize(
    "genome",
    [
        Genome(),
        Genome((Gene.make("s", "str", "only"),)),
        Genome((Gene.make("c", "choice", "one", choices=["one"]),)),
        Genome((Gene.make("f", "float", 1.0, min=1.0, max=1.0),)),
        Genome((Gene.make("l", "floats", []),)),
    ],
)
def test_nothing_evolvable_is_refused(genome: Genome) -> None:
    with pytest.raises(NoEvolvableGenes):
        GenomeCodec(State(genome), 0.1)


def test_a_manifest_of_another_layout_is_refused() -> None:
    codec = GenomeCodec(State(Genome((Gene.make("x", "float", 0.5, min=0, max=1),))), 0.1)
    for other in (
        State(Genome((Gene.make("x", "float", 0.5, min=0, max=2),))),
        State(Genome((Gene.make("y", "float", 0.5, min=0, max=1),))),
        State(
            Genome((Gene.make("x", "float", 0.5, min=0, max=1),)),
            frozenset({make_thought("t").cid}),
        ),
    ):
        m = other.manifest()
        with pytest.raises(GenomeMismatch):
            codec.values_of_manifest(m.cid, m.data)
    bad = codec.shape.template.replace("%s", "1.5").encode()  # out of bounds
    with pytest.raises(GenomeMismatch):
        codec.values_of_manifest(CID.of(bad), bad)


def test_integral_and_exponent_floats_are_spelled_like_javascript() -> None:
    genome = Genome(
        tuple(Gene.make(f"x{i}", "float", v) for i, v in enumerate([2.0, 1e-7, 1e21, -0.0]))
    )
    codec = GenomeCodec(State(genome), 0.1)
    text = codec.encode(codec.start_values).decode()
    assert '"value":2}' in text and '"value":1e-7}' in text and '"value":1e+21}' in text
    assert '"value":0}' in text
    assert all(math.copysign(1, v) == 1 for v in codec.start_values)
