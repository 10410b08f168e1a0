"""A Letta 0.x file's version was matched with \\d, which takes any script's digits: "0.\\u0666.47"
(an Arabic-Indic six) passed for a Letta 0.x version. Only ASCII digits do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mindgit.adapters.agentfile import import_af
from mindgit.adapters.agentfile_format import UnknownFormatVersion
from mindgit.store.repository import Store
from tests.conftest import FIXTURES
from tests.snapshots import snapshot

V1 = FIXTURES / "agent-files" / "letta-0.6_memgpt_agent.af"


@pytest.mark.parametrize("version", ["0.\u0666.47", "0.6.\u0664\u0667", "\uff10.\uff16"])
def test_other_digits_are_no_version(store: Store, tmp_path: Path, version: str) -> None:
    doc = json.loads(V1.read_text())
    doc["version"] = version
    source = tmp_path / "a.af"
    source.write_text(json.dumps(doc))
    before = snapshot(store.path)
    with pytest.raises(UnknownFormatVersion):
        import_af(store, source, name="v")
    assert snapshot(store.path) == before


@pytest.mark.parametrize("version", ["0.6.47", "0.10.3", "0.7.0rc1", "0.9.1+local"])
def test_letta_versions_still_are(store: Store, tmp_path: Path, version: str) -> None:
    doc = json.loads(V1.read_text())
    doc["version"] = version
    source = tmp_path / "a.af"
    source.write_text(json.dumps(doc))
    import_af(store, source, name="v")
