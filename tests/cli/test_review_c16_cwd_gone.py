"""A command run from a directory that was removed said "mindgit: error: No such file or
directory", naming nothing (review C, pass 16): the store is looked for from there."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mindgit.store.repository import NoCurrentDirectory, Store, open_store
from tests.conftest import Mg


def test_a_removed_current_directory_is_named(
    store: Store, mg: Mg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    monkeypatch.delenv("MINDGIT_STORE", raising=False)
    os.rmdir(gone)
    with pytest.raises(NoCurrentDirectory):
        open_store()
    r = mg("log", "--json")
    assert r.code == 1, r.err
    assert r.err.startswith("mindgit: error: the current directory no longer exists"), r.err
    assert json.loads(r.out)["type"] == "NoCurrentDirectory"
    # A store named outside it is still found.
    assert mg("--store", str(store.path), "log").code == 0
