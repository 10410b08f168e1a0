"""One key rotation at a time: two `mindgit keys rotate` in one store at once each saved a
pending key and announced, which could leave a store whose every signature was refused as "a key
rotation is unfinished" and that no later rotation finished."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mindgit.identity.keys import NodeKey
from mindgit.store.refs import read_ref
from mindgit.store.repository import MINDGIT_DIR, Store, open_store
from mindgit.store.rotations import ANNOUNCE_REF, rotate_key
from mindgit.store.verify import verify_commits
from tests.conftest import ROOT, Mg
from tests.snapshots import changed, snapshot


def test_a_rotation_while_another_holds_the_store_is_refused_and_changes_nothing(
    store: Store, mg: Mg
) -> None:
    store.think("before")
    before = snapshot(store.path)
    fd = os.open(store.path / MINDGIT_DIR, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as a rotating process holds it
        res = mg("--store", str(store.path), "keys", "rotate")
    finally:
        os.close(fd)
    assert res.code == 1, res.err
    assert "another `mindgit keys rotate` is running in this store" in res.err
    assert len(res.err.strip().splitlines()) == 1, res.err
    assert changed(before, store.path) == []
    assert mg("--store", str(store.path), "keys", "rotate").code == 0  # once it is free


def test_a_store_opened_before_another_rotation_rotates_from_the_current_key(
    store: Store,
) -> None:
    first_key = store.public_key  # loaded, and cached by this Store
    other = open_store(store.path)
    one = rotate_key(other)
    two = rotate_key(store)
    assert one.old == first_key
    assert two.old == one.new  # not the retired key it had loaded
    store.think("after two rotations")
    tips = [store.head(), two.commit]
    assert verify_commits(store.repo, store.trust, tips).ok
    assert read_ref(store.repo, ANNOUNCE_REF) == two.commit
    names = sorted(n.name for n in store.trust.nodes())
    assert names == ["alpha", "alpha.retired-1", "alpha.retired-2"]


def test_rotations_started_together_leave_a_store_that_signs_and_verifies(
    store: Store, tmp_path: Path
) -> None:
    for _ in range(3):
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "mindgit", "--store", str(store.path), "keys", "rotate"],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
        for p in procs:
            for stream in (p.stdout, p.stderr):
                if stream is not None:
                    stream.close()
        assert any(code == 0 for code, _ in results), results
        for code, err in results:
            assert code == 0 or "another `mindgit keys rotate` is running" in err, err
    fresh = open_store(store.path)
    fresh.think("still signing")
    assert not fresh.pending_key_path.exists()
    tip = read_ref(fresh.repo, ANNOUNCE_REF)
    assert tip is not None
    assert verify_commits(fresh.repo, fresh.trust, [fresh.head(), tip]).ok


def test_a_commit_the_old_key_signs_while_the_new_key_is_made_is_in_the_named_history(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rotation read the store's tips before it saved its pending key: a commit landing in
    between (evolve's writer looks for the pending key before each write) was signed by the
    old key outside the history the rotation named, and failed verify here and at peers."""
    writer = open_store(store.path)
    save = NodeKey.save

    def save_while_another_writes(key: NodeKey, path: Path, **kwargs: Any) -> None:
        if path == store.pending_key_path:
            writer.think("signed by the old key while the new one was made")
        save(key, path, **kwargs)

    monkeypatch.setattr(NodeKey, "save", save_while_another_writes)
    rotation = rotate_key(store)
    monkeypatch.undo()
    fresh = open_store(store.path)
    report = verify_commits(fresh.repo, fresh.trust, [fresh.head(), rotation.commit])
    assert report.ok, report.problems
