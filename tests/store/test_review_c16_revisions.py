"""Revisions typed with huge step counts, and --json's type of NotACommit (review C, pass 16).

`show main~99999999999999999999` was an internal error (exit 3, OverflowError from
itertools.repeat in unreadable_on_the_way), and a count of over 4,300 digits one too (int()'s
ValueError). `fork x --from BLOB --json` reported the type "blob": NotACommit kept the object's
type in `kind`, which the CLI reports as the error's type."""

from __future__ import annotations

import json

import pytest

from mindgit.store.repository import NotACommit, Store, UnknownRef
from tests.conftest import Mg, git
from tests.snapshots import changes, snapshot


@pytest.mark.parametrize(
    "rev",
    [
        "main~99999999999999999999",
        "main~" + "9" * 5000,
        "main^" + "9" * 5000,
        "main~99999999999999999999^2",
        "main^1~" + "1" * 30,
    ],
)
def test_a_huge_step_count_is_an_unknown_revision(store: Store, mg: Mg, rev: str) -> None:
    store.think("one")
    with pytest.raises(UnknownRef):
        store.resolve(rev)
    before = snapshot(store.path)
    for args in (("show", rev), ("log", rev), ("verify", rev), ("fork", "x", "--from", rev)):
        r = mg("--store", str(store.path), *args)
        assert r.code == 1, r.err
        assert "unknown experiment or revision" in r.err
        assert "internal error" not in r.err
    assert changes(before, snapshot(store.path)) == []


def test_a_step_count_with_leading_zeros_counts_as_typed(store: Store) -> None:
    store.think("one")
    assert store.resolve("main~" + "0" * 40 + "1") == store.resolve("main~1")
    assert store.resolve("main^0") == store.head()


def test_not_a_commit_is_reported_as_its_own_type(store: Store, mg: Mg) -> None:
    store.think("one")
    blob = git("--git-dir", str(store.path), "rev-parse", "main:manifest.json").strip()
    with pytest.raises(NotACommit) as caught:
        store.resolve(blob)
    assert caught.value.object_type == "blob"
    r = mg("--store", str(store.path), "fork", "x", "--from", blob, "--json")
    assert r.code == 1
    doc = json.loads(r.out)
    assert doc["type"] == "NotACommit"
    assert "names a blob, not a commit" in doc["error"]
