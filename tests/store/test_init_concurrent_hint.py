"""Two `mindgit init` of one path at once: the loser found the winner's store half made and
said "an init of it did not finish (was it killed?): remove it and run init again", which
deleted the new store and its key if followed (found by review D). An init now holds its
store's mindgit folder while it writes, and a half-made store held so is named as being made."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, Mg

RUNNING = "another `mindgit init` of it is writing it right now"


def test_a_half_made_store_an_init_holds_is_not_called_abandoned(tmp_path: Path, mg: Mg) -> None:
    target = tmp_path / "s"
    (target / "mindgit").mkdir(parents=True)  # what an init has made by its first step
    fd = os.open(target / "mindgit", os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        held = mg("init", str(target), "--name", "b")
    finally:
        os.close(fd)
    assert held.code == 1 and RUNNING in held.err and "remove it" not in held.err, held.err
    left = mg("init", str(target), "--name", "b")  # no init holds it: one was killed
    assert left.code == 1 and "did not finish (was it killed?)" in left.err, left.err


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
