"""pull: quarantine, verify, then create, fast-forward, merge or keep; last-seen heads recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pygit2
import pytest

from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.run import start_run
from mindgit.store import generation
from mindgit.store.generation import RunParams
from mindgit.store.genome import Gene
from mindgit.store.repository import Store
from mindgit.store.verify import verify_commits
from mindgit.sync.outcomes import PullReport, RefOutcome
from mindgit.sync.peers import UnknownPeer, add_peer, peer_lock, read_state, seen_heads
from mindgit.sync.pull import pull
from mindgit.sync.transport import PeerTimeout, PeerUnreachable
from tests.conftest import FIXTURES, fsck, git
from tests.sync.conftest import Nodes, diverge
from tests.sync.daemons import closed_port, silent_server

RASTRIGIN = FIXTURES / "fitness" / "rastrigin.wat"


def outcome(report: PullReport, ref: str) -> RefOutcome:
    return next(r for r in report.refs if r.ref == ref)


def evolve(store: Store, experiment: str, seed: int = 1) -> str:
    """A tiny real run of rastrigin on ``experiment``; its run id."""
    store.set_genes(
        [
            Gene.make("x", "float", 1.5, min=-5.12, max=5.12),
            Gene.make("y", "float", -2.0, min=-5.12, max=5.12),
        ],
        experiment=experiment,
    )
    add_fitness(store, RASTRIGIN)
    result = start_run(
        store, "rastrigin", RunParams(population=6, generations=3, seed=seed), experiment=experiment
    )
    return result.run_id


def test_new_fast_forward_up_to_date_and_ahead(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("ideas")
    beta.think("one")
    report = pull(alpha, "beta")
    ideas = outcome(report, "refs/heads/ideas")
    assert (ideas.status, ideas.before, ideas.after) == ("new", None, beta.head("ideas"))
    assert alpha.head("ideas") == beta.head("ideas")

    old = beta.head("ideas")
    beta.think("two")
    ff = outcome(pull(alpha, "beta"), "refs/heads/ideas")
    assert (ff.status, ff.before, ff.after) == ("fast-forward", old, beta.head("ideas"))
    assert outcome(pull(alpha, "beta"), "refs/heads/ideas").status == "up-to-date"

    alpha.think("alpha goes on", experiment="ideas")
    ahead = outcome(pull(alpha, "beta"), "refs/heads/ideas")
    assert ahead.status == "ahead" and ahead.after == alpha.head("ideas")
    fsck(alpha.path)
    assert verify_commits(alpha.repo, alpha.trust, [alpha.head("ideas")]).ok


def test_fresh_stores_have_the_same_empty_main(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    main = outcome(pull(alpha, "beta"), "refs/heads/main")
    assert main.status == "same-content" and main.after == alpha.head("main")
    assert main.theirs == beta.head("main") != alpha.head("main")


def test_unrelated_histories_keep_ours_and_record_theirs(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    alpha.think("alpha's own main")
    beta.think("beta's own main")
    ours = alpha.head("main")
    main = outcome(pull(alpha, "beta"), "refs/heads/main")
    assert main.status == "unrelated" and main.after == ours
    assert "refs/peers/beta/heads/main" in (main.detail or "")
    assert seen_heads(alpha, "beta")["refs/heads/main"] == beta.head("main")


def test_diverged_experiments_are_merged(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("shared")
    beta.think("the root idea")
    pull(alpha, "beta")
    alpha.think("alpha's branch of it", experiment="shared")
    beta.think("beta's branch of it", experiment="shared")
    ours, theirs = alpha.head("shared"), beta.head("shared")
    merged = outcome(pull(alpha, "beta"), "refs/heads/shared")
    assert merged.status == "merged" and merged.before == ours
    assert merged.after == alpha.head("shared")
    commit = alpha.repo[alpha.head("shared")].peel(pygit2.Commit)
    assert [str(p) for p in commit.parent_ids] == [ours, theirs]
    texts = {json.loads(data)["text"] for _, data in alpha.thoughts("shared")}
    assert {"alpha's branch of it", "beta's branch of it", "the root idea"} <= texts
    # The merge is a fast-forward for beta.
    again = outcome(pull(beta, "alpha"), "refs/heads/shared")
    assert again.status == "fast-forward" and beta.head("shared") == alpha.head("shared")


def test_conflict_without_fitness_keeps_ours_and_records_theirs(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    diverge(pair)
    ours = alpha.head("tune")
    tune = outcome(pull(alpha, "beta"), "refs/heads/tune")
    assert tune.status == "conflict" and tune.after == ours == alpha.head("tune")
    assert "x" in (tune.detail or "") and "refs/peers/beta/heads/tune" in (tune.detail or "")
    assert alpha.resolve("refs/peers/beta/heads/tune") == beta.head("tune")

    # With a fitness module the same pull merges, rastrigin preferring x nearer 0.
    add_fitness(alpha, RASTRIGIN)
    tune = outcome(pull(alpha, "beta", fitness="rastrigin"), "refs/heads/tune")
    assert tune.status == "merged" and "1 decided by fitness" in (tune.detail or "")
    genes = {g.name: g.value for g in alpha.state("tune").genome.genes}
    assert genes["x"] == 1.0


def test_runs_and_fitness_modules_are_pulled_and_verified(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("evolving")
    run_id = evolve(beta, "evolving")
    report = pull(alpha, "beta")
    assert outcome(report, f"refs/runs/{run_id}").status == "new"
    assert outcome(report, "refs/fitness/rastrigin").status == "new"
    tips = [alpha.resolve(r) for r in (f"refs/runs/{run_id}", "refs/fitness/rastrigin")]
    assert verify_commits(alpha.repo, alpha.trust, tips).ok
    assert alpha.head("evolving") == beta.head("evolving")
    fsck(alpha.path)


def test_a_pull_that_brings_nothing_new_reads_no_run_again(
    pair: Nodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A run's tip is checked to be a generation of the run its ref names when it arrives; a
    # later pull offering the same tip under the same name must not read it again (with many
    # runs, every no-op sync paid a generation.json read per run).
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("evolving")
    run_id = evolve(beta, "evolving")
    pull(alpha, "beta")

    def unreadable(*_: object) -> None:
        raise AssertionError("the run's generation was read again")

    monkeypatch.setattr(generation, "read_generation_commit", unreadable)
    report = pull(alpha, "beta")
    assert outcome(report, f"refs/runs/{run_id}").status == "up-to-date"


def test_quarantine_is_emptied_and_marks_and_times_recorded(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("ideas")
    beta.think("one")
    # A quarantine left behind by a killed pull is cleared, not trusted.
    alpha.repo.references.create("refs/quarantine/beta/heads/stale", alpha.head("main"))
    pull(alpha, "beta")
    assert not [r for r in alpha.repo.references if r.startswith("refs/quarantine/")]
    assert seen_heads(alpha, "beta") == {
        "refs/heads/ideas": beta.head("ideas"),
        "refs/heads/main": beta.head("main"),
    }
    state = read_state(alpha, "beta")
    assert state.last_pull is not None and state.last_error is None
    seen = state.seen["refs/heads/ideas"]
    assert seen.commit == beta.head("ideas") and seen.first <= seen.last == state.last_pull


def test_private_refs_are_hidden_from_peers(pair: Nodes, tmp_path: Path) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("ideas")
    pull(alpha, "beta")
    assert alpha.resolve("refs/peers/beta/heads/ideas")
    listed = git("ls-remote", f"file://{alpha.path}")
    assert "refs/heads/ideas" in listed and "refs/peers/" not in listed
    # Nor can anyone push into them.
    out = git(
        f"--git-dir={beta.path}",
        "push",
        "--porcelain",
        f"file://{alpha.path}",
        f"{beta.head('ideas')}:refs/peers/beta/heads/forged",
        check=False,
    )
    assert "!\t" in out
    assert "refs/peers/beta/heads/forged" not in alpha.repo.references


def test_unknown_peer(pair: Nodes) -> None:
    with pytest.raises(UnknownPeer) as info:
        pull(pair["alpha"], "gamma")
    assert info.value.known == ["beta"]


def test_missing_path_is_unreachable_and_recorded(pair: Nodes, tmp_path: Path) -> None:
    alpha = pair["alpha"]
    add_peer(alpha, "ghost", str(tmp_path / "no-such-store"))
    with pytest.raises(PeerUnreachable):
        pull(alpha, "ghost")
    error = read_state(alpha, "ghost").last_error
    assert error is not None and error.operation == "pull" and "cannot reach" in error.message


def test_git_url_to_a_closed_port_fails_at_once(pair: Nodes) -> None:
    alpha = pair["alpha"]
    add_peer(alpha, "down", f"git://127.0.0.1:{closed_port()}/beta")
    with pytest.raises(PeerUnreachable) as info:
        pull(alpha, "down", timeout=20)
    assert "Connection refused" in info.value.detail


def test_a_peer_that_never_answers_times_out(pair: Nodes) -> None:
    alpha = pair["alpha"]
    before = dict(seen_heads(alpha, "beta"))
    with silent_server() as port:
        add_peer(alpha, "hung", f"git://127.0.0.1:{port}/beta")
        with pytest.raises(PeerTimeout) as info:
            pull(alpha, "hung", timeout=1)
    assert info.value.timeout == 1
    assert seen_heads(alpha, "beta") == before


def test_one_pull_per_peer_at_a_time(pair: Nodes) -> None:
    from mindgit.sync.peers import PeerBusy

    alpha = pair["alpha"]
    with peer_lock(alpha, "beta"), pytest.raises(PeerBusy), peer_lock(alpha, "beta", wait=0):
        pass
    with peer_lock(alpha, "beta", wait=0):
        pass  # released
