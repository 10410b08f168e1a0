"""kill -9 of a real `mindgit evolve` process, at chosen points inside a generation's write and
at random moments; then resume. The store stays fsck-clean, no writer process survives, and the
resumed run ends exactly as an uninterrupted one."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mindgit.evolve.run import NothingToResume, resume_run, start_run
from mindgit.store.generation import RUNS_PREFIX, RunParams
from mindgit.store.repository import Store, open_store
from tests.conftest import fsck
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.evolve.test_run import fingerprint

PARAMS = RunParams(population=24, generations=40, seed=11)
ARGS = ["--population", "24", "--generations", "40", "--seed", "11", "--fitness", "rastrigin", "-q"]

# Runs `mindgit evolve` (registering the evolve commands if the CLI does not list them yet),
# optionally stopping dead inside the writer at a chosen point of its write number PAUSE_AT + 1
# (a write is up to WRITE_BATCH generations, more when the writer has fallen behind): it writes
# its pid to a marker file and sleeps, so the test can kill it exactly there.
DRIVER = r"""
import os, sys, time
from mindgit.cli import main as cli_main
from mindgit.evolve import writer

for name in ("fitness", "evolve", "runs", "lineage", "plot", "demo"):
    cli_main.COMMANDS.setdefault(name, ("evolve", name))

point, marker = os.environ.get("PAUSE_POINT"), os.environ.get("PAUSE_MARKER")
pause_at = int(os.environ.get("PAUSE_AT", "-1"))
seen = {"n": 0}

def pause():
    open(marker, "w").write(str(os.getpid()))
    time.sleep(600)

if point == "idx-half":
    real_write_file = writer._write_file
    def _write_file(directory, final, data, fsync):
        if final.suffix == ".idx":
            seen["n"] += 1
            if seen["n"] > pause_at:
                import tempfile
                fd, tmp = tempfile.mkstemp(prefix="tmp_pack_", dir=directory)
                blob = b"".join(data)
                os.write(fd, blob[: len(blob) // 2])
                pause()
        real_write_file(directory, final, data, fsync)
    writer._write_file = _write_file
elif point == "after-pack":
    real_write_pack = writer.write_pack
    def write_pack(*a, **k):
        real_write_pack(*a, **k)
        seen["n"] += 1
        if seen["n"] > pause_at:
            pause()
    writer.write_pack = write_pack
elif point in ("before-ref", "ref-locked"):
    # The writer takes the run ref's lock, looks for a key rotation, then sets the ref:
    # stopped before the lock is taken, or holding it (the lock a dead holder left).
    import contextlib
    real_locked_ref = writer.locked_ref
    @contextlib.contextmanager
    def locked_ref(*a, **k):
        seen["n"] += 1
        if point == "before-ref" and seen["n"] > pause_at:
            pause()
        with real_locked_ref(*a, **k) as held:
            if seen["n"] > pause_at:
                pause()
            yield held
    writer.locked_ref = locked_ref

elif point == "merging":
    # Right after the writer started git merging its packs (every 2 packs here), with the
    # merge's pid beside the writer's. The "merge" is a git that never ends by itself and
    # starts no process of its own (hashing a FIFO nobody writes waits in open() for ever):
    # only dying with the writer can end it.
    writer.RUN_PACK_LIMIT = 2
    os.mkfifo(marker + ".fifo")
    writer._MERGE_PACKS = ("hash-object", marker + ".fifo")
    real_merge = writer.GenerationWriter._merge_packs
    def _merge_packs(self):
        before = self._merging
        real_merge(self)
        if self._merging is not None and self._merging is not before:
            seen["n"] += 1
            if seen["n"] > pause_at:
                open(marker + ".git", "w").write(str(self._merging.pid))
                pause()
    writer.GenerationWriter._merge_packs = _merge_packs

sys.exit(cli_main.run(sys.argv[1:]))
"""


def evolve_process(
    store: Path, args: list[str], env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, "--store", str(store), "evolve", *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def gone(pid: int) -> bool:
    """True once ``pid`` has exited with all its threads (reaped, or a zombie alone in its
    thread group): only then are its files closed, and its lock on the run released. (A
    process's main thread is a zombie as soon as it exits, while its other threads, such as
    the writer's drain thread, may still be exiting and holding the files.)"""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                zombie = f.read().split(") ", 1)[1].startswith("Z")
            if zombie and len(os.listdir(f"/proc/{pid}/task")) <= 1:
                return True
        except FileNotFoundError:
            return True
        time.sleep(0.02)
    return False


def wait_for_pause(proc: subprocess.Popen[bytes], marker: Path) -> None:
    """Until the driven process has paused where it was told (its marker file exists)."""
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.01)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, str, str | None]:
    store = new_store(tmp_path_factory.mktemp("ref") / "s", float_genes(8))
    r = start_run(store, str(RASTRIGIN), PARAMS)
    return store, r.run_id, str(r.best_state)


def prepared(tmp_path: Path) -> Store:
    store = new_store(tmp_path / "s", float_genes(8))
    from mindgit.evolve.fitness import add_fitness

    add_fitness(store, RASTRIGIN)
    return store


def run_in(store: Store) -> str | None:
    """The store's one run (its id holds the store's own start commit), if it has begun."""
    runs = [r for r in store.repo.references if r.startswith(RUNS_PREFIX)]
    assert len(runs) <= 1, runs
    return runs[0].removeprefix(RUNS_PREFIX) if runs else None


def finish_and_compare(store: Store, reference: tuple[Store, str, str | None]) -> None:
    ref_store, ref_run, best = reference
    fsck(store.path)
    run_id = run_in(store)
    if run_id is None:
        run_id = start_run(store, "rastrigin", PARAMS).run_id  # killed before generation 0
    else:
        with contextlib.suppress(NothingToResume):  # the killed process had finished everything
            resume_run(store, run_id)
    assert fingerprint(store, run_id) == fingerprint(ref_store, ref_run)
    assert str(open_store(store.path).snapshot().manifest.cid) == best
    fsck(store.path)


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc; writer dies with its parent on Linux"
)
@pytest.mark.parametrize("point", ["idx-half", "after-pack", "before-ref", "ref-locked"])
def test_kill_inside_a_generation_write(
    tmp_path: Path, point: str, reference: tuple[Store, str, str | None]
) -> None:
    store = prepared(tmp_path)
    marker = tmp_path / "paused"
    proc = evolve_process(
        store.path, ARGS, {"PAUSE_POINT": point, "PAUSE_MARKER": str(marker), "PAUSE_AT": "1"}
    )
    wait_for_pause(proc, marker)
    writer_pid = int(marker.read_text() or "0")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert gone(writer_pid), "the writer outlived its parent"
    finish_and_compare(store, reference)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_at_random_moments_then_resume(
    tmp_path: Path, reference: tuple[Store, str, str | None]
) -> None:
    store = prepared(tmp_path)
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    first = True
    for _ in range(4):
        args = ARGS if first else ["--resume", "-q"]
        proc = evolve_process(store.path, args)
        time.sleep(rng.uniform(0.3, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        fsck(store.path)
        first = run_in(store) is None
    finish_and_compare(store, reference)


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc; git dies with the writer on Linux"
)
def test_kill_while_git_merges_the_run_s_packs(
    tmp_path: Path, reference: tuple[Store, str, str | None]
) -> None:
    store = prepared(tmp_path)
    marker = tmp_path / "paused"
    proc = evolve_process(
        store.path, ARGS, {"PAUSE_POINT": "merging", "PAUSE_MARKER": str(marker), "PAUSE_AT": "0"}
    )
    wait_for_pause(proc, marker)
    writer_pid = int(marker.read_text() or "0")
    git_pid = int(Path(f"{marker}.git").read_text())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert gone(writer_pid), "the writer outlived its parent"
    try:
        # A real merge left running would go on deleting packs under the resume.
        assert gone(git_pid), "git's merge outlived the writer"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(git_pid, signal.SIGKILL)
    finish_and_compare(store, reference)
