"""Review V: UnusablePeerName's hint is a command that runs as given, the store's path quoted."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from mindgit.store.repository import init_store
from tests.conftest import Mg, git


def test_the_rename_hint_runs_for_a_store_whose_path_has_a_space(tmp_path: Path, mg: Mg) -> None:
    store = init_store(tmp_path / "my store", "alpha")
    git("--git-dir", str(store.path), "config", "remote.b..x.url", str(tmp_path / "elsewhere"))
    res = mg("--store", str(store.path), "pull", "b..x", "--json")
    assert res.code == 1
    err = json.loads(res.out)
    assert err["type"] == "UnusablePeerName"
    command = err["hint"].split("`")[1].replace("NEW", "b-x")
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert git("--git-dir", str(store.path), "config", "remote.b-x.url").strip() == str(
        tmp_path / "elsewhere"
    )
