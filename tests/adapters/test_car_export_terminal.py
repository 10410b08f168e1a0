"""`export --car -` (or a --car naming a terminal) wrote the binary CAR to the terminal, whose
varints and CID digests are bytes a terminal may act on; plot -o refuses a terminal, and so does
gzip. Refused, exit 2, nothing written; a pipe or a file takes the CAR as before."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from mindgit.ipld.car import CarReader
from mindgit.store.repository import init_store
from tests.conftest import ROOT
from tests.snapshots import changes, snapshot
from tests.terminal import on_a_terminal


@pytest.mark.parametrize("target", ["-", "/dev/stdout"])
def test_a_car_is_not_written_to_a_terminal(tmp_path: Path, target: str) -> None:
    store = init_store(tmp_path / "s", "s")
    store.think("hello")
    before = snapshot(store.path)
    code, shown, err = on_a_terminal("--store", str(store.path), "export", "--car", target)
    assert (code, shown) == (2, b""), err
    assert err.startswith(f"mindgit: error: --car {target} is a terminal; a CAR is binary")
    assert err.count("\n") == 1
    assert changes(before, snapshot(store.path)) == []


def test_a_pipe_still_takes_the_car(tmp_path: Path) -> None:
    store = init_store(tmp_path / "s", "s")
    store.think("hello")
    proc = subprocess.run(
        [sys.executable, "-m", "mindgit", "--store", str(store.path), "export", "--car", "-"],
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    reader = CarReader(io.BytesIO(proc.stdout))
    assert [str(cid) for cid in reader.roots] == [proc.stderr.decode().split()[-1]]
