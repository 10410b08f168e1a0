"""Benchmark: read commands on stores that grew, each at n and 4n, and the ratio.

Run: .venv/bin/python bench/scale.py [--n N] [--only WORD]...

A command whose cost follows the work shows a ratio near 4 (or near 1 when it reads only the
tip); one near 16 is quadratic. Measured in-process (no interpreter start-up), best of three.
Asserts nothing. At --n 500, before the fixes / after (s at n, s at 4n, ratio): show 0.38 / 3.73
(9.7) then 0.10 / 0.32 (3.1); diff of thoughts 0.24 / 3.58 (15.1) then 0.04 / 0.10 (2.2); diff of
genes 0.04 / 0.26 (6.7) then 0.03 / 0.05 (2.0); experiments of 20 forks 0.91 / 3.87 then
0.06 / 0.19. verify and log of 300 thinks on n thoughts, at n 1000 and 4000, CPU seconds on a
busy 2-core machine (wall time there was too noisy to compare): verify 2.50 / 7.80 then
1.09 / 3.98, log 2.15 / 7.04 then 1.25 / 3.82. What is left growing with n is libgit2 reading
(inflating, hashing) each commit's manifest and thoughts tree, ~9 ms a commit at 4000 thoughts,
and checking every thought of the first state once. The cliffs these rows watch
(tests/store/test_scale_*.py and test_verify_incremental.py count them):

- show, diff of many thoughts: the thoughts tree was looked up (and parsed) once per thought;
- log -n 1 and experiments: a topological walk of the whole history per experiment;
- experiments of forks: each experiment's own verifier checked every thought of the state;
- diff of big genomes: a gene looked up by a scan of the genome;
- verify and log: each commit's thoughts tree parsed and all n entries looked at.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mindgit.cli.main import run  # noqa: E402
from mindgit.store.genome import Gene  # noqa: E402
from mindgit.store.repository import Store, init_store  # noqa: E402
from mindgit.store.state import make_thought  # noqa: E402


def thoughts_store(path: Path, n: int) -> Store:
    """One commit adding ``n`` thoughts, then one more thought (for a diff to show them)."""
    store = init_store(path, "bench")
    blocks = [make_thought(f"thought {i}", ["bench"]) for i in range(n)]
    store.update(
        lambda s: (
            s.with_thoughts(s.thoughts | {b.cid for b in blocks}),
            {b.cid: b.data for b in blocks},
        ),
        "bulk",
    )
    store.think("one more")
    return store


def thinks_store(path: Path, n: int, thinks: int = 300) -> Store:
    """``n`` thoughts, then ``thinks`` commits adding one thought each."""
    store = thoughts_store(path, n)
    for i in range(thinks):
        store.think(f"later {i}")
    return store


def history_store(path: Path, n: int, experiments: int) -> Store:
    """``n`` commits on main, then ``experiments`` experiments forked from its head."""
    store = init_store(path, "bench")
    for i in range(n):
        store.set_genes([Gene.make("g", "float", float(i), min=-1e9, max=1e9)])
    for i in range(experiments):
        store.fork(f"e{i}", switch=False)
    return store


def forks_store(path: Path, n: int, forks: int) -> Store:
    store = thoughts_store(path, n)
    for i in range(forks):
        store.fork(f"e{i}", switch=False)
    return store


def genome_store(path: Path, n: int) -> Store:
    store = init_store(path, "bench")
    store.set_genes([Gene.make(f"g{i:05d}", "float", 0.5, min=-5, max=5) for i in range(n)])
    store.set_genes([Gene.make("g00001", "float", 0.7, min=-5, max=5)])
    return store


def best(store: Store, *args: str) -> float:
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        # verify reports its count on stderr: kept out of the table.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = run(["--store", str(store.path), *args])
        times.append(time.perf_counter() - t0)
        assert code == 0, args
    return min(times)


ONLY: list[str] = []


def row(label: str, n: int, build: Callable[[Path, int], Store], *args: str) -> None:
    if ONLY and not any(word in label for word in ONLY):
        return
    with tempfile.TemporaryDirectory() as tmp:
        small = best(build(Path(tmp) / "small", n), *args)
        big = best(build(Path(tmp) / "big", 4 * n), *args)
    print(f"{label:38} n={n:<6} {small:8.3f}s  4n {big:8.3f}s  ratio {big / small:5.1f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000, help="thoughts, commits and genes at n")
    ap.add_argument(
        "--only", action="append", default=[], help="run the rows whose label holds this"
    )
    args = ap.parse_args()
    ONLY.extend(args.only)
    n = args.n
    row("show (n thoughts)", n, thoughts_store, "show", "--json")
    row("diff (n thoughts added)", n, thoughts_store, "diff", "main~2", "main")
    row("log -n 1 (n commits)", n, lambda p, k: history_store(p, k, 0), "log", "-n", "1")
    row(
        "experiments (50, n commits each)",
        n,
        lambda p, k: history_store(p, k, 50),
        "experiments",
        "--json",
    )
    row(
        "experiments (20 forks of n thoughts)",
        n,
        lambda p, k: forks_store(p, k, 20),
        "experiments",
        "--json",
    )
    row("diff (n genes)", n, genome_store, "diff", "main~1", "main")
    row("verify (300 thinks on n thoughts)", n, thinks_store, "verify")
    row("log (300 thinks on n thoughts)", n, thinks_store, "log")


if __name__ == "__main__":
    main()
