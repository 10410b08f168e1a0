"""Builders for evolve tests: stores with genomes, shipped fitness modules, small runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from mindgit.errors import MindgitError
from mindgit.store.genome import Gene
from mindgit.store.repository import Store, init_store
from mindgit.store.state import State, parse_manifest

FITNESS = Path(__file__).resolve().parent.parent.parent / "fixtures" / "fitness"
HOSTILE = FITNESS / "hostile"
RASTRIGIN = FITNESS / "rastrigin.wat"
ONEMAX = FITNESS / "onemax.wat"


def float_genes(n: int, lo: float = -5.12, hi: float = 5.12) -> list[Gene]:
    """``n`` float genes x00.. with values spread over [lo, hi]."""
    return [
        Gene.make(
            f"x{i:02d}",
            "float",
            round(lo + (hi - lo) * ((i * 37 + 11) % 97) / 97, 2),
            min=lo,
            max=hi,
        )
        for i in range(n)
    ]


def new_store(
    path: Path, genes: Iterable[Gene], *, name: str = "alpha", thought: str | None = "hello"
) -> Store:
    """A store whose current experiment holds ``genes`` (and one thought)."""
    store = init_store(path, name)
    if thought is not None:
        store.think(thought, ["test"])
    store.set_genes(genes)
    return store


def strictly_valid(raw: bytes, state: State) -> bool:
    """The exact path's verdict on manifest bytes that claim ``state``'s thoughts: what any
    faster manifest check must agree with."""
    try:
        parsed = parse_manifest(raw)
    except MindgitError:
        return False
    return parsed.manifest().data == raw and parsed.thoughts == state.thoughts


def stop_after(n: int) -> Callable[[], bool]:
    """A should_stop that lets ``n`` more generations be bred."""
    calls = 0

    def check() -> bool:
        nonlocal calls
        calls += 1
        return calls > n

    return check
