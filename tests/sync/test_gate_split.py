"""The gate's signature and content checks, and verify's, shared with a forked process must
find exactly what one process finds, in the same order, and fall back to one process whenever
the worker cannot help (small updates, other threads, a worker that fails)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pygit2
import pytest

from mindgit.evolve.run import start_run
from mindgit.identity.keys import NodeKey
from mindgit.store import split
from mindgit.store.generation import RunParams
from mindgit.store.repository import Store
from mindgit.store.split import SPLIT_MIN_COMMITS
from mindgit.store.verify import verify_commits, walk
from mindgit.sync.gate import check_commits, verify_new_commits
from mindgit.sync.outcomes import PullRejected, PullReport
from mindgit.sync.pull import pull
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.sync import forge
from tests.sync.conftest import Nodes
from tests.sync.test_gate_runs import (
    child,
    drop_thoughts,
    new_module,
    stray_thought,
    swap_two_states,
)

GENERATIONS = 26


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, list[str], list[str]]:
    """A store holding a 26-generation run and hostile commits on top of it and of its
    experiment: (store, the good commits parents first, the hostile ones)."""
    store = new_store(tmp_path_factory.mktemp("split") / "s", float_genes(4))
    run = start_run(store, str(RASTRIGIN), RunParams(population=8, generations=GENERATIONS, seed=5))
    experiment = store.current
    good = list(walk(store.repo, [run.tip, store.head(experiment)]))
    stranger = NodeKey.generate()
    bad = [
        child(store, run.tip, swap_two_states),
        child(store, run.tip, new_module),
        child(store, run.tip, drop_thoughts),
        child(store, run.tip, stray_thought),
        forge.unsigned(store, experiment),
        forge.signed_by(store, experiment, stranger),
        forge.altered(store, experiment),
        forge.bad_cid(store, experiment, store.key),
        forge.non_canonical_manifest(store, experiment, store.key),
    ]
    return store, good, bad


def orders(good: list[str], bad: list[str]) -> Iterator[list[str]]:
    """The hostile commits in the first process's share, in the worker's, and in both."""
    yield bad + good
    yield good + bad
    yield [c for pair in zip(good, bad + [""] * len(good), strict=False) for c in pair if c]


def test_a_large_history_is_shared_and_finds_what_one_process_finds(
    history: tuple[Store, list[str], list[str]],
) -> None:
    store, good, bad = history
    assert len(good) >= SPLIT_MIN_COMMITS
    for commits in orders(good, bad):
        alone = verify_new_commits(store.repo, store.trust, commits, workers=1)
        shared = verify_new_commits(store.repo, store.trust, commits, workers=2)
        assert not alone.split
        assert shared.split
        assert shared.problems == alone.problems
        # Every hostile commit is named, each where one process names it.
        assert {p.commit for p in alone.problems} == set(bad)


def test_a_clean_history_has_no_problems_either_way(
    history: tuple[Store, list[str], list[str]],
) -> None:
    store, good, _ = history
    shared = verify_new_commits(store.repo, store.trust, good, workers=2)
    assert shared.split
    assert shared.problems == ()


def test_check_commits_names_the_same_problems_in_one_or_two_processes(
    history: tuple[Store, list[str], list[str]],
) -> None:
    store, _, bad = history
    one = check_commits(store.repo, store.trust, bad, workers=1)
    two = check_commits(store.repo, store.trust, bad, workers=2)
    assert one == two
    reasons = " | ".join(p.reason for p in one)
    for expected in ("unsigned commit", "signed by untrusted key", "bad signature"):
        assert expected in reasons


def test_verify_reports_the_same_from_one_or_two_processes(
    history: tuple[Store, list[str], list[str]],
) -> None:
    store, good, bad = history
    experiment = store.head(store.current)
    for tips in ([good[-1], experiment], bad, [experiment]):  # a linear history, read ahead
        alone = verify_commits(store.repo, store.trust, tips, workers=1)
        shared = verify_commits(store.repo, store.trust, tips, workers=2)
        assert shared.results == alone.results
    assert {p.commit for p in alone.problems} <= set(bad)
    every = verify_commits(store.repo, store.trust, bad, workers=2)
    assert {p.commit for p in every.problems} == set(bad)
    assert len(every.results) == len(set(good) | set(bad))


def test_small_updates_stay_in_one_process(history: tuple[Store, list[str], list[str]]) -> None:
    store, good, _ = history
    few = good[: SPLIT_MIN_COMMITS - 1]
    assert not verify_new_commits(store.repo, store.trust, few).split
    assert not verify_new_commits(store.repo, store.trust, few[:1], workers=2).split


def test_no_fork_while_another_thread_runs(history: tuple[Store, list[str], list[str]]) -> None:
    store, good, bad = history
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        result = verify_new_commits(store.repo, store.trust, good + bad, workers=2)
    finally:
        stop.set()
        other.join()
    assert not result.split
    assert result.problems == verify_new_commits(store.repo, store.trust, good + bad).problems


def test_a_failing_worker_leaves_its_share_to_this_process(
    history: tuple[Store, list[str], list[str]],
) -> None:
    # A commit id that is not hex makes the checks raise: in the worker that is a failed
    # worker, and this process, checking the worker's share itself, raises what one process
    # raises.
    store, good, _ = history
    commits = [*good, "not-a-commit-id"]
    with pytest.raises(ValueError) as one:
        verify_new_commits(store.repo, store.trust, commits, workers=1)
    with pytest.raises(ValueError) as two:
        verify_new_commits(store.repo, store.trust, commits, workers=2)
    assert str(two.value) == str(one.value)


def test_a_shared_check_reads_no_object_before_the_sizes_pass(
    history: tuple[Store, list[str], list[str]],
) -> None:
    # Far over the size limit: refused by the object scan, before any worker reads content.
    store, good, _ = history
    huge = forge.huge_thought(store, store.current, store.key)
    problems = check_commits(store.repo, store.trust, [*good, huge], workers=2)
    assert problems
    assert all(p.commit == huge for p in problems)
    assert any("over the" in p.reason for p in problems)
    assert isinstance(store.repo[huge], pygit2.Commit)


def _pull_with(nodes: Nodes, monkeypatch: pytest.MonkeyPatch, idle: bool) -> PullReport | str:
    """A fresh node pulls beta with the machine's load pinned: its checks shared with a worker
    (idle) or not; the report, or the refusal's problems."""
    monkeypatch.setattr(split, "idle_core", lambda: idle)
    name = f"node{len(nodes.stores)}"
    node = nodes.make(name)
    node.trust.add(nodes["beta"].public_key, "beta")
    nodes.link(name, "beta")
    try:
        return pull(node, "beta")
    except PullRejected as e:
        return " | ".join(str(p) for p in e.problems)


def test_a_pull_shares_its_checks_and_accepts_or_refuses_the_same(
    nodes: Nodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    beta = nodes.make("beta")
    beta.set_genes(float_genes(3))
    assert GENERATIONS >= SPLIT_MIN_COMMITS  # a pull of the run is large enough to share
    run = start_run(beta, str(RASTRIGIN), RunParams(population=6, generations=GENERATIONS, seed=2))
    shared, alone = (_pull_with(nodes, monkeypatch, idle) for idle in (True, False))
    assert isinstance(shared, PullReport) and isinstance(alone, PullReport)
    assert [(r.ref, r.status) for r in shared.refs] == [(r.ref, r.status) for r in alone.refs]
    for node in ("node1", "node2"):
        assert nodes[node].resolve(f"refs/runs/{run.run_id}") == run.tip

    # A tampered generation on top of the run: refused the same way both times.
    beta.repo.references[f"refs/runs/{run.run_id}"].set_target(
        child(beta, run.tip, swap_two_states)
    )
    shared, alone = (_pull_with(nodes, monkeypatch, idle) for idle in (True, False))
    assert isinstance(shared, str) and shared == alone
    assert "not to their name" in shared


def test_a_bad_object_both_halves_reach_is_named_once_as_one_process_names_it(
    history: tuple[Store, list[str], list[str]],
) -> None:
    # The same hostile tree under a commit in each half: one process scans it once, under the
    # earlier commit; the worker's own scan finds it again, and that second find is dropped.
    store = history[0]
    experiment = store.current
    early = forge.hostile_name(store, experiment, store.key, b"..")
    tree = store.repo[early].peel(pygit2.Tree).id
    late = forge.commit_tree(store.repo, tree, [_run_tip(store)], "the same tree again", store.key)
    tips = [early, late]
    commits = list(walk(store.repo, tips))
    assert commits.index(early) < len(commits) // 2 <= commits.index(late)
    one = check_commits(store.repo, store.trust, tips, workers=1)
    two = check_commits(store.repo, store.trust, tips, workers=2)
    assert two == one
    escapes = [p.commit for p in one if "would escape" in p.reason]
    assert escapes == [early]


def test_a_huge_object_in_the_earlier_half_stops_the_worker_before_it_reads(
    history: tuple[Store, list[str], list[str]],
) -> None:
    store = history[0]
    experiment = store.current
    huge = forge.huge_thought(store, experiment, store.key)
    tips = [huge, _run_tip(store)]
    commits = list(walk(store.repo, tips))
    assert commits.index(huge) < len(commits) // 2
    problems = check_commits(store.repo, store.trust, tips, workers=2)
    assert problems == check_commits(store.repo, store.trust, tips, workers=1)
    assert problems and all(p.commit == huge for p in problems)


def _run_tip(store: Store) -> str:
    (ref,) = (r for r in store.repo.references if r.startswith("refs/runs/"))
    return str(store.repo.references[ref].target)
