"""A command a message gives to run names the --store that was typed: without it, the command
as written ran on another store, or on none ("not inside a store" from the directory the user
was in). A store found from the directory, or MINDGIT_STORE, needs none."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mindgit.store.repository import Store, init_store
from tests.conftest import Mg


def test_an_errors_hint_names_the_typed_store_and_runs_as_written(
    tmp_path: Path, mg: Mg, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = init_store(tmp_path / "my store", "alpha")
    monkeypatch.chdir(tmp_path)
    r = mg("--store", "my store", "evolve", "--resume")
    assert r.code == 1
    assert "(hint: `mindgit --store 'my store' runs` lists the runs)" in r.err
    command = re.search(r"`(mindgit [^`]*)`", r.err)
    assert command is not None
    bindir = Path(sys.executable).parent
    ran = subprocess.run(
        ["bash", "-c", command.group(1)],
        cwd=tmp_path,
        env={**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert store.path.exists()


def test_a_store_found_otherwise_gets_no_store_in_its_hints(
    store: Store, mg: Mg, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store.path)
    r = mg("evolve", "--resume")
    assert "(hint: `mindgit runs` lists the runs)" in r.err
    monkeypatch.chdir(store.path.parent)
    monkeypatch.setenv("MINDGIT_STORE", str(store.path))
    r = mg("evolve", "--resume")
    assert "(hint: `mindgit runs` lists the runs)" in r.err


def test_a_hint_to_init_is_left_as_it_is(tmp_path: Path, mg: Mg) -> None:
    r = mg("--store", str(tmp_path / "none"), "log")
    assert r.code == 1
    assert "`mindgit init PATH`" in r.err
    assert "--store" not in r.err.split("hint:", 1)[1]


def test_trust_add_lines_name_the_typed_store(store: Store, tmp_path: Path, mg: Mg) -> None:
    beta = init_store(tmp_path / "beta", "beta")
    s = str(store.path)
    r = mg(
        "--store", s, "remote", "add", "beta", f"file://{beta.path}", "--node", beta.public_key.did
    )
    assert r.code == 0, r.err
    assert f"mindgit --store {s} trust add {beta.public_key.did} --name beta" in r.out + r.err
    r = mg("--store", s, "peers")
    assert f"mindgit --store {s} trust add {beta.public_key.did} --name beta" in r.out + r.err
    store.trust.path.unlink()
    r = mg("--store", s, "log")
    assert f"`mindgit --store {s} trust add {store.public_key.did} --name alpha`" in r.err


def test_sync_with_no_peers_names_the_typed_store(store: Store, mg: Mg) -> None:
    s = str(store.path)
    r = mg("--store", s, "sync")
    assert f"add one with `mindgit --store {s} remote add NAME URL`" in r.err
