"""block set and restore edit an imported agent: an experiment that holds none is refused, and
nothing changes (found by review: a block restored there was added to it as a memory)."""

from __future__ import annotations

import pytest

from mindgit.adapters.agentfile import NotAnImportedAgent, import_af, restore_block, set_block
from mindgit.store.repository import Store
from tests.adapters.test_agentfile_builders import AGENT_FILES
from tests.conftest import Mg
from tests.snapshots import changes, snapshot


def test_restore_into_an_experiment_holding_no_agent_is_refused(store: Store, mg: Mg) -> None:
    import_af(store, AGENT_FILES / "memgpt_agent.af", name="memgpt")
    before = snapshot(store.path)
    plain = store.state("main")
    for args in (
        ("restore", "human", "--from", "memgpt", "-e", "main"),
        ("block", "restore", "human", "--from", "memgpt", "-e", "main"),
        ("block", "set", "human", "v", "-e", "main"),
        ("restore", "human", "--from", "memgpt"),  # main is the current experiment
    ):
        r = mg("--store", str(store.path), *args)
        assert (r.code, r.out) == (1, ""), r.err
        assert r.err.count("\n") == 1, r.err
        assert r.err.startswith("mindgit: error: experiment main holds no imported agent"), r.err
        assert "import-af" in r.err
    assert changes(before, snapshot(store.path)) == []
    assert store.state("main") == plain
    with pytest.raises(NotAnImportedAgent, match="experiment main holds no imported agent"):
        restore_block(store, "human", "memgpt", experiment="main")
    with pytest.raises(NotAnImportedAgent, match="experiment main holds no imported agent"):
        set_block(store, "human", "v", experiment="main")
    assert changes(before, snapshot(store.path)) == []


def test_restore_between_agents_still_works(store: Store) -> None:
    import_af(store, AGENT_FILES / "memgpt_agent.af", name="one")
    import_af(store, AGENT_FILES / "deep_research_agent.af", name="two")
    restore_block(store, "human", "one", experiment="two")
    assert store.state("two").memory("human") == store.state("one").memory("human")
