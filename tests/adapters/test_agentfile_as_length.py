"""`import-af --as NAME` with a name that fits alone but not with a several-agent file's
suffixes (NAME-10 over the 100 characters an experiment name's part may have).

How many agents a file holds is known only once it is read, so that is the file's error (exit
1, nothing written); its message said "invalid ref name" of a name of valid characters, with no
word of its length. A name no file could take (over 100 characters) is a bad command line (exit
2), refused before the file is read.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mindgit.store.repository import Store
from tests.conftest import Mg
from tests.snapshots import changed, snapshot


def agent_file(path: Path, count: int) -> Path:
    agents = [{"id": f"agent-{n}", "name": "a"} for n in range(count)]
    path.write_text(json.dumps({"agents": agents}))
    return path


@pytest.fixture
def at(store: Store) -> tuple[str, str]:
    return "--store", str(store.path)


@pytest.mark.parametrize("prefix", ["", "lab/"])
def test_a_name_with_no_room_for_the_suffixes_is_the_files_error(
    store: Store, mg: Mg, at: tuple[str, str], tmp_path: Path, prefix: str
) -> None:
    twelve = agent_file(tmp_path / "twelve.af", 12)
    name = prefix + "z" * 98  # -1 to -9 fit; -10 makes 101
    before = snapshot(store.path)
    r = mg(*at, "import-af", str(twelve), "--as", name)
    part, after = ("its last part is", " after its last '/'") if prefix else ("it is", "")
    assert (r.code, r.out) == (1, "")
    assert r.err == (
        f"mindgit: error: {twelve}: experiment name '{name}-10' (the name given, suffixed for"
        f" one of the file's 12 agents): {part} 101 characters long, over the 100 mindgit"
        f" allows; nothing was imported (hint: give --as a name of at most 97 characters"
        f"{after} for this file)\n"
    )
    assert not changed(before, store.path)
    # The longest name that leaves room imports.
    r = mg(*at, "import-af", str(twelve), "--as", prefix + "z" * 97)
    assert r.code == 0, r.err
    assert r.out.splitlines()[-1] == prefix + "z" * 97 + "-12"


def test_the_same_name_fits_a_file_of_one_agent(
    store: Store, mg: Mg, at: tuple[str, str], tmp_path: Path
) -> None:
    r = mg(*at, "import-af", str(agent_file(tmp_path / "one.af", 1)), "--as", "z" * 100)
    assert (r.code, r.out) == (0, "z" * 100 + "\n"), r.err


def test_a_name_no_file_can_take_is_refused_before_the_file_is_read(
    store: Store, mg: Mg, at: tuple[str, str], tmp_path: Path
) -> None:
    before = snapshot(store.path)
    # The file does not exist: refused as a command line all the same, before any read.
    r = mg(*at, "import-af", str(tmp_path / "absent.af"), "--as", "z" * 101)
    assert r.code == 2 and r.err.startswith("mindgit: error: --as 'zzz")
    assert r.err.count("\n") == 1 and "is not an experiment name" in r.err
    assert not changed(before, store.path)


def test_from_python_a_name_too_long_is_quoted_once(store: Store, tmp_path: Path) -> None:
    """The CLI refuses it first; from Python the store's reason was quoted with the name in
    it, so the name came twice ("'zzz…': 'zzz…' is not an experiment name: it is 101 …")."""
    from mindgit.adapters.agentfile import BadExperimentName, import_af

    one = agent_file(tmp_path / "one.af", 1)
    name = "z" * 101
    before = snapshot(store.path)
    with pytest.raises(BadExperimentName) as caught:
        import_af(store, one, name=name)
    text = str(caught.value)
    assert text.count(name) == 1 and "101 characters long" in text, text
    assert not changed(before, store.path)
