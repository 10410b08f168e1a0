"""Ctrl-C stops `mindgit demo` as it stops `evolve`, but the line saying how to go on must fit
the demo: it said `mindgit evolve --resume RUN`, which runs in the user's own store (not the
demo's node), and after a demo without --keep, whose node is removed on the way out, there is
nothing left to resume at all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.evolve.test_kill import DRIVER, evolve_process, wait_for_pause


def _demo_stopped(args: list[str], runs: Path, tmp: Path) -> tuple[str, str]:
    """Run `mindgit demo ARGS`, Ctrl-C it once a generation is on a run ref under ``runs``
    (a glob root), and return its stdout and stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, "demo", "--generations", "100000", *args],
        env={**os.environ, "TMPDIR": str(tmp)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not list(runs.glob("**/refs/runs/*")):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()
    return out.decode(), err.decode()


@pytest.mark.skipif(os.name != "posix", reason="SIGINT")
def test_a_stopped_temporary_demo_says_it_cannot_be_resumed(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out, err = _demo_stopped([], tmp, tmp)
    assert "generations" in out
    assert "--resume" not in err, err
    assert "cannot be resumed" in err and "mindgit demo --keep DIR" in err, err
    assert list(tmp.iterdir()) == []  # the node is gone, as the line says


@pytest.mark.skipif(os.name != "posix", reason="SIGINT")
def test_a_stopped_kept_demo_names_its_node_in_the_resume_command(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    keep = tmp_path / "my demo"
    out, err = _demo_stopped(["--keep", str(keep)], keep, tmp)
    run = next(x for x in out.splitlines() if x.startswith("run")).split()[1]
    command = f"mindgit --store '{keep}' evolve --resume {run}"
    assert f"continue with `{command}`" in err, err
    # The command finds the run as printed, from anywhere (asked to change the seed, so that
    # it is refused rather than run on for 100,000 generations).
    argv = ["--store", str(keep), "evolve", "--resume", run, "--seed", "8", "-q"]
    found = subprocess.run(
        [sys.executable, "-c", DRIVER, *argv], cwd=tmp, capture_output=True, timeout=120
    )
    assert found.returncode == 2, found.stderr.decode()
    assert f"run {run} was started with seed 7, not 8" in found.stderr.decode()


@pytest.mark.skipif(os.name != "posix", reason="SIGINT")
def test_a_second_ctrl_c_names_the_command_that_resumes(tmp_path: Path) -> None:
    # The second Ctrl-C stops at once; it said "interrupted" and nothing more. The run is
    # held inside its third write (the writer inline, so in this process) while both come.
    store = tmp_path / "s"
    new_store(store, float_genes(4))
    marker = tmp_path / "paused"
    env = {"MINDGIT_EVOLVE_FORK": "0", "PAUSE_POINT": "before-ref", "PAUSE_AT": "2"}
    args = ["--fitness", str(RASTRIGIN), "--generations", "30", "--population", "8", "-q"]
    proc = evolve_process(store, args, {**env, "PAUSE_MARKER": str(marker)})
    wait_for_pause(proc, marker)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)  # two signals at once are one to Python
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    line = err.decode().strip().splitlines()[-1]
    # The store named as it was given (--store), so that the command works from anywhere.
    head = f"mindgit: error: interrupted (hint: `mindgit --store {store} evolve --resume "
    assert line.startswith(head), line
    run = line.split("--resume ", 1)[1].split("`", 1)[0]
    # The run it names is the one to resume, and resuming finishes it.
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, "--store", str(store), "evolve", "--resume", run, "-q"],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert "generations 30/30" in done.stdout.decode()
