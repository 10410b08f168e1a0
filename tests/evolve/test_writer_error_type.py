"""`evolve --json` reports a writer's error under its own type whether the generations are
written by a second process (the default) or in evolve's own (MINDGIT_EVOLVE_FORK=0): the
second process's errors came back as 'PersistFailed'."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.evolve.helpers import evolve_whose_run_ref_git_deletes, float_genes, new_store


@pytest.mark.parametrize("fork", ["1", "0"])
def test_a_run_ref_deleted_meanwhile_is_the_same_error_type_either_way(
    tmp_path: Path, fork: str
) -> None:
    store = new_store(tmp_path / "s", float_genes(8))
    stopped = evolve_whose_run_ref_git_deletes(store, "--json", env={"MINDGIT_EVOLVE_FORK": fork})
    assert stopped.code == 1, stopped.err
    failure = json.loads(stopped.out.decode() or stopped.err.decode())
    assert failure["type"] == "RunRefNotMoved", failure
    run = stopped.run
    assert f"run {run}: its ref refs/runs/{run} was deleted" in failure["error"]
