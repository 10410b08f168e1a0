"""af-info printed an agent file's names as the file spelled them: an agent, model, block label
or tool name holding an OSC sequence (ESC ] 0 ; ... BEL: set the window title; OSC 52 writes the
clipboard), a C1 CSI or a bidi override reached the terminal and ran there, where import-af's
own line, show and every error print '?' for them. --json escapes them, as before."""

from __future__ import annotations

import json
from pathlib import Path

from mindgit.store.repository import init_store
from tests.conftest import FIXTURES, Mg

EVIL = "\x1b]0;pwned\x07\x9b31m\u202e"


def evil_file(path: Path) -> Path:
    text = (FIXTURES / "agent-files" / "memgpt_agent.af").read_text()
    doc = json.loads(json.loads(text))  # the fixture is double-encoded
    agent = doc["agents"][0]
    agent["name"] = "ag" + EVIL
    agent["agent_type"] = "t" + EVIL
    agent["llm_config"]["model"] = "m" + EVIL
    doc["blocks"][0]["label"] = "human" + EVIL
    doc["tools"][0]["name"] = "tool" + EVIL
    path.write_text(json.dumps(doc))
    return path


def test_af_info_prints_no_control_characters(tmp_path: Path, mg: Mg) -> None:
    store = init_store(tmp_path / "s", "s")
    source = evil_file(tmp_path / "evil.af")
    assert mg("--store", str(store.path), "import-af", str(source), "--as", "e").code == 0
    r = mg("--store", str(store.path), "af-info", "-e", "e")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert all(line.isprintable() for line in lines), r.out
    assert lines[0] == "agent      ag?]0;pwned??31m?  (t?]0;pwned??31m?, v2)"
    assert lines[1] == "model      m?]0;pwned??31m?"
    assert lines[3] == "  human?]0;pwned??31m?  (memory human__0_pwned__31m_)"
    assert lines[5].startswith("tools      3: tool?]0;pwned??31m?, ")
    r = mg("--store", str(store.path), "af-info", "-e", "e", "--json")
    assert r.code == 0 and json.loads(r.out)["name"] == "ag" + EVIL
