"""Two nodes that breed alike, and two that name different things alike: what push, pull and
sync tell the user.

Two nodes holding the same state at commits of their own (each set the same genes) that evolve
with the same parameters (the default seed is enough) wrote two unrelated runs under one
``refs/runs/<id>`` while the run id left the start commit out, and no sync of them ever
succeeded. A fitness module added under one name on two nodes is such a ref still. Real stores,
a real ``git daemon``, the CLI as a user runs it.
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
    return _refs(store, "refs/runs/")


def _refs(store: Store, prefix: str) -> dict[str, str]:
    out = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname) %(objectname)", prefix],
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
    assert len(ours) == len(theirs) == 1 and ours.keys() != theirs.keys()  # two runs, two ids
    return nodes


def test_a_diverged_module_is_not_sent_to_a_pull_to_merge(
    nodes: Nodes, daemon: Callable[[Path], GitDaemon]
) -> None:
    alpha, beta = nodes.make("alpha"), nodes.make("beta")
    _ok(alpha, "fitness", "add", str(_RASTRIGIN), "--name", "fit")
    _ok(beta, "fitness", "add", str(_RASTRIGIN.with_name("onemax.wat")), "--name", "fit")
    nodes.trust_all()
    served = daemon(nodes.base)
    nodes.link("alpha", "beta", served.url("beta"))
    ref = "refs/fitness/fit"
    before = _refs(beta, ref)

    pulled = _cli(alpha, "pull", "beta")
    assert pulled.returncode == 0, pulled.stderr
    assert f"{ref} unrelated" in pulled.stderr

    pushed = _cli(alpha, "push", "beta")
    assert pushed.returncode == 1
    line = next(x for x in pushed.stderr.splitlines() if ref in x)
    assert "not pushed (diverged)" in line
    # The pull just kept ours of a module: "pull first to merge" sent the user round a loop.
    assert "pull first" not in line, line
    assert "merges experiments only" in line
    assert _refs(beta, ref) == before
    for store in (alpha, beta):
        _clean(store)


def test_nodes_that_evolved_alike_sync_cleanly(twins: Nodes) -> None:
    alpha, beta = twins["alpha"], twins["beta"]
    for _ in range(2):
        for store in (alpha, beta):
            done = _cli(store, "sync")
            assert done.returncode == 0, done.stderr
    assert _run_refs(alpha) == _run_refs(beta) and len(_run_refs(alpha)) == 2
    for store in (alpha, beta):
        _clean(store)
