"""Review M: the greedy ascent's batches of flips are packed as copies of one vector.

Each candidate's genome vector was built part by part, in Python: with 2,000 conflicting genes a
round of the ascent (2,000 flips of 2,000 values) took 2.8 s to pack, and a merge 207 s. Now
the first vector is built and each other one is that copy with the differing conflicts written.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.merge import Candidates, three_way
from mindgit.sandbox import genome_vector
from mindgit.store.genome import Gene, Genome
from mindgit.store.state import State


def side(values: list[float], width: int = 1) -> State:
    genes = []
    for i, v in enumerate(values):
        if width == 1:
            genes.append(Gene.make(f"g{i:05d}", "float", v))
        else:
            genes.append(Gene.make(f"g{i:05d}", "floats", [v + k for k in range(width)]))
    genes.append(Gene.make("zz-fixed", "float", 7.0))
    return State(Genome(tuple(genes)))


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 9),
    st.integers(1, 3),
    st.data(),
)
def test_packed_vectors_of_any_masks_in_any_order_are_each_candidates(
    n: int, width: int, data: st.DataObject
) -> None:
    candidates = Candidates(
        three_way(side([0.5] * n, width), side([1.0] * n, width), side([-1.0] * n, width))
    )
    assert candidates.size == n and candidates.batchable
    masks = data.draw(st.lists(st.integers(0, (1 << n) - 1), min_size=1, max_size=20))
    packed, dim = candidates.vectors(masks)
    assert len(packed) == 8 * dim * len(masks)
    for row, mask in enumerate(masks):
        expected = genome_vector(candidates.state(mask).genome.to_node())
        assert expected is not None
        assert struct.unpack_from(f"<{dim}d", packed, row * dim * 8) == expected


def _fastest(run: Callable[[], object], times: int = 3) -> float:
    best = float("inf")
    for _ in range(times):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def test_a_round_of_flips_costs_a_few_copies_of_the_batch() -> None:
    n = 2000
    candidates = Candidates(three_way(side([1.5] * n), side([0.0] * n), side([2.0] * n)))
    current = int("10" * (n // 2), 2)
    flips = [current ^ (1 << i) for i in range(n)]
    packed, dim = candidates.vectors(flips)
    assert dim == n + 1 and len(packed) == 8 * dim * n
    one = packed[: 8 * dim]

    copies = _fastest(lambda: one * n)
    packing = _fastest(lambda: candidates.vectors(flips))

    # Packing part by part took ~200 times one copy of the batch (1.7 s here); by copies, ~20.
    assert packing < 60 * copies + 0.1, (packing, copies)
