"""A bad value in a store's git config (written by hand) is refused with a hint that names the
store, shell-quoted, in the `git --git-dir STORE config ...` to run: it said `<store>` for the
user to fill in. A value read from another file (an include) names that file."""

from __future__ import annotations

import copy
import json
import pickle
import shlex
from pathlib import Path

import pygit2
import pytest

from mindgit.merge.lookup import node_key
from mindgit.store.config import BadConfigValue, ConfigValue, NoValue, config_reader
from mindgit.store.repository import Store, init_store
from mindgit.store.settings import read_setting
from mindgit.sync.hooks import read_policy
from tests.conftest import Mg, git


@pytest.fixture
def spaced(tmp_path: Path) -> Store:
    """A store whose path needs quoting in a shell."""
    return init_store(tmp_path / "my store", "alpha")


def names_store(hint: str, store: Path, key: str) -> bool:
    where = f"--git-dir {shlex.quote(str(store))}"
    return (
        f"`git {where} config {key} VALUE`" in hint
        and f"`git {where} config --unset {key}`" in hint
        and "<store>" not in hint
    )


def snapshot(store: Path) -> tuple[bytes, str]:
    return (store / "config").read_bytes(), git("--git-dir", str(store), "for-each-ref")


def test_a_setting_s_hint_names_the_store(spaced: Store) -> None:
    git("--git-dir", str(spaced.path), "config", "mindgit.fuel", "banana")
    before = snapshot(spaced.path)
    with pytest.raises(BadConfigValue, match=r"^config mindgit\.fuel = 'banana' ") as raised:
        read_setting(spaced.config_get, "fuel")
    assert names_store(raised.value.hint or "", spaced.path, "mindgit.fuel"), raised.value.hint
    assert raised.value.file == spaced.path / "config"
    assert snapshot(spaced.path) == before


def test_the_cli_s_hint_names_the_store(spaced: Store, mg: Mg) -> None:
    git("--git-dir", str(spaced.path), "config", "mindgit.fuel", "banana")
    before = snapshot(spaced.path)
    r = mg("--store", str(spaced.path), "config", "get", "fuel")
    assert r.code == 1 and r.out == "", r
    assert r.err.count("\n") == 1, r.err
    assert names_store(r.err, spaced.path, "mindgit.fuel"), r.err
    r = mg("--store", str(spaced.path), "config", "get", "fuel", "--json")
    assert r.code == 1, r
    assert names_store(json.loads(r.out)["hint"], spaced.path, "mindgit.fuel"), r.out
    assert snapshot(spaced.path) == before


def test_a_bad_node_name_s_hint_names_the_store(spaced: Store, mg: Mg) -> None:
    # Store.name raises the error itself, of the value its config lookup gave it.
    git("--git-dir", str(spaced.path), "config", "mindgit.name", "not a name")
    before = snapshot(spaced.path)
    r = mg("--store", str(spaced.path), "think", "hello")
    assert r.code == 1, r
    assert "config mindgit.name = 'not a name' is not a node name" in r.err, r.err
    assert names_store(r.err, spaced.path, "mindgit.name"), r.err
    assert snapshot(spaced.path) == before


def test_a_bare_key_s_hint_names_the_store(spaced: Store) -> None:
    with (spaced.path / "config").open("a") as f:
        f.write("[mindgit]\n\tfuel\n")
    with pytest.raises(BadConfigValue, match="has no value") as raised:
        read_setting(spaced.config_get, "fuel")
    assert names_store(raised.value.hint or "", spaced.path, "mindgit.fuel")


def test_a_value_not_utf8_s_hint_names_the_store(spaced: Store) -> None:
    with (spaced.path / "config").open("ab") as f:
        f.write(b"[mindgit]\n\tfitness = caf\xe9\n")
    with pytest.raises(BadConfigValue, match="is not UTF-8 text") as raised:
        spaced.config_get("mindgit.fitness")
    assert names_store(raised.value.hint or "", spaced.path, "mindgit.fitness")


def test_a_merge_and_a_server_read_name_the_repository(spaced: Store) -> None:
    # Read through a pygit2 repository, not a Store: merge's node key, a server hook's policy.
    git("--git-dir", str(spaced.path), "config", "mindgit.node", "junk")
    git("--git-dir", str(spaced.path), "config", "mindgit.allowRewind", "yes")
    repo = pygit2.Repository(str(spaced.path))
    with pytest.raises(BadConfigValue, match="is not a did:key") as raised:
        node_key(repo)
    assert names_store(raised.value.hint or "", spaced.path, "mindgit.node")
    with pytest.raises(BadConfigValue, match="must be true or false") as raised:
        read_policy(repo)
    assert names_store(raised.value.hint or "", spaced.path, "mindgit.allowRewind")


def test_a_value_from_an_included_file_names_that_file(spaced: Store, tmp_path: Path) -> None:
    # `git --git-dir STORE config --unset` would not remove it: the file that holds it is named.
    extra = tmp_path / "more settings"
    git("config", "--file", str(extra), "mindgit.fuel", "banana")
    git("--git-dir", str(spaced.path), "config", "include.path", str(extra))
    with pytest.raises(BadConfigValue) as raised:
        read_setting(spaced.config_get, "fuel")
    hint = raised.value.hint or ""
    where = f"--file {shlex.quote(str(extra))}"
    assert f"`git config {where} mindgit.fuel VALUE`" in hint, hint
    assert f"`git config {where} --unset mindgit.fuel`" in hint, hint
    assert "--git-dir" not in hint and "<store>" not in hint
    # The hint's command mends it.
    git("config", "--file", str(extra), "--unset", "mindgit.fuel")
    assert read_setting(spaced.config_get, "fuel") is None


def test_a_lookup_s_values_keep_their_file_and_stay_strs(spaced: Store) -> None:
    git("--git-dir", str(spaced.path), "config", "mindgit.fitness", "best")
    value = spaced.config_get("mindgit.fitness")
    assert isinstance(value, ConfigValue) and value == "best" and str(value) == "best"
    assert value.file == spaced.path / "config"
    # A copy or a pickle (a value handed to another process) keeps the file.
    for again in (copy.copy(value), copy.deepcopy(value), pickle.loads(pickle.dumps(value))):
        assert type(again) is ConfigValue and again == "best" and again.file == value.file
    bare = NoValue(file=value.file)
    again = pickle.loads(pickle.dumps(bare))
    assert type(again) is NoValue and again == "" and again.file == value.file
    # A config opened from its file alone knows it too.
    read = config_reader(pygit2.Config(str(spaced.path / "config")))
    assert getattr(read("mindgit.fitness"), "file", None) == spaced.path / "config"


def test_a_value_that_says_no_file_keeps_the_generic_hint() -> None:
    hint = BadConfigValue("mindgit.memory", "5G", "is too large").hint or ""
    assert "`git --git-dir <store> config mindgit.memory VALUE`" in hint


def test_a_pygit2_whose_binding_lacks_the_entry_type_still_reads_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The file a value came from is asked through pygit2's private C binding; a pygit2 that
    # declares no git_config_entry (cffi's CDefError, not a TypeError) made every config
    # lookup an internal error. It only loses the file in the hint.
    import importlib

    import cffi  # type: ignore[import-untyped]

    store = init_store(tmp_path / "store", "alpha")
    git("--git-dir", str(store.path), "config", "mindgit.fuel", "lots")

    class Undeclared:
        """pygit2's cffi object as a pygit2 would have it that never declared the type."""

        def new(self, ctype: str) -> object:
            raise cffi.CDefError(f"cannot parse {ctype!r}")

    # The module, not pygit2.ffi: pygit2 names its cffi object so too, over the module.
    monkeypatch.setattr(importlib.import_module("pygit2.ffi"), "ffi", Undeclared())
    assert store.config_get("mindgit.name") == "alpha"
    with pytest.raises(BadConfigValue) as raised:
        read_setting(store.config_get, "fuel")
    assert raised.value.hint is not None and "<store>" in raised.value.hint
