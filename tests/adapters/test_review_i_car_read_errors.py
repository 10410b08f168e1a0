"""Review I: a CAR that fails to read partway (an I/O error, not its content) is named, and the
import says that nothing was imported; it said only "mindgit: error: Input/output error". A
non-blocking standard input is waited for."""

from __future__ import annotations

import array
import fcntl
import os
import subprocess
import sys
import termios
import time
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


def test_a_non_blocking_stdin_is_waited_for(store: Store, tmp_path: Path) -> None:
    # Another program may leave a shared pipe non-blocking: reads then return None until the
    # writer catches up, which was an internal error (exit 3), or a CAR cut short further on.
    from tests.adapters.test_car_builders import export_bytes, rich_store

    rich_store(store)
    car = export_bytes(store, "dreamer")
    beta = tmp_path / "beta"
    subprocess.run(
        [sys.executable, "-c", SHIM, "init", str(beta), "--name", "beta"],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    with subprocess.Popen(
        [sys.executable, "-c", SHIM, "--store", str(beta), "import", "-", "--as", "copy"],
        stdin=read_end,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    ) as child:
        with os.fdopen(write_end, "wb") as writer:
            writer.write(car[:100])
            writer.flush()
            # Once the child has taken those bytes in, its next read finds the pipe empty.
            deadline = time.monotonic() + 60
            while unread(read_end) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)
            writer.write(car[100:])
        os.close(read_end)
        _out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert b"created experiment copy" in err


def unread(fd: int) -> int:
    """How many bytes wait in the pipe whose read end is ``fd``."""
    count = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, count)
    return count[0]
