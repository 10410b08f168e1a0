"""A store another user owns: libgit2 refuses to open it (git's safe.directory rule), and the
hint said "repair or restore the file it names; `git fsck` in the store says more", though no
file is damaged (found by review H)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mindgit.store.repository import Store
from tests.conftest import Mg

NOBODY = 65534


def _chown_all(root: Path, uid: int) -> None:
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            os.lchown(os.path.join(folder, name), uid, -1)
    os.lchown(root, uid, -1)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a store to another user takes root")
def test_a_store_another_user_owns_is_said_to_be_theirs(store: Store, mg: Mg) -> None:
    _chown_all(store.path, NOBODY)
    try:
        r = mg("--store", str(store.path), "log")
    finally:
        _chown_all(store.path, os.geteuid())
    if r.code == 0:
        pytest.skip("git's config here trusts every directory (safe.directory)")
    assert r.code == 1, r.err
    assert "is not owned by current user" in r.err
    assert "safe.directory" in r.err and "fsck" not in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1
