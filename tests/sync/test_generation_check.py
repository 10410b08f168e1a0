"""ManifestShape.match checks a generation's float slots in bulk: it must accept exactly the
manifests that the strict parser accepts and re-encodes to the same bytes, whatever mix of
canonical, integral, exponent and malformed spellings the slots hold."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mindgit.errors import MindgitError
from mindgit.ipld import dagjson
from mindgit.store.generation_check import ManifestShape
from mindgit.store.genome import Gene, Genome
from mindgit.store.state import State, make_thought
from tests.evolve.helpers import strictly_valid

ODD = [
    "1.0",
    "-0.0",
    "0",
    "2",
    "1e-7",
    "1E-7",
    "1e+21",
    "1e21",
    "1.5e+21",
    "inf",
    "-inf",
    "nan",
    "NaN",
    "Infinity",
    " 1.5",
    "1.5 ",
    "+1.5",
    "1_0.5",
    "01.5",
    ".5",
    "5.",
    "0x10",
    "true",
    '"1.5"',
    "9007199254740992.0",
    "9007199254740992",
    "100000000000000000000",
    "1e400",
]


def _canonical(x: float) -> str:
    try:
        return dagjson.float_text(x)
    except MindgitError:
        return repr(x)


SLOT_TEXT = st.one_of(
    st.floats(-10.0, 10.0).map(repr),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(-1e30, 1e30, allow_nan=False).map(_canonical),
    st.integers(-20, 20).map(str),
    st.sampled_from(ODD),
)


@st.composite
def float_states(draw: st.DrawFn) -> State:
    n = draw(st.integers(1, 4))
    gs = []
    for i in range(n):
        lo = draw(st.one_of(st.none(), st.sampled_from([-10.0, -5.12, 0.0])))
        hi = draw(st.one_of(st.none(), st.sampled_from([0.0, 5.12, 10.0])))
        value = 0.0
        if draw(st.booleans()):
            gs.append(
                Gene.make(f"g{i}", "floats", [value] * draw(st.integers(1, 3)), min=lo, max=hi)
            )
        else:
            gs.append(Gene.make(f"g{i}", "float", value, min=lo, max=hi))
    if draw(st.booleans()):
        gs.append(Gene.make("k", "int", 3, min=0, max=9))
    thoughts = frozenset({make_thought("t").cid}) if draw(st.booleans()) else frozenset()
    return State(Genome(tuple(gs)), thoughts)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(float_states(), st.data())
def test_match_agrees_with_the_strict_parser_on_every_slot_at_once(
    state: State, data: st.DataObject
) -> None:
    shape = ManifestShape(state)
    # The state's own manifest first: its values are remembered as valid, which must never
    # make another text pass.
    assert shape.match(state.manifest().data) is not None
    texts = [
        data.draw(SLOT_TEXT) if slot.kind == 0 else data.draw(st.sampled_from(["3", "7", "10"]))
        for slot in shape.slots
    ]
    raw = (shape.template % tuple(texts)).encode()
    strict = strictly_valid(raw, state)
    got = shape.match(raw)
    assert (got is not None) == strict, texts
    assert (shape.match(raw) is not None) == strict, texts  # again, with texts remembered
    if got is not None:
        assert list(got) == texts


def test_a_canonical_generation_of_floats_matches_and_one_bad_slot_does_not() -> None:
    state = State(Genome((Gene.make("x", "floats", [0.5, -1.25, 3.0], min=-5.0, max=5.0),)))
    shape = ManifestShape(state)
    for texts, ok in (
        (("0.5", "-1.25", "3"), True),
        (("0.5", "-1.25", "3.0"), False),  # integral floats drop their ".0"
        (("0.5", "-1.25", "1e-7"), True),
        (("0.5", "-1.25", "1E-7"), False),
        (("0.5", "-1.25", "5.5"), False),  # over the gene's maximum
        (("0.5", "-0.0", "3"), False),
        (("0.5", "nan", "3"), False),
    ):
        raw = (shape.template % texts).encode()
        assert (shape.match(raw) is not None) is ok, texts


def test_a_value_remembered_within_one_genes_bounds_is_not_taken_for_anothers() -> None:
    state = State(
        Genome(
            (
                Gene.make("a", "float", 1.0, min=0.0, max=10.0),
                Gene.make("b", "float", 1.0, min=0.0, max=5.0),
            )
        )
    )
    shape = ManifestShape(state)
    assert shape.match((shape.template % ("7.5", "1")).encode()) is not None
    assert shape.match((shape.template % ("1", "7.5")).encode()) is None
    assert shape.match((shape.template % ("7.5", "7.5")).encode()) is None


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(float_states(), st.data())
def test_match_many_answers_what_match_answers_for_each(state: State, data: st.DataObject) -> None:
    one_by_one, at_once = ManifestShape(state), ManifestShape(state)
    raws = [state.manifest().data]
    for _ in range(data.draw(st.integers(0, 6))):
        texts = tuple(
            data.draw(SLOT_TEXT) if slot.kind == 0 else data.draw(st.sampled_from(["3", "10"]))
            for slot in one_by_one.slots
        )
        raws.append((one_by_one.template % texts).encode())
    raws.append(data.draw(st.sampled_from([b"", b"\xff", raws[0] + b" ", raws[0][1:]])))
    order = data.draw(st.permutations(raws))
    assert at_once.match_many(order) == [one_by_one.match(raw) for raw in order]
    assert at_once.match_many(order) == [one_by_one.match(raw) for raw in order]  # remembered


def test_an_integer_too_long_to_read_is_no_match_and_no_crash() -> None:
    shape = ManifestShape(State(Genome((Gene.make("k", "int", 3, min=0, max=9),))))
    for text in ("1" * 5000, "-" + "1" * 5000, "9" * 17, "-" + "9" * 16):
        raw = (shape.template % (text,)).encode()
        assert shape.match(raw) is None
        assert shape.match_many([raw]) == [None]
    assert shape.match((shape.template % ("9",)).encode()) == ("9",)
