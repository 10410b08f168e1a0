"""A process killed while it wrote a compiled module to the cache left its `.tmp-*.cwasm` file
there for good (each as large as the compiled code). The next write to that cache directory
removes such files once they are stale, and nothing else."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from mindgit.sandbox import FitnessModule
from mindgit.sandbox.engine import config_key
from tests.sandbox.helpers import DEFAULT_LIMITS, FITNESS

RASTRIGIN = (FITNESS / "rastrigin.wat").read_bytes()
ONEMAX = (FITNESS / "onemax.wat").read_bytes()
OLD = time.time() - 24 * 3600  # a day: stale by any measure


def leftover(directory: Path, *, old: bool = True) -> Path:
    """A temporary file as store() makes it, as a kill -9 mid-write leaves it."""
    fd, name = tempfile.mkstemp(prefix=".tmp-", suffix=".cwasm", dir=directory)
    os.write(fd, b"mindgit-cwasm 1\n half written")
    os.close(fd)
    if old:
        os.utime(name, (OLD, OLD))
    return Path(name)


def test_the_next_write_sweeps_stale_leftovers_only(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    FitnessModule.load(RASTRIGIN, cache_dir=cache_dir)
    directory = cache_dir / config_key(DEFAULT_LIMITS.stack_bytes)
    stale = [leftover(directory), leftover(directory)]
    fresh = leftover(directory, old=False)  # perhaps another process writing right now
    others = []
    for name in (".tmp-abc.cwasm", "x.tmp-abcdefgh.cwasm", ".tmp-abcdefgh.cwasm.keep", "notes"):
        (directory / name).write_bytes(b"mine")
        os.utime(directory / name, (OLD, OLD))
        others.append(directory / name)
    os.mkdir(directory / ".tmp-dirdirdi.cwasm")  # the pattern, but a directory
    os.utime(directory / ".tmp-dirdirdi.cwasm", (OLD, OLD))
    target = tmp_path / "elsewhere"
    target.write_bytes(b"not the cache's")
    link = directory / ".tmp-linklink.cwasm"
    link.symlink_to(target)
    os.utime(link, (OLD, OLD), follow_symlinks=False)
    cached = {p for p in directory.glob("*.cwasm") if not p.name.startswith(".")}

    FitnessModule.load(ONEMAX, cache_dir=cache_dir)  # a miss: compiled and written

    assert not any(p.exists() for p in stale)
    assert fresh.exists() and all(p.read_bytes() == b"mine" for p in others)
    assert (directory / ".tmp-dirdirdi.cwasm").is_dir()
    assert link.is_symlink() and target.read_bytes() == b"not the cache's"
    assert cached <= set(directory.glob("*.cwasm"))
    FitnessModule.load(RASTRIGIN, cache_dir=cache_dir)  # still read from the cache


def test_a_hit_writes_and_sweeps_nothing(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    FitnessModule.load(RASTRIGIN, cache_dir=cache_dir)
    stale = leftover(cache_dir / config_key(DEFAULT_LIMITS.stack_bytes))
    FitnessModule.load(RASTRIGIN, cache_dir=cache_dir)
    assert stale.exists()
