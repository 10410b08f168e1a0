"""Words after think's TEXT are refused without being repeated: click's own error quoted them
('Got unexpected extra arguments (vault code 4417)'), and a private thought typed unquoted put
its text on the terminal, where docs/privacy.md says mindgit never writes it."""

from __future__ import annotations

import json

import pytest

from mindgit.store.repository import Store
from tests.conftest import Mg


@pytest.mark.parametrize("private", [True, False])
def test_extra_words_are_counted_not_shown_and_nothing_is_written(
    store: Store, mg: Mg, private: bool
) -> None:
    head = store.head()
    args = ["think", "the", "vault", "code", "4417", *(["--private"] if private else [])]
    r = mg("--store", str(store.path), *args)
    assert r.code == 2 and r.out == ""
    assert "vault" not in r.err and "4417" not in r.err
    assert "think takes the thought as one TEXT, and 3 more words followed it" in r.err
    assert len(r.err.splitlines()) == 1
    r = mg("--store", str(store.path), *args, "--json")
    assert r.code == 2 and "4417" not in r.out + r.err
    assert json.loads(r.out or r.err)["type"] == "UsageError"
    assert store.head() == head


def test_one_quoted_text_is_still_one_thought(store: Store, mg: Mg) -> None:
    r = mg("--store", str(store.path), "think", "the vault code", "--tag", "t")
    assert r.code == 0, r.err
    assert [json.loads(b)["text"] for _, b in store.thoughts()] == ["the vault code"]
