"""What a merge of packs killed with its run leaves, and who removes it.

A run merges its packs in the background (writer.RUN_PACK_LIMIT). A kill -9 of the run kills
`git repack` with it, but not the `git pack-objects` that repack started (the kernel does not
pass a parent-death signal on to a child's children): it finishes on its own and renames its
output to `objects/pack/.tmp-<repack's pid>-pack-<hash>.{pack,idx}`, which repack would have
moved into place. That is a complete pack (git and libgit2 read it like any other) that repeats
the packs it merged. A merge killed as a whole (its process group, a power cut) leaves a
`tmp_pack_*` (and `tmp_idx_*`) cut short instead, as a killed `write_pack` does.

Nothing of mindgit removes either: the `git gc --auto` that ends `evolve` does, as git's own
collection always does. Its `repack -A -d` drops every pack it made redundant, `.tmp-*` ones
too, and its `prune` removes `tmp_*` files older than gc.pruneExpire (two weeks; a younger one
may be a write under way). These tests make those leftovers as git does and check that the
resumed run, verify and fsck are not troubled by them, and that the collection removes them.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.run import start_run
from mindgit.store.generation import RunParams
from mindgit.store.repository import Store
from tests.conftest import Mg, fsck, git
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store

THREE_WEEKS = 21 * 24 * 3600


@pytest.fixture
def killed(tmp_path: Path) -> Store:
    """A store with an unfinished run and what a killed merge leaves in objects/pack."""
    store = new_store(tmp_path / "s", float_genes(3))
    add_fitness(store, RASTRIGIN)
    start_run(
        store, "rastrigin", RunParams(population=8, generations=4, seed=5), should_stop=lambda: True
    )
    packs = store.path / "objects" / "pack"
    # What an orphaned pack-objects leaves: the command repack runs, with repack's base name.
    git(
        f"--git-dir={store.path}",
        "pack-objects",
        "--all",
        "--revs",
        "-q",
        str(packs / ".tmp-4242-pack"),
        input=b"",
    )
    for name in ("tmp_pack_oldAbC", "tmp_idx_oldAbC", "tmp_pack_newXyZ"):
        (packs / name).write_bytes(b"PACK\x00\x00\x00\x02" + os.urandom(64))  # cut short
    old = time.time() - THREE_WEEKS
    for name in ("tmp_pack_oldAbC", "tmp_idx_oldAbC"):
        os.utime(packs / name, (old, old))
    return store


def leftovers(store: Store) -> list[str]:
    return sorted(p.name for p in (store.path / "objects" / "pack").iterdir() if "tmp" in p.name)


def test_a_killed_merge_troubles_neither_verify_nor_fsck(killed: Store, mg: Mg) -> None:
    assert len([n for n in leftovers(killed) if n.startswith(".tmp-4242-pack-")]) == 2
    assert mg("--store", str(killed.path), "verify", "--all").code == 0
    fsck(killed.path)


def test_the_collection_after_the_resumed_run_removes_what_a_killed_merge_left(
    killed: Store, mg: Mg
) -> None:
    git(f"--git-dir={killed.path}", "config", "gc.autoPackLimit", "1")
    r = mg("--store", str(killed.path), "evolve", "-q", "--resume")
    assert r.code == 0, r.err
    # The dead merge's pack and the old temporary files are gone; the young one is git's to
    # judge two weeks from now (it may be another git's write under way).
    assert leftovers(killed) == ["tmp_pack_newXyZ"]
    assert mg("--store", str(killed.path), "verify", "--all").code == 0
    listed = mg("--store", str(killed.path), "runs", "--json")
    assert [run["complete"] for run in json.loads(listed.out)] == [True], listed.out
    fsck(killed.path)
