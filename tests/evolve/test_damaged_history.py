"""A run's history that does not hold together (a generation missing in the middle, a
generation whose parent is another run's, generations that stop before generation 0) is named
by every reader that walks it, as `plot` names it: `lineage` paired one generation's parent
indices with another generation's individuals (wrong ancestry, exit 0, or an IndexError, exit
3) and `runs --check` re-bred from the wrong generation and reported "facts not reproduced"."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.recheck import recheck
from mindgit.evolve.run import start_run
from mindgit.evolve.runs import history, lineage, main_line
from mindgit.ipld.cid import CID
from mindgit.store.generation import GenerationRecord, RunFormatError, RunParams
from mindgit.store.repository import Store, open_store
from tests.conftest import Mg
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.evolve.test_readers_audit import git, refused


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    path = tmp_path_factory.mktemp("damaged-history") / "s"
    store = new_store(path, float_genes(3))
    add_fitness(store, RASTRIGIN)
    ours = start_run(store, "rastrigin", RunParams(population=6, generations=5, seed=3))
    # Another run with a smaller population: its generations' indices run out sooner.
    other = start_run(store, "rastrigin", RunParams(population=2, generations=3, seed=4))
    return path, ours.run_id, other.run_id


@pytest.fixture
def node(made: tuple[Path, str, str], tmp_path: Path) -> tuple[Store, str, str]:
    path = tmp_path / "s"
    shutil.copytree(made[0], path, symlinks=True)
    return open_store(path), made[1], made[2]


def retip(store: Store, run_id: str, *parents: str) -> None:
    """The run's newest generation, as it is, on other parents (none: a root commit)."""
    tip = git(store, "rev-parse", f"refs/runs/{run_id}")
    message = git(store, "log", "-1", "--format=%B", tip)
    flags = [arg for p in parents for arg in ("-p", p)]
    new_tip = git(store, "commit-tree", f"{tip}^{{tree}}", *flags, "-m", message)
    git(store, "update-ref", f"refs/runs/{run_id}", new_tip)


def damage(store: Store, run_id: str, other: str, kind: str) -> str:
    """Damage the run's history as ``kind``; words the error must hold."""
    if kind == "gap":  # generation 4 on generation 1: 2 and 3 are gone
        retip(store, run_id, git(store, "rev-parse", f"refs/runs/{run_id}~3"))
        return "is generation 1 where 3 was expected"
    if kind == "spliced":  # generation 4 on the other run's newest generation
        retip(store, run_id, git(store, "rev-parse", f"refs/runs/{other}"))
        return "holds another run.json"
    assert kind == "short"  # generation 4 straight on the run's start commit
    retip(store, run_id, git(store, "rev-parse", f"refs/runs/{run_id}~5"))
    return "its generations end at 4, before generation 0"


KINDS = ["gap", "spliced", "short"]


@pytest.mark.parametrize("kind", KINDS)
def test_lineage_of_a_broken_history_is_named(
    node: tuple[Store, str, str], mg: Mg, kind: str
) -> None:
    store, run_id, other = node
    words = damage(store, run_id, other, kind)
    with pytest.raises(RunFormatError, match=words):
        lineage(store, run_id)
    for args in ((run_id,), (run_id, "--all"), (run_id, "--json")):
        refused(mg, store, "lineage", *args, code=1, words=words)


@pytest.mark.parametrize("kind", KINDS)
def test_runs_check_of_a_broken_history_is_named(
    node: tuple[Store, str, str], mg: Mg, kind: str
) -> None:
    store, run_id, other = node
    words = damage(store, run_id, other, kind)
    with pytest.raises(RunFormatError, match=words):
        recheck(store, run_id)
    refused(mg, store, "runs", "--check", run_id, code=1, words=words)


def test_an_intact_history_still_reads(node: tuple[Store, str, str]) -> None:
    store, run_id, other = node
    assert recheck(store, run_id).ok
    assert recheck(store, other).ok
    levels = lineage(store, run_id).runs[0].generations
    assert [level[0].generation for level in levels] == [4, 3, 2, 1, 0]


def test_the_state_links_remembered_stay_few(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every state link a run ever held was remembered while it was read: ~1 GB for plot or
    # lineage of a 100,000-generation run. Only neighbouring generations share states.
    store = new_store(tmp_path / "s", float_genes(3))
    add_fitness(store, RASTRIGIN)
    params = RunParams(population=3, generations=40, seed=5, mutation_rate=1.0)
    run_id = start_run(store, "rastrigin", params).run_id
    sizes: list[int] = []
    decode = GenerationRecord.decode.__func__  # type: ignore[attr-defined]

    def counting(
        cls: type[GenerationRecord],
        data: bytes,
        p: RunParams,
        cids: dict[str, CID] | None = None,
    ) -> GenerationRecord:
        record: GenerationRecord = decode(cls, data, p, cids)
        sizes.append(len(cids or {}))
        return record

    monkeypatch.setattr(GenerationRecord, "decode", classmethod(counting))
    assert len(history(store, run_id)) == 40
    assert len(lineage(store, run_id).runs[0].generations) == 40
    assert max(sizes) <= 5 * params.population, sizes


def test_the_first_parent_line_alone(node: tuple[Store, str, str], mg: Mg) -> None:
    # Plain `lineage` shows the first-parent line only, but every ancestor of every generation
    # was gathered for it (most of every generation: a long run's lineage took gigabytes).
    store, run_id, _ = node
    full = lineage(store, run_id).runs[0]
    line = lineage(store, run_id, everyone=False).runs[0]
    assert all(len(level) == 1 for level in line.generations)
    assert [level[0] for level in line.generations] == main_line(full) == main_line(line)
    assert any(len(level) > 1 for level in full.generations)  # else this test shows nothing
    r = mg("--store", str(store.path), "lineage", run_id)
    assert r.code == 0, r.err
    shown = [ln.split()[1] for ln in r.out.splitlines() if ln.startswith("  g")]
    assert shown == [f"#{a.index}" for a in main_line(full)]
