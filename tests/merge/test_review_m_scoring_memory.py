"""Review M: scoring candidates through ``fitness`` builds each manifest when it is scored.

A list of every candidate's manifest held 4,096 copies of the state at once: a state of 4,000
thoughts took 1.2 GB to merge twelve conflicting memories, and the peak grew with each thought.
"""

from __future__ import annotations

import tracemalloc

from mindgit.merge import Candidates, ModuleScorer, three_way
from mindgit.sandbox import FitnessModule
from mindgit.store.state import Block, State, make_thought
from tests.merge.conftest import RASTRIGIN


def test_manifests_are_built_one_at_a_time_not_all_held() -> None:
    thoughts = frozenset(make_thought(f"thought {i}").cid for i in range(1000))
    conflicts = 8  # memory conflicts: no genome vectors, so every candidate goes to `fitness`

    def side(label: str) -> State:
        memories = {f"m{i}": Block.encode({"value": f"{label} {i}"}).cid for i in range(conflicts)}
        return State(thoughts=thoughts, memories=tuple(memories.items()))

    candidates = Candidates(three_way(side("base"), side("ours"), side("theirs")))
    assert candidates.size == conflicts
    manifest = len(candidates.manifest(0))
    assert manifest > 60_000
    scorer = ModuleScorer(FitnessModule.load(RASTRIGIN.read_bytes()), None)
    assert scorer.entry(candidates) == "fitness"
    masks = list(range(1 << conflicts))
    tracemalloc.start()
    try:
        results = scorer.score(candidates, masks)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(results) == len(masks) and all(isinstance(r, float) for r in results)
    # All 256 manifests at once are ~18 MB; one at a time, a few of them.
    assert peak < 20 * manifest
