"""docs/ipld.md is a contract: its Python examples must run as written."""

from __future__ import annotations

import re

from .conftest import ROOT

DOC = ROOT / "docs" / "ipld.md"


def test_every_python_block_in_the_docs_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, "docs/ipld.md has no Python example"
    for index, code in enumerate(blocks):
        exec(compile(code, f"{DOC}:python-block-{index}", "exec"), {"__name__": "docs_example"})
