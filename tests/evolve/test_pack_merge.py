"""A long run keeps the store's pack count down: after every RUN_PACK_LIMIT packs it writes,
git merges the small ones in the background, and the run waits for the last merge before it
ends. The generations are the ones a run without merging writes, and git finds the store sound."""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.evolve import writer
from mindgit.evolve.run import start_run
from mindgit.store.generation import RunParams
from mindgit.store.repository import Store
from mindgit.store.verify import verify_commits
from tests.conftest import fsck
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.evolve.test_run import fingerprint

PARAMS = RunParams(population=8, generations=60, seed=11)


def packs(store: Store) -> int:
    return len(list((store.path / "objects" / "pack").glob("pack-*.pack")))


@pytest.mark.parametrize("fork", ["1", "0"])
def test_a_run_merges_its_packs_as_it_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fork: str
) -> None:
    monkeypatch.setenv("MINDGIT_EVOLVE_FORK", fork)
    # One pack per generation: inline, or forked with breeding waiting for each generation's
    # write (so that there is never more than one for the writer to gather).
    monkeypatch.setattr("mindgit.evolve.persist.MAX_BACKLOG", 0)
    monkeypatch.setattr("mindgit.evolve.persist.WRITE_WAIT", 0.0)
    plain = new_store(tmp_path / "plain", float_genes(4))
    monkeypatch.setattr(writer, "RUN_PACK_LIMIT", 10**6)
    unmerged = start_run(plain, str(RASTRIGIN), PARAMS)
    many = packs(plain)
    monkeypatch.setattr(writer, "RUN_PACK_LIMIT", 4)
    merged_store = new_store(tmp_path / "merged", float_genes(4))
    merged = start_run(merged_store, str(RASTRIGIN), PARAMS)
    assert many >= PARAMS.generations
    # Merged: at most the limit since the last merge, plus what merges keep (each at least
    # twice the size of the next), plus the packs that held the store before the run.
    assert packs(merged_store) <= 12 < many
    assert fingerprint(merged_store, merged.run_id) == fingerprint(plain, unmerged.run_id)
    # The last merge was waited for: nothing of git's is left half-written.
    assert not list((merged_store.path / "objects" / "pack").glob("tmp*"))
    fsck(merged_store.path)
    report = verify_commits(
        merged_store.repo, merged_store.trust, [merged.tip, merged_store.head()]
    )
    assert report.ok, report.problems
