"""docs/agent-files.md: its Python example runs as written, and its tables match the code."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from mindgit.adapters import agentfile, agentfile_format
from mindgit.adapters.agentfile import MAX_BLOCK_BYTES, MAX_FILE_BYTES
from mindgit.adapters.agentfile_format import MCP_SECRET_FIELDS, SECRET_NAMES
from mindgit.adapters.agentfile_genes import SPECS
from mindgit.errors import MindgitError
from mindgit.store.state import Block
from tests.conftest import ROOT

DOC = ROOT / "docs" / "agent-files.md"


def test_the_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 1
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    exec(compile(blocks[0], str(DOC), "exec"), {"__name__": "agent_files_doc_example"})
    assert (next(tmp_path.iterdir()) / "memgpt.af").exists()


def test_the_tables_name_what_the_code_does() -> None:
    text = DOC.read_text()
    for name in [*SPECS, *SECRET_NAMES, *MCP_SECRET_FIELDS]:
        assert f"`{name}`" in text, name
    assert MAX_FILE_BYTES == 64 * 2**20 and "64 MiB" in text
    assert MAX_BLOCK_BYTES == 16 * 2**20 and "over 16 MiB (`MAX_BLOCK_BYTES`" in text
    # Every error an import or export raises has its row in the table of bad input.
    limits = text.split("## Limits and bad input")[1].split("\n## ")[0]
    errors = {
        name
        for module in (agentfile, agentfile_format)
        for name, item in vars(module).items()
        if isinstance(item, type)
        and issubclass(item, MindgitError)
        and item.__module__.startswith("mindgit.adapters.agentfile")
    } - {"AgentFileError", "MindgitError", "UnknownBlock", "BlockTooLong"}
    assert len(errors) == 15
    for name in errors:
        assert f"| `{name}` |" in limits, name
    # Every command line of the walkthrough is one the CLI module defines.
    shell = "".join(re.findall(r"```sh\n(.*?)```", text, re.S))
    commands = set(re.findall(r"^mindgit ([a-z-]+)", shell, re.M))
    assert commands == {"import-af", "show", "af-info", "block", "diff", "restore", "export-af"}


def test_the_message_count_named_is_the_largest_order_block_that_fits() -> None:
    sample = Block.encode({"any": "block"}).cid
    one = len(Block.encode({"order": [sample]}).data)
    step = len(Block.encode({"order": [sample, sample]}).data) - one
    most = (MAX_BLOCK_BYTES - one) // step + 1
    assert len(Block.encode({"order": [sample] * most}).data) <= MAX_BLOCK_BYTES
    assert len(Block.encode({"order": [sample] * (most + 1)}).data) > MAX_BLOCK_BYTES
    assert f"({most:,} messages at most" in DOC.read_text()
