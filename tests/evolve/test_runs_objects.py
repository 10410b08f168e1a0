"""A run's readers given a tag of a real generation commit: refused like any non-commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.evolve.run import start_run
from mindgit.evolve.runs import generation_commits
from mindgit.store.generation import RunFormatError, RunParams, read_generation_commit
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.store.test_objects import tag


def test_a_tag_of_a_generation_commit_is_not_a_generation(tmp_path: Path) -> None:
    store = new_store(tmp_path / "a", float_genes(4))
    r = start_run(store, str(RASTRIGIN), RunParams(population=4, generations=3, seed=1))
    commits = list(generation_commits(store, r.tip))
    assert [read_generation_commit(store.repo, str(c.id)).record.generation for c in commits] == [
        2,
        1,
        0,
    ]
    tagged = tag(store.repo, "t", r.tip)
    assert list(generation_commits(store, tagged)) == []
    with pytest.raises(RunFormatError, match="is not a commit"):
        read_generation_commit(store.repo, tagged)
