"""The gate checks each new commit's signature once: its scan checks it before reading the
commit's tree, and the content checks take the signer it found rather than verifying again
(~0.15 ms an ed25519 verification; a pull of a 50-generation run has ~54 commits)."""

from __future__ import annotations

from pathlib import Path

import pytest

import mindgit.store.verify as verify_module
from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.run import start_run
from mindgit.identity import sshsig
from mindgit.identity.keys import PublicKey
from mindgit.store.generation import RunParams
from mindgit.store.genome import Gene
from mindgit.store.repository import Store, init_store
from mindgit.sync.gate import check_commits
from mindgit.sync.refspace import SYNCED_PREFIXES

RASTRIGIN = Path(__file__).resolve().parents[2] / "fixtures" / "fitness" / "rastrigin.wat"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = init_store(tmp_path_factory.mktemp("once") / "source", "source")
    store.fork("work")
    store.set_genes([Gene.make(f"x{i}", "float", 0.5, min=-5.12, max=5.12) for i in range(3)])
    add_fitness(store, RASTRIGIN)
    start_run(store, "rastrigin", RunParams(population=4, generations=6, seed=3))
    return store


def tips(store: Store) -> list[str]:
    refs = store.repo.references
    return [str(refs[r].resolve().target) for r in refs if r.startswith(SYNCED_PREFIXES)]


@pytest.mark.parametrize("workers", [1, 2])
def test_each_new_commit_is_verified_once(
    source: Store, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[bytes] = []
    real = sshsig.verify

    def counted(armored: bytes, payload: bytes) -> PublicKey:
        verified.append(payload)
        return real(armored, payload)

    monkeypatch.setattr(verify_module, "verify", counted)
    commits = list(verify_module.walk(source.repo, tips(source)))
    assert check_commits(source.repo, source.trust, tips(source), workers=workers) == []
    if workers == 1:
        # With two processes, the worker's half is counted in the worker.
        assert len(verified) == len(commits)
        assert len(set(verified)) == len(commits)
    else:
        assert len(set(verified)) == len(verified) <= len(commits)
