"""The result of a run on an experiment whose whole name is long (parts of up to 100 characters,
as many as a ref name of 1,023 holds), when the experiment moved during the run.

`<experiment>-<run>` was cut to keep its last part within 100 characters, not the whole name
within git's 1,023: past that, libgit2 refuses to even look the name up (ValueError), so every
`evolve --resume` ended in an internal error and the run never finished. The last part is cut
shorter now, and when the path above it leaves no room, the result goes to the top level.
Found by review E.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.evolve.run import (
    NothingToResume,
    find_resumable,
    result_experiment,
    resume_run,
    start_run,
)
from mindgit.store.generation import RunParams
from mindgit.store.refs import REF_NAME_MAX, check_ref_name
from tests.conftest import fsck
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store, stop_after

RUN = "0123456789ab"
NINE = "/".join(["p" * 100] * 9)  # 908 characters
# Names near the longest refs/heads/ takes (1,012 characters): a last part cut for the whole
# name's length, one cut for its own, and a path that leaves the last part no room.
NAMES = [
    NINE + "/" + "t" * 50 + "/" + "a" * 50,
    NINE + "/" + "q" * 97,
    NINE + "/" + "r" * 97 + "/s",
]


@pytest.mark.parametrize("name", NAMES, ids=["cut-for-the-whole", "cut-for-the-part", "no-room"])
def test_every_side_name_is_a_valid_ref(name: str) -> None:
    assert len("refs/heads/" + name) <= REF_NAME_MAX
    check_ref_name("refs/heads/" + name)
    side = result_experiment(name, RUN)
    for n in ("", "-2", "-100"):
        assert len(check_ref_name(f"refs/heads/{side}{n}")) <= REF_NAME_MAX
    assert side.endswith(f"-{RUN}")
    head = name.rpartition("/")[0]
    assert side.startswith(head + "/") or "/" not in side


@pytest.mark.parametrize("name", NAMES, ids=["cut-for-the-whole", "cut-for-the-part", "no-room"])
def test_a_run_on_a_long_named_experiment_that_moved_finishes(tmp_path: Path, name: str) -> None:
    store = new_store(tmp_path / "s", float_genes(3))
    store.fork(name, switch=True)
    params = RunParams(population=16, generations=8, seed=1)
    first = start_run(store, str(RASTRIGIN), params, should_stop=stop_after(1))
    store.think("written while the run was paused", experiment=name)
    r = resume_run(store)
    assert r.complete and r.result_commit is not None
    assert r.result_experiment == result_experiment(name, first.run_id)
    assert store.head(r.result_experiment) == r.result_commit
    with pytest.raises(NothingToResume):
        find_resumable(store, name)
    fsck(store.path)
