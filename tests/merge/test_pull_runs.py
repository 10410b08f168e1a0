"""A pull that merges never lets the peer's run pick the fitness module (review finding)."""

from __future__ import annotations

from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.run import start_run
from mindgit.store.generation import RunParams
from mindgit.store.genome import Gene
from mindgit.sync.pull import pull
from tests.merge.conftest import RASTRIGIN
from tests.sync.conftest import Nodes, nodes, pair

__all__ = ["nodes", "pair"]  # fixtures


def x(value: float) -> Gene:
    return Gene.make("x", "float", value, min=-5.12, max=5.12)


def test_a_pulled_run_does_not_decide_the_pulls_merge(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("tune")
    beta.set_genes([x(0.0)])
    pull(alpha, "beta")
    alpha.set_genes([x(1.0)], experiment="tune")
    beta.set_genes([x(3.0)], experiment="tune")
    # beta evolves "tune" under its own module: a signed run that names alpha's experiment too.
    add_fitness(beta, RASTRIGIN)
    run = start_run(
        beta, "rastrigin", RunParams(population=4, generations=2, seed=4), experiment="tune"
    )
    ours = alpha.head("tune")
    report = pull(alpha, "beta")
    runs = {r.ref: r.status for r in report.refs if r.ref.startswith("refs/runs/")}
    assert runs == {f"refs/runs/{run.run_id}": "new"}
    tune = next(r for r in report.refs if r.ref == "refs/heads/tune")
    assert tune.status == "conflict" and alpha.head("tune") == ours
    # The next pull finds beta's run already here (heads are merged before runs arrive): it
    # still decides nothing.
    tune = next(r for r in pull(alpha, "beta").refs if r.ref == "refs/heads/tune")
    assert tune.status == "conflict" and alpha.head("tune") == ours
    # alpha's own choice still merges.
    add_fitness(alpha, RASTRIGIN)
    alpha.config_set("mindgit.fitness", "rastrigin")
    tune = next(r for r in pull(alpha, "beta").refs if r.ref == "refs/heads/tune")
    assert tune.status == "merged"
