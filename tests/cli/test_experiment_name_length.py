"""An experiment name typed on the command line with a part over 100 characters: refused by its
length (exit 2, nothing changed), by every option and argument that takes one.

A ref name's part may have at most 100 characters (store.refs); such a name was refused as
"invalid ref name 'refs/heads/...'", a name of valid characters, with no word of its length.
"""

from __future__ import annotations

import json

import pytest

from mindgit.errors import quoted
from mindgit.store.repository import Store
from tests.conftest import Mg
from tests.snapshots import changed, snapshot

LONG = "z" * 101

# Each command line with NAME where the name goes, and what its error calls the name.
COMMANDS = {
    "fork NAME": (("fork", "NAME"), ""),
    "switch NAME": (("switch", "NAME"), ""),
    "push PEER NAME": (("push", "origin", "NAME"), ""),
    "log -e NAME": (("log", "-e", "NAME"), "--experiment "),
    "log --experiment NAME": (("log", "--experiment", "NAME"), "--experiment "),
    "import --as NAME": (("import", "absent.car", "--as", "NAME"), "--as "),
    "import-af --as NAME": (("import-af", "absent.af", "--as", "NAME"), "--as "),
    "experiments --delete NAME": (("experiments", "--delete", "NAME"), "--delete "),
    "merge --into NAME": (("merge", "main", "--into", "NAME"), "--into "),
}


def run(mg: Mg, store: Store, command: str, name: str) -> tuple[int, str, str]:
    args, _ = COMMANDS[command]
    r = mg("--store", str(store.path), *(name if a == "NAME" else a for a in args))
    return r.code, r.out, r.err


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(
    ("name", "which", "hint"),
    [
        (LONG, "it is", "give a name of at most 100 characters"),
        ("lab/" + LONG, "its last part is", "give each part between '/'s at most 100 characters"),
        (LONG + "/a", "its part 1 of 2 (between '/') is", "give each part between '/'s at"),
        ("a/" + LONG + "/b", "its part 2 of 3 (between '/') is", "give each part between '/'s"),
    ],
    ids=["alone", "last part", "first part", "middle part"],
)
def test_a_name_part_over_100_characters_is_refused_by_its_length(
    store: Store, mg: Mg, command: str, name: str, which: str, hint: str
) -> None:
    before = snapshot(store.path)
    code, out, err = run(mg, store, command, name)
    # Quoted cut to 80 characters, with its length (errors.quoted), as every error quotes text.
    subject = f"{COMMANDS[command][1]}{quoted(name)}"
    assert (code, out) == (2, "")
    assert err.startswith(
        f"mindgit: error: {subject} is not an experiment name: {which} 101 characters long, "
        f"over the 100 mindgit allows (hint: {hint}"
    )
    assert err.count("\n") == 1 and "invalid ref name" not in err
    assert not changed(before, store.path)


def test_json_reports_it_alike(store: Store, mg: Mg) -> None:
    r = mg("--store", str(store.path), "fork", "--json", LONG)
    assert r.code == 2
    assert json.loads(r.out) == {
        "error": f"{quoted(LONG)} is not an experiment name: it is 101 characters long, over the 100 "
        "mindgit allows",
        "hint": "give a name of at most 100 characters",
        "type": "RefError",
    }


@pytest.mark.parametrize("name", ["z" * 100, "lab/" + "z" * 100, "z" * 100 + "/" + "y" * 100])
def test_a_name_of_parts_of_100_characters_is_an_experiment(
    store: Store, mg: Mg, name: str
) -> None:
    assert mg("--store", str(store.path), "fork", name).code == 0
    r = mg("--store", str(store.path), "log", "-e", name, "--json")
    assert r.code == 0, r.err


@pytest.mark.parametrize(
    "name", [LONG + ".", LONG + ".lock", "z" * 50 + ".." + "z" * 50, "z" * 100 + "é", "a b/" + LONG]
)
def test_a_long_name_that_is_wrong_otherwise_too_is_refused_as_before(
    store: Store, mg: Mg, name: str
) -> None:
    """Its length is not all that is wrong: shortened, it would still be refused."""
    r = mg("--store", str(store.path), "fork", name)
    assert r.code == 2 and r.out == ""
    assert r.err.startswith(f"mindgit: error: {quoted(name)} is not an experiment name: "), r.err
    assert "characters long" not in r.err and r.err.endswith(
        "(hint: an experiment name is a git branch name, e.g. dreamer)\n"
    )
