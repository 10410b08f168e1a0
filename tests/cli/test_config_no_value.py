"""A config key written with no ``= value`` (a bare ``fuel`` line under ``[mindgit]``) is git's
true: a boolean setting reads it so; any other setting refuses it, one line naming the key
(exit 1), where it used to read the string "true"."""

from __future__ import annotations

import json
from pathlib import Path

import pygit2
import pytest

from mindgit.store.config import NoValue
from mindgit.store.repository import Store
from mindgit.store.settings import (
    SETTINGS,
    BadConfigValue,
    config_reader,
    read_setting,
    read_size,
)
from mindgit.sync.hooks import read_policy
from tests.conftest import Mg, git

BOOLEANS = ["minimize", "allowRewind", "allowDelete"]
OTHERS = [name for name in SETTINGS if name not in BOOLEANS]


def bare_keys(config: Path, *names: str) -> None:
    """Append a ``[mindgit]`` section of bare keys: git's own command cannot write one."""
    with config.open("a") as f:
        f.write("[mindgit]\n" + "".join(f"\t{name}\n" for name in names))


def test_the_settings_are_split_between_booleans_and_the_rest() -> None:
    # A new boolean setting belongs in BOOLEANS, or the tests below check it the wrong way.
    booleans = {n for n, (check, _) in SETTINGS.items() if check("true") is check("false") is None}
    assert {n for n in booleans if SETTINGS[n][0]("maybe") is not None} == set(BOOLEANS)


def test_a_bare_key_is_distinct_from_unset_and_from_an_empty_value(tmp_path: Path) -> None:
    # Written by git (a section of its own, an empty value) and by hand (the bare key).
    path = tmp_path / "config"
    git("config", "-f", str(path), "mindgit.fitness", "")
    git("config", "-f", str(path), "mindgit.name", "alpha")
    bare_keys(path, "fuel")
    # git itself: a bare key is true as a boolean, and nothing as a string.
    assert git("config", "-f", str(path), "--type=bool", "--get", "mindgit.fuel") == "true\n"
    assert git("config", "-f", str(path), "--get", "mindgit.fuel") == "\n"
    get = config_reader(pygit2.Config(str(path)))
    assert get("mindgit.fuel") == "" and isinstance(get("mindgit.fuel"), NoValue)
    assert get("mindgit.fuel") != "true"  # was "true", which every setting then read
    assert get("mindgit.fitness") == "" and not isinstance(get("mindgit.fitness"), NoValue)
    assert get("mindgit.name") == "alpha" and get("mindgit.memory") is None
    with pytest.raises(BadConfigValue, match=r"^config mindgit\.fuel has no value; it must be"):
        read_setting(get, "fuel")
    # An empty value is a value, refused as one.
    with pytest.raises(BadConfigValue, match=r"^config mindgit\.fitness = '' must be one"):
        read_setting(get, "fitness")


@pytest.mark.parametrize("name", OTHERS)
def test_a_bare_key_is_refused_by_every_setting_that_is_not_a_boolean(
    store: Store, name: str
) -> None:
    bare_keys(store.path / "config", name)
    with pytest.raises(BadConfigValue) as raised:
        read_setting(store.config_get, name)
    assert str(raised.value).startswith(f"config mindgit.{name} has no value; it ")
    assert raised.value.exit_code == 1 and "\n" not in str(raised.value)


@pytest.mark.parametrize("name", ["fuel", "memory", "maxfetch", "maxObjectBytes"])
def test_a_size_setting_with_a_bare_key_is_refused_not_read(store: Store, name: str) -> None:
    bare_keys(store.path / "config", name)
    with pytest.raises(BadConfigValue, match=f"mindgit.{name} has no value"):
        read_size(store.config_get, name)


@pytest.mark.parametrize("name", BOOLEANS)
def test_a_bare_key_is_true_for_a_boolean_setting_as_git_reads_it(store: Store, name: str) -> None:
    bare_keys(store.path / "config", name)
    assert git("--git-dir", str(store.path), "config", "--type=bool", f"mindgit.{name}") == "true\n"
    assert read_setting(store.config_get, name) == "true"


def test_the_server_policy_reads_a_bare_boolean_as_true_and_refuses_a_bare_size(
    store: Store,
) -> None:
    bare_keys(store.path / "config", "allowRewind")
    policy = read_policy(pygit2.Repository(str(store.path)))
    assert policy.allow_rewind and not policy.allow_delete
    bare_keys(store.path / "config", "maxObjectBytes")
    with pytest.raises(BadConfigValue, match=r"mindgit\.maxObjectBytes has no value"):
        read_policy(pygit2.Repository(str(store.path)))


def test_config_get_of_a_bare_key(store: Store, mg: Mg) -> None:
    s = str(store.path)
    bare_keys(store.path / "config", "fitness", "minimize")
    # It printed "true" for the module name, and exited 0.
    r = mg("--store", s, "config", "get", "fitness")
    assert r.code == 1 and r.out == ""
    assert r.err.count("\n") == 1
    assert r.err.startswith("mindgit: error: config mindgit.fitness has no value; it must be")
    r = mg("--store", s, "config", "get", "fitness", "--json")
    assert r.code == 1 and json.loads(r.out)["type"] == "BadConfigValue"
    r = mg("--store", s, "config", "get", "minimize", "--json")
    assert r.code == 0 and json.loads(r.out) == {"key": "mindgit.minimize", "value": "true"}


@pytest.mark.parametrize(
    ("key", "needs"), [("name", "this node's name"), ("keyfile", "the path of this node's key")]
)
def test_a_bare_identity_key_is_refused_not_read_as_none(
    store: Store, mg: Mg, key: str, needs: str
) -> None:
    # libgit2 gives None for it: str() of that named the node "None" in every commit, or looked
    # for the key in ./None (and took the store's own key file for an unfinished rotation's).
    head = store.head()
    bare_keys(store.path / "config", key)
    r = mg("--store", str(store.path), "think", "hello")
    assert r.code == 1, r
    assert f"config mindgit.{key} has no value; it needs {needs}" in r.err
    assert "None" not in r.err and "rotation" not in r.err
    assert pygit2.Repository(str(store.path)).head.target == pygit2.Oid(hex=head)


def test_a_bad_value_s_hint_names_the_store_not_the_current_directory() -> None:
    """`git config KEY VALUE` acts on the repository git finds from the current directory: the
    store only when the shell is in it (`--store` or MINDGIT_STORE elsewhere)."""
    from mindgit.store.config import BadConfigValue

    hint = BadConfigValue("mindgit.memory", "5G", "is too large").hint or ""
    assert "`git --git-dir <store> config mindgit.memory VALUE`" in hint
    assert "`git --git-dir <store> config --unset mindgit.memory`" in hint
    assert "`git config " not in hint
