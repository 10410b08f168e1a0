"""A run whose generations name, in their Mindgit-Experiment trailer, an experiment no experiment
can be named (a run made by hand, or by a broken or hostile peer): `evolve --resume RUN` was an
internal error for a name over git's length ("ValueError: refs/heads/xxx..."), and for others
refused "'<name>-<run>' is not an experiment name", a name the user never typed, at every resume.
It is refused as what it is now, with nothing changed. Found by review E.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pygit2
import pytest

from mindgit.evolve.run import start_run
from mindgit.evolve.writer import signed_commit
from mindgit.store.generation import RunParams
from mindgit.store.repository import Store
from mindgit.store.verify import trailers
from tests.conftest import Mg
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store, stop_after
from tests.evolve.test_bad_input_audit import refused


def run_naming(store: Store, experiment: str) -> str:
    """A stopped run whose last generation commit names ``experiment``, signed by the node."""
    run = start_run(
        store,
        str(RASTRIGIN),
        RunParams(population=8, generations=6, seed=1),
        should_stop=stop_after(2),
    ).run_id
    tip = store.repo.revparse_single(f"refs/runs/{run}").peel(pygit2.Commit)
    fields = trailers(tip.message)
    fields["Mindgit-Experiment"] = experiment
    subject = tip.message.split("\n")[0]
    data = signed_commit(store, str(tip.tree_id), [str(tip.parent_ids[0])], subject, fields)
    oid = store.repo.odb.write(pygit2.enums.ObjectType.COMMIT, data)
    subprocess.run(
        ["git", "--git-dir", str(store.path), "update-ref", f"refs/runs/{run}", str(oid)],
        check=True,
    )
    return run


@pytest.mark.parametrize("name", ["a..b", "x" * 2000, "HEAD", "x y"])
def test_a_run_naming_no_valid_experiment_is_refused_by_name(
    tmp_path: Path, mg: Mg, name: str
) -> None:
    store = new_store(tmp_path / "s", float_genes(3))
    run = run_naming(store, name)
    refused(
        mg,
        store.path,
        "evolve",
        "--resume",
        run,
        "-q",
        code=1,
        words="which no experiment can be named",
    )
