"""`mindgit export ''` and `mindgit import ''` name nothing: a usage error (exit 2) before the
store is opened, nothing written. They were 'unknown experiment or revision' and "cannot read
'': No such file or directory", exit 1, as if something had been looked up."""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.store.repository import Store
from tests.adapters.test_car_builders import rich_store
from tests.conftest import Mg


@pytest.fixture
def alpha(store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    rich_store(store)
    monkeypatch.setenv("MINDGIT_STORE", str(store.path))
    return store


def _refs(store: Store) -> list[str]:
    return store.experiments()


@pytest.mark.parametrize("rev", ["", " ", "\t"])
def test_export_of_an_empty_revision_is_a_usage_error(
    alpha: Store, mg: Mg, tmp_path: Path, rev: str
) -> None:
    car = tmp_path / "x.car"
    r = mg("export", rev, "--car", str(car))
    assert r.code == 2, r.err
    assert r.err.strip() == "mindgit: error: REV is empty: name an experiment or a commit"
    assert r.out == ""
    assert list(tmp_path.glob("*x.car*")) == []


def test_export_with_both_empty_names_the_car_first(alpha: Store, mg: Mg) -> None:
    r = mg("export", "", "--car", "")
    assert r.code == 2 and "--car needs a file name" in r.err


def test_import_of_an_empty_file_name_is_a_usage_error(alpha: Store, mg: Mg) -> None:
    before = _refs(alpha)
    r = mg("import", "", "--as", "copy")
    assert r.code == 2, r.err
    assert r.err.startswith("mindgit: error: FILE is empty: give a CAR file, or - for standard")
    assert _refs(alpha) == before
