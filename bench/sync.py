"""Sync benchmark: a verified pull of a 50-generation run vs a raw `git fetch` of the same refs.

Run: .venv/bin/python bench/sync.py [--generations N] [--population N] [--repeat N]

One node evolves a run (rastrigin, 8 genes); for each repetition a fresh node pulls it with
`mindgit pull` (fetch into quarantine with git's object checks, the gate's verification of
every commit, ref updates) and another fresh repository fetches the same refs with plain
`git fetch`. Prints the median times, their ratio (target <= 1.5x), the gate's verification
throughput on the same history, and its signature and content checks in one process against
shared with a forked worker (which a pull does only when a core is idle): wall time, and the
CPU time of the busier process, which is what the wall time becomes on an otherwise idle
machine (the fitness module's sandbox load runs on a thread of its own, so the wall time can
be the lower). Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pygit2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mindgit.evolve.fitness import add_fitness  # noqa: E402
from mindgit.evolve.run import start_run  # noqa: E402
from mindgit.store.generation import RunParams  # noqa: E402
from mindgit.store.genome import Gene  # noqa: E402
from mindgit.store.objects import as_commit  # noqa: E402
from mindgit.store.repository import Store, init_store  # noqa: E402
from mindgit.store.verify import walk  # noqa: E402
from mindgit.sync.gate import check_commits, verify_new_commits  # noqa: E402
from mindgit.sync.peers import add_peer  # noqa: E402
from mindgit.sync.pull import pull  # noqa: E402
from mindgit.sync.refspace import SYNCED_PREFIXES  # noqa: E402

RASTRIGIN = ROOT / "fixtures" / "fitness" / "rastrigin.wat"


def make_source(tmp: Path, generations: int, population: int) -> tuple[Store, str]:
    source = init_store(tmp / "source", "source")
    source.fork("work")
    source.set_genes(
        [Gene.make(f"x{i}", "float", 1.0 + i / 4, min=-5.12, max=5.12) for i in range(8)]
    )
    add_fitness(source, RASTRIGIN)
    result = start_run(
        source, "rastrigin", RunParams(population=population, generations=generations, seed=7)
    )
    return source, result.run_id


def verified_pull(tmp: Path, source: Store, n: int) -> float:
    node = init_store(tmp / f"node{n}", f"node{n}")
    node.trust.add(source.public_key, "source")
    add_peer(node, "source", f"file://{source.path}")
    t0 = time.perf_counter()
    pull(node, "source")
    return time.perf_counter() - t0


def raw_fetch(tmp: Path, source: Store, n: int) -> float:
    repo = pygit2.init_repository(str(tmp / f"raw{n}"), bare=True)
    specs = [f"+{p}*:{p}*" for p in SYNCED_PREFIXES]
    t0 = time.perf_counter()
    subprocess.run(
        [
            "git",
            f"--git-dir={repo.path}",
            "fetch",
            "--no-tags",
            "--quiet",
            f"file://{source.path}",
            *specs,
        ],
        check=True,
    )
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--generations", type=int, default=50)
    ap.add_argument("--population", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    os.environ.setdefault("GIT_CONFIG_NOSYSTEM", "1")
    os.environ.setdefault("GIT_CONFIG_GLOBAL", os.devnull)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        t0 = time.perf_counter()
        source, run_id = make_source(tmp, args.generations, args.population)
        print(
            f"source: run {run_id}, {args.generations} generations x {args.population} states, "
            f"made in {time.perf_counter() - t0:.2f}s"
        )
        objects = sum(1 for _ in source.repo.odb)
        pulls, fetches = [], []
        for n in range(args.repeat):
            fetches.append(raw_fetch(tmp, source, n))
            pulls.append(verified_pull(tmp, source, n))
        p, f = statistics.median(pulls), statistics.median(fetches)
        print(f"raw git fetch:        {f * 1000:8.1f} ms (median of {args.repeat})")
        print(f"verified mindgit pull:{p * 1000:8.1f} ms (median of {args.repeat})")
        print(f"ratio pull / fetch:   {p / f:8.2f}x  (target <= 1.5x)")

        tips = [
            str(source.repo.references[r].resolve().target)
            for r in source.repo.references
            if r.startswith(SYNCED_PREFIXES)
        ]
        walker = source.repo.walk(None)
        for tip in tips:
            walker.push(pygit2.Oid(hex=tip))
        commits = sum(1 for _ in walker)
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            problems = check_commits(source.repo, source.trust, tips)
            times.append(time.perf_counter() - t0)
            assert not problems, problems[:3]
        v = statistics.median(times)
        print(
            f"gate verification:    {v * 1000:8.1f} ms for {commits} commits, {objects} objects "
            f"({commits / v:,.0f} commits/s, {objects / v:,.0f} objects/s)"
        )

        history = list(walk(source.repo, tips))
        states = state_count(source.repo, history)
        for workers in (1, 2):
            walls, busiest = [], []
            for _ in range(args.repeat):
                wall, cpu = checks_once(source, history, workers)
                walls.append(wall)
                busiest.append(cpu)
            w, c = statistics.median(walls), statistics.median(busiest)
            how = "one process " if workers == 1 else "with a worker"
            print(
                f"checks, {how}: {w * 1000:8.1f} ms wall, {c * 1000:8.1f} ms CPU of the busier "
                f"({c / states * 1e6:.0f} us per state, {states:,} states)"
            )


def state_count(repo: pygit2.Repository, commits: list[str]) -> int:
    """The distinct state manifests the generations of ``commits`` hold."""
    seen: set[pygit2.Oid] = set()
    for oid in commits:
        commit = as_commit(repo[oid])
        assert commit is not None
        if "states" in commit.tree:
            states = repo[commit.tree["states"].id]
            assert isinstance(states, pygit2.Tree)
            seen.update(e.id for e in states)
    return len(seen)


def checks_once(source: Store, history: list[str], workers: int) -> tuple[float, float]:
    """One run of the gate's signature and content checks: wall time, and the CPU time of the
    busier of this process and the worker."""

    def cpu(who: int) -> float:
        r = resource.getrusage(who)
        return r.ru_utime + r.ru_stime

    me, kids = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    result = verify_new_commits(source.repo, source.trust, history, workers=workers)
    wall = time.perf_counter() - t0
    assert not result.problems and result.split == (workers == 2), result
    return wall, max(cpu(resource.RUSAGE_SELF) - me, cpu(resource.RUSAGE_CHILDREN) - kids)


if __name__ == "__main__":
    main()
