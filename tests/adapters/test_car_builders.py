"""Builders shared by the CAR tests: stores with states worth exporting, CAR surgery, snapshots.

No tests here; the other ``test_car_*`` modules import these.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

from mindgit.adapters.car_export import export
from mindgit.ipld.car import CarReader, write_car
from mindgit.ipld.cid import CID
from mindgit.store.genome import parse_assignment
from mindgit.store.repository import Store
from mindgit.store.state import Block


def rich_store(store: Store) -> Store:
    """``store`` with a history worth exporting: thoughts, genes, memories, data, a fork, a forget.

    Experiment ``dreamer`` ends in a state with thoughts, genes, a memory and a data block; its
    history includes a forgotten thought and a memory edit, so old states hold blocks the head
    does not.
    """
    store.think("the garden is quiet at dawn", ["observation"])
    store.set_genes(
        [
            parse_assignment("curiosity=0.7", None),
            parse_assignment("patience=3", None),
            parse_assignment("rate=1e-7", None),
        ]
    )
    store.fork("dreamer")
    _, gone = store.think("a thought that will be forgotten")
    store.think("dreams of flight", ["dream", "sky"])
    human = Block.encode({"label": "human", "value": "First name: Ada"})
    tools = Block.encode({"tools": ["search", "recall"]})
    state = store.state().with_memories({"human": human.cid}).with_data({"agent": tools.cid})
    store.commit_state(state, {human.cid: human.data, tools.cid: tools.data}, "memories\n\nbody")
    store.forget(gone)
    edited = Block.encode({"label": "human", "value": "First name: Grace"})
    store.commit_state(
        store.state().with_memories({"human": edited.cid}),
        {edited.cid: edited.data},
        "edit memory",
        trailers={"Why": "she said so", "Seen-By": "alpha"},
    )
    store.switch("main")
    return store


def export_bytes(store: Store, rev: str | None = None, *, history: bool = False) -> bytes:
    out = io.BytesIO()
    export(store, rev, out, history=history)
    return out.getvalue()


def car_sections(car: bytes) -> tuple[tuple[CID, ...], list[tuple[CID, bytes]]]:
    reader = CarReader(io.BytesIO(car))
    return reader.roots, list(reader)


def make_car(roots: Iterable[CID], blocks: Iterable[tuple[CID, bytes]]) -> bytes:
    out = io.BytesIO()
    write_car(out, list(roots), blocks)
    return out.getvalue()


def store_fingerprint(store: Store) -> tuple[tuple[tuple[str, bytes], ...], tuple[str, ...]]:
    """Every ref file (and HEAD, packed-refs) with its content, and every path under objects/."""
    root = Path(store.path)
    refs = []
    for path in sorted([root / "HEAD", root / "packed-refs", *(root / "refs").rglob("*")]):
        if path.is_file():
            refs.append((str(path.relative_to(root)), path.read_bytes()))
    objects = tuple(sorted(str(p.relative_to(root)) for p in (root / "objects").rglob("*")))
    return tuple(refs), objects
