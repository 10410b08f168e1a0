"""`mindgit hooks install --server ""` / `--trust ""`: an empty path given, as a script's unset
variable gives it (`--server "$REPO"`).

Bug: an empty path is the working directory, so `--server ""` installed the pre-receive hook
into whatever repository the command ran in, exit 0, and `--trust ""` failed as "cannot read
trust file .: Is a directory". Both are now usage errors (exit 2), nothing written.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mindgit.store.repository import Store
from tests.conftest import Mg, git


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--server", ""], "--server is empty"),
        (["--server", "shared.git", "--trust", ""], "--trust is empty"),
        (["--trust", ""], "--trust is empty"),
    ],
)
def test_an_empty_path_is_a_usage_error(
    store: Store, mg: Mg, tmp_path: Path, args: list[str], said: str
) -> None:
    server = tmp_path / "shared.git"
    git("init", "-q", "--bare", str(server))
    before = sorted(str(p) for p in server.rglob("*"))
    cwd = os.getcwd()
    os.chdir(server)
    try:
        r = mg("--store", str(store.path), "hooks", "install", *args)
    finally:
        os.chdir(cwd)
    assert r.code == 2, r
    assert said in r.err, r.err
    assert sorted(str(p) for p in server.rglob("*")) == before
    assert not (store.path / "hooks" / "pre-push").exists()
