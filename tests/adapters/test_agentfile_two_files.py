"""Agents of two files exported together, each file with a block of one id (found by review):
each agent is written with its own file's block, and the first file's groups name its blocks."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from mindgit.adapters.agentfile import export_af, import_af
from mindgit.store.repository import Store
from tests.adapters.test_agentfile_builders import write_af


def _block(n: int, label: str, value: str) -> dict[str, Any]:
    return {"id": f"block-{n}", "label": label, "value": value, "limit": 100}


def _file_a() -> dict[str, Any]:
    """Two agents; a group of the file shares block-1, the second agent's."""
    return {
        "agents": [
            {"id": "agent-0", "name": "a-main", "block_ids": ["block-0"]},
            {"id": "agent-1", "name": "a-sleep", "block_ids": ["block-1"]},
        ],
        "blocks": [_block(0, "persona", "A persona"), _block(1, "shared", "A shared")],
        "groups": [
            {
                "id": "group-0",
                "agent_ids": ["agent-1"],
                "shared_block_ids": ["block-1"],
                "manager_config": {"manager_type": "sleeptime", "manager_agent_id": "agent-0"},
            }
        ],
    }


def _file_b(value: str, agents: int = 1) -> dict[str, Any]:
    """Agents numbered apart from A's, sharing a block-1 of their own."""
    return {
        "agents": [
            {"id": f"agent-{5 + n}", "name": f"b{n}", "block_ids": ["block-1"]}
            for n in range(agents)
        ],
        "blocks": [_block(1, "shared", value)],
    }


def _import(store: Store, tmp_path: Path, name: str, value: dict[str, Any]) -> bytes:
    data = write_af(tmp_path / f"{name}.af", value)
    import_af(store, tmp_path / f"{name}.af", name=name)
    return data


def _export(store: Store, revs: list[str]) -> dict[str, Any]:
    out = io.BytesIO()
    export_af(store, revs, out)
    value = json.loads(out.getvalue())
    assert isinstance(value, dict)
    ids = [b["id"] for b in value["blocks"]]
    assert len(ids) == len(set(ids)), ids
    return value


def _wiring(value: dict[str, Any]) -> tuple[dict[str, list[str]], list[str]]:
    """Each agent's block values by its name, and the values of the group's shared blocks."""
    blocks = {b["id"]: b["value"] for b in value["blocks"]}
    agents = {a["name"]: [blocks[i] for i in a["block_ids"]] for a in value["agents"]}
    return agents, [blocks[i] for i in value["groups"][0]["shared_block_ids"]]


def test_a_group_names_its_own_files_block_when_another_file_comes_between(
    store: Store, tmp_path: Path
) -> None:
    _import(store, tmp_path, "a", _file_a())
    _import(store, tmp_path, "b", _file_b("B shared"))
    for revs in (["a-1", "b", "a-2"], ["a-1", "a-2", "b"]):
        value = _export(store, revs)
        agents, shared = _wiring(value)
        assert agents == {"a-main": ["A persona"], "a-sleep": ["A shared"], "b0": ["B shared"]}
        # B's agent came first in the first order and took "block-1", which A's group named.
        assert shared == ["A shared"], revs
        b = next(a for a in value["agents"] if a["name"] == "b0")
        assert b["block_ids"] not in (["block-0"], ["block-1"])


def test_equal_blocks_of_two_files_stay_two_blocks(store: Store, tmp_path: Path) -> None:
    # Letta numbers blocks per file: B's block-1 reads as A's, but it is B's own. Taken as one,
    # B's agent and A's shared the block in Letta (an edit by one changed the other's).
    _import(store, tmp_path, "a", _file_a())
    _import(store, tmp_path, "b", _file_b("A shared"))
    value = _export(store, ["a-1", "a-2", "b"])
    agents = {a["name"]: a["block_ids"] for a in value["agents"]}
    assert agents["a-sleep"] == value["groups"][0]["shared_block_ids"] == ["block-1"]
    assert agents["b0"] != ["block-1"]
    assert [b["value"] for b in value["blocks"]].count("A shared") == 2


def test_agents_of_another_file_still_share_their_block(store: Store, tmp_path: Path) -> None:
    _import(store, tmp_path, "a", _file_a())
    _import(store, tmp_path, "b", _file_b("B shared", agents=2))
    value = _export(store, ["a-1", "b-1", "a-2", "b-2"])
    agents, shared = _wiring(value)
    assert agents == {
        "a-main": ["A persona"],
        "a-sleep": ["A shared"],
        "b0": ["B shared"],
        "b1": ["B shared"],
    }
    assert shared == ["A shared"]
    ids = {a["name"]: a["block_ids"] for a in value["agents"]}
    assert ids["b0"] == ids["b1"] != ["block-1"]
    assert [b["value"] for b in value["blocks"]].count("B shared") == 1


def test_each_file_still_comes_back_byte_for_byte(store: Store, tmp_path: Path) -> None:
    a = _import(store, tmp_path, "a", _file_a())
    b = _import(store, tmp_path, "b", _file_b("A shared", agents=2))
    for revs, data in ((["a-1", "a-2"], a), (["b-1", "b-2"], b)):
        out = io.BytesIO()
        export_af(store, revs, out)
        assert out.getvalue() == data
