"""docs/merge.md's worked example runs as written and prints what the page says it prints."""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "merge.md"


def test_the_worked_example_prints_what_the_page_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = DOC.read_text()
    code = re.findall(r"```python\n(.*?)```", text, re.S)
    shown = re.findall(r"```text\n(.*?)```", text, re.S)
    assert len(code) == 1 and len(shown) == 1
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    printed = io.StringIO()
    namespace: dict[str, Any] = {"__name__": "merge_doc_example"}
    with contextlib.redirect_stdout(printed):
        exec(compile(code[0], str(DOC), "exec"), namespace)
    assert printed.getvalue() == shown[0]
    # The trailers the page shows are the example's merge commit's.
    commit = namespace["store"].repo[namespace["out"].commit]
    shown_trailers = [
        line.strip() for line in text.splitlines() if line.strip().startswith("Mindgit-Merge-")
    ]
    lines = commit.message.splitlines()
    assert shown_trailers and all(t in lines for t in shown_trailers)
