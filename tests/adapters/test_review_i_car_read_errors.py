"""Review I: a CAR that fails to read partway (an I/O error, not its content) is named, and the
import says that nothing was imported; it said only "mindgit: error: Input/output error"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mindgit.store.repository import Store
from tests.conftest import ROOT, Mg

SHIM = "import sys; from mindgit.cli.main import run; sys.exit(run(sys.argv[1:]))"
# Reading a process's memory at address 0, which nothing maps, fails with EIO after open.
FAILING = Path("/proc/self/mem")

pytestmark = pytest.mark.skipif(not FAILING.exists(), reason="needs Linux's /proc/self/mem")


def refs(store: Store) -> list[tuple[str, str]]:
    return sorted((name, str(store.repo.references[name].target)) for name in store.repo.references)


def test_a_file_that_fails_to_read_is_named(store: Store, mg: Mg) -> None:
    before = refs(store)
    r = mg("--store", str(store.path), "import", str(FAILING), "--as", "copy")
    assert r.code == 1
    assert r.err.startswith(
        f"mindgit: error: cannot read {FAILING}: Input/output error; nothing was imported"
    )
    assert refs(store) == before


def test_stdin_that_fails_to_read_is_named(store: Store) -> None:
    before = refs(store)
    with FAILING.open("rb") as failing:
        r = subprocess.run(
            [sys.executable, "-c", SHIM, "--store", str(store.path), "import", "-", "--as", "x"],
            stdin=failing,
            capture_output=True,
            cwd=ROOT,
            timeout=120,
        )
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith(
        b"mindgit: error: cannot read stdin: Input/output error; nothing was imported"
    )
    assert refs(store) == before
