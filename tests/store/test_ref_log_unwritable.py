"""A ref whose reflog cannot be written names the reflog's file, not the ref's (the ref's own
file was fine, and a user looking there found nothing wrong)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.store.refs import RefUnwritable
from mindgit.store.repository import Store
from tests.conftest import Mg, fsck


def test_a_reflog_that_cannot_be_written_is_the_file_named(store: Store, mg: Mg) -> None:
    head = store.head("main")
    log = Path(store.path) / "logs" / "refs" / "heads" / "main"
    log.unlink()
    log.mkdir()  # appending to it fails: Is a directory
    with pytest.raises(RefUnwritable) as e:
        store.think("a thought")
    assert e.value.path == log
    assert f"({log}: Is a directory)" in str(e.value)
    assert store.head("main") == head
    r = mg("--store", str(store.path), "think", "another")
    assert r.code == 1 and f"cannot write refs/heads/main ({log}: Is a directory)" in r.err
    assert store.head("main") == head
    log.rmdir()
    fsck(store.path)
