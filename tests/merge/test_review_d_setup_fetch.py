"""Review D: what git-setup's fetch brings, and what it leaves to `git fetch`.

git-setup fetches only mindgit's refspecs (fitness modules and runs), before it writes anything,
so that a fetch that fails leaves the clone as it was. It leaves the clone's remote-tracking
branches where they were: moving them is `git fetch`'s job, and after setup a plain `git fetch`
moves them as before and brings modules and runs with them (their refspecs are in the config).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.run import start_run
from mindgit.merge.gitdriver import REFSPECS, git_setup
from mindgit.store.generation import RunParams
from mindgit.store.repository import Store
from tests.conftest import git
from tests.merge.conftest import ONEMAX, RASTRIGIN, x


def refs(work: Path, prefix: str) -> dict[str, str]:
    out = git("-C", str(work), "for-each-ref", "--format=%(refname) %(objectname)", prefix)
    return dict(line.split() for line in out.splitlines())


def test_setup_fetches_modules_and_runs_and_git_fetch_still_moves_the_branches(
    store: Store, tmp_path: Path
) -> None:
    store.set_genes([x("x0", 1.0)])
    work = tmp_path / "work"
    git("clone", "-q", str(store.path), str(work))
    tracking = refs(work, "refs/remotes/")
    # The store moves on after the clone: a branch, a new experiment, a module and a run.
    add_fitness(store, RASTRIGIN)
    start_run(store, "rastrigin", RunParams(population=2, generations=1, seed=1))
    store.set_genes([x("x0", 2.0)])
    store.fork("dreamer", switch=False)

    git_setup(work, command=f"{shlex.quote(sys.executable)} -P -m mindgit")

    # Modules and runs came; the remote-tracking branches are where the clone left them.
    assert refs(work, "refs/fitness/") == refs(store.path, "refs/fitness/")
    assert refs(work, "refs/runs/") == refs(store.path, "refs/runs/") != {}
    assert refs(work, "refs/remotes/") == tracking
    fetch = git("-C", str(work), "config", "--get-all", "remote.origin.fetch").split()
    assert fetch == ["+refs/heads/*:refs/remotes/origin/*", *REFSPECS]

    add_fitness(store, ONEMAX)
    git("-C", str(work), "fetch", "-q")

    # A plain `git fetch` moves them as it always did, and brings the new module too.
    heads = refs(store.path, "refs/heads/")
    assert {
        k.replace("refs/remotes/origin/", "refs/heads/"): v
        for k, v in refs(work, "refs/remotes/origin/").items()
        if k != "refs/remotes/origin/HEAD"
    } == heads
    assert refs(work, "refs/fitness/") == refs(store.path, "refs/fitness/")
    assert len(refs(work, "refs/fitness/")) == 2
