"""Known correctness bugs of the command line, each pinned by a test that failed before its fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mindgit.store.repository import Store
from tests.conftest import Mg
from tests.snapshots import changed, snapshot

# -- init with an empty path ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("new", "--name", "a", "--key", ""), "--key is empty"),
        (("", "--name", "a"), "PATH is empty"),
    ],
)
def test_init_with_an_empty_path_is_a_usage_error(
    mg: Mg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], named: str
) -> None:
    # click's Path('') is '.': --key '' read the working directory as the key ("cannot read
    # node key .", exit 1), and init '' made a store in it.
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    r = mg("init", *args)
    assert r.code == 2, r.err
    assert r.err.startswith(f"mindgit: error: {named}") and r.err.count("\n") == 1, r.err
    assert r.out == ""
    assert changed(before, tmp_path) == []


# -- experiments and a ref file of garbage ------------------------------------------------


def test_experiments_names_a_ref_file_of_garbage(
    store: Store, mg: Mg, monkeypatch: pytest.MonkeyPatch
) -> None:
    # libgit2 leaves a loose ref it cannot parse out of its listing: the experiment vanished
    # from `experiments` (exit 0, no word) while `verify --all` failed on it.
    monkeypatch.setenv("MINDGIT_STORE", str(store.path))
    (store.path / "refs" / "heads" / "x").write_text("garbage\n")
    (store.path / "refs" / "heads" / "grp").mkdir()
    (store.path / "refs" / "heads" / "grp" / "y").write_text("garbage\n")
    before = snapshot(store.path)
    r = mg("experiments")
    # As an experiment at no commit is: listed, with a warning line each, and the rest listed.
    assert r.code == 0, r.err
    assert [line.split("\t")[1] for line in r.out.splitlines()] == ["grp/y", "main", "x"]
    warnings = r.err.splitlines()
    assert len(warnings) == 2, r.err
    assert warnings[0].startswith("mindgit: warning: grp/y: refs/heads/grp/y cannot be read")
    assert warnings[1].startswith("mindgit: warning: x: refs/heads/x cannot be read")
    r = mg("experiments", "--json")
    rows = {row["name"]: row for row in json.loads(r.out)}
    assert rows.keys() == {"grp/y", "main", "x"}
    assert "corrupted loose reference file" in rows["x"]["error"]
    assert rows["x"]["head"] is None and rows["main"]["thoughts"] == 0
    assert changed(before, store.path) == []
    r = mg("verify", "--all")
    assert r.code == 1 and "refs/heads/x" in r.out + r.err


@pytest.mark.parametrize("choices", ["a,", ",a", "a,,b", ""])
def test_genome_set_choices_with_an_empty_choice_is_a_usage_error(
    store: Store, mg: Mg, choices: str
) -> None:
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "genome", "set", "mode=a", "--choices", choices)
    assert r.code == 2 and "has an empty choice" in r.err, r.err
    assert snapshot(store.path) == before
