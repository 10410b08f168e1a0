"""push: only fast-forwards, only verified commits, experiments with their runs."""

from __future__ import annotations

import pytest

from mindgit.identity.keys import NodeKey
from mindgit.store.genome import Gene
from mindgit.store.repository import UnknownRef
from mindgit.sync.outcomes import PushReport, RefOutcome
from mindgit.sync.peers import read_state, seen_heads
from mindgit.sync.pull import pull
from mindgit.sync.push import offers, push
from tests.conftest import fsck
from tests.sync import forge
from tests.sync.conftest import Nodes
from tests.sync.test_pull import evolve


def outcome(report: PushReport, ref: str) -> RefOutcome:
    return next(r for r in report.refs if r.ref == ref)


def test_created_pushed_and_up_to_date(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    alpha.fork("ideas")
    alpha.think("one")
    report = push(alpha, "beta", ["ideas"])
    assert outcome(report, "refs/heads/ideas").status == "created"
    assert beta.head("ideas") == alpha.head("ideas")
    assert report.ok
    old = alpha.head("ideas")
    alpha.think("two")
    pushed = outcome(push(alpha, "beta", ["ideas"]), "refs/heads/ideas")
    assert (pushed.status, pushed.before, pushed.after) == ("pushed", old, alpha.head("ideas"))
    assert outcome(push(alpha, "beta", ["ideas"]), "refs/heads/ideas").status == "up-to-date"
    # What the peer now holds is the mark a later pull may not rewind.
    assert seen_heads(alpha, "beta")["refs/heads/ideas"] == alpha.head("ideas")
    assert read_state(alpha, "beta").last_push is not None
    fsck(beta.path)


def test_same_content_and_diverged_are_not_pushed(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("tune")
    beta.set_genes([Gene.make("x", "float", 0.0)])
    pull(alpha, "beta")
    alpha.set_genes([Gene.make("x", "float", 1.0)], experiment="tune")
    beta.set_genes([Gene.make("x", "float", 2.0)], experiment="tune")
    assert any(r.status == "conflict" for r in pull(alpha, "beta").refs)
    before = {r: beta.repo.references[r].resolve().target for r in beta.repo.references}

    report = push(alpha, "beta")
    assert outcome(report, "refs/heads/main").status == "same-content"
    tune = outcome(report, "refs/heads/tune")
    # The pull kept it apart: "pull first" was a loop; the detail names the merge that ends it.
    assert tune.status == "diverged" and "pull first" not in (tune.detail or "")
    assert "`mindgit merge refs/peers/beta/heads/tune --into tune --fitness NAME`" in (
        tune.detail or ""
    )
    assert report.failed == (tune,)
    after = {r: beta.repo.references[r].resolve().target for r in beta.repo.references}
    assert after == before


def test_behind(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("ideas")
    pull(alpha, "beta")
    beta.think("beta is ahead", experiment="ideas")
    pull(alpha, "beta")
    forge.point(alpha, "ideas", alpha.resolve("ideas~1"))
    report = push(alpha, "beta", ["ideas"])
    assert outcome(report, "refs/heads/ideas").status == "behind"
    assert report.ok


def test_git_refuses_a_non_fast_forward_it_cannot_see(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    alpha.think("alpha's main")
    beta.think("beta's main")  # alpha has never seen it
    report = push(alpha, "beta", ["main"])
    main = outcome(report, "refs/heads/main")
    assert main.status == "rejected" and main.detail == "fetch first"
    assert not report.ok and report.failed == (main,)


def test_unverifiable_commits_are_never_pushed(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    alpha.fork("good", switch=False)
    alpha.think("fine", experiment="good")
    alpha.fork("bad", switch=False)
    forge.point(alpha, "bad", forge.signed_by(alpha, "bad", NodeKey.generate()))
    pull(alpha, "beta")
    report = push(alpha, "beta")
    bad = outcome(report, "refs/heads/bad")
    assert bad.status == "unverified" and "untrusted key" in (bad.detail or "")
    assert outcome(report, "refs/heads/good").status == "created"
    assert "refs/heads/bad" not in beta.repo.references
    assert not report.ok


def test_named_experiments_take_their_runs_along(pair: Nodes) -> None:
    alpha = pair["alpha"]
    alpha.fork("a", switch=False)
    alpha.fork("b", switch=False)
    run_a = evolve(alpha, "a", seed=1)
    run_b = evolve(alpha, "b", seed=2)
    refs = {o.ref for o in offers(alpha, ["a"])}
    assert "refs/heads/a" in refs and f"refs/runs/{run_a}" in refs
    assert "refs/heads/b" not in refs and f"refs/runs/{run_b}" not in refs
    assert "refs/fitness/rastrigin" in refs
    everything = {o.ref for o in offers(alpha)}
    assert {"refs/heads/b", f"refs/runs/{run_b}", "refs/heads/main"} <= everything
    with pytest.raises(UnknownRef):
        offers(alpha, ["nope"])
