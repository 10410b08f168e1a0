"""pull/sync --fitness: a module that exists nowhere is refused before anything is fetched (a
misspelt one exited 0 with every diverged experiment kept apart as "merge failed"); one the
peer offers still comes in with the pull and decides its merges; the help says what it takes
and what a pull's exit code means."""

from __future__ import annotations

import pytest

from mindgit.store.refs import read_ref
from tests.conftest import FIXTURES, Mg
from tests.snapshots import changed, snapshot
from tests.sync.conftest import Nodes, diverge

RASTRIGIN = FIXTURES / "fitness" / "rastrigin.wat"


@pytest.mark.parametrize("command", [("pull", "beta"), ("sync",), ("sync", "beta")])
def test_a_module_nowhere_is_refused_before_the_fetch(
    pair: Nodes, mg: Mg, command: tuple[str, ...]
) -> None:
    diverge(pair)
    alpha = pair["alpha"]
    before = snapshot(alpha.path)
    r = mg("--store", str(alpha.path), *command, "--fitness", "rastrigni")
    assert r.code == 1, r
    assert r.out == ""
    assert r.err == (
        "mindgit: error: no fitness module named 'rastrigni' in this store (hint: beta offers "
        f"none either; nothing was changed; `mindgit --store {alpha.path} fitness list` shows "
        "the stored ones)\n"
    )
    assert changed(before, alpha.path) == []


def test_a_missing_file_is_refused_before_the_fetch(pair: Nodes, mg: Mg) -> None:
    diverge(pair)
    alpha = pair["alpha"]
    before = snapshot(alpha.path)
    r = mg("--store", str(alpha.path), "pull", "beta", "--fitness", "./rastrigin.wat")
    assert r.code == 1 and r.err.count("\n") == 1 and "no such file" in r.err, r
    assert changed(before, alpha.path) == []


def test_a_module_the_peer_offers_comes_in_and_decides(pair: Nodes, mg: Mg) -> None:
    diverge(pair)
    alpha, beta = pair["alpha"], pair["beta"]
    assert mg("--store", str(beta.path), "fitness", "add", str(RASTRIGIN)).code == 0
    assert read_ref(alpha.repo, "refs/fitness/rastrigin") is None
    r = mg("--store", str(alpha.path), "pull", "beta", "--fitness", "rastrigin")
    assert r.code == 0, r
    assert "new\trefs/fitness/rastrigin" in r.out and "merged\trefs/heads/tune" in r.out, r.out


def test_a_stored_module_or_a_file_decides(pair: Nodes, mg: Mg) -> None:
    diverge(pair)
    alpha = pair["alpha"]
    r = mg("--store", str(alpha.path), "pull", "beta", "--fitness", str(RASTRIGIN))
    assert r.code == 0 and "merged\trefs/heads/tune" in r.out, r


@pytest.mark.parametrize("command", ["pull", "sync"])
def test_help_says_a_path_works(mg: Mg, command: str) -> None:
    r = mg(command, "--help")
    assert "--fitness NAME|CID|PATH" in r.out and "name or CID)" not in r.out


def test_pull_help_says_a_ref_kept_apart_exits_0(mg: Mg) -> None:
    text = " ".join(mg("pull", "--help").out.split())
    assert "`conflict` or `unrelated`" in text and "it exits 0" in text


def test_from_python_the_same_check(pair: Nodes) -> None:
    from mindgit.evolve.fitness import add_fitness
    from mindgit.store.fitness_store import UnknownFitness
    from mindgit.sync.fitness_check import check_fitness_reachable

    alpha, beta = pair["alpha"], pair["beta"]
    before = snapshot(alpha.path)
    with pytest.raises(UnknownFitness):
        check_fitness_reachable(alpha, "rastrigni", ["beta"], 30.0)
    check_fitness_reachable(alpha, None, ["beta"], 30.0)  # nothing given: nothing to check
    add_fitness(beta, RASTRIGIN)
    check_fitness_reachable(alpha, "rastrigin", ["beta"], 30.0)  # the peer offers it
    assert not changed(before, alpha.path)
