"""A name no experiment can have is refused by what is wrong with it.

Every fault was "invalid ref name 'refs/heads/a b'" (or "invalid experiment name"), naming
none: a user typing `fork 'a b'` or `fork a.lock` had to know git's rules to see why.
"""

from __future__ import annotations

import pytest

from mindgit.store.refs import RefError
from mindgit.store.repository import NotAnExperimentName, Store, check_experiment_name
from tests.conftest import Mg
from tests.snapshots import changed, snapshot

FAULTS = {
    "a b": "' ' is not allowed",
    "a~b": "'~' is not allowed",
    "a..b": "'..' is not allowed",
    "a@{b": "'{' is not allowed",
    "a/": "empty part",
    "a//b": "empty part",
    ".a": "a part starts with '.'",
    "lab/#b": "a part starts with '#'",
    "é": "a part starts with 'é'",
    "a.lock": "may not end in '.lock'",
    "a.": "may not end in '.'",
    "HEAD": "git's name for the current branch",
    "-x": "starts with '-'",
    # fork refs/heads/main made refs/heads/refs/heads/main, which git calls ambiguous.
    "refs/heads/main": "starts with 'refs/'",
    "0123456789abcdef0123456789ABCDEF01234567": "40 hex digits as a commit id",
    "": "it is empty",
}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_the_library_names_the_fault(name: str) -> None:
    with pytest.raises(NotAnExperimentName) as raised:
        check_experiment_name(name)
    assert isinstance(raised.value, RefError)
    assert str(raised.value).startswith(f"{name!r} is not an experiment name: ")
    assert FAULTS[name] in raised.value.reason


@pytest.mark.parametrize("name", ["a b", "a.lock", ".a", "refs/heads/main"])
def test_fork_says_it_and_changes_nothing(store: Store, mg: Mg, name: str) -> None:
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "fork", name)
    assert r.code == 2 and r.out == ""
    assert r.err.startswith(f"mindgit: error: {name!r} is not an experiment name: ")
    assert FAULTS[name] in r.err
    assert len(r.err.splitlines()) == 1
    assert not changed(before, store.path)


@pytest.mark.parametrize(
    "name",
    ["main", "lab/x-1", "a.b", "a+b=c@d", "_x", "9", "refsx", "lab/refs/x", "g" * 40, "0" * 39],
)
def test_good_names_pass(name: str) -> None:
    assert check_experiment_name(name) == name
