"""docs/identity.md's example runs as written."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "identity.md"


def test_the_runnable_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 1
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    namespace: dict[str, object] = {"__name__": "identity_doc_example"}
    exec(compile(blocks[0], str(DOC), "exec"), namespace)
    assert (tmp_path / next(p.name for p in tmp_path.iterdir()) / "allowed_signers").exists()
