"""set_block on a block with no character limit (limit null, as Letta allows) took any value: a
value of 17 MiB was committed as a memory block over the 16 MiB a store accepts, and verify
then failed the store on it (here and at every peer it was pushed to). It is refused
(BlockTooLarge, exit 1 at the command line) and nothing changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mindgit.adapters.agentfile import BlockTooLarge, import_af, set_block
from mindgit.store.repository import Store
from mindgit.store.verify import MAX_BLOB_BYTES
from tests.conftest import FIXTURES
from tests.snapshots import snapshot


def unlimited(store: Store, tmp_path: Path) -> None:
    doc = json.loads(json.loads((FIXTURES / "agent-files" / "memgpt_agent.af").read_text()))
    doc["blocks"][0]["limit"] = None  # "human"
    source = tmp_path / "a.af"
    source.write_text(json.dumps(doc))
    import_af(store, source, name="m")


def test_a_value_past_the_block_limit_is_refused(store: Store, tmp_path: Path) -> None:
    unlimited(store, tmp_path)
    before = snapshot(store.path)
    with pytest.raises(BlockTooLarge, match=r"block 'human' would make a block of \d+ bytes"):
        set_block(store, "human", "a" * MAX_BLOB_BYTES, experiment="m")
    assert snapshot(store.path) == before
    assert store.verify(all_refs=True).ok


def test_a_value_that_fits_is_taken(store: Store, tmp_path: Path) -> None:
    unlimited(store, tmp_path)
    set_block(store, "human", "a" * (MAX_BLOB_BYTES - 1000), experiment="m")
    assert store.verify(all_refs=True).ok
