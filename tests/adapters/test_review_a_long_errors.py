"""import-af's and export-af's errors quoted an agent file's words whole (!r): an id, label,
version or agent name of 100 KB made an error line as long (errors elsewhere are cut with
errors.quoted since c26159f). Each is quoted and cut now; nothing is imported."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from mindgit.adapters.agentfile import PartTooLarge, export_af, import_af
from mindgit.errors import MindgitError
from mindgit.store.repository import Store
from tests.conftest import FIXTURES, Mg
from tests.snapshots import snapshot

LONG = "Z" * 100_000
SAID = f"'{'Z' * 80}'... (100000 characters)"


def base() -> dict[str, Any]:
    doc = json.loads(json.loads((FIXTURES / "agent-files" / "memgpt_agent.af").read_text()))
    assert isinstance(doc, dict)
    return doc


def dangling_block(doc: dict[str, Any]) -> None:
    doc["agents"][0]["block_ids"][0] = LONG


def dangling_tool(doc: dict[str, Any]) -> None:
    doc["agents"][0]["tool_ids"][0] = LONG


def repeated_agent(doc: dict[str, Any]) -> None:
    doc["agents"].append(copy.deepcopy(doc["agents"][0]))
    doc["agents"][0]["id"] = doc["agents"][1]["id"] = LONG


def version(doc: dict[str, Any]) -> None:
    doc["version"] = LONG


def two_labels(doc: dict[str, Any]) -> None:
    doc["blocks"][0]["label"] = doc["blocks"][1]["label"] = LONG


def named_twice(doc: dict[str, Any]) -> None:
    doc["blocks"][0]["id"] = LONG
    doc["agents"][0]["block_ids"] = [LONG, LONG]


def big_message(doc: dict[str, Any]) -> None:
    doc["agents"][0]["name"] = LONG
    doc["agents"][0]["messages"][0]["content"] = [{"type": "text", "text": "a" * 1_100_000}]


@pytest.mark.parametrize(
    "change",
    [dangling_block, dangling_tool, repeated_agent, version, two_labels, named_twice, big_message],
)
def test_an_error_quoting_the_file_is_cut(
    store: Store, mg: Mg, tmp_path: Path, change: Any
) -> None:
    doc = base()
    change(doc)
    source = tmp_path / "a.af"
    source.write_text(json.dumps(doc))
    before = snapshot(store.path)
    out = mg("--store", str(store.path), "import-af", str(source), "--as", "e")
    assert out.code == 1 and len(out.err.splitlines()) == 1, out.err[:300]
    assert len(out.err) < 600 and SAID in out.err, out.err[:300]
    assert snapshot(store.path) == before


def test_a_block_too_large_names_its_label_cut(store: Store, tmp_path: Path) -> None:
    doc = base()
    doc["blocks"][0]["label"] = LONG
    doc["blocks"][0]["value"] = "a" * (16 * 2**20)
    doc["blocks"][0]["limit"] = None
    source = tmp_path / "a.af"
    source.write_text(json.dumps(doc))
    with pytest.raises(PartTooLarge) as caught:
        import_af(store, source, name="e")
    assert len(str(caught.value)) < 600 and SAID in str(caught.value)


def test_export_of_two_agents_with_one_long_id(store: Store, tmp_path: Path) -> None:
    doc = base()
    doc["agents"][0]["id"] = LONG
    source = tmp_path / "a.af"
    source.write_text(json.dumps(doc))
    import_af(store, source, name="a")
    import_af(store, source, name="b")
    with pytest.raises(MindgitError) as caught:
        export_af(store, ["a", "b"], tmp_path / "o.af")
    assert len(str(caught.value)) < 600 and SAID in str(caught.value)


def test_a_name_too_long_with_its_suffix_is_said_once(store: Store, mg: Mg, tmp_path: Path) -> None:
    """--as of 1,011 characters (a name may have 1,012) for a file of two agents: 'NAME-1'
    is 1,013. The error quoted the name whole and then, in the reason, cut: a 1,300 line."""
    name = "/".join(["a" * 100] * 10) + "/a"
    before = snapshot(store.path)
    out = mg(
        "--store",
        str(store.path),
        "import-af",
        str(FIXTURES / "agent-files" / "evie.af"),
        "--as",
        name,
    )
    assert out.code == 1 and len(out.err.splitlines()) == 1, out.err
    assert len(out.err) < 400, out.err
    assert "(1013 characters): it is 1013 characters long, over the 1012 git allows" in out.err
    assert snapshot(store.path) == before
