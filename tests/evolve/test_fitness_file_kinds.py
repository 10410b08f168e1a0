"""`fitness add` reads only a regular file: it read a named pipe by waiting for a writer for
ever, and a device such as /dev/zero until memory ran out (evolve --fitness and merge
--fitness already refused both). Each is now one line, exit 1, nothing changed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mindgit.evolve.fitness import FitnessFileError, add_fitness
from mindgit.store.repository import Store
from tests.conftest import ROOT, Mg
from tests.evolve.helpers import float_genes, new_store
from tests.snapshots import changed, snapshot


@pytest.fixture
def node(tmp_path: Path) -> Store:
    return new_store(tmp_path / "s", float_genes(3))


def test_a_named_pipe_is_refused_without_waiting(node: Store, tmp_path: Path) -> None:
    fifo = tmp_path / "f.wat"
    os.mkfifo(fifo)
    before = snapshot(node.path)
    # A child with a deadline: before, it waited for a writer for ever.
    proc = subprocess.run(
        [sys.executable, "-m", "mindgit", "--store", str(node.path), "fitness", "add", str(fifo)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert err.strip().splitlines() == [
        f"mindgit: error: cannot read fitness module {fifo}: not a regular file"
    ], err
    assert changed(before, node.path) == []


def test_a_device_is_refused_unread(node: Store, mg: Mg) -> None:
    # /dev/null stands for /dev/zero, which a test must not read until memory runs out.
    before = snapshot(node.path)
    r = mg("--store", str(node.path), "fitness", "add", "/dev/null")
    assert r.code == 1, r.err
    assert "cannot read fitness module /dev/null: not a regular file" in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1, r.err
    assert changed(before, node.path) == []


def test_a_directory_is_named(node: Store, tmp_path: Path) -> None:
    with pytest.raises(FitnessFileError, match="is a directory"):
        add_fitness(node, tmp_path)


def test_a_file_too_large_for_any_module_is_refused_unread(
    node: Store, tmp_path: Path, mg: Mg
) -> None:
    """A 300 MB text file took over 10 s to be refused as no module; it is refused by its size
    (a sparse file: nothing that large is written here)."""
    from mindgit.evolve.fitness import MAX_SOURCE_BYTES

    big = tmp_path / "big.wat"
    with open(big, "wb") as f:
        f.truncate(MAX_SOURCE_BYTES + 1)
    before = snapshot(node.path)
    r = mg("--store", str(node.path), "fitness", "add", str(big))
    assert r.code == 1 and f"{big}: over 64 MiB, too large for a module" in r.err, r.err
    assert changed(before, node.path) == []
    with pytest.raises(FitnessFileError):
        add_fitness(node, big)
