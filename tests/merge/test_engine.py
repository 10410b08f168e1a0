"""`merge` in a real store: fast-forward, signed merge commits, fitness lookup, bad input."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pygit2
import pytest

from mindgit.evolve.fitness import FitnessFileError, add_fitness
from mindgit.evolve.run import start_run
from mindgit.identity.keys import NodeKey
from mindgit.merge import (
    BadConfigValue,
    FitnessFailedEverywhere,
    MergeConflict,
    MergeIntoItself,
    UnrelatedHistories,
    apply_merge,
    merge,
    merge_bases,
    plan_merge,
)
from mindgit.merge.lookup import find_fitness
from mindgit.sandbox import FitnessModule
from mindgit.store.fitness_store import UnknownFitness
from mindgit.store.generation import RunParams
from mindgit.store.private import seal_note
from mindgit.store.refs import RefLocked, RefMoved
from mindgit.store.repository import Store, UnknownRef, init_store
from mindgit.store.state import State
from mindgit.store.verify import verify_commits
from tests.conftest import fsck, git
from tests.merge.conftest import HOSTILE, ONEMAX, RASTRIGIN, block, diverge, set_memories, x


def refs(store: Store) -> dict[str, str]:
    return {r: str(store.repo.lookup_reference(r).target) for r in store.repo.references}


def message(store: Store, commit: str) -> str:
    obj = store.repo[commit].peel(pygit2.Commit)
    return str(obj.message)


def rastrigin_score(state: State) -> float:
    module = FitnessModule.load(RASTRIGIN.read_bytes())
    return module.score(state.manifest().data)


def test_a_conflicting_merge_is_a_signed_commit_recording_each_decision(rastrigin: Store) -> None:
    store = rastrigin
    diverge(
        store,
        ours=[x("x0", 1.0), x("x1", 0.1), x("x3", 1.0)],
        theirs=[x("x0", 0.0), x("x1", 2.0), x("x2", 3.0)],
        start=[x(f"x{i}", 1.5) for i in range(4)],
    )
    _, dream = store.think("a dream", experiment="dreamer")
    ours_head, theirs_head = store.head("main"), store.head("dreamer")

    out = merge(store, "dreamer", fitness="rastrigin")

    assert out.commit == store.head("main")
    commit = store.repo[out.commit].peel(pygit2.Commit)
    assert [str(p) for p in commit.parent_ids] == [ours_head, theirs_head]
    merged = store.state("main")
    assert merged.manifest().cid == out.manifest
    assert {g.name: g.value for g in merged.genome.genes} == {
        "x0": 0.0,
        "x1": 0.1,
        "x2": 3.0,
        "x3": 1.0,
    }
    assert dream in merged.thoughts and out.thoughts_added == (dream,)
    assert out.candidates_scored == 4 and out.entry == "fitness_batch"
    assert out.bases == (merge_bases(store.repo, ours_head, theirs_head)[0],)
    lines = message(store, out.commit).splitlines()
    x0 = next(d for d in out.decisions if d.pattern == "x0")
    assert (
        f"Mindgit-Merge-Pattern: x0 ours={x0.scores['ours']!r} theirs={x0.scores['theirs']!r} "
        "winner=theirs"
    ) in lines
    assert any(
        line.startswith("Mindgit-Merge-Pattern: x1 ") and "winner=ours" in line for line in lines
    )
    assert f"Mindgit-Module: {out.module}" in lines
    assert lines[-1] == f"Mindgit-State: {out.manifest}"
    # One trailer block that git itself reads.
    trailers = git(
        "--git-dir", str(store.path), "log", "-1", "--format=%(trailers:only)", out.commit
    )
    assert trailers.count("Mindgit-Merge-Pattern:") == 2 and "Mindgit-State:" in trailers
    assert verify_commits(store.repo, store.trust, [out.commit]).ok
    proc = subprocess.run(
        ["git", "--git-dir", str(store.path), "verify-commit", out.commit], capture_output=True
    )
    assert proc.returncode == 0, proc.stderr
    fsck(store.path)
    # The kept state is the fittest candidate: at least as fit as either side.
    assert rastrigin_score(merged) >= max(
        rastrigin_score(store.state(ours_head)), rastrigin_score(store.state(theirs_head))
    )


def test_fast_forward_and_up_to_date_write_no_commit(store: Store) -> None:
    store.fork("dreamer", switch=False)
    store.think("only theirs", experiment="dreamer")
    before = store.head("main")
    out = merge(store, "dreamer")
    assert out.fast_forward and not out.up_to_date
    assert out.commit == store.head("dreamer") == store.head("main")
    assert out.manifest == store.snapshot("dreamer").manifest.cid
    again = merge(store, "dreamer")
    assert again.up_to_date and again.commit == store.head("main")
    back = merge(store, before)  # an ancestor of main
    assert back.up_to_date and store.head("main") == out.commit


def test_an_experiment_merged_into_itself_is_refused(store: Store) -> None:
    store.fork("dreamer", switch=False)
    before = refs(store)
    for theirs, into in [
        ("main", None),
        ("refs/heads/main", None),
        ("HEAD", None),
        ("dreamer", "dreamer"),
    ]:
        with pytest.raises(MergeIntoItself) as e:
            merge(store, theirs, into=into, dry_run=True)
        assert e.value.experiment == (into or "main")
    # A commit id (what a pull passes) or an older revision is a revision, not the experiment.
    assert merge(store, store.head("main")).up_to_date
    assert merge(store, "main", into="dreamer").up_to_date
    assert refs(store) == before


def test_no_conflicts_merge_without_any_fitness(store: Store) -> None:
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x1", 2.0)])
    store.think("ours", experiment="main")
    out = merge(store, "dreamer")
    assert out.module is None and out.candidates_scored == 0
    assert {g.name for g in store.state().genome.genes} == {"x0", "x1"}
    assert "Mindgit-Module" not in message(store, store.head())
    assert verify_commits(store.repo, store.trust, [store.head()]).ok


def test_conflicts_without_fitness_change_nothing(store: Store) -> None:
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x0", 2.0)], start=[x("x0", 0.0)])
    set_memories(store, {"human": block("ours")}, experiment="main")
    set_memories(store, {"human": block("theirs")}, experiment="dreamer")
    before = refs(store)
    with pytest.raises(MergeConflict) as e:
        merge(store, "dreamer")
    assert e.value.patterns == ("x0", "memory:human")
    assert refs(store) == before


def test_dry_run_decides_and_writes_nothing(rastrigin: Store) -> None:
    store = rastrigin
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x0", 0.0)], start=[x("x0", 3.0)])
    before = refs(store)
    objects = git("--git-dir", str(store.path), "count-objects", "-v")
    out = merge(store, "dreamer", fitness="rastrigin", dry_run=True)
    assert out.commit is None and out.dry_run
    assert [(d.pattern, d.winner) for d in out.decisions] == [("x0", "theirs")]
    assert refs(store) == before
    assert git("--git-dir", str(store.path), "count-objects", "-v") == objects
    ff = merge(store, "main~1", into="dreamer", dry_run=True)
    assert ff.up_to_date and ff.commit is None


def test_a_ref_that_moves_during_the_merge_changes_nothing(rastrigin: Store) -> None:
    store = rastrigin
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x0", 0.0)], start=[x("x0", 3.0)])
    plan = plan_merge(store, "dreamer", fitness="rastrigin")
    moved = store.think("meanwhile")[0].id  # another writer moves main
    with pytest.raises(RefMoved) as e:
        apply_merge(store, plan)
    assert e.value.expected == plan.outcome.ours and e.value.actual == moved
    assert store.head("main") == moved
    # Fast-forwards are compare-and-swap too.
    store.fork("ahead", start="dreamer", switch=False)
    store.think("ahead", experiment="ahead")
    plan = plan_merge(store, "ahead", into="dreamer")
    assert plan.outcome.fast_forward
    store.think("theirs moved", experiment="dreamer")
    head = store.head("dreamer")
    with pytest.raises(RefMoved):
        apply_merge(store, plan)
    assert store.head("dreamer") == head


def test_unrelated_histories_need_allow_unrelated(tmp_path: Path, store: Store) -> None:
    other = init_store(tmp_path / "beta", "beta")
    other.set_genes([x("x5", 1.0)])
    other.think("from beta")
    git("--git-dir", str(store.path), "fetch", "-q", str(other.path), "main:refs/heads/beta")
    store.set_genes([x("x0", 1.0)])
    before = refs(store)
    with pytest.raises(UnrelatedHistories) as e:
        merge(store, "beta")
    assert "--allow-unrelated" in (e.value.hint or "")
    assert refs(store) == before
    out = merge(store, "beta", allow_unrelated=True)
    assert out.bases == ()
    merged = store.state()
    assert {g.name for g in merged.genome.genes} == {"x0", "x5"}
    assert merged.thoughts == other.state().thoughts
    fsck(store.path)


def test_unknown_revisions_and_experiments(store: Store) -> None:
    with pytest.raises(UnknownRef):
        merge(store, "nobody")
    with pytest.raises(UnknownRef):
        merge(store, "main", into="nobody")
    with pytest.raises(UnknownRef):
        merge(store, "0" * 40)


def test_a_module_that_traps_everywhere_changes_nothing(store: Store) -> None:
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x0", 0.0)], start=[x("x0", 3.0)])
    before = refs(store)
    with pytest.raises(FitnessFailedEverywhere) as e:
        merge(store, "dreamer", fitness=str(HOSTILE / "unreachable.wat"))
    assert e.value.count == 2 and e.value.failure is not None
    assert e.value.failure.reason == "trap"
    assert refs(store) == before  # a module given as a path is read, not stored


def test_unknown_fitness_is_refused(store: Store) -> None:
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x0", 0.0)], start=[x("x0", 3.0)])
    with pytest.raises(UnknownFitness):
        merge(store, "dreamer", fitness="nosuchmodule")


def test_fitness_lookup_config_then_latest_run(rastrigin: Store) -> None:
    store = rastrigin
    onemax = add_fitness(store, ONEMAX)
    store.set_genes([x("x0", 2.0), x("x1", 2.0)])
    assert find_fitness(store.repo, experiment="main") is None
    run = start_run(
        store, "rastrigin", RunParams(population=4, generations=2, seed=3, minimize=True)
    )
    own = store.public_key
    found = find_fitness(store.repo, experiment="main", own_key=own)
    assert found is not None and found.source == f"run {run.run_id}" and found.minimize
    assert find_fitness(store.repo, experiment="other", own_key=own) is None
    store.config_set("mindgit.fitness", "onemax")
    found = find_fitness(store.repo, experiment="main", own_key=own)
    assert found is not None and found.cid == onemax.cid and not found.minimize
    assert found.source == "config mindgit.fitness"
    found = find_fitness(store.repo, spec=str(run_module(store)), experiment="main", own_key=own)
    assert found is not None and found.source == "--fitness" and found.minimize
    store.config_set("mindgit.minimize", "false")
    found = find_fitness(store.repo, spec="rastrigin", experiment="main")
    assert found is not None and not found.minimize
    store.config_set("mindgit.minimize", "sometimes")
    with pytest.raises(BadConfigValue):
        find_fitness(store.repo, spec="rastrigin", experiment="main")


def run_module(store: Store) -> str:
    found = find_fitness(store.repo, spec="rastrigin")
    assert found is not None
    return str(found.cid)


def test_merge_uses_the_latest_runs_module_and_direction(rastrigin: Store) -> None:
    store = rastrigin
    store.set_genes([x("x0", 2.0)])
    start_run(store, "rastrigin", RunParams(population=4, generations=2, seed=1, minimize=True))
    store.fork("dreamer", switch=False)
    store.set_genes([x("x0", 0.0)], experiment="dreamer")
    store.set_genes([x("x0", 1.0)], experiment="main")
    out = merge(store, "dreamer", dry_run=True)
    assert out.minimize and out.fitness_source is not None and out.fitness_source.startswith("run ")
    # Rastrigin scores 0 at the origin, -1 at x0=1: minimising keeps the lower score.
    assert [(d.pattern, d.winner, d.scores) for d in out.decisions] == [
        ("x0", "ours", {"ours": -1.0, "theirs": 0.0})
    ]


def test_sealed_thoughts_merge_unopened(store: Store) -> None:
    stranger = NodeKey.generate()  # this store cannot open what is sealed to it
    sealed = seal_note("not for alpha", [], [stranger.public])
    store.fork("dreamer", switch=False)
    store.update(
        lambda s: (s.with_thoughts(s.thoughts | {sealed.cid}), {sealed.cid: sealed.data}),
        "sealed",
        experiment="dreamer",
    )
    store.think("ours")
    out = merge(store, "dreamer")
    assert sealed.cid in store.state().thoughts and out.thoughts_added == (sealed.cid,)
    assert store.thought(sealed.cid) == sealed.data
    assert verify_commits(store.repo, store.trust, [store.head()]).ok


def test_memory_conflicts_keep_only_the_winning_block(store: Store) -> None:
    set_memories(store, {"human": block("base"), "notes": block("n")})
    store.fork("dreamer", switch=False)
    set_memories(store, {"human": block("theirs"), "notes": block("n")}, experiment="dreamer")
    set_memories(store, {"human": block("ours"), "notes": block("n"), "copy": block("n")})
    add_fitness(store, ONEMAX)
    out = merge(store, "dreamer", fitness="onemax")
    assert [(d.pattern, d.winner, d.reason) for d in out.decisions] == [
        ("memory:copy", "ours", "ours-only"),
        ("memory:human", "ours", "fitness"),  # a tie (onemax ignores memories) keeps ours
    ]
    assert out.entry == "fitness"
    assert dict(store.state().memories)["human"] == block("ours").cid
    assert verify_commits(store.repo, store.trust, [store.head()]).ok
    fsck(store.path)


def test_criss_cross_histories_merge_from_a_virtual_base(store: Store) -> None:
    store.set_genes([x("x0", 0.0), x("x1", 0.0)])
    store.fork("dreamer", switch=False)
    store.set_genes([x("x0", 1.0)])
    store.set_genes([x("x1", 1.0)], experiment="dreamer")
    a, b = store.head("main"), store.head("dreamer")
    merge(store, b, into="main")
    # dreamer merges main's old head too: two merge bases from now on.
    merge(store, a, into="dreamer")
    store.set_genes([x("x0", 2.0)])
    store.think("dreamer goes on", experiment="dreamer")
    bases = merge_bases(store.repo, store.head("main"), store.head("dreamer"))
    assert sorted(bases) == sorted([a, b])
    out = merge(store, "dreamer")
    assert len(out.bases) == 2
    assert {g.name: g.value for g in store.state().genome.genes} == {"x0": 2.0, "x1": 1.0}
    assert verify_commits(store.repo, store.trust, [store.head()]).ok


def test_a_writer_holding_the_ref_lock_then_moving_it_changes_nothing(rastrigin: Store) -> None:
    store = rastrigin
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x0", 0.0)], start=[x("x0", 3.0)])
    plan = plan_merge(store, "dreamer", fitness="rastrigin")
    other = store.think("written by another process")[0].id  # a commit a writer will publish
    ref = store.path / "refs" / "heads" / "main"
    store_ref = ref.read_text()
    ref.write_text(plan.outcome.ours + "\n")  # as it was when the merge was planned
    lock = ref.with_name("main.lock")
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL)  # git's lock protocol: held

    def publish() -> None:
        time.sleep(0.2)
        os.write(fd, f"{other}\n".encode())
        os.close(fd)
        os.replace(lock, ref)

    writer = threading.Thread(target=publish)
    writer.start()
    try:
        with pytest.raises(RefMoved):
            apply_merge(store, plan)  # waits for the lock, then finds the ref moved
    finally:
        writer.join()
    assert store.head("main") == other == store_ref.strip()
    assert not lock.exists()


def test_a_dry_run_with_a_module_path_writes_nothing(tmp_path: Path) -> None:
    from mindgit.merge import merge
    from mindgit.store.genome import Gene
    from mindgit.store.repository import init_store
    from tests.merge.conftest import RASTRIGIN

    store = init_store(tmp_path / "dry", "dry")
    store.set_genes([Gene.make("x0", "float", 0.0, min=-5, max=5)])
    store.fork("dreamer")
    store.set_genes([Gene.make("x0", "float", 1.0, min=-5, max=5)])
    store.switch("main")
    store.set_genes([Gene.make("x0", "float", 2.0, min=-5, max=5)])
    refs = sorted(store.repo.references)
    objects = sorted(p.name for p in (store.path / "objects").rglob("*"))
    outcome = merge(store, "dreamer", fitness=str(RASTRIGIN), dry_run=True)
    assert outcome.commit is None and outcome.decisions
    assert sorted(store.repo.references) == refs
    assert sorted(p.name for p in (store.path / "objects").rglob("*")) == objects


def objects(store: Store) -> list[str]:
    """Every object file of the store (loose and packed), to show nothing was written."""
    return sorted(str(p.relative_to(store.path)) for p in (store.path / "objects").rglob("*"))


def test_a_ref_locked_by_another_writer_writes_no_object(rastrigin: Store) -> None:
    store = rastrigin
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x0", 0.0)], start=[x("x0", 3.0)])
    store.think("only on main")  # the merged state is new, so a merge would write objects
    store.lock_wait = 0.05
    lock = store.path / "refs" / "heads" / "main.lock"
    lock.write_text("")  # another writer (git, say) holds main
    before, stored = refs(store), objects(store)
    with pytest.raises(RefLocked):
        merge(store, "dreamer", fitness="rastrigin")
    assert refs(store) == before and objects(store) == stored
    lock.unlink()
    out = merge(store, "dreamer", fitness="rastrigin")
    assert out.commit == store.head("main")


def test_a_ref_that_moved_since_the_plan_writes_no_object(rastrigin: Store) -> None:
    store = rastrigin
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x0", 0.0)], start=[x("x0", 3.0)])
    plan = plan_merge(store, "dreamer", fitness="rastrigin")
    moved = store.think("meanwhile")[0].id
    stored = objects(store)
    with pytest.raises(RefMoved):
        apply_merge(store, plan)
    assert objects(store) == stored and store.head("main") == moved


def test_a_module_that_decided_only_the_merge_bases_is_recorded(rastrigin: Store) -> None:
    store = rastrigin
    store.set_genes([x("x0", 0.0), x("x1", 0.0)])
    store.fork("dreamer", switch=False)
    store.set_genes([x("x0", 1.0)])
    store.set_genes([x("x0", 2.0)], experiment="dreamer")
    a, b = store.head("main"), store.head("dreamer")
    merge(store, b, into="main", fitness="rastrigin")
    merge(store, a, into="dreamer", fitness="rastrigin")
    store.set_genes([x("x1", 1.0)])  # the merge itself has no conflict; its bases do
    out = merge(store, "dreamer", fitness="rastrigin")
    assert len(out.bases) == 2 and out.candidates_scored == 0 and out.entry is None
    assert out.module is not None and out.fitness_source == "--fitness"
    assert out.commit is not None
    lines = message(store, out.commit).splitlines()
    assert f"Mindgit-Module: {out.module}" in lines
    assert not any(line.startswith("Mindgit-Merge-Entry") for line in lines)


def test_conflicting_merge_bases_without_a_module_say_it_is_the_bases(store: Store) -> None:
    store.set_genes([x("x0", 0.0), x("x1", 0.0)])
    store.fork("dreamer", switch=False)
    store.set_genes([x("x0", 1.0)])
    store.set_genes([x("x0", 2.0)], experiment="dreamer")
    a, b = store.head("main"), store.head("dreamer")
    add_fitness(store, RASTRIGIN)
    merge(store, b, into="main", fitness="rastrigin")
    merge(store, a, into="dreamer", fitness="rastrigin")
    store.set_genes([x("x1", 1.0)])  # main and dreamer agree on x0; their merge bases do not
    before = refs(store)
    with pytest.raises(MergeConflict) as e:
        merge(store, "dreamer")
    assert e.value.patterns == ("x0",)
    assert str(e.value).startswith("the merge bases of main and dreamer (")
    assert "no fitness module decides" in str(e.value)
    assert refs(store) == before


def test_a_revision_spelled_with_a_newline_cannot_add_lines_to_the_merge_commit(
    rastrigin: Store,
) -> None:
    store = rastrigin
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x0", 0.0)], start=[x("x0", 3.0)])
    store.think("a dream", experiment="dreamer")
    # A regex revision may hold a newline and still name a commit.
    rev = "dreamer^{/a dream|\nMindgit-Module: forged}"
    assert store.resolve(rev) == store.head("dreamer")
    out = merge(store, rev, fitness="rastrigin")
    assert out.commit is not None
    lines = message(store, out.commit).splitlines()
    assert lines[0] == "merge dreamer^{/a dream| Mindgit-Module: forged} into main"
    assert not any(line.startswith("Mindgit-Module: forged") for line in lines)


def test_a_module_named_on_the_command_line_must_exist_even_with_nothing_to_decide(
    rastrigin: Store,
) -> None:
    store = rastrigin
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x1", 2.0)])  # no conflict
    store.fork("ahead", start="dreamer", switch=False)
    store.think("ahead", experiment="ahead")
    before, stored = refs(store), objects(store)
    for theirs, into in [("dreamer", None), ("ahead", "dreamer"), ("dreamer~1", None)]:
        with pytest.raises(UnknownFitness):
            merge(store, theirs, into=into, fitness="rastrgin")  # a typo
        with pytest.raises(FitnessFileError):
            merge(store, theirs, into=into, fitness="no/such.wat")
    assert refs(store) == before and objects(store) == stored
    # A module that exists but decided nothing is not named in the commit.
    out = merge(store, "dreamer", fitness="rastrigin")
    assert out.module is None and out.candidates_scored == 0 and out.commit is not None
    assert "Mindgit-Module" not in message(store, out.commit)
