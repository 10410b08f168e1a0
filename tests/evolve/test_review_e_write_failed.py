"""A run whose generations cannot be written (a full disk) says which run, what is kept and how
to continue it.

It said "OSError: [Errno 28] No space left on device" (the writer process's repr of the error;
written inline, "No space left on device"), and nothing of the run, of what was kept or of
`--resume`. A file size limit stands in for the full disk here (EFBIG, "File too large").
Found by review E.
"""

from __future__ import annotations

import resource
import shutil
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mindgit.evolve.persist import PersistFailed
from mindgit.evolve.run import Progress, resume_run, start_run
from mindgit.store.generation import RunParams
from mindgit.store.repository import open_store
from tests.conftest import fsck
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.evolve.test_run import fingerprint

PARAMS = RunParams(population=8, generations=12, seed=5)


@contextmanager
def small_files() -> Iterator[Callable[[], None]]:
    """A function that limits this process's (and its children's) files to 1,000 bytes from
    then on, until the block ends: writing more fails with EFBIG instead of killing it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        yield lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (1000, hard))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old)


def test_a_write_that_fails_midway_names_the_run_and_the_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MINDGIT_EVOLVE_FORK", "0")  # the limit set mid-run reaches the writer
    store = new_store(tmp_path / "s", float_genes(4))
    shutil.copytree(store.path, tmp_path / "r")
    reference = open_store(tmp_path / "r")
    whole = start_run(reference, str(RASTRIGIN), PARAMS)

    with small_files() as limit:

        def progress(p: Progress) -> None:
            if p.generation == 3:
                limit()

        with pytest.raises(PersistFailed) as failed:
            start_run(store, str(RASTRIGIN), PARAMS, on_progress=progress)
    run = failed.value
    assert str(run).startswith(f"run {whole.run_id}: writing its generations failed: File too")
    assert "Errno" not in str(run) and "OSError" not in str(run)
    assert run.hint == (
        f"generations up to 3 are kept; `mindgit evolve --resume {whole.run_id}` continues the "
        "run once that is mended"
    )
    fsck(store.path)
    done = resume_run(open_store(store.path))
    assert done.complete and done.best_state == whole.best_state
    assert fingerprint(store, whole.run_id) == fingerprint(reference, whole.run_id)


def children() -> list[int]:
    """This process's child processes (Linux)."""
    found: list[int] = []
    for task in Path("/proc/self/task").iterdir():
        found += [int(pid) for pid in (task / "children").read_text().split()]
    return found


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="Linux /proc")
def test_a_writer_process_that_cannot_write_names_the_run_and_what_to_do(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s", float_genes(4))
    shutil.copytree(store.path, tmp_path / "r")
    whole = start_run(open_store(tmp_path / "r"), str(RASTRIGIN), PARAMS)
    before = set(children())
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)

    def progress(p: Progress) -> None:
        if p.generation == 0:
            # The writer process cannot write a file of over 1,000 bytes from now on.
            for pid in set(children()) - before:
                resource.prlimit(pid, resource.RLIMIT_FSIZE, (1000, hard))

    with pytest.raises(PersistFailed) as failed:
        start_run(store, str(RASTRIGIN), PARAMS, on_progress=progress)
    said, hint = str(failed.value), failed.value.hint
    # Python ignores SIGXFSZ: the write fails (EFBIG), and the writer process reports it.
    assert said == f"run {whole.run_id}: writing its generations failed: File too large"
    fsck(store.path)
    if any(r.startswith("refs/runs/") for r in store.repo.references):
        assert hint is not None and hint.endswith(
            f"`mindgit evolve --resume {whole.run_id}` continues the run once that is mended"
        )
        done = resume_run(open_store(store.path))
    else:
        assert hint == "nothing of the run was written; start it again once that is mended"
        done = start_run(open_store(store.path), str(RASTRIGIN), PARAMS)
    assert done.complete and done.best_state == whole.best_state
    assert fingerprint(store, whole.run_id) == fingerprint(open_store(tmp_path / "r"), whole.run_id)
    assert resource.getrlimit(resource.RLIMIT_FSIZE) == (soft, hard)
