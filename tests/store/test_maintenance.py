"""`git gc --auto` after evolve, pull and car import: git's thresholds, git's config, real repacks.

The hermetic environment (tests/conftest.py) sets gc.autoDetach=false, so a collection a command
starts has finished when the command returns.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.run import start_run
from mindgit.store.generation import RunParams
from mindgit.store.genome import Gene
from mindgit.store.maintenance import MaintenanceFailed, auto_gc
from mindgit.store.repository import Store, init_store
from mindgit.sync.peers import add_peer
from tests.conftest import FIXTURES, ROOT, Mg, fsck, git

RASTRIGIN = FIXTURES / "fitness" / "rastrigin.wat"


def packs(store: Store) -> int:
    return len(list((store.path / "objects" / "pack").glob("pack-*.pack")))


def evolving_store(path: Path) -> Store:
    store = init_store(path, path.name)
    store.set_genes([Gene.make(f"x{i}", "float", i / 2, min=-5.12, max=5.12) for i in range(4)])
    add_fitness(store, RASTRIGIN)
    return store


def seed_packs(store: Store, n: int) -> None:
    """``n`` packs of a thought each, whatever the evolve writer batches later."""
    for i in range(n):
        store.think(f"thought {i}, packed on its own")
        git(f"--git-dir={store.path}", "repack", "-q")


def evolve_args(generations: int = 6) -> list[str]:
    return [
        "evolve",
        "--fitness",
        "rastrigin",
        "--population",
        "8",
        "--generations",
        str(generations),
        "-q",
    ]


def test_evolve_repacks_when_git_would(tmp_path: Path, mg: Mg) -> None:
    store = evolving_store(tmp_path / "alpha")
    seed_packs(store, 3)
    git(f"--git-dir={store.path}", "config", "gc.autoPackLimit", "1")
    r = mg("--store", str(store.path), *evolve_args())
    assert r.code == 0, r.err
    assert packs(store) == 1  # the generations' packs and the loose objects became one pack
    assert "count: 0\n" in git(f"--git-dir={store.path}", "count-objects", "-v")
    fsck(store.path)
    listed = mg("--store", str(store.path), "runs", "--json")
    assert listed.code == 0
    (run_id,) = [r["run"] for r in json.loads(listed.out)]
    assert mg("--store", str(store.path), "runs", "--check", run_id).code == 0
    assert mg("--store", str(store.path), "verify").code == 0


def test_gc_auto_zero_leaves_the_packs(tmp_path: Path, mg: Mg) -> None:
    store = evolving_store(tmp_path / "alpha")
    seed_packs(store, 3)
    git(f"--git-dir={store.path}", "config", "gc.autoPackLimit", "1")
    git(f"--git-dir={store.path}", "config", "gc.auto", "0")
    assert mg("--store", str(store.path), *evolve_args()).code == 0
    assert packs(store) >= 3


def test_below_the_thresholds_nothing_happens(tmp_path: Path) -> None:
    store = evolving_store(tmp_path / "alpha")
    start_run(store, "rastrigin", RunParams(population=8, generations=4, seed=1))
    before = sorted(os.listdir(store.path / "objects" / "pack"))
    auto_gc(store)
    assert sorted(os.listdir(store.path / "objects" / "pack")) == before


def test_a_failing_gc_is_an_error_of_ours(tmp_path: Path) -> None:
    store = init_store(tmp_path / "alpha", "alpha")
    git(f"--git-dir={store.path}", "config", "gc.auto", "many")
    with pytest.raises(MaintenanceFailed, match="bad numeric config value"):
        auto_gc(store)


def test_no_git_is_an_error_of_ours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = init_store(tmp_path / "alpha", "alpha")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(MaintenanceFailed, match="git gc --auto failed"):
        auto_gc(store)


def test_after_evolve_a_failed_gc_is_a_warning_and_the_run_stands(tmp_path: Path, mg: Mg) -> None:
    store = evolving_store(tmp_path / "alpha")
    git(f"--git-dir={store.path}", "config", "gc.auto", "many")
    r = mg("--store", str(store.path), *evolve_args(3))
    assert r.code == 0
    assert "warning: git gc --auto failed" in r.err and "bad numeric config value" in r.err
    assert len(r.err.strip().splitlines()) == 1
    assert any(ref.startswith("refs/runs/") for ref in store.repo.references)


def test_pull_repacks_the_pulling_store(tmp_path: Path, mg: Mg) -> None:
    source = evolving_store(tmp_path / "source")
    # Enough objects that git keeps the fetched pack (fetch.unpackLimit is 100).
    start_run(source, "rastrigin", RunParams(population=40, generations=5, seed=3))
    node = init_store(tmp_path / "node", "node")
    node.trust.add(source.public_key, "source")
    add_peer(node, "source", f"file://{source.path}")
    # One pack per pull: a limit of 1 is passed by the second pack.
    git(f"--git-dir={node.path}", "config", "gc.autoPackLimit", "1")
    node.think("local, in a pack of its own")
    git(f"--git-dir={node.path}", "repack", "-q")
    assert packs(node) == 1
    r = mg("--store", str(node.path), "pull", "source")
    assert r.code == 0, r.err
    assert packs(node) == 1  # its own and the pulled one, repacked
    assert "count: 0\n" in git(f"--git-dir={node.path}", "count-objects", "-v")
    fsck(node.path)
    assert mg("--store", str(node.path), "verify").code == 0


def test_the_docs_example_runs(tmp_path: Path) -> None:
    doc = (ROOT / "docs" / "store.md").read_text()
    (block,) = [b for b in re.findall(r"```sh\n(.*?)```", doc, re.S) if "autoPackLimit" in b]
    script = "set -euo pipefail\n" + block.replace("/tmp/minds/", f"{tmp_path}/")
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-1] == "1"


def test_car_import_repacks(tmp_path: Path, mg: Mg) -> None:
    source = evolving_store(tmp_path / "source")
    car = tmp_path / "state.car"
    assert mg("--store", str(source.path), "export", "main", "--car", str(car)).code == 0
    node = init_store(tmp_path / "node", "node")
    seed_packs(node, 3)
    git(f"--git-dir={node.path}", "config", "gc.autoPackLimit", "1")
    r = mg("--store", str(node.path), "import", str(car), "--as", "copy")
    assert r.code == 0, r.err
    assert packs(node) == 1
    fsck(node.path)
