"""Runs end to end with the real sandbox and real wasm: persistence, determinism, resume, errors."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from mindgit.evolve.genes import NoEvolvableGenes
from mindgit.evolve.run import (
    AmbiguousResume,
    NothingToResume,
    ParametersDiffer,
    RunBusy,
    RunExists,
    RunResult,
    StartStateFails,
    UnknownRun,
    resume_run,
    run_lock,
    start_run,
)
from mindgit.store.generation import (
    GENERATION_FILE,
    RUNS_PREFIX,
    STATES,
    InvalidParameter,
    RunParams,
    read_generation_commit,
    read_run_tip,
)
from mindgit.store.genome import Gene
from mindgit.store.refs import read_ref, update_ref
from mindgit.store.repository import Store
from mindgit.store.verify import trailer, verify_commits
from tests.conftest import fsck, git
from tests.evolve.helpers import HOSTILE, ONEMAX, RASTRIGIN, float_genes, new_store, stop_after

PARAMS = RunParams(population=8, generations=4, seed=7)


def chain(store: Store, run_id: str) -> list[pygit2.Commit]:
    """The run's generation commits, oldest first."""
    tip = read_ref(store.repo, RUNS_PREFIX + run_id)
    assert tip is not None
    out: list[pygit2.Commit] = []
    commit = store.repo[tip].peel(pygit2.Commit)
    while GENERATION_FILE in commit.tree:
        out.append(commit)
        commit = commit.parents[0]
    return out[::-1]


def fingerprint(store: Store, run_id: str) -> list[tuple[str, str]]:
    """What must be identical between equal runs anywhere: each generation's record and states."""
    return [(str(c.tree[GENERATION_FILE].id), str(c.tree[STATES].id)) for c in chain(store, run_id)]


@pytest.fixture
def rstore(tmp_path: Path) -> Store:
    return new_store(tmp_path / "a", float_genes(6))


def test_a_run_commits_every_generation_and_the_result(rstore: Store) -> None:
    start = rstore.head()
    r = start_run(rstore, str(RASTRIGIN), PARAMS)
    assert r.complete and not r.stopped and r.generations_done == 4
    commits = chain(rstore, r.run_id)
    assert len(commits) == 4
    assert [str(p) for p in commits[0].parent_ids] == [start]
    for g, c in enumerate(commits):
        assert trailer(c.message, "Mindgit-Generation") == str(g)
        assert trailer(c.message, "Mindgit-Run") == r.run_id
        assert trailer(c.message, "Mindgit-Experiment") == "main"
    head = rstore.repo[rstore.head()].peel(pygit2.Commit)
    assert str(head.id) == r.result_commit
    assert trailer(head.message, "Mindgit-Run") == r.run_id
    assert trailer(head.message, "Mindgit-Generation") == "3"
    assert trailer(head.message, "Mindgit-Fitness") == repr(r.best_score)
    run_tip = read_run_tip(rstore.repo, r.run_id)
    assert run_tip is not None
    assert trailer(head.message, "Mindgit-Module") == str(run_tip.info.module)
    assert trailer(head.message, "Mindgit-State") == str(r.best_state)
    assert r.start_score is not None and r.best_score is not None and r.best_score >= r.start_score
    assert rstore.state().thoughts == rstore.state(start).thoughts
    report = verify_commits(rstore.repo, rstore.trust, [r.tip, rstore.head()])
    assert report.ok, report.problems
    for c in (commits[0], commits[-1]):  # stock git agrees (exit code, not text)
        git("--git-dir", str(rstore.path), "verify-commit", str(c.id))
    fsck(rstore.path)


def test_the_same_run_anywhere_gives_the_same_generations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = new_store(tmp_path / "a", float_genes(6), name="a")
    b = new_store(tmp_path / "b", float_genes(6), name="b")
    ra = start_run(a, str(RASTRIGIN), PARAMS)
    monkeypatch.setenv("MINDGIT_EVOLVE_FORK", "0")  # the inline writer gives the same bits
    rb = start_run(b, str(RASTRIGIN), PARAMS)
    assert ra.run_id != rb.run_id  # each started from a commit of its own store
    assert (ra.best_score, ra.best_state) == (rb.best_score, rb.best_state)
    assert fingerprint(a, ra.run_id) == fingerprint(b, rb.run_id)
    other = new_store(tmp_path / "c", float_genes(6), name="c")
    rc = start_run(other, str(RASTRIGIN), RunParams(population=8, generations=4, seed=8))
    assert fingerprint(other, rc.run_id) != fingerprint(a, ra.run_id)


def test_stop_and_resume_gives_the_uninterrupted_result(tmp_path: Path) -> None:
    params = RunParams(population=8, generations=6, seed=3)
    whole = new_store(tmp_path / "whole", float_genes(6))
    expected = start_run(whole, str(RASTRIGIN), params)
    parts = new_store(tmp_path / "parts", float_genes(6))
    first = start_run(parts, str(RASTRIGIN), params, should_stop=stop_after(2))
    assert first.stopped and first.generations_done == 3 and first.result_commit is None
    assert len(chain(parts, first.run_id)) == 3
    with pytest.raises(RunExists):
        start_run(parts, str(RASTRIGIN), params)
    second = resume_run(parts, should_stop=stop_after(1))
    assert second.stopped and second.generations_done == 4
    done = resume_run(parts, first.run_id)
    assert done.complete and done.result_commit is not None
    assert (done.best_score, done.best_state) == (expected.best_score, expected.best_state)
    assert fingerprint(parts, done.run_id) == fingerprint(whole, expected.run_id)
    with pytest.raises(NothingToResume):
        resume_run(parts)
    with pytest.raises(NothingToResume):
        resume_run(parts, done.run_id)
    fsck(parts.path)


def test_resume_commits_a_result_that_a_crash_left_uncommitted(rstore: Store) -> None:
    start = rstore.head()
    r = start_run(rstore, str(RASTRIGIN), PARAMS)
    # As if the process died after the last generation but before committing the result.
    update_ref(
        rstore.repo, "refs/heads/main", start, r.result_commit, message="test", committer="t <t>"
    )
    again = resume_run(rstore)
    assert again.result_commit is not None and again.best_state == r.best_state
    assert rstore.snapshot().manifest.cid == r.best_state


def test_resume_refuses_other_parameters(rstore: Store) -> None:
    r = start_run(rstore, str(RASTRIGIN), PARAMS, should_stop=lambda: True)
    for key, value in (("seed", 8), ("population", 9), ("fuel", 5), ("fitness", str(ONEMAX))):
        with pytest.raises(ParametersDiffer) as e:
            resume_run(rstore, expect={key: value})
        assert e.value.name == key
    assert resume_run(rstore, expect={"seed": 7, "population": 8, "fitness": "rastrigin"}).complete
    del r


def test_resume_needs_one_unfinished_run(rstore: Store) -> None:
    with pytest.raises(NothingToResume):
        resume_run(rstore)
    with pytest.raises(UnknownRun):
        resume_run(rstore, "0123456789ab")
    start_run(rstore, str(RASTRIGIN), PARAMS, should_stop=lambda: True)
    start_run(
        rstore,
        "rastrigin",
        RunParams(population=8, generations=4, seed=9),
        should_stop=lambda: True,
    )
    with pytest.raises(AmbiguousResume):
        resume_run(rstore)


def test_a_module_failing_on_the_start_state_is_refused_before_the_run(rstore: Store) -> None:
    with pytest.raises(StartStateFails) as e:
        start_run(rstore, str(HOSTILE / "unreachable.wat"), PARAMS)
    assert e.value.failure.reason == "trap"
    assert not [r for r in rstore.repo.references if r.startswith(RUNS_PREFIX)]


def test_failing_individuals_are_disqualified_and_the_run_goes_on(tmp_path: Path) -> None:
    # selective.wat scores the first gene, and traps when it is negative.
    genes = [
        Gene.make("a", "float", 0.5, min=-1, max=3),
        Gene.make("b", "float", 0.0, min=-1, max=1),
    ]
    store = new_store(tmp_path / "s", genes)
    r: RunResult = start_run(
        store,
        str(HOSTILE / "selective.wat"),
        RunParams(population=12, generations=5, seed=1, mutation_scale=0.5),
    )
    assert r.complete and r.best_score is not None and r.best_score > 0.5
    reasons = {
        ind.failure.reason
        for c in chain(store, r.run_id)
        for ind in read_generation_commit(store.repo, str(c.id)).record.individuals
        if ind.failure is not None
    }
    assert reasons == {"trap"}
    assert verify_commits(store.repo, store.trust, [r.tip]).ok


def test_genomes_with_a_fixed_gene_are_scored_one_state_at_a_time(tmp_path: Path) -> None:
    genes = [Gene.make(f"b{i}", "bool", False) for i in range(8)] + [Gene.make("label", "str", "x")]
    store = new_store(tmp_path / "s", genes)
    r = start_run(store, str(ONEMAX), RunParams(population=10, generations=6, seed=2))
    tip = read_run_tip(store.repo, r.run_id)
    assert tip is not None and tip.info.entry == "fitness"
    assert r.best_score is not None and r.best_score >= 4
    assert store.state().genome["label"].value == "x"


def test_bad_input_changes_nothing(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s", [Gene.make("name", "str", "fixed")])
    head = store.head()
    with pytest.raises(NoEvolvableGenes):
        start_run(store, str(RASTRIGIN), PARAMS)
    with pytest.raises(InvalidParameter):
        RunParams(population=0)
    with pytest.raises(InvalidParameter):
        RunParams(generations=0)
    assert store.head() == head
    assert not [r for r in store.repo.references if r.startswith(RUNS_PREFIX)]


def test_a_lock_left_by_a_killed_writer_does_not_block_resume(rstore: Store) -> None:
    r = start_run(rstore, str(RASTRIGIN), PARAMS, should_stop=lambda: True)
    stale = Path(rstore.repo.path) / f"{RUNS_PREFIX}{r.run_id}.lock"
    stale.write_text("0" * 40 + "\n")  # as a kill -9 inside update_ref leaves it
    assert resume_run(rstore).complete
    assert not stale.exists()


def test_a_run_is_run_by_one_process_at_a_time(rstore: Store) -> None:
    r = start_run(rstore, str(RASTRIGIN), PARAMS, should_stop=lambda: True)
    with run_lock(rstore, r.run_id), pytest.raises(RunBusy):
        resume_run(rstore, r.run_id)
    assert resume_run(rstore, r.run_id).complete


def test_memories_and_data_blocks_are_carried_along(rstore: Store) -> None:
    from mindgit.store.state import Block

    memory = Block.encode({"text": "the plan so far"})
    tools = Block.encode({"tools": ["search"]})
    start = rstore.state().with_memories({"plan": memory.cid}).with_data({"tools": tools.cid})
    rstore.commit_state(start, {memory.cid: memory.data, tools.cid: tools.data}, "memories")
    r = start_run(rstore, str(RASTRIGIN), PARAMS)
    assert r.result_commit is not None
    result = rstore.state()
    assert result.memories == start.memories and result.data == start.data
    assert result.thoughts == start.thoughts and result.genome != start.genome
    report = verify_commits(rstore.repo, rstore.trust, [r.tip, rstore.head()])
    assert report.ok, report.problems
    fsck(rstore.path)


def test_edits_made_during_a_run_are_not_lost(rstore: Store) -> None:
    """The experiment moved between Ctrl-C and --resume: its new thought must survive, and the
    result goes to an experiment of its own, for the user to merge."""
    from mindgit.evolve.run import result_experiment

    first = start_run(rstore, str(RASTRIGIN), PARAMS, should_stop=stop_after(1))
    assert first.stopped
    edit, cid = rstore.think("written while the run was paused")
    r = resume_run(rstore)
    assert r.complete and r.result_commit is not None
    side = result_experiment("main", r.run_id)
    assert r.result_experiment == side
    assert rstore.head() == edit.id and cid in rstore.state().thoughts
    assert rstore.head(side) == r.result_commit
    assert str(rstore.snapshot(side).manifest.cid) == str(r.best_state)
    with pytest.raises(NothingToResume):
        resume_run(rstore)


def test_a_refused_run_leaves_no_fitness_module_behind(rstore: Store) -> None:
    from mindgit.evolve.run import StartStateFails
    from tests.evolve.helpers import HOSTILE

    refs = sorted(rstore.repo.references)
    with pytest.raises(StartStateFails):
        start_run(rstore, str(HOSTILE / "nan_score.wat"), PARAMS)
    assert sorted(rstore.repo.references) == refs
