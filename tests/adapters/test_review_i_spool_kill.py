"""Review I: an import killed outright (``kill -9``, or a SIGTERM, which runs no ``finally``) left
its spool, the whole CAR's blocks in one SQLite file, in TMPDIR for good. The file is unlinked
once open: the blocks go with the process, and at most an empty directory stays."""

from __future__ import annotations

import array
import fcntl
import os
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

from mindgit.store.repository import Store, init_store
from tests.adapters.test_car_builders import export_bytes, rich_store
from tests.conftest import ROOT

SHIM = "import sys; from mindgit.cli.main import run; sys.exit(run(sys.argv[1:]))"

KILLED_WITH_A_BLOCK = """
import os, signal, sys
from mindgit.adapters.car_spool import Spool
from mindgit.ipld.cid import CID

spool = Spool(sys.argv[1])
data = b"x" * (1 << 20)
spool.add(CID.of(data), data)
assert spool.get(CID.of(data)) == data
os.kill(os.getpid(), signal.SIGKILL)
"""


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if not p.is_dir()]


def test_a_spool_killed_outright_leaves_no_file(tmp_path: Path) -> None:
    parent = tmp_path / "spool"
    parent.mkdir()
    r = subprocess.run(
        [sys.executable, "-c", KILLED_WITH_A_BLOCK, str(parent)],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert r.returncode == -signal.SIGKILL, r.stderr
    assert files_under(parent) == []
    (left,) = parent.iterdir()  # the directory, empty
    assert left.name.startswith("mindgit-car-") and list(left.iterdir()) == []


def unread(fd: int) -> int:
    """How many bytes wait in the pipe whose read end is ``fd``."""
    count = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, count)
    return count[0]


def test_an_import_terminated_partway_leaves_no_file(store: Store, tmp_path: Path) -> None:
    rich_store(store)
    car = export_bytes(store, "dreamer")
    beta = init_store(tmp_path / "beta", "beta")
    spool = tmp_path / "spool"
    spool.mkdir()
    read_end, write_end = os.pipe()
    with subprocess.Popen(
        [sys.executable, "-c", SHIM, "--store", str(beta.path), "import", "-", "--as", "copy"],
        stdin=read_end,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(spool)},
    ) as child:
        with os.fdopen(write_end, "wb") as writer:
            writer.write(car[: len(car) // 2])
            writer.flush()
            # Once it has read those, the import waits for the rest: its blocks are spooled.
            deadline = time.monotonic() + 60
            while unread(read_end) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)
            assert child.poll() is None
            child.send_signal(signal.SIGTERM)
            child.wait(timeout=60)
        os.close(read_end)
    assert child.returncode == -signal.SIGTERM
    assert files_under(spool) == []
    assert beta.repo.references.get("refs/heads/copy") is None
