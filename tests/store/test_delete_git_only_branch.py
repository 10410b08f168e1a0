"""A branch git made under a name mindgit gives no experiment (`git branch 'we!rd'`) is listed
by `mindgit experiments` (with a warning), and was refused by `experiments --delete` as "not an
experiment name": only `git branch -D` could remove it. It is deleted by its name as it is now,
with the same checks; a name that is no branch here is still a usage error."""

from __future__ import annotations

import re
import subprocess

import pytest

from mindgit.store.deletion import NotMerged, delete_experiment
from mindgit.store.repository import Store
from tests.conftest import Mg, fsck, git


def branches(store: Store) -> list[str]:
    out = git("--git-dir", str(store.path), "for-each-ref", "--format=%(refname)", "refs/heads/")
    return out.split()


def test_a_branch_git_made_is_deleted_and_the_hint_brings_it_back(store: Store, mg: Mg) -> None:
    s = str(store.path)
    git("--git-dir", s, "branch", "we!rd", "main")
    r = mg("--store", s, "experiments", "--delete", "we!rd")
    assert r.code == 0, r.err
    assert branches(store) == ["refs/heads/main"]
    assert not (store.path / "logs" / "refs" / "heads" / "we!rd").exists()
    back = re.search(r"to bring it back: (git .*)$", r.err, re.M)
    assert back is not None, r.err
    subprocess.run(["bash", "-c", back.group(1)], check=True)
    assert branches(store) == ["refs/heads/main", "refs/heads/we!rd"]
    fsck(store.path)


def test_an_unmerged_one_needs_force_as_any_experiment_does(store: Store, mg: Mg) -> None:
    s = str(store.path)
    store.think("only on the odd branch")
    git("--git-dir", s, "branch", "odd!one", "main")
    git("--git-dir", s, "update-ref", "refs/heads/main", "main~1")
    with pytest.raises(NotMerged):
        delete_experiment(store, "odd!one")
    assert "refs/heads/odd!one" in branches(store)
    assert delete_experiment(store, "odd!one", force=True)
    assert "refs/heads/odd!one" not in branches(store)


@pytest.mark.parametrize("name", ["no!pe", "a b", "HEAD", "refs/heads/main"])
def test_a_name_no_branch_here_has_is_still_a_usage_error(store: Store, mg: Mg, name: str) -> None:
    before = branches(store)
    r = mg("--store", str(store.path), "experiments", "--delete", name)
    assert r.code == 2, r.err
    assert "is not an experiment name" in r.err
    assert branches(store) == before
