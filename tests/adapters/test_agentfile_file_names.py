"""The import's commit subject names the agent file. A name is any bytes but / and NUL: one
not UTF-8 failed the commit's encoding after the pack was written (internal error, exit 3),
and one holding newlines wrote lines of its choosing (a `Mindgit-State:` among them) into the
commit message. The name is one line of text there now."""

from __future__ import annotations

import json
import os
from pathlib import Path

from mindgit.store.objects import as_commit
from mindgit.store.repository import init_store
from tests.conftest import FIXTURES, Mg

AF = FIXTURES / "agent-files" / "memgpt_agent.af"
FAKE = "Mindgit-State: bafkreifojmzibzlof6xyh5auu3r5vpu5l67brf3fitaf73isdlglqw2t7q"


def message_of(store_path: Path, experiment: str) -> str:
    from mindgit.store.repository import open_store

    store = open_store(store_path)
    commit = as_commit(store.repo[store.head(experiment)])
    assert commit is not None
    return commit.message


def test_a_file_name_that_is_not_utf8(tmp_path: Path, mg: Mg) -> None:
    store = init_store(tmp_path / "s", "s")
    source = tmp_path / os.fsdecode(b"\xff\xfe agent.af")
    source.write_bytes(AF.read_bytes())
    r = mg("--store", str(store.path), "import-af", str(source), "--as", "m")
    assert r.code == 0, r.err
    subject = message_of(store.path, "m").split("\n")[0]
    assert subject == "import-af: \ufffd\ufffd agent.af agent 'memgpt_agent'"


def test_a_file_name_with_newlines_is_one_line_of_the_subject(tmp_path: Path, mg: Mg) -> None:
    store = init_store(tmp_path / "s", "s")
    source = tmp_path / f"x\n\n{FAKE}\n.af"
    source.write_bytes(AF.read_bytes())
    r = mg("--store", str(store.path), "import-af", str(source), "--as", "m")
    assert r.code == 0, r.err
    lines = message_of(store.path, "m").split("\n")
    assert lines[0] == f"import-af: x {FAKE} .af agent 'memgpt_agent'"
    assert lines[1] == "" and lines[2].startswith("Mindgit-Import: ")
    assert not any(line.startswith("Mindgit-State: bafk") for line in lines)
    assert mg("--store", str(store.path), "verify").code == 0


def test_a_long_agent_name_is_cut_in_the_subject(tmp_path: Path, mg: Mg) -> None:
    store = init_store(tmp_path / "s", "s")
    doc = json.loads(json.loads(AF.read_text()))  # the fixture is double-encoded
    doc["agents"][0]["name"] = "n" * 100_000
    source = tmp_path / ("f" * 200 + ".af")
    source.write_text(json.dumps(doc))
    r = mg("--store", str(store.path), "import-af", str(source), "--as", "m")
    assert r.code == 0, r.err
    subject = message_of(store.path, "m").split("\n")[0]
    assert subject == f"import-af: {'f' * 99}\u2026 agent '{'n' * 98}\u2026"
