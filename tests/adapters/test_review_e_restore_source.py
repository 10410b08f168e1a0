"""Review E: `restore LABEL --from REV` takes a block from an imported agent. A REV that holds
none (a plain state's memory of that name) is refused, as a target that holds none is
(643a9ac): the plain memory was restored into the agent, and export-af then wrote it as a
block with no label and no id."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from mindgit.adapters.agentfile import NotAnImportedAgent, import_af, restore_block
from mindgit.ipld.cid import CID
from mindgit.store.repository import Store
from mindgit.store.state import Block, State
from tests.adapters.test_agentfile_builders import AGENT_FILES
from tests.conftest import Mg
from tests.snapshots import changes, snapshot


def plain_memory(store: Store, name: str, value: str) -> None:
    """Experiment main (no imported agent) gets a memory ``name``: a plain one, no Letta block."""
    block = Block.encode({"value": value})

    def change(state: State) -> tuple[State, Mapping[CID, bytes]]:
        return state.with_memories({**dict(state.memories), name: block.cid}), {
            block.cid: block.data
        }

    store.update(change, f"memory {name}", experiment="main")


def test_restore_from_a_revision_holding_no_agent_is_refused(store: Store, mg: Mg) -> None:
    import_af(store, AGENT_FILES / "memgpt_agent.af", name="memgpt")
    plain_memory(store, "human", "not a Letta block")
    before = snapshot(store.path)
    agent = store.state("memgpt")
    for args in (
        ("restore", "human", "--from", "main", "-e", "memgpt"),
        ("block", "restore", "human", "--from", "main", "-e", "memgpt"),
        ("restore", "human", "--from", store.head("main"), "-e", "memgpt"),
    ):
        r = mg("--store", str(store.path), *args)
        assert (r.code, r.out) == (1, ""), r.err
        assert r.err.count("\n") == 1, r.err
        rev = args[args.index("--from") + 1]
        assert r.err == (
            f"mindgit: error: revision {rev} holds no imported agent (hint: restore takes a "
            f"block from an agent imported with `mindgit --store {store.path} import-af FILE`: "
            "its experiment, or a "
            "commit of it)\n"
        )
    r = mg(
        "--store", str(store.path), "restore", "human", "--from", "main", "-e", "memgpt", "--json"
    )
    assert r.code == 1 and '"type": "NotAnImportedAgent"' in r.out, r
    with pytest.raises(NotAnImportedAgent, match="revision main holds no imported agent"):
        restore_block(store, "human", "main", experiment="memgpt")
    assert changes(before, snapshot(store.path)) == []
    assert store.state("memgpt") == agent


def test_a_plain_revision_with_no_such_memory_says_it_holds_no_agent(store: Store, mg: Mg) -> None:
    # It said "no memory block 'human' in main (the blocks there are: none)".
    import_af(store, AGENT_FILES / "memgpt_agent.af", name="memgpt")
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "restore", "human", "--from", "main", "-e", "memgpt")
    assert r.code == 1 and "revision main holds no imported agent" in r.err, r.err
    assert changes(before, snapshot(store.path)) == []


def test_restore_from_an_older_state_of_the_agent_still_works(store: Store, mg: Mg) -> None:
    import_af(store, AGENT_FILES / "memgpt_agent.af", name="memgpt")
    old = store.state("memgpt").memory("human")
    assert mg("--store", str(store.path), "block", "set", "human", "new", "-e", "memgpt").code == 0
    r = mg("--store", str(store.path), "restore", "human", "--from", "memgpt~1", "-e", "memgpt")
    assert r.code == 0, r.err
    assert store.state("memgpt").memory("human") == old
