"""init at a path that is not UTF-8 failed halfway as an internal error (exit 3,
UnicodeEncodeError): git's config, where the store records its trust file's path, is UTF-8.
It is refused up front now, with nothing made (found by review J)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mindgit.store.repository import StoreLocation, init_store
from tests.conftest import ROOT


def test_init_at_a_path_that_is_not_utf8_is_refused_and_makes_nothing(tmp_path: Path) -> None:
    target = os.path.join(os.fsencode(tmp_path), b"s\xff")
    done = subprocess.run(
        [os.fsencode(sys.executable), b"-m", b"mindgit", b"init", target, b"--name", b"a"],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        check=False,
    )
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert "is not UTF-8, which git's config" in err and "s\\xff" in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert list(tmp_path.iterdir()) == []


def test_from_python_too(tmp_path: Path) -> None:
    with pytest.raises(StoreLocation, match="is not UTF-8"):
        init_store(tmp_path / os.fsdecode(b"s\xff"), "a")
    assert list(tmp_path.iterdir()) == []
