"""A directory given to import-af or export-af -o. import-af FILE that is a directory was a usage
error in click's words (exit 2, "Invalid value for 'FILE': File 'x' is a directory", with a
pointer to --help) where `import` and `fitness add` fail it as a file that cannot be read (exit
1), as import-af fails a missing one; export-af -o DIR said the same click words where `export
--car DIR` and `plot -o DIR` say "is a directory; give a file to write"."""

from __future__ import annotations

from pathlib import Path

from mindgit.adapters.agentfile import import_af
from mindgit.store.repository import init_store
from tests.conftest import FIXTURES, Mg
from tests.snapshots import changes, snapshot


def test_import_af_of_a_directory_fails_as_a_file_that_cannot_be_read(
    tmp_path: Path, mg: Mg
) -> None:
    store = init_store(tmp_path / "s", "s")
    folder = tmp_path / "agents"
    folder.mkdir()
    before = snapshot(store.path)
    for given in (str(folder), f"{folder}/"):
        r = mg("--store", str(store.path), "import-af", given, "--as", "x")
        assert (r.code, r.out) == (1, ""), r.err
        assert r.err == (
            f"mindgit: error: {folder}: cannot read it (Is a directory); nothing was imported\n"
        )
    r = mg("--store", str(store.path), "import", str(folder), "--as", "x")
    assert r.code == 1 and "Is a directory" in r.err  # the CAR import, alike
    assert changes(before, snapshot(store.path)) == []


def test_export_af_to_a_directory_says_so_as_export_car_does(tmp_path: Path, mg: Mg) -> None:
    store = init_store(tmp_path / "s", "s")
    import_af(store, FIXTURES / "agent-files" / "memgpt_agent.af", name="m")
    folder = tmp_path / "out"
    folder.mkdir()
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "export-af", "m", "-o", str(folder))
    assert (r.code, r.out) == (2, "")
    assert r.err == f"mindgit: error: -o {folder} is a directory; give a file to write\n"
    r = mg("--store", str(store.path), "export", "m", "--car", str(folder))
    assert r.err == f"mindgit: error: --car {folder} is a directory; give a file to write\n"
    assert list(folder.iterdir()) == []
    assert changes(before, snapshot(store.path)) == []
