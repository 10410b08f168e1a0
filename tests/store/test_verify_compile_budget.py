"""`verify` gives fitness modules the gate's compile budget: a stored module's bytes may be
anyone's (a CI job verifies what was pushed), and wasmtime's compile time grows with the square
of a module's nesting (20,000 nested loops, 140 KB: over a minute). It compiled each with no
bound. The budget counts the time waited for compiles, not the time since the check began, so
the quick modules of a long verify are never refused for the verify's length."""

from __future__ import annotations

import time

import pygit2
import pytest

from mindgit.store import verify
from mindgit.store.repository import Store
from mindgit.store.verify import verify_commits
from tests.sync import forge
from tests.sync.test_gate_dos import fitness_tree, nested_loops


def test_a_module_that_compiles_for_too_long_is_refused_at_the_budget(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The module takes 4-5 s to compile here; a budget of 0.05 s refuses it on any machine up to
    # ~80x faster than this one (a budget of 1 s was inside 4x).
    monkeypatch.setattr(verify, "MODULE_COMPILE_SECONDS", 0.05)
    tip = forge.commit_tree(
        store.repo, fitness_tree(store.repo, nested_loops(5000)), [], "fitness: m", store.key
    )
    report = verify_commits(store.repo, store.trust, [tip], workers=1)
    reasons = [p.reason for p in report.problems]
    assert any(
        "the fitness module is refused: it did not compile within 0.05 s, the time one check "
        "may spend compiling modules" in r
        for r in reasons
    ), reasons
    # Had the compile been waited for, the sandbox would have refused the module for its ABI
    # (it exports no 'alloc'): that answer must not be the one given.
    assert not any("does not export 'alloc'" in r for r in reasons), reasons


def test_the_budget_is_the_time_waited_not_the_time_since_the_check_began(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quick module checked after the budget's length of other work still loads."""
    loads = verify.ModuleLoads(budget=0.5)
    time.sleep(0.6)  # the verify's other checks
    small = fitness_tree(store.repo, nested_loops(2))
    tree = store.repo[small].peel(pygit2.Tree)
    blob = tree["module.wasm"].id
    # Refused by the ABI (no alloc export), not for the time: it was compiled.
    refusal = loads.refusal(blob, store.repo[blob].read_raw())
    assert refusal is not None and "did not compile" not in refusal, refusal
    loads.close()
