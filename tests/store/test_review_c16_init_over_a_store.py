"""`init` over a store that cannot be opened as it is (review C, pass 16).

A store whose HEAD file was lost (or is a directory), whose config does not parse, or whose
packed-refs holds every ref and a line git cannot parse, was taken for an init killed half way:
"an init of it did not finish (was it killed?): remove it and run init again", advice that
removes the node's key and its whole history. Only a directory that holds no ref and no more
objects than a killed init writes is said to be one now."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from mindgit.store.repository import Store, init_store
from tests.conftest import Mg, git
from tests.snapshots import changes, snapshot


def _lose_head(path: Path) -> None:
    (path / "HEAD").unlink()


def _head_a_directory(path: Path) -> None:
    (path / "HEAD").unlink()
    (path / "HEAD").mkdir()


def _bad_config(path: Path) -> None:
    with open(path / "config", "a") as config:
        config.write("[broken\n")


def _bad_packed_refs(path: Path) -> None:
    git("--git-dir", str(path), "pack-refs", "--all")
    with open(path / "packed-refs", "a") as packed:
        packed.write("garbage\n")


@pytest.mark.parametrize("damage", [_lose_head, _head_a_directory, _bad_config, _bad_packed_refs])
def test_init_over_a_damaged_store_does_not_say_remove_it(
    store: Store, mg: Mg, damage: Callable[[Path], None]
) -> None:
    store.think("work worth keeping")
    damage(store.path)
    before = snapshot(store.path)
    r = mg("init", str(store.path), "--name", "again")
    assert r.code == 1, r.err
    assert "already exists" in r.err
    assert "did not finish" not in r.err and "remove it and run init again" not in r.err
    assert "do not remove it" in r.err
    assert "fsck" in r.err
    assert changes(before, snapshot(store.path)) == []


def test_a_killed_init_is_still_said_to_be_one(tmp_path: Path, mg: Mg) -> None:
    """What an init killed before its ref leaves (its first commit written, no ref) and one
    killed at once (the claimed directory alone) are still to be removed and made again."""
    made = init_store(tmp_path / "made", "made").path
    (made / "refs" / "heads" / "main").unlink()
    just_claimed = tmp_path / "claimed"
    (just_claimed / "mindgit").mkdir(parents=True)
    for path in (made, just_claimed):
        r = mg("init", str(path), "--name", "again")
        assert r.code == 1
        assert "an init of it did not finish (was it killed?): remove it" in r.err
    shutil.rmtree(made)
    assert mg("init", str(made), "--name", "again").code == 0


@pytest.mark.parametrize("how", ["store", "env", "searched"])
def test_a_store_that_lost_its_head_is_named_so(
    store: Store, mg: Mg, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It was "not a mindgit store", with the hint to create one with `mindgit init`."""
    store.think("work worth keeping")
    _lose_head(store.path)
    before = snapshot(store.path)
    monkeypatch.delenv("MINDGIT_STORE", raising=False)
    if how == "store":
        r = mg("--store", str(store.path), "log")
    elif how == "env":
        monkeypatch.setenv("MINDGIT_STORE", str(store.path))
        r = mg("log")
    else:
        monkeypatch.chdir(store.path / "refs")
        r = mg("log")
    assert r.code == 1, r.err
    assert "is a mindgit store whose HEAD file is missing" in r.err, r.err
    assert "mindgit init" not in r.err
    assert changes(before, snapshot(store.path)) == []
    # The hint's command brings it back.
    command = r.err.split("(`ls ")[1].split(": ", 1)[1].rstrip(")\n")
    subprocess.run(["sh", "-c", command], check=True)
    assert mg("--store", str(store.path), "log").code == 0


def test_a_project_with_mindgit_and_objects_folders_is_no_headless_store(
    store: Store, mg: Mg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The search from the working directory goes on above a directory that only looks like
    a store that lost its HEAD (a source checkout with a `mindgit` package and `objects`)."""
    project = store.path / "project"
    (project / "mindgit").mkdir(parents=True)
    (project / "objects").mkdir()
    monkeypatch.delenv("MINDGIT_STORE", raising=False)
    monkeypatch.chdir(project)
    r = mg("log")
    assert r.code == 0, r.err
