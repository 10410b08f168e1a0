"""A peer's URL is named in every message about it: `remote add NAME <100,000 characters>` was
taken, and each later message ('already exists', 'cannot reach') was 100 KB long. A URL over
4096 characters (PATH_MAX) is refused (exit 2, nothing written), and peers.py's messages quote
a URL cut past 160 characters."""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.errors import quoted
from mindgit.store.repository import Store
from mindgit.sync.peers import URL_MAX
from tests.conftest import Mg
from tests.snapshots import changed, snapshot

BASE = "https://example.invalid/"


def test_a_url_of_100000_characters_is_refused(store: Store, mg: Mg) -> None:
    url = BASE + "a" * (100_000 - len(BASE))
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "remote", "add", "beta", url)
    assert (r.code, r.out) == (2, ""), r.err[:500]
    assert r.err.count("\n") == 1 and len(r.err) < 300, r.err[:500]
    assert f"invalid peer URL {quoted(url, 160)}: it is longer than the 4096 " in r.err, r.err
    assert not changed(before, store.path)
    assert list(store.repo.config.get_multivar("remote.beta.url")) == []


def test_a_url_of_4096_characters_is_taken(store: Store, mg: Mg) -> None:
    url = BASE + "a" * (URL_MAX - len(BASE))
    r = mg("--store", str(store.path), "remote", "add", "beta", url)
    assert r.code == 0, r.err[:500]
    assert store.repo.config["remote.beta.url"] == url
    r = mg("--store", str(store.path), "remote", "add", "beta", url + "b")
    assert r.code == 2 and "longer than the 4096 characters" in r.err, r.err[:500]


def test_a_relative_path_is_measured_made_absolute(
    store: Store, mg: Mg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative path of 4096 characters is longer once the directory is put before it."""
    monkeypatch.chdir(tmp_path)
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "remote", "add", "beta", "p" * URL_MAX)
    assert (r.code, r.out) == (2, ""), r.err[:500]
    assert r.err.count("\n") == 1 and len(r.err) < 300, r.err[:500]
    assert "longer than the 4096 characters" in r.err
    assert not changed(before, store.path)


def test_an_existing_peer_s_long_url_is_quoted_cut(store: Store, mg: Mg) -> None:
    """A URL set by hand (git config) is still cut when a message names it."""
    url = BASE + "a" * (100_000 - len(BASE))
    store.repo.config["remote.beta.url"] = url
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "remote", "add", "beta", BASE)
    assert (r.code, r.out) == (1, ""), r.err[:500]
    # With a hint, whose command names the --store typed (as long as the temporary folder).
    assert r.err.count("\n") == 1, r.err[:500]
    assert len(r.err.replace(f"--store {store.path} ", "")) < 330, r.err[:500]
    assert f"peer 'beta' already exists ({quoted(url, 160)}); nothing was changed" in r.err
    assert not changed(before, store.path)


def test_a_password_the_cut_leaves_unfinished_is_hidden(store: Store, mg: Mg) -> None:
    """The URL is cut before its credentials are hidden (hiding them in 100,000 characters took
    20 s): a userinfo with no '@' left in the cut is hidden whole, none of it shown."""
    url = "https://user:" + "s" * 5000 + "@example.invalid/"
    r = mg("--store", str(store.path), "remote", "add", "beta", url)
    assert (r.code, r.out) == (2, ""), r.err[:500]
    assert "invalid peer URL 'https://***'... (5030 characters): it is longer" in r.err, r.err
    assert "user" not in r.err and "sss" not in r.err
