"""Fitness-guided three-way merge of mind states, and the git merge driver.

``merge`` merges experiments in a store; ``merge_states`` is the pure core; ``mindgit.merge.
gitdriver`` runs the same merge on ``manifest.json`` under stock ``git merge``. docs/merge.md
explains the rule with a worked example.
"""

from __future__ import annotations

from collections.abc import Mapping

from mindgit.ipld.cid import CID
from mindgit.merge.core import (
    BY_FITNESS,
    FORGOTTEN,
    OURS_ONLY,
    SHARED_ON_BOTH_SIDES,
    THEIRS_ONLY,
    Conflict,
    Decision,
    Envelope,
    ThoughtDecision,
    ThoughtMerge,
    ThreeWay,
    merge_thoughts,
    thought_merge,
    three_way,
)
from mindgit.merge.engine import (
    InvalidThought,
    MergeBasesConflict,
    MergeIntoItself,
    MergeOutcome,
    MergePlan,
    UnrelatedHistories,
    apply_merge,
    merge,
    merge_bases,
    plan_merge,
)
from mindgit.merge.lookup import (
    FitnessChoice,
    ModuleCorrupt,
    ModuleUnreadable,
    find_fitness,
    find_module,
)
from mindgit.merge.search import (
    EXHAUSTIVE_LIMIT,
    MAX_ROUNDS,
    Candidates,
    FitnessFailedEverywhere,
    MergeConflict,
    ModuleScorer,
    Resolution,
    Scorer,
    StateScorer,
    resolve,
)
from mindgit.store.repository import NotAState
from mindgit.store.settings import BadConfigValue
from mindgit.store.state import State


def merge_states(
    base: State | None,
    ours: State,
    theirs: State,
    *,
    scorer: Scorer | None = None,
    envelopes: Mapping[CID, Envelope] | None = None,
) -> tuple[State, tuple[Decision, ...]]:
    """Merge two states from their base (None: unrelated) by the three-way rule; conflicts
    are decided by ``scorer`` (``MergeConflict`` if there are any and no scorer).
    ``envelopes``: the private thoughts among those not all three hold (``mindgit.merge.
    envelopes.envelope_of`` of each one's bytes), so that a shared one is the same thought.

    >>> merged, decisions = merge_states(base, ours, theirs, scorer=StateScorer(f))  # doctest: +SKIP
    """
    resolution = resolve(three_way(base, ours, theirs, envelopes), scorer)
    return resolution.state, resolution.decisions


__all__ = [
    "BY_FITNESS",
    "EXHAUSTIVE_LIMIT",
    "FORGOTTEN",
    "MAX_ROUNDS",
    "OURS_ONLY",
    "SHARED_ON_BOTH_SIDES",
    "THEIRS_ONLY",
    "BadConfigValue",
    "Candidates",
    "Conflict",
    "Decision",
    "Envelope",
    "FitnessChoice",
    "FitnessFailedEverywhere",
    "InvalidThought",
    "MergeBasesConflict",
    "MergeConflict",
    "MergeIntoItself",
    "MergeOutcome",
    "MergePlan",
    "ModuleCorrupt",
    "ModuleScorer",
    "ModuleUnreadable",
    "NotAState",
    "Resolution",
    "Scorer",
    "StateScorer",
    "ThoughtDecision",
    "ThoughtMerge",
    "ThreeWay",
    "UnrelatedHistories",
    "apply_merge",
    "find_fitness",
    "find_module",
    "merge",
    "merge_bases",
    "merge_states",
    "merge_thoughts",
    "plan_merge",
    "resolve",
    "thought_merge",
    "three_way",
]
