"""`verify --recompute`: a generation commit's Mindgit-Run trailer must name the run its run.json
is, a result's run is read by its ref as every reader reads it (a ref moved onto another run's
generation is named as such), and a lost object is one claim's failure, not an internal error."""

from __future__ import annotations

import subprocess

import pygit2
import pytest

from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.run import RunResult, start_run
from mindgit.store.generation import TRAILER_RUN, RunParams
from mindgit.store.genome import Gene
from mindgit.store.layout import MANIFEST
from mindgit.store.repository import Store
from mindgit.sync.recompute import recompute
from tests.conftest import FIXTURES, Mg
from tests.snapshots import changed, snapshot

RASTRIGIN = FIXTURES / "fitness" / "rastrigin.wat"
MISSING = "1" * 40


def run(store: Store, seed: int) -> RunResult:
    result = start_run(store, "rastrigin", RunParams(population=4, generations=3, seed=seed))
    assert result.complete
    return result


@pytest.fixture
def two_runs(store: Store) -> tuple[Store, RunResult, RunResult]:
    store.set_genes([Gene.make(f"x{i}", "float", 1.5 - i, min=-5.12, max=5.12) for i in range(3)])
    add_fitness(store, RASTRIGIN)
    return store, run(store, 1), run(store, 2)


def refile(store: Store, commit_id: str, run_id: str) -> str:
    """The same generation (tree, parents), its Mindgit-Run trailer changed to ``run_id`` and
    signed again by the store's own key: every signature and CID still verifies."""
    commit = store.repo[commit_id].peel(pygit2.Commit)
    lines = [
        f"{TRAILER_RUN}: {run_id}" if line.startswith(f"{TRAILER_RUN}: ") else line
        for line in commit.message.splitlines()
    ]
    parents = [str(p) for p in commit.parent_ids]
    return store.write_commit(commit.tree.id, parents, "\n".join(lines) + "\n")


def test_a_generation_filed_under_another_run_fails(
    two_runs: tuple[Store, RunResult, RunResult], mg: Mg
) -> None:
    # It re-scored the generation under its run.json and passed: the trailer was never read
    # against it, though the claim is filed (and chosen as a run's newest) by the trailer.
    store, first, second = two_runs
    forged = refile(store, first.tip, second.run_id)
    report = recompute(store.repo, [forged], count=None)
    wrong = [p for p in report.problems if p.commit == forged]
    assert [p.reason for p in wrong] == [
        f"{TRAILER_RUN} says run {second.run_id} but its run.json is run {first.run_id}"
    ]
    assert (wrong[0].claimed, wrong[0].recomputed) == (second.run_id, first.run_id)
    store.repo.references.create("refs/heads/forged", forged)
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "verify", "--recompute", "all", forged)
    assert r.code == 1, r.err
    assert (
        f"FAIL {forged[:12]}: {TRAILER_RUN} says run {second.run_id} but its run.json is run "
        f"{first.run_id}"
    ) in r.out
    assert "Traceback" not in r.err
    assert changed(before, store.path) == []


def test_a_generation_whose_trailer_names_its_run_passes(
    two_runs: tuple[Store, RunResult, RunResult],
) -> None:
    # The same re-signing, trailer unchanged: only the changed trailer above is the failure.
    store, first, _ = two_runs
    same = refile(store, first.tip, first.run_id)
    assert recompute(store.repo, [same], count=None).ok


def test_a_result_whose_run_ref_names_another_run_is_named(
    two_runs: tuple[Store, RunResult, RunResult],
) -> None:
    # It said "generation 2 of run <first> cannot be found": the ref, not the run, is wrong.
    store, first, second = two_runs
    assert first.result_commit is not None
    store.repo.references.create(f"refs/runs/{first.run_id}", second.tip, force=True)
    report = recompute(store.repo, [first.result_commit], count=None)
    reasons = [p.reason for p in report.problems if p.commit == first.result_commit]
    assert reasons == [
        f"cannot be re-checked: refs/runs/{first.run_id} points at a generation of run "
        f"{second.run_id}, not of run {first.run_id}"
    ], reasons


def test_a_result_whose_run_ref_names_a_missing_object_is_named(
    two_runs: tuple[Store, RunResult, RunResult], mg: Mg
) -> None:
    # The run's tip was walked for its generations: pygit2's NotFoundError, an internal error
    # (exit 3) for the whole `verify --recompute`.
    store, first, _ = two_runs
    assert first.result_commit is not None
    (store.path / "refs" / "runs" / first.run_id).write_text("1" * 40 + "\n")
    report = recompute(store.repo, [first.result_commit], count=None)
    reasons = [p.reason for p in report.problems if p.commit == first.result_commit]
    assert reasons == [
        f"cannot be re-checked: refs/runs/{first.run_id}: commit {'1' * 12}: names an object "
        f"this store cannot read ({'1' * 40})"
    ], reasons
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "verify", "--recompute", "all", first.result_commit)
    assert r.code == 1, r.err
    assert f"FAIL {first.result_commit[:12]}: cannot be re-checked: refs/runs/" in r.out
    assert "internal error" not in r.err and "Traceback" not in r.err
    assert changed(before, store.path) == []


def test_a_result_whose_manifest_is_lost_is_one_failure(
    two_runs: tuple[Store, RunResult, RunResult], mg: Mg
) -> None:
    # The manifest was read bare: a KeyError stopped the whole verify (exit 3).
    store, first, _ = two_runs
    assert first.result_commit is not None
    commit = store.repo[first.result_commit].peel(pygit2.Commit)
    entries = [
        f"100644 blob {MISSING}\t{e.name}"
        if e.name == MANIFEST
        else f"{e.filemode:06o} {e.type_str} {e.id}\t{e.name}"
        for e in commit.tree
    ]
    tree = subprocess.run(
        ["git", "--git-dir", str(store.path), "mktree", "--missing"],
        input="\n".join(entries) + "\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    parents = [str(p) for p in commit.parent_ids]
    forged = store.write_commit(tree, parents, commit.message)
    report = recompute(store.repo, [forged], count=None)
    reasons = [p.reason for p in report.problems if p.commit == forged]
    assert reasons == [f"cannot be re-checked: its {MANIFEST} (object {MISSING}) cannot be read"]
    store.repo.references.create("refs/heads/forged", forged)
    r = mg("--store", str(store.path), "verify", "--recompute", "all", forged)
    assert r.code == 1, r.err
    assert f"FAIL {forged[:12]}: cannot be re-checked: its {MANIFEST}" in r.out
    assert "internal error" not in r.err and "Traceback" not in r.err
