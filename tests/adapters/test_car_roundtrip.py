"""Random states through export and import: same CIDs, same trees, the same CAR again, and the
JavaScript IPLD stack (@ipld/car, @ipld/dag-json) reads every block to the same bytes and CIDs."""

from __future__ import annotations

import contextlib
import io
import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mindgit.adapters.car_import import import_car
from mindgit.ipld import dagjson
from mindgit.store.genome import Gene
from mindgit.store.repository import NothingChanged, Store, init_store
from mindgit.store.state import Block, State
from tests.adapters.test_car_builders import car_sections, export_bytes
from tests.ipld.conftest import JsIpld, js_ipld  # noqa: F401
from tests.ipld.strategies import encodable, finite_floats

NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,12}", fullmatch=True)
BLOCK_NAMES = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,12}", fullmatch=True)
# Every data-model kind but links: a link inside a memory must name a block of the same state.
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | finite_floats()
    | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
GENES = st.one_of(
    st.builds(lambda n, v: Gene.make(n, "float", v), NAMES, finite_floats()),
    st.builds(lambda n, v: Gene.make(n, "int", v), NAMES, st.integers(-(2**53) + 1, 2**53 - 1)),
    st.builds(lambda n, v: Gene.make(n, "bool", v), NAMES, st.booleans()),
    st.builds(lambda n, v: Gene.make(n, "str", v), NAMES, st.text(max_size=20)),
    st.builds(lambda n, v: Gene.make(n, "floats", v), NAMES, st.lists(finite_floats(), max_size=4)),
)


def note(text: str, tags: list[str]) -> Block:
    """A note as any mindgit may have stored it: make_thought now refuses tags with control
    characters, but a store (or a peer's) may hold notes written before it did."""
    tag_list: list[dagjson.Node] = list(sorted(set(tags)))
    return Block.encode({"tags": tag_list, "text": text, "type": "note"})


THOUGHTS = st.builds(
    note,
    st.text(min_size=1, max_size=60).filter(str.strip),
    st.lists(st.text(min_size=1, max_size=10).filter(lambda t: t == t.strip()), max_size=3),
)


@st.composite
def states(draw: st.DrawFn) -> tuple[State, dict[Any, bytes], str]:
    thoughts = draw(st.lists(THOUGHTS, max_size=5))
    genes = draw(st.lists(GENES, max_size=5, unique_by=lambda g: g.name))
    blocks = {b.cid: b.data for b in thoughts}
    named: dict[str, dict[str, Any]] = {"memories": {}, "data": {}}
    for kind in named:
        for name in draw(st.lists(BLOCK_NAMES, max_size=3, unique=True)):
            data = encodable(draw(VALUES))
            block = Block.encode(dagjson.decode(data))
            blocks[block.cid] = block.data
            named[kind][name] = block.cid
    state = (
        State(thoughts=frozenset(b.cid for b in thoughts))
        .with_genome(State().genome.with_genes(*genes))
        .with_memories(named["memories"])
        .with_data(named["data"])
    )
    # A commit needs some text (Store.write_commit refuses a message of blanks only).
    message = draw(st.text(min_size=1, max_size=40).filter(lambda m: "\0" not in m and m.strip()))
    return state, blocks, message


@pytest.fixture
def target(tmp_path: Path) -> Store:
    return init_store(tmp_path / "beta", "beta")


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=states())
def test_random_states_round_trip_and_load_in_javascript(
    store: Store,
    target: Store,
    js_ipld: JsIpld,  # noqa: F811
    tmp_path: Path,
    drawn: tuple[State, dict[Any, bytes], str],
) -> None:
    state, blocks, message = drawn
    # One growing history on the source, so later examples export many states.
    with contextlib.suppress(NothingChanged):  # the same state as the head: still exported
        store.commit_state(state, blocks, message)
    source = store.snapshot()
    for history in (False, True):
        car = export_bytes(store, history=history)
        name = f"copy-{next(COUNTER)}"
        summary = import_car(target, io.BytesIO(car), experiment=name)
        copy = target.snapshot(name)
        assert summary.state == copy.manifest.cid == source.manifest.cid
        assert copy.tree.id == source.tree.id  # the very tree the store itself wrote
        assert export_bytes(target, name, history=history) == car
    roots, sections = car_sections(car)
    path = tmp_path / "random.car"
    path.write_bytes(car)
    report = js_ipld.json("check-blocks.mjs", "--car", str(path))
    assert report["roots"] == [str(r) for r in roots]
    assert [b["cid"] for b in report["blocks"]] == [str(c) for c, _ in sections]
    for block in report["blocks"]:
        assert block["error"] is None and block["hash_ok"] and block["identical"], block
        assert block["computed"] == block["cid"] == block["reencoded_cid"], block
    assert report["missing"] == []
    assert sorted(report["reachable"]) == sorted(str(c) for c, _ in sections)


COUNTER = itertools.count()
