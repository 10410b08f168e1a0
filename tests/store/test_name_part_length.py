"""The library refuses a ref or experiment name whose only fault is a part over 100 characters
by its length, the limit and which part (NamePartTooLong, a RefError), as the CLI does.

It said only "invalid ref name 'refs/heads/...'" of a name of valid characters, to every Python
caller of Store.fork, Store.switch, check_experiment_name and check_ref_name.
"""

from __future__ import annotations

import re

import pytest

from mindgit.errors import quoted
from mindgit.store.refs import NAME_PART_MAX, NamePartTooLong, RefError, check_ref_name
from mindgit.store.repository import Store, check_experiment_name
from tests.snapshots import changed, snapshot

LONG = "z" * 101

CASES = [
    (LONG, "it is", "give a name of at most 100 characters"),
    ("lab/" + LONG, "its last part is", "give each part between '/'s at most 100 characters"),
    (LONG + "/a", "its part 1 of 2 (between '/') is", "give each part between '/'s at most"),
    ("a/" + LONG + "/b", "its part 2 of 3 (between '/') is", "give each part between '/'s at most"),
]
IDS = ["alone", "last part", "first part", "middle part"]


@pytest.mark.parametrize(("name", "which", "hint"), CASES, ids=IDS)
def test_check_experiment_name_says_the_length(name: str, which: str, hint: str) -> None:
    with pytest.raises(NamePartTooLong) as raised:
        check_experiment_name(name)
    e = raised.value
    assert isinstance(e, RefError)
    assert str(e) == (
        f"{quoted(name)} is not an experiment name: {which} 101 characters long, over the 100 "
        "mindgit allows"
    )
    assert e.reason == f"{which} 101 characters long, over the 100 mindgit allows"
    assert e.hint is not None and e.hint.startswith(hint)
    assert (e.name, e.length) == (name, 101)


@pytest.mark.parametrize(("name", "which", "hint"), CASES, ids=IDS)
def test_fork_and_switch_say_the_length_and_change_nothing(
    store: Store, name: str, which: str, hint: str
) -> None:
    before = snapshot(store.path)
    for call in (store.fork, store.switch):
        with pytest.raises(
            NamePartTooLong, match=re.escape(f"is not an experiment name: {which} 101 ")
        ):
            call(name)
    assert store.experiments() == ["main"] and store.current == "main"
    assert not changed(before, store.path)


def test_check_ref_name_says_the_length_of_a_ref_part() -> None:
    ref = "refs/peers/beta/heads/" + LONG
    with pytest.raises(NamePartTooLong) as raised:
        check_ref_name(ref)
    assert str(raised.value) == (
        f"{quoted(ref)} is not a valid ref name: its last part is 101 characters long, over the 100 "
        "mindgit allows"
    )
    assert raised.value.index == 4
    with pytest.raises(NamePartTooLong, match=re.escape("its part 3 of 5 (between")):
        check_ref_name("refs/peers/" + LONG + "/heads/main")


def test_parts_of_the_limit_are_names() -> None:
    assert NAME_PART_MAX == 100
    for name in ("z" * 100, "lab/" + "z" * 100, "z" * 100 + "/" + "y" * 100):
        assert check_experiment_name(name) == name


@pytest.mark.parametrize(
    "name", [LONG + ".", LONG + ".lock", "z" * 50 + ".." + "z" * 51, "z" * 100 + "é", "a b/" + LONG]
)
def test_a_long_name_wrong_otherwise_too_is_refused_for_that(store: Store, name: str) -> None:
    """Its length is not all that is wrong: shortened, it would still be refused."""
    for check in (check_experiment_name, store.fork):
        with pytest.raises(RefError) as raised:
            check(name)
        assert not isinstance(raised.value, NamePartTooLong)
        # Refused for its other fault, named (not for its length).
        assert str(raised.value).startswith(f"{quoted(name)} is not an experiment name: ")
        assert "characters long" not in str(raised.value)
