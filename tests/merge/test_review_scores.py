"""Review: a Python scorer's NaN or infinite score disqualifies its candidate, as the sandbox's
does (docs/merge.md, "Failures"); a NaN scored first used to win every comparison."""

from __future__ import annotations

import math

import pytest

from mindgit.merge import FitnessFailedEverywhere, StateScorer, merge_states
from mindgit.store.genome import Genome
from mindgit.store.state import State
from tests.merge.conftest import x


def state(value: float) -> State:
    return State(Genome((x("x0", value),)), frozenset(), (), ())


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_non_finite_score_loses_to_a_finite_one(bad: float) -> None:
    def fitness(s: State) -> float:
        return bad if s.genome.genes[0].value == 1.0 else 0.0  # ours (x0 = 1.0) has no score

    merged, decisions = merge_states(
        state(3.0), state(1.0), state(0.0), scorer=StateScorer(fitness)
    )

    assert merged.genome.genes[0].value == 0.0
    assert decisions[0].winner == "theirs"
    assert decisions[0].scores == {"ours": None, "theirs": 0.0}


def test_nan_everywhere_fails_the_merge() -> None:
    with pytest.raises(FitnessFailedEverywhere, match="not a finite score"):
        merge_states(state(3.0), state(1.0), state(0.0), scorer=StateScorer(lambda s: math.nan))
