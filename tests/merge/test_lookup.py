"""Which run may pick a merge's fitness module: only one this node signed, judged by signature."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.run import start_run
from mindgit.identity.gitsig import add_gpgsig, split_gpgsig
from mindgit.identity.keys import NodeKey
from mindgit.identity.sshsig import sign
from mindgit.merge import MergeConflict, merge
from mindgit.merge.lookup import find_fitness, latest_run, node_key
from mindgit.store.fitness_store import UnknownFitness
from mindgit.store.generation import RUNS_PREFIX, RunParams
from mindgit.store.repository import Store, init_store
from mindgit.store.settings import BadConfigValue
from tests.conftest import git
from tests.merge.conftest import ONEMAX, x

PARAMS = RunParams(population=4, generations=2, seed=3, minimize=True)


@pytest.fixture
def beta(tmp_path: Path) -> Store:
    """A peer that ran onemax on its own `main`."""
    peer = init_store(tmp_path / "beta", "beta")
    add_fitness(peer, ONEMAX)
    peer.set_genes([x("x0", 2.0), x("x1", 2.0)])
    start_run(peer, "onemax", RunParams(population=4, generations=2, seed=9))
    return peer


def pull_runs(store: Store, peer: Store) -> list[str]:
    """The peer's runs, fetched into ``store`` as `mindgit pull` would keep them."""
    git("--git-dir", str(store.path), "fetch", "-q", str(peer.path), "+refs/runs/*:refs/runs/*")
    return [r.removeprefix(RUNS_PREFIX) for r in store.repo.references if r.startswith(RUNS_PREFIX)]


def rewrite(repo: pygit2.Repository, commit: str, key: NodeKey | None, parent: str | None) -> str:
    """``commit`` with its signature replaced by ``key``'s (None: unsigned), its author line and
    message kept; its first parent replaced by ``parent`` if given."""
    payload, _ = split_gpgsig(repo.read(commit)[1])
    if parent is not None:
        old = repo[commit].peel(pygit2.Commit)
        payload = payload.replace(
            f"parent {old.parent_ids[0]}\n".encode(), f"parent {parent}\n".encode(), 1
        )
    data = payload if key is None else add_gpgsig(payload, sign(key, payload))
    return str(repo.odb.write(pygit2.enums.ObjectType.COMMIT, data))


def generations(repo: pygit2.Repository, tip: str, start: str) -> list[str]:
    """A run's generation commits, oldest first."""
    out = []
    commit_id = tip
    while commit_id != start:
        out.append(commit_id)
        commit = repo[commit_id].peel(pygit2.Commit)
        commit_id = str(commit.parent_ids[0])
    return out[::-1]


def test_a_peers_run_never_picks_the_module(rastrigin: Store, beta: Store) -> None:
    store = rastrigin
    store.set_genes([x("x0", 2.0), x("x1", 2.0)])
    (peer_run,) = pull_runs(store, beta)
    tip = latest_run(store.repo, "main", beta.public_key)
    assert tip is not None and tip.run_id == peer_run  # the peer's own key would accept it
    assert latest_run(store.repo, "main", store.public_key) is None
    assert find_fitness(store.repo, experiment="main", own_key=store.public_key) is None
    assert find_fitness(store.repo, experiment="main") is None  # no key: no run decides

    own = start_run(store, "rastrigin", PARAMS)
    found = find_fitness(store.repo, experiment="main", own_key=store.public_key)
    assert found is not None and found.source == f"run {own.run_id}" and found.minimize
    # A peer's run made and pulled after ours still does not choose.
    start_run(beta, "onemax", RunParams(population=4, generations=2, seed=10))
    assert len(pull_runs(store, beta)) == 3
    again = find_fitness(store.repo, experiment="main", own_key=store.public_key)
    assert again is not None and again.source == f"run {own.run_id}"


def test_a_merge_with_only_a_peers_run_stops_and_says_how_to_choose(
    rastrigin: Store, beta: Store
) -> None:
    store = rastrigin
    store.set_genes([x("x0", 3.0)])
    pull_runs(store, beta)
    store.fork("dreamer", switch=False)
    store.set_genes([x("x0", 0.0)], experiment="dreamer")
    store.set_genes([x("x0", 1.0)])
    head = store.head()
    with pytest.raises(MergeConflict) as e:
        merge(store, "dreamer")
    assert "--fitness" in str(e.value.hint) and "config set fitness" in str(e.value.hint)
    assert store.head() == head
    out = merge(store, "dreamer", dry_run=True, fitness="rastrigin")
    assert out.fitness_source == "--fitness"


def own_run(store: Store) -> tuple[str, str, list[str]]:
    store.set_genes([x("x0", 2.0), x("x1", 2.0)])
    run = start_run(store, "rastrigin", PARAMS)
    tip = latest_run(store.repo, "main", store.public_key)
    assert tip is not None and tip.run_id == run.run_id
    return (
        run.run_id,
        tip.info.start_commit,
        generations(store.repo, tip.commit, tip.info.start_commit),
    )


def point(store: Store, run_id: str, commit: str) -> None:
    git("--git-dir", str(store.path), "update-ref", RUNS_PREFIX + run_id, commit)


def test_the_signature_decides_not_the_author_line(rastrigin: Store) -> None:
    store = rastrigin
    run_id, _, gens = own_run(store)
    stranger = NodeKey.generate()
    # Same author line ("alpha <did of alpha>"), same tree, signed by another key: not ours.
    forged = rewrite(store.repo, gens[-1], stranger, None)
    point(store, run_id, forged)
    assert latest_run(store.repo, "main", store.public_key) is None
    assert latest_run(store.repo, "main", stranger.public) is None  # its first generation is ours
    unsigned = rewrite(store.repo, gens[-1], None, None)
    point(store, run_id, unsigned)
    assert latest_run(store.repo, "main", store.public_key) is None
    # A signature that does not match the bytes: ours, from another commit.
    _, armored = split_gpgsig(store.repo.read(gens[0])[1])
    tampered, _ = split_gpgsig(store.repo.read(gens[-1])[1])
    assert armored is not None
    bad = str(store.repo.odb.write(pygit2.enums.ObjectType.COMMIT, add_gpgsig(tampered, armored)))
    point(store, run_id, bad)
    assert latest_run(store.repo, "main", store.public_key) is None
    point(store, run_id, gens[-1])
    assert latest_run(store.repo, "main", store.public_key) is not None


def test_every_generation_must_be_ours_not_only_the_tip(rastrigin: Store) -> None:
    store = rastrigin
    run_id, _, gens = own_run(store)
    assert len(gens) == 2
    stranger = NodeKey.generate()
    first = rewrite(store.repo, gens[0], stranger, None)
    tip = rewrite(store.repo, gens[1], store.key, first)
    point(store, run_id, tip)
    assert latest_run(store.repo, "main", store.public_key) is None


def test_a_clone_names_its_node_in_config(rastrigin: Store, tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "clone"))
    assert node_key(repo) is None
    repo.config["mindgit.node"] = rastrigin.public_key.did
    assert node_key(repo) == rastrigin.public_key
    repo.config["mindgit.node"] = rastrigin.public_key.openssh
    assert node_key(repo) == rastrigin.public_key
    repo.config["mindgit.node"] = "did:key:zNotAKey"
    with pytest.raises(BadConfigValue):
        node_key(repo)
    # A private key set there by mistake is not echoed into the error.
    secret = "-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAA"
    repo.config["mindgit.node"] = secret
    with pytest.raises(BadConfigValue) as raised:
        node_key(repo)
    assert "b3Blbn" not in str(raised.value) and "not shown" in str(raised.value)


@pytest.mark.parametrize("spec", ["", " "])
def test_an_empty_module_is_unknown_to_the_library_too(store: Store, spec: str) -> None:
    # Path("") is the working directory: "cannot read fitness module .: not a file".
    store.set_genes([x("x0", 0.0)])
    store.fork("dreamer", switch=False)
    store.set_genes([x("x0", 1.0)])
    store.set_genes([x("x0", 2.0)], experiment="dreamer")
    head = store.head("main")
    with pytest.raises(UnknownFitness, match="no fitness module named"):
        merge(store, "dreamer", fitness=spec)
    assert store.head("main") == head
