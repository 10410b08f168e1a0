"""A wrong command line points at the --help of the command typed, also for the errors click's
parser raises without naming the command: an option with no value, a flag given one."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Mg

CASES = {
    "log -n": ("mindgit log", "Option '-n' requires an argument."),
    "init a --name": ("mindgit init", "Option '--name' requires an argument."),
    "--store": ("mindgit", "Option '--store' requires an argument."),
    "--debug think hi --tag": ("mindgit think", "Option '--tag' requires an argument."),
    "--store x keys rotate --json=1": (
        "mindgit keys rotate",
        "Option '--json' does not take a value.",
    ),
    "--store=x genome set --min": ("mindgit genome set", "Option '--min' requires an argument."),
}


@pytest.mark.parametrize("line", sorted(CASES))
def test_the_hint_names_the_command_typed(mg: Mg, line: str) -> None:
    command, message = CASES[line]
    r = mg(*line.split())
    assert (r.code, r.out) == (2, "")
    assert r.err == f"mindgit: error: {message} (hint: `{command} --help`)\n"


def test_with_json_the_document_has_the_hint(mg: Mg) -> None:
    r = mg("verify", "--json", "--since")
    assert r.code == 2
    assert json.loads(r.out)["hint"] == "`mindgit verify --help`"


OWN = {
    "log --store s1": ("--store", "log", "`mindgit --store PATH log ...`"),
    "log --store=s1 --json": ("--store", "log", "`mindgit --store PATH log ...`"),
    "keys rotate --debug": ("--debug", "keys rotate", "`mindgit --debug keys rotate ...`"),
    "show --version": ("--version", "show", "`mindgit --version`"),
}


@pytest.mark.parametrize("line", sorted(OWN))
def test_mindgits_own_option_after_the_command_says_where_it_goes(mg: Mg, line: str) -> None:
    # It said "No such option '--store'. Did you mean '--json'?".
    option, command, hint = OWN[line]
    r = mg(*line.split())
    message = (
        f"{option} is an option of mindgit itself, not of {command}: give it before the command"
    )
    assert r.code == 2
    assert r.err == f"mindgit: error: {message} (hint: {hint})\n"
    if "--json" in line:
        assert json.loads(r.out) == {"error": message, "hint": hint, "type": "NoSuchOption"}
    else:
        assert r.out == ""


def test_an_unknown_option_still_points_at_the_commands_help(mg: Mg) -> None:
    r = mg("log", "--bogus")
    assert r.err == "mindgit: error: No such option '--bogus'. (hint: `mindgit log --help`)\n"
