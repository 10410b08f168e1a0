"""The config keys merge's fitness lookup reads, read as `mindgit config` sets them: a key written
with no value is git's true for `minimize` and an error for `fitness` and `node` (it was the
text "None"); `minimize` takes true or false only, as `config set` does."""

from __future__ import annotations

import pytest

from mindgit.merge.lookup import find_fitness, node_key
from mindgit.store.config import BadConfigValue
from mindgit.store.repository import Store
from tests.conftest import Mg, git


def bare(store: Store, key: str) -> None:
    """``[mindgit] key`` with no ``= value``, as a hand edit leaves it (git reads it as true)."""
    with open(store.path / "config", "a", encoding="utf-8") as f:
        f.write(f"[mindgit]\n\t{key}\n")
    out = git("--git-dir", str(store.path), "config", "--type=bool", f"mindgit.{key}")
    assert out.strip() == "true"


def test_a_bare_fitness_key_is_refused_not_read_as_none(rastrigin: Store, mg: Mg) -> None:
    bare(rastrigin, "fitness")
    with pytest.raises(BadConfigValue, match=r"config mindgit\.fitness has no value"):
        find_fitness(rastrigin.repo, experiment="main")
    # evolve's default module is the same setting.
    r = mg("--store", str(rastrigin.path), "evolve", "--generations", "2")
    assert r.code == 1, r.err
    assert r.err.startswith("mindgit: error: config mindgit.fitness has no value"), r.err


@pytest.mark.parametrize(("written", "minimize"), [(None, True), ("true", True), ("false", False)])
def test_minimize_reads_as_git_reads_a_boolean(
    rastrigin: Store, written: str | None, minimize: bool
) -> None:
    rastrigin.repo.config["mindgit.fitness"] = "rastrigin"
    if written is None:
        bare(rastrigin, "minimize")
    else:
        rastrigin.repo.config["mindgit.minimize"] = written
    found = find_fitness(rastrigin.repo, experiment="main")
    assert found is not None and found.minimize is minimize


@pytest.mark.parametrize("written", ["yes", "1", "on", "maybe"])
def test_minimize_takes_what_config_set_takes(rastrigin: Store, written: str) -> None:
    rastrigin.repo.config["mindgit.fitness"] = "rastrigin"
    rastrigin.repo.config["mindgit.minimize"] = written
    with pytest.raises(BadConfigValue, match="must be true or false"):
        find_fitness(rastrigin.repo, experiment="main")


def test_a_bare_node_key_is_refused(rastrigin: Store) -> None:
    bare(rastrigin, "node")
    with pytest.raises(BadConfigValue, match=r"config mindgit\.node has no value"):
        node_key(rastrigin.repo)
