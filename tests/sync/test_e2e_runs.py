"""Two nodes that breed the same run id: what push, pull and sync tell the user.

A run id hashes the start state, the module, the limits and the parameters, not the start
commit. Two nodes holding the same state at commits of their own (each set the same genes)
that evolve with the same parameters (the default seed is enough) write two unrelated runs
under one ``refs/runs/<id>``. Real stores, a real ``git daemon``, the CLI as a user runs it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mindgit.store.genome import Gene
from mindgit.store.repository import Store
from tests.sync.conftest import Nodes
from tests.sync.daemons import GitDaemon

_RASTRIGIN = Path(__file__).resolve().parents[2] / "fixtures" / "fitness" / "rastrigin.wat"


def _cli(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mindgit", "--store", str(store.path), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _ok(store: Store, *args: str) -> str:
    done = _cli(store, *args)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def _run_refs(store: Store) -> dict[str, str]:
    out = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname) %(objectname)", "refs/runs/"],
        cwd=store.path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split(" ") for line in out.splitlines())


def _clean(store: Store) -> None:
    fsck = subprocess.run(
        ["git", "fsck", "--strict"], cwd=store.path, capture_output=True, text=True, check=False
    )
    assert fsck.returncode == 0, fsck.stderr
    _ok(store, "verify", "--all")


@pytest.fixture
def twins(nodes: Nodes, daemon: Callable[[Path], GitDaemon]) -> Nodes:
    """alpha and beta, each with the same genes on a commit of its own, each evolved alike."""
    for name in ("alpha", "beta"):
        store = nodes.make(name)
        genes = [Gene.make(f"x{i}", "float", 1.5, min=-5.12, max=5.12) for i in range(3)]
        store.set_genes(genes)
        _ok(store, "fitness", "add", str(_RASTRIGIN))
        _ok(store, "evolve", "--fitness", "rastrigin", "--generations", "2", "--population", "4")
    nodes.trust_all()
    served = daemon(nodes.base)
    nodes.link("alpha", "beta", served.url("beta"))
    nodes.link("beta", "alpha", served.url("alpha"))
    ours, theirs = _run_refs(nodes["alpha"]), _run_refs(nodes["beta"])
    assert ours.keys() == theirs.keys() and ours != theirs  # one run id, two histories
    return nodes


def test_a_diverged_run_is_not_sent_to_a_pull_to_merge(twins: Nodes) -> None:
    alpha, beta = twins["alpha"], twins["beta"]
    [run_ref] = _run_refs(alpha)
    before = _run_refs(beta)

    pulled = _cli(alpha, "pull", "beta")
    assert pulled.returncode == 0, pulled.stderr
    assert f"{run_ref} unrelated" in pulled.stderr

    pushed = _cli(alpha, "push", "beta")
    assert pushed.returncode == 1
    line = next(x for x in pushed.stderr.splitlines() if run_ref in x)
    assert "not pushed (diverged)" in line
    # The pull just kept ours of a run: "pull first to merge" sent the user round a loop.
    assert "pull first" not in line, line
    assert "merges experiments only" in line
    assert _run_refs(beta) == before
    for store in (alpha, beta):
        _clean(store)


@pytest.mark.xfail(
    strict=True,
    reason=(
        "the run id leaves out the start commit (mindgit/store/generation.py, RunInfo."
        "__post_init__, the `identity` dict): two nodes' runs from the same state at commits of "
        "their own share refs/runs/<id> with no common history, so every sync of the two is "
        "'unrelated' on pull and 'diverged' on push, exit 1, for ever"
    ),
)
def test_nodes_that_evolved_alike_sync_cleanly(twins: Nodes) -> None:
    alpha, beta = twins["alpha"], twins["beta"]
    for _ in range(2):
        for store in (alpha, beta):
            done = _cli(store, "sync")
            assert done.returncode == 0, done.stderr
    assert _run_refs(alpha) == _run_refs(beta)
