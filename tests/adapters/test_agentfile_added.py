"""A memory block added to an imported agent after its import (restored from another agent's
experiment) is exported with its own id, or a fresh one when another block of the file has it."""

from __future__ import annotations

import json
from pathlib import Path

from mindgit.adapters.agentfile import export_af, import_af, restore_block
from mindgit.store.repository import Store
from tests.adapters.test_agentfile_builders import AGENT_FILES, load_json


def _other(tmp_path: Path, ident: str) -> Path:
    path = tmp_path / f"other-{ident}.af"
    block = {"id": ident, "label": "notes", "value": "from elsewhere"}
    agent = {"id": "agent-0", "name": "other", "block_ids": [ident]}
    path.write_text(json.dumps({"agents": [agent], "blocks": [block], "tools": []}, indent=2))
    return path


def _blocks(store: Store, tmp_path: Path) -> tuple[dict[str, str], list[str]]:
    export_af(store, "m", tmp_path / "out.af")
    value = load_json((tmp_path / "out.af").read_bytes())
    labels = {b["id"]: b["label"] for b in value["blocks"]}
    return labels, value["agents"][0]["block_ids"]


def test_an_added_block_keeps_an_id_no_other_block_has(store: Store, tmp_path: Path) -> None:
    import_af(store, AGENT_FILES / "memgpt_agent.af", name="m")  # block-0 human, block-1 persona
    import_af(store, _other(tmp_path, "block-7"), name="other")
    restore_block(store, "notes", "other", experiment="m")
    labels, ids = _blocks(store, tmp_path)
    assert labels == {"block-0": "human", "block-1": "persona", "block-7": "notes"}
    assert ids == ["block-0", "block-1", "block-7"]


def test_an_added_block_whose_id_is_taken_gets_a_fresh_one(store: Store, tmp_path: Path) -> None:
    import_af(store, AGENT_FILES / "memgpt_agent.af", name="m")
    import_af(store, _other(tmp_path, "block-1"), name="other")
    restore_block(store, "notes", "other", experiment="m")
    labels, ids = _blocks(store, tmp_path)
    assert labels == {"block-0": "human", "block-1": "persona", "block-2": "notes"}
    assert ids == ["block-0", "block-1", "block-2"]
