"""HEAD naming an experiment whose ref is gone (review C, pass 16).

Deleted with git (`git update-ref -d refs/heads/main`, which mindgit's own delete refuses for the
current experiment), every command that needs the current experiment said "unknown experiment
or revision 'main'", a name the user never typed, with the hint to list the experiments: an
empty list when it was the only one."""

from __future__ import annotations

import json

import pytest

from mindgit.store.repository import CurrentExperimentMissing, Store, UnknownRef
from tests.conftest import Mg, git
from tests.snapshots import changes, snapshot


@pytest.mark.parametrize("args", [("show",), ("log",), ("think", "x"), ("verify",), ("fork", "y")])
def test_the_current_experiment_deleted_with_git_is_named_so(
    store: Store, mg: Mg, args: tuple[str, ...]
) -> None:
    store.think("kept")
    tip = store.head()
    git("--git-dir", str(store.path), "update-ref", "-d", "refs/heads/main")
    before = snapshot(store.path)
    r = mg("--store", str(store.path), *args, "--json")
    assert r.code == 1, r.err
    assert r.err.startswith(
        "mindgit: error: the current experiment 'main' (the one HEAD names) does not exist"
    ), r.err
    fork = f"`mindgit --store {store.path} fork main --from <commit> --no-switch`"
    assert f"{fork} makes it again" in r.err
    assert json.loads(r.out)["type"] == "CurrentExperimentMissing"
    assert changes(before, snapshot(store.path)) == []
    assert mg("--store", str(store.path), "fork", "main", "--from", tip, "--no-switch").code == 0
    assert mg("--store", str(store.path), "show").code == 0


def test_with_other_experiments_the_hint_lists_them(store: Store) -> None:
    store.fork("dreamer", switch=False)
    git("--git-dir", str(store.path), "update-ref", "-d", "refs/heads/main")
    with pytest.raises(CurrentExperimentMissing) as caught:
        store.head()
    assert isinstance(caught.value, UnknownRef)  # callers that catch UnknownRef still do
    assert caught.value.hint is not None and "dreamer" in caught.value.hint


def test_experiments_says_the_current_one_is_gone(store: Store, mg: Mg) -> None:
    """It listed the others, none marked current, and said nothing (an empty list, exit 0,
    when it was the only one)."""
    store.fork("dreamer", switch=False)
    git("--git-dir", str(store.path), "update-ref", "-d", "refs/heads/main")
    r = mg("--store", str(store.path), "experiments")
    assert r.code == 0
    assert "dreamer" in r.out and "*" not in r.out
    assert (
        "mindgit: warning: the current experiment 'main' (the one HEAD names) does not exist"
        in r.err
    )
    r = mg("--store", str(store.path), "experiments", "--json")
    assert [row["name"] for row in json.loads(r.out)] == ["dreamer"]
