"""`config get` reads a setting as the commands that use it do: a value written by hand (with
`git config`) that evolve, merge or a pull would refuse is refused here too, one line, exit 1,
where it was printed as if it were fine."""

from __future__ import annotations

import json

import pytest

from mindgit.store.repository import Store
from tests.conftest import Mg, git


@pytest.mark.parametrize(
    ("key", "written"),
    [
        ("fuel", "lots"),
        ("memory", "0"),
        ("minimize", "yes"),
        ("allowRewind", "1"),
        ("synctimeout", "-5"),
        ("maxfetch", "big"),
    ],
)
def test_a_value_a_command_would_refuse_is_refused(
    store: Store, mg: Mg, key: str, written: str
) -> None:
    git("--git-dir", str(store.path), "config", f"mindgit.{key}", written)
    r = mg("--store", str(store.path), "config", "get", key)
    assert r.code == 1, r.err
    assert r.out == ""
    assert r.err.startswith(f"mindgit: error: config mindgit.{key} = {written!r} "), r.err
    assert r.err.count("\n") == 1, r.err
    r = mg("--store", str(store.path), "config", "get", key, "--json")
    assert r.code == 1 and json.loads(r.out)["type"] == "BadConfigValue", r.out


@pytest.mark.parametrize(
    ("key", "written"), [("fuel", "1000"), ("memory", "64M"), ("minimize", "false")]
)
def test_a_good_value_is_printed_as_written(store: Store, mg: Mg, key: str, written: str) -> None:
    git("--git-dir", str(store.path), "config", f"mindgit.{key}", written)
    r = mg("--store", str(store.path), "config", "get", key)
    assert (r.code, r.out) == (0, written + "\n"), r.err


def test_config_help_shows_what_set_does(mg: Mg) -> None:
    # click cut the short help at the first period: "Set a setting, e.g."
    r = mg("config", "--help")
    assert r.code == 0
    line = next(x for x in r.out.splitlines() if x.strip().startswith("set "))
    assert "e.g." not in line and "checked" in line, line
