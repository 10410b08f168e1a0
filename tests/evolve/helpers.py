"""Builders for evolve tests: stores with genomes, shipped fitness modules, small runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from mindgit.errors import MindgitError
from mindgit.store.genome import Gene
from mindgit.store.repository import Store, init_store
from mindgit.store.state import State, parse_manifest

FITNESS = Path(__file__).resolve().parent.parent.parent / "fixtures" / "fitness"
HOSTILE = FITNESS / "hostile"
RASTRIGIN = FITNESS / "rastrigin.wat"
ONEMAX = FITNESS / "onemax.wat"


def float_genes(n: int, lo: float = -5.12, hi: float = 5.12) -> list[Gene]:
    """``n`` float genes x00.. with values spread over [lo, hi]."""
    return [
        Gene.make(
            f"x{i:02d}",
            "float",
            round(lo + (hi - lo) * ((i * 37 + 11) % 97) / 97, 2),
            min=lo,
            max=hi,
        )
        for i in range(n)
    ]


def new_store(
    path: Path, genes: Iterable[Gene], *, name: str = "alpha", thought: str | None = "hello"
) -> Store:
    """A store whose current experiment holds ``genes`` (and one thought)."""
    store = init_store(path, name)
    if thought is not None:
        store.think(thought, ["test"])
    store.set_genes(genes)
    return store


def strictly_valid(raw: bytes, state: State) -> bool:
    """The exact path's verdict on manifest bytes that claim ``state``'s thoughts: what any
    faster manifest check must agree with."""
    try:
        parsed = parse_manifest(raw)
    except MindgitError:
        return False
    return parsed.manifest().data == raw and parsed.thoughts == state.thoughts


def stop_after(n: int) -> Callable[[], bool]:
    """A should_stop that lets ``n`` more generations be bred."""
    calls = 0

    def check() -> bool:
        nonlocal calls
        calls += 1
        return calls > n

    return check


@dataclass(frozen=True)
class Stopped:
    """An evolve run stopped from outside: its run id, exit code and output."""

    run: str
    code: int
    out: bytes
    err: bytes


def evolve_whose_run_ref_git_deletes(
    store: Store, *args: str, env: dict[str, str] | None = None
) -> Stopped:
    """Start a long `mindgit evolve` (plus ``args``) and, once its run ref exists, delete that
    ref with git, as a user or a script would, under git's own lock (waiting out the writer's)."""
    runs = Path(store.repo.path) / "refs" / "runs"
    evolve = subprocess.Popen(
        [
            *(sys.executable, "-m", "mindgit", "--store", str(store.path), "evolve", *args),
            *("--fitness", str(RASTRIGIN), "--generations", "100000", "--population", "16"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    try:
        deadline = time.monotonic() + 60
        while not (runs.is_dir() and [p for p in runs.iterdir() if ".lock" not in p.name]):
            assert evolve.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        (ref,) = [p for p in runs.iterdir() if ".lock" not in p.name]
        subprocess.run(
            [
                *("git", "--git-dir", str(store.repo.path)),
                *(
                    "-c",
                    "core.filesRefLockTimeout=10000",
                    "update-ref",
                    "-d",
                    f"refs/runs/{ref.name}",
                ),
            ],
            check=True,
            capture_output=True,
        )
        out, err = evolve.communicate(timeout=60)
    finally:
        if evolve.poll() is None:
            evolve.kill()
            evolve.wait()
    return Stopped(ref.name, evolve.returncode, out, err)
