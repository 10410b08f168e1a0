"""docs/agent-files.md: a document that is a JSON string holding the file is unwrapped "up to
twice" and written back wrapped as often. Only once was: a string whose content was a JSON string
again ('"{\\"agents\\"..."') was not unwrapped, and the file was refused as "a string, not an
object". Three times is still refused, saying why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mindgit.adapters.agentfile import export_af, import_af
from mindgit.adapters.agentfile_format import NotAnAgentFile
from mindgit.store.repository import init_store
from tests.conftest import FIXTURES

AGENTS = FIXTURES / "agent-files"


@pytest.mark.parametrize("name", ["memgpt_agent.af", "letta-0.6_memgpt_agent.af", "evie.af"])
def test_a_file_wrapped_twice_comes_back_byte_for_byte(tmp_path: Path, name: str) -> None:
    text = (AGENTS / name).read_text(encoding="utf-8")
    once = text if text.lstrip().startswith('"') else json.dumps(text)
    wrapped = json.dumps(once)
    assert isinstance(json.loads(json.loads(wrapped)), str)  # a string of a string of the file
    source = tmp_path / "wrapped.af"
    source.write_text(wrapped, encoding="utf-8")
    store = init_store(tmp_path / "s", "s")
    agents = import_af(store, source, name="w")
    out = tmp_path / "out.af"
    export_af(store, [a.experiment for a in agents], out)
    assert out.read_bytes() == source.read_bytes()


def test_three_wrappings_are_refused_saying_so(tmp_path: Path) -> None:
    text = (AGENTS / "memgpt_agent.af").read_text(encoding="utf-8")  # wrapped once already
    source = tmp_path / "wrapped.af"
    source.write_text(json.dumps(json.dumps(text)), encoding="utf-8")
    store = init_store(tmp_path / "s", "s")
    with pytest.raises(NotAnAgentFile, match="encoded more times than the two mindgit unwraps"):
        import_af(store, source, name="w")
