"""Review G: a config value that is not UTF-8 (BadConfigValue) was quoted whole, as its bytes'
repr: a remote's URL may hold a token. It is quoted with a URL's credentials hidden, and cut."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mindgit.store.config import BadConfigValue
from mindgit.store.repository import Store, init_store
from tests.conftest import Mg


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return init_store(tmp_path / "store", "alpha")


def set_raw(path: Path, key: str, value: bytes) -> None:
    subprocess.run(
        [b"git", b"--git-dir", os.fsencode(path), b"config", key.encode(), value], check=True
    )


def test_a_urls_credentials_are_not_shown(store: Store) -> None:
    set_raw(store.path, "remote.beta.url", b"https://alice:t0ken-s3cret\xff@example.com/r.git")
    with pytest.raises(BadConfigValue, match="is not UTF-8 text") as raised:
        store.config_get("remote.beta.url")
    message = str(raised.value)
    assert "t0ken" not in message and "alice" not in message, message  # was shown whole
    assert message.startswith("config remote.beta.url = b'https://***@example.com/r.git' is")


def test_a_long_value_is_cut_with_its_length(store: Store) -> None:
    value = b"\xfe" + b"s" * 4000
    set_raw(store.path, "mindgit.fitness", value)
    with pytest.raises(BadConfigValue, match="is not UTF-8 text") as raised:
        store.config_get("mindgit.fitness")
    message = str(raised.value)
    assert len(message) < 200, message  # was 4000 characters and more
    assert message.startswith("config mindgit.fitness = b'\\xfesss")
    assert "'... (4001 bytes) is not UTF-8 text" in message


def test_a_short_value_without_credentials_is_shown_as_before(store: Store) -> None:
    set_raw(store.path, "remote.beta.url", b"/srv/\xff")
    with pytest.raises(BadConfigValue) as raised:
        store.config_get("remote.beta.url")
    assert str(raised.value).startswith("config remote.beta.url = b'/srv/\\xff' is not UTF-8")


def test_the_cli_says_it_in_one_line_without_the_token(store: Store, mg: Mg) -> None:
    set_raw(store.path, "remote.beta.url", b"https://t0ken\xff@example.com/r.git")
    res = mg("--store", str(store.path), "remote", "list")
    assert res.code == 1
    assert res.err.count("\n") == 1 and "t0ken" not in res.err, res.err
    assert "b'https://***@example.com/r.git'" in res.err


@pytest.mark.parametrize(
    "key", ["mindgit.node", "remote.beta.mindgitNode", "remote.beta.MINDGITNODE"]
)
def test_a_key_setting_that_is_not_utf8_is_told_by_its_length(store: Store, key: str) -> None:
    # A node's key setting holds a public key; 32 bytes there may be a seed pasted by mistake,
    # which was shown whole (as the UTF-8 junk in such a setting never was).
    seed = bytes(range(0x80, 0xA0))
    set_raw(store.path, key, seed)
    with pytest.raises(BadConfigValue, match="is not UTF-8 text") as raised:
        store.config_get(key)
    message = str(raised.value)
    assert "\\x80\\x81" not in message and "\\x9f" not in message, message
    assert "= 32 bytes (not shown: it may be a private key) is not UTF-8 text" in message
