"""Deleting a run (mindgit.evolve.run_deletion; `mindgit runs --delete RUN [--force]`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mindgit.evolve.run import RunBusy, UnknownRun, run_lock, start_run
from mindgit.evolve.run_deletion import ResultHeld, RunDeleteFailed, delete_run
from mindgit.evolve.runs import list_runs
from mindgit.store.generation import RunParams
from mindgit.store.repository import Store
from tests.conftest import Mg, fsck, git
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store, stop_after
from tests.snapshots import snapshot

PARAMS = RunParams(population=4, generations=3, seed=2)


@pytest.fixture
def node(tmp_path: Path) -> Store:
    return new_store(tmp_path / "a", float_genes(4))


def test_a_run_whose_result_is_on_an_experiment_needs_force(node: Store) -> None:
    run = start_run(node, str(RASTRIGIN), PARAMS)
    assert run.result_commit is not None
    before = snapshot(node.path)
    with pytest.raises(ResultHeld) as e:
        delete_run(node, run.run_id)
    assert (e.value.experiment, e.value.commit) == ("main", run.result_commit)
    assert snapshot(node.path) == before
    tip = git("--git-dir", str(node.path), "rev-parse", f"refs/runs/{run.run_id}").strip()
    assert delete_run(node, run.run_id, force=True) == tip
    assert list_runs(node) == []
    fsck(node.path)


def test_a_result_merged_elsewhere_still_counts(node: Store) -> None:
    node.fork("lab")
    run = start_run(node, str(RASTRIGIN), PARAMS, experiment="lab")
    node.switch("main")
    git("--git-dir", str(node.path), "update-ref", "refs/heads/main", node.head("lab"))
    node.think("lab moves on", experiment="lab")
    git("--git-dir", str(node.path), "update-ref", "-d", "refs/heads/lab")
    with pytest.raises(ResultHeld) as e:
        delete_run(node, run.run_id)
    assert e.value.experiment == "main"


def test_a_stopped_run_goes_without_force(node: Store) -> None:
    run = start_run(node, str(RASTRIGIN), PARAMS, should_stop=stop_after(1))
    assert run.stopped
    delete_run(node, run.run_id)
    assert list_runs(node) == []


def test_a_run_being_evolved_is_not_deleted(node: Store) -> None:
    run = start_run(node, str(RASTRIGIN), PARAMS, should_stop=stop_after(1))
    before = snapshot(node.path)
    with run_lock(node, run.run_id), pytest.raises(RunBusy):
        delete_run(node, run.run_id)
    assert snapshot(node.path) == before


def test_an_unknown_run(node: Store) -> None:
    with pytest.raises(UnknownRun):
        delete_run(node, "0123456789ab")


def test_the_command_and_its_restore_line(node: Store, mg: Mg) -> None:
    run = start_run(node, str(RASTRIGIN), PARAMS)
    at = "--store", str(node.path)
    refused = mg(*at, "runs", "--delete", run.run_id)
    assert refused.code == 1 and "is on experiment 'main'" in refused.err
    done = mg(*at, "runs", "--delete", run.run_id, "--force")
    assert done.code == 0, done.err
    restore = done.err.split("to bring it back: ", 1)[1].split()
    git(*restore[1:])
    assert [r.run_id for r in list_runs(node)] == [run.run_id]
    as_json = mg(*at, "runs", "--delete", run.run_id, "--force", "--json")
    assert as_json.code == 0
    assert json.loads(as_json.out)["deleted"] == run.run_id


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (("--delete", "nothex"), 2, "is not a run id"),
        (("--delete", "0123456789ab"), 1, "no run 0123456789ab"),
        (("--force",), 2, "--force goes with --delete RUN"),
        (("--delete", "0123456789ab", "--check", "0123456789ab"), 2, "not both"),
    ],
)
def test_the_command_refuses(
    node: Store, mg: Mg, args: tuple[str, ...], code: int, said: str
) -> None:
    before = snapshot(node.path)
    out = mg("--store", str(node.path), "runs", *args)
    assert out.code == code and said in out.err, out.err
    assert len(out.err.strip().splitlines()) == 1
    assert snapshot(node.path) == before


def test_a_link_made_by_hand_is_named_as_such_and_kept(node: Store, mg: Mg) -> None:
    run = start_run(node, str(RASTRIGIN), PARAMS, should_stop=stop_after(1))
    link = "fedcba987654"
    git("--git-dir", str(node.path), "symbolic-ref", f"refs/runs/{link}", f"refs/runs/{run.run_id}")
    before = snapshot(node.path)
    out = mg("--store", str(node.path), "runs", "--delete", link, "--force")
    assert out.code == 1
    assert out.err.startswith(f"mindgit: error: refs/runs/{link} is a symbolic ref to"), out.err
    # The hint named the run the link points at: following it deleted the wrong run.
    assert (
        "git update-ref --no-deref -d" in out.err and f"name refs/runs/{run.run_id}" not in out.err
    )
    assert snapshot(node.path) == before


def test_the_refusal_says_verify_recompute_fails_afterwards(node: Store) -> None:
    run = start_run(node, str(RASTRIGIN), PARAMS)
    with pytest.raises(ResultHeld) as e:
        delete_run(node, run.run_id)
    assert e.value.hint is not None and "verify --recompute` then fails" in e.value.hint


def test_a_result_another_run_started_from_counts(node: Store) -> None:
    """The experiment moved on past both runs (its ref deleted here): the later run's history
    still starts at the earlier run's result."""
    before = node.head()
    first = start_run(node, str(RASTRIGIN), PARAMS)
    assert first.result_commit is not None
    second = start_run(node, str(RASTRIGIN), RunParams(population=4, generations=2, seed=9))
    node.fork("other", start=before)
    git("--git-dir", str(node.path), "update-ref", "-d", "refs/heads/main")
    with pytest.raises(ResultHeld) as e:
        delete_run(node, first.run_id)
    assert (e.value.run, e.value.experiment) == (second.run_id, None)
    assert f"is where run {second.run_id} started" in str(e.value)


def test_an_experiment_that_cannot_be_read_stops_it_without_force(node: Store) -> None:
    run = start_run(node, str(RASTRIGIN), PARAMS, should_stop=stop_after(1))
    (node.path / "refs" / "heads" / "broken").write_text("garbage\n")
    before = snapshot(node.path)
    with pytest.raises(RunDeleteFailed, match="experiment 'broken' cannot be read"):
        delete_run(node, run.run_id)
    assert snapshot(node.path) == before
    delete_run(node, run.run_id, force=True)
