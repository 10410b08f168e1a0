"""import-af's own line on stderr ("imported agent NAME as EXP: ...") printed the agent's name
as the file spelled it: a name holding newlines printed lines of the file's choosing, a
'mindgit: error: ...' among them after an import that succeeded (exit 0), and a name of 100 KB
a line as long. It is one line, cut, as af-info, show and the import's commit subject print it."""

from __future__ import annotations

import json
from pathlib import Path

from mindgit.store.repository import Store
from tests.conftest import FIXTURES, Mg, git

FAKE = "bob\nmindgit: error: your store is damaged\r\n\tmindgit: warning: x"


def named(path: Path, *names: str) -> Path:
    """evie.af (two agents) with its agents named ``names``."""
    doc = json.loads((FIXTURES / "agent-files" / "evie.af").read_text())
    while isinstance(doc, str):
        doc = json.loads(doc)
    for agent, name in zip(doc["agents"], names, strict=True):
        agent["name"] = name
    path.write_text(json.dumps(doc))
    return path


def test_an_agent_name_with_newlines_is_one_line(store: Store, mg: Mg, tmp_path: Path) -> None:
    source = named(tmp_path / "a.af", FAKE, "x" * 100_000)
    out = mg("--store", str(store.path), "import-af", str(source), "--as", "e")
    assert out.code == 0, out.err
    lines = out.err.splitlines()
    assert len(lines) == 2, out.err
    assert not any(line.startswith("mindgit:") for line in lines), out.err
    assert lines[0].startswith(
        "imported agent bob mindgit: error: your store is damaged mindgit: warning: x as e-1: "
    )
    assert lines[1].startswith("imported agent xxx") and len(lines[1]) < 300, len(lines[1])
    assert lines[1].endswith(" as e-2: 13 blocks, 2 messages, 4 tools, 4 genes")


def test_the_line_of_an_agent_imported_already_too(store: Store, mg: Mg, tmp_path: Path) -> None:
    """The other line the command prints of an agent: run again after an import cut short."""
    source = named(tmp_path / "a.af", FAKE, "second")
    assert mg("--store", str(store.path), "import-af", str(source), "--as", "e").code == 0
    git("--git-dir", str(store.path), "update-ref", "-d", "refs/heads/e-2")
    out = mg("--store", str(store.path), "import-af", str(source), "--as", "e")
    assert out.code == 0, out.err
    lines = out.err.splitlines()
    assert len(lines) == 2, out.err
    assert lines[0] == (
        "agent bob mindgit: error: your store is damaged mindgit: warning: x was imported as "
        "e-1 already"
    )
    assert lines[1].startswith("imported agent second as e-2: ")


def test_a_name_of_only_blanks_is_unnamed(store: Store, mg: Mg, tmp_path: Path) -> None:
    source = named(tmp_path / "a.af", " \n\t", "")
    out = mg("--store", str(store.path), "import-af", str(source), "--as", "e")
    assert out.code == 0, out.err
    lines = out.err.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "imported agent (unnamed) as e-1",
        "imported agent (unnamed) as e-2",
    ], out.err
