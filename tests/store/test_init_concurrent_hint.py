"""Two `mindgit init` of one path at once: the loser found the winner's store half made and
said "an init of it did not finish (was it killed?): remove it and run init again", which
deleted the new store and its key if followed (found by review D). An init now holds a lock
on the store's folder from before it makes the mindgit folder until it is done, and another
init of the path waits for it before it looks."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT


def test_an_init_waits_for_another_init_of_the_path(tmp_path: Path) -> None:
    target = tmp_path / "s"
    (target / "mindgit").mkdir(parents=True)  # what an init has made by its first step
    fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as that init holds it until it is done
        proc = subprocess.Popen(
            [sys.executable, "-m", "mindgit", "init", str(target), "--name", "b"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.0)
        waited = proc.poll() is None  # it did not look at the store while the other wrote
    finally:
        os.close(fd)  # that init ends, its store half made: as a killed one leaves it
    _, err = proc.communicate(timeout=120)
    assert waited, err
    assert proc.returncode == 1 and "did not finish (was it killed?)" in err, err


def test_inits_started_together_never_advise_removing_the_winner(tmp_path: Path) -> None:
    for attempt in range(4):
        target = tmp_path / f"s{attempt}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "mindgit", "init", str(target), "--name", f"n{i}"],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(2)
        ]
        errors = []
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            errors.append((proc.returncode, err))
        assert sorted(code for code, _ in errors) == [0, 1], errors
        (err,) = [e for code, e in errors if code == 1]
        assert "remove it" not in err, err
