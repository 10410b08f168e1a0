"""The warnings of import-af and export-af quoted an agent file's words as it spelled them: the
path to a secret dropped (`the file: dropped the value of secret <key>.<key>.api_key`) named
every map key on the way raw, and export's warnings named agent and block ids raw. A key or
id holding a newline printed a line of the file's choosing ('mindgit: error: ...') after a
command that succeeded, and one of 100 KB a line as long. Keys and ids that are not plain
words are quoted (cut past 80 characters) as the agent's secrets' keys were already."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mindgit.adapters.agentfile import export_af, import_af
from mindgit.store.repository import Store
from tests.conftest import FIXTURES, Mg

EVIL = "x\nmindgit: error: your store is damaged"


def load(name: str) -> dict[str, Any]:
    doc = json.loads((FIXTURES / "agent-files" / name).read_text())
    while isinstance(doc, str):
        doc = json.loads(doc)
    assert isinstance(doc, dict)
    return doc


def no_forged_lines(err: str) -> list[str]:
    """The lines of ``err``, none of them one the file wrote ('mindgit: error: ...')."""
    lines = err.splitlines()
    assert all(line.startswith("mindgit: warning: ") for line in lines if "mindgit:" in line), err
    return lines


def test_the_path_to_a_dropped_secret_is_one_line(store: Store, mg: Mg, tmp_path: Path) -> None:
    doc = load("memgpt_agent.af")
    doc["metadata"] = {
        EVIL: {"api_key": "sk-1"},
        "y" * 100_000: {"token": "t"},
        "ok": {"password": "p"},
    }
    source = tmp_path / "a.af"
    source.write_text(json.dumps(doc))
    out = mg("--store", str(store.path), "import-af", str(source), "--as", "e")
    assert out.code == 0, out.err[:2000]
    warnings = [line for line in no_forged_lines(out.err) if line.startswith("mindgit: warning")]
    assert len(warnings) == 3, out.err[:2000]
    assert all(len(line) < 400 for line in warnings), [len(line) for line in warnings]
    said = "\n".join(warnings)
    assert "secret metadata['x\\nmindgit: error: your store is damaged'].api_key " in said
    assert "secret metadata['yyyy" in said and "(100000 characters)].token " in said
    assert "secret metadata.ok.password " in said  # plain words as before


def test_export_names_ids_on_one_line(store: Store, mg: Mg, tmp_path: Path) -> None:
    """A group left out names the agents not exported; a group kept that shares a block no
    agent exported holds names that block."""
    doc = load("evie.af")  # agent-0 (Evie) manages group-0 of agent-1
    doc = json.loads(json.dumps(doc).replace('"agent-1"', json.dumps("agent-1" + EVIL)))
    lone = "block-12" + EVIL  # memory_persona: agent-1's alone
    doc = json.loads(json.dumps(doc).replace('"block-12"', json.dumps(lone)))
    doc["groups"].append(
        {**doc["groups"][0], "id": "group-1", "agent_ids": ["agent-0"], "shared_block_ids": [lone]}
    )
    doc["groups"][1]["manager_config"] = None
    source = tmp_path / "a.af"
    source.write_text(json.dumps(doc))
    import_af(store, source, name="e")
    out = mg("--store", str(store.path), "export-af", "e-1", "-o", str(tmp_path / "o.af"))
    assert out.code == 0, out.err
    warnings = [line for line in no_forged_lines(out.err) if line.startswith("mindgit: warning")]
    assert len(warnings) == 2, out.err
    assert warnings[0].startswith(
        "mindgit: warning: group 'group-0' left out: it names agent(s) not exported "
        "('agent-1x\\nmindgit: error: your store is damaged')"
    ), warnings
    assert warnings[1].startswith(
        "mindgit: warning: group 'group-1' no longer shares block(s) "
        "'block-12x\\nmindgit: error: your store is damaged': "
    ), warnings
    # The library's warnings say the same.
    result = export_af(store, ["e-1"], tmp_path / "p.af")
    assert not any("\n" in w for w in result.warnings), result.warnings


def test_a_long_secret_name_of_the_agent_is_cut(store: Store, tmp_path: Path) -> None:
    """The agent's own secrets were quoted (repr) but not cut: a 100 KB name, a 100 KB line."""
    doc = load("memgpt_agent.af")
    doc["agents"][0]["secrets"] = {"k" * 100_000: "v"}
    doc["agents"][0]["tool_exec_environment_variables"] = [{"key": "e" * 100_000, "value": "v"}]
    source = tmp_path / "a.af"
    source.write_text(json.dumps(doc))
    [agent] = import_af(store, source, name="e")
    assert len(agent.warnings) == 2
    assert all(len(w) < 400 for w in agent.warnings), [len(w) for w in agent.warnings]
    assert "secrets['kkkk" in agent.warnings[1] or "secrets['kkkk" in agent.warnings[0]
