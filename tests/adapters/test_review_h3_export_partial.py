"""`mindgit export --car FILE` writes FILE under a temporary name, `.FILE.<12 hex>.partial`.
Killed midway by a SIGTERM or SIGHUP (`timeout`, a CI job cancelled, a closed terminal), which
end the process without unwinding, it left that partial CAR beside FILE for good. The partial is
now removed first, and the process still ends by its signal; Ctrl-C unwinds as before. A
`kill -9` cannot be caught: the next export to the same FILE removes the partials that killed
exports left (stale, this user's, not held by a running export), and nothing else."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mindgit.cli.commands.car import STALE_PARTIAL_SECONDS, remove_stale_partials
from mindgit.store.repository import Store
from tests.adapters.test_car_builders import export_bytes, rich_store
from tests.conftest import ROOT, Mg

# Runs `mindgit export ... --car FILE`, sending itself signal argv[1] at the moment the whole
# CAR is in its partial file, about to be renamed into place (os.replace, the stdlib's).
SIGNALLED = r"""
import os, signal, sys
from mindgit.cli.main import run
signum = int(sys.argv[1])
real_replace = os.replace
def replace(src, dst, *a, **k):
    assert os.path.basename(src).endswith(".partial"), src
    print("partial:" + os.path.basename(src), file=sys.stderr, flush=True)
    os.kill(os.getpid(), signum)
    return real_replace(src, dst, *a, **k)
os.replace = replace
sys.exit(run(sys.argv[2:]))
"""


@pytest.fixture
def alpha(store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    rich_store(store)
    monkeypatch.setenv("MINDGIT_STORE", str(store.path))
    return store


def _export_signalled(store: Store, car: Path, signum: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SIGNALLED, str(int(signum)), "--store", str(store.path),
         "export", "dreamer", "--car", str(car)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_an_export_ended_by_a_signal_leaves_no_partial(
    alpha: Store, tmp_path: Path, signum: signal.Signals
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    r = _export_signalled(alpha, out / "x.car", signum)
    assert "partial:.x.car." in r.stderr, r.stderr
    assert r.returncode == -signum, r.stderr  # still ended by the signal, as before
    assert sorted(p.name for p in out.iterdir()) == []


def test_an_export_interrupted_leaves_no_partial(alpha: Store, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    r = _export_signalled(alpha, out / "x.car", signal.SIGINT)
    assert "partial:.x.car." in r.stderr, r.stderr
    assert r.returncode == 130, r.stderr
    assert sorted(p.name for p in out.iterdir()) == []


def test_an_ignored_sighup_stays_ignored(alpha: Store, tmp_path: Path) -> None:
    # Under nohup the export runs to the end, as it did.
    out = tmp_path / "out"
    out.mkdir()
    r = subprocess.run(
        [sys.executable, "-c", "import signal; signal.signal(signal.SIGHUP, signal.SIG_IGN);"
         + SIGNALLED, str(int(signal.SIGHUP)), "--store", str(alpha.path),
         "export", "dreamer", "--car", str(out / "x.car")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["x.car"]
    assert (out / "x.car").read_bytes() == export_bytes(alpha, "dreamer")


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)


def test_a_killed_exports_partial_is_removed_by_the_next_export(
    alpha: Store, mg: Mg, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    car = out / "x.car"
    r = _export_signalled(alpha, car, signal.SIGKILL)
    assert r.returncode == -signal.SIGKILL, r.stderr
    (left,) = out.iterdir()
    assert left.name.startswith(".x.car.") and left.name.endswith(".partial")
    # A fresh one may be an export still running: kept.
    r2 = mg("export", "dreamer", "--car", str(car))
    assert r2.code == 0, r2.err
    assert left.exists()
    _age(left, STALE_PARTIAL_SECONDS + 60)
    r3 = mg("export", "dreamer", "--car", str(car))
    assert r3.code == 0, r3.err
    assert sorted(p.name for p in out.iterdir()) == ["x.car"]
    assert car.read_bytes() == export_bytes(alpha, "dreamer")


def test_the_sweep_removes_only_its_own_stale_unheld_partials(tmp_path: Path) -> None:
    car = tmp_path / "x.car"
    stale = tmp_path / ".x.car.0123456789ab.partial"
    kept = {
        "fresh": tmp_path / ".x.car.aaaaaaaaaaaa.partial",
        "held": tmp_path / ".x.car.bbbbbbbbbbbb.partial",
        "other file's": tmp_path / ".y.car.cccccccccccc.partial",
        "mkstemp-style": tmp_path / ".x.car.abcd_123",
        "other suffix": tmp_path / ".x.car.dddddddddddd.partial~",
        "upper hex": tmp_path / ".x.car.EEEEEEEEEEEE.partial",
        "a directory": tmp_path / ".x.car.ffffffffffff.partial",
        "a link": tmp_path / ".x.car.111111111111.partial",
    }
    for path in [stale, *kept.values()]:
        if path == kept["a directory"]:
            path.mkdir()
        elif path == kept["a link"]:
            path.symlink_to(stale)
        else:
            path.write_bytes(b"part of a CAR")
    for path in [stale, *kept.values()]:
        if path != kept["fresh"]:
            _age(path, STALE_PARTIAL_SECONDS + 60)
    with open(kept["held"], "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        assert remove_stale_partials(car) == [stale]
    assert not stale.exists()
    for what, path in kept.items():
        assert os.path.lexists(path), what


def test_a_long_name_still_exports_and_its_partial_fits(
    alpha: Store, mg: Mg, tmp_path: Path
) -> None:
    car = tmp_path / ("n" * 250 + ".car")  # 254 bytes: the partial's name is cut to fit
    r = mg("export", "dreamer", "--car", str(car))
    assert r.code == 0, r.err
    assert car.read_bytes() == export_bytes(alpha, "dreamer")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []
