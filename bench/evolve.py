"""Evolution benchmark: `mindgit evolve` against DEAP and against a bare wasm loop.

Run: .venv/bin/python bench/evolve.py [--jobs short,long] [--problems rastrigin,onemax] [--repeat N]

Each job is a whole process, timed from exec to exit, so start-up counts as a user feels it:
  (a) `mindgit evolve`: sandboxed wasm fitness, every generation committed and signed;
  (b) DEAP `eaSimple` with the same operators and a Python fitness, nothing persisted;
  (c) a bare loop scoring a population with the wasm module each generation: the floor.
Problems: Rastrigin (32 floats in [-5.12, 5.12]) and OneMax (256 bools), population 200.
Jobs: short = 50 generations (what users type first), long = 500 (steady-state throughput).

Matching operators: tournament of 3; crossover with probability 0.5 (DEAP: cxpb 0.5 on pairs,
cxUniform indpb 0.5; mindgit: --crossover-rate 0.5, uniform); on average one mutated gene per
child (DEAP: mutpb 0.2 x indpb 5/n; mindgit: --mutation-rate 1/n), Gaussian sigma 1.024 clamped
to the bounds for Rastrigin (mindgit: --mutation-scale 0.1 of the range, reflected), bit flips
for OneMax. Evaluations per second are population x generations / wall time for all three (DEAP
re-evaluates only changed individuals; mindgit scores every individual of every generation).
mindgit's modules are byte-compiled before the jobs run, as an installed package's are (pip
compiles them; DEAP's and every dependency's are): in a checkout with PYTHONDONTWRITEBYTECODE
set, each job would otherwise compile mindgit from source, ~0.25 s of CPU a start.
Every mindgit evolve ends with `git gc --auto` (see docs/store.md), which git runs detached when
the store has more than gc.autoPackLimit packs: the repack is timed after (a), on its own, and
printed with the store's size before and after it.
Peak memory is the largest resident set of the job's processes (wait4 ru_maxrss); CPU is the
user + system time of the job and its children: on a machine busy with other work, the CPU ratio
says more than the wall-time ratio.

With --repeat N each job is measured N times, (a), (b) and (c) in turn each time, and the
medians are printed, with each repetition's own ratios: on a noisy machine one run's ratio
can be off by a fifth either way.

Targets (issue 3): short (a) <= 1.25x DEAP's time; long (a) at least as fast as DEAP (aim 2x);
(a) within 3x of (c). Printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FITNESS = ROOT / "fixtures" / "fitness"
POPULATION = 200
JOBS = {"short": 50, "long": 500}

# Registers the evolve commands if this checkout's CLI does not list them yet, then runs mindgit.
MINDGIT = r"""
import sys
from mindgit.cli import main as m
for name in ("fitness", "evolve", "runs", "lineage", "plot", "demo"):
    m.COMMANDS.setdefault(name, ("evolve", name))
m.main(sys.argv[1:])
"""

DEAP = r"""
import math, random, sys
from deap import algorithms, base, creator, tools

problem, generations, population = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(1)
tb = base.Toolbox()
if problem == "rastrigin":
    n, lo, hi = 32, -5.12, 5.12
    creator.create("Fit", base.Fitness, weights=(-1.0,))
    creator.create("Ind", list, fitness=creator.Fit)
    tb.register("attr", random.uniform, lo, hi)
    def evaluate(ind):
        return (10 * len(ind) + sum(x * x - 10 * math.cos(2 * math.pi * x) for x in ind),)
    tb.register("mutate", tools.mutGaussian, mu=0.0, sigma=0.1 * (hi - lo), indpb=5 / n)
    def clamp(func):
        def wrapper(*args, **kwargs):
            offspring = func(*args, **kwargs)
            for child in offspring:
                for i, x in enumerate(child):
                    child[i] = lo if x < lo else hi if x > hi else x
            return offspring
        return wrapper
    tb.decorate("mutate", clamp)
else:
    n = 256
    creator.create("Fit", base.Fitness, weights=(1.0,))
    creator.create("Ind", list, fitness=creator.Fit)
    tb.register("attr", random.randint, 0, 1)
    def evaluate(ind):
        return (sum(ind),)
    tb.register("mutate", tools.mutFlipBit, indpb=5 / n)
tb.register("individual", tools.initRepeat, creator.Ind, tb.attr, n)
tb.register("population", tools.initRepeat, list, tb.individual)
tb.register("evaluate", evaluate)
tb.register("mate", tools.cxUniform, indpb=0.5)
tb.register("select", tools.selTournament, tournsize=3)
pop = tb.population(n=population)
algorithms.eaSimple(pop, tb, cxpb=0.5, mutpb=0.2, ngen=generations - 1, verbose=False)
"""

FLOOR = r"""
import random, sys
from pathlib import Path
from mindgit.sandbox import FitnessModule

wasm, n, generations, population = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
module = FitnessModule.load(Path(wasm).read_bytes())
rng = random.Random(1)
pop = [[rng.uniform(-5.12, 5.12) for _ in range(n)] for _ in range(population)]
for _ in range(generations):
    module.score_batch(pop, n)
"""


Job = tuple[float, int, float]  # wall seconds, peak RSS in KiB, CPU seconds


def run(argv: list[str], env: dict[str, str] | None = None) -> Job:
    """Wall seconds, peak RSS (KiB) and CPU seconds (user + system, with its children)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"{argv[:4]} failed ({proc.returncode}): {err}")
    return wall, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def prepare_store(problem: str, where: Path) -> Path:
    from mindgit.evolve.fitness import add_fitness
    from mindgit.store.genome import Gene
    from mindgit.store.repository import init_store

    store = init_store(where, "bench")
    if problem == "rastrigin":
        genes = [
            Gene.make(
                f"x{i:02d}",
                "float",
                round(((i * 37 + 11) % 97) / 97 * 10.24 - 5.12, 2),
                min=-5.12,
                max=5.12,
            )
            for i in range(32)
        ]
        add_fitness(store, FITNESS / "rastrigin.wat", "fitness")
    else:
        genes = [Gene.make(f"b{i:03d}", "bool", False) for i in range(256)]
        add_fitness(store, FITNESS / "onemax.wat", "fitness")
    store.set_genes(genes)
    return store.path


def git_config_env(key: str, value: str) -> dict[str, str]:
    """This environment, with one git setting added on git's command-line level."""
    env = dict(os.environ)
    n = int(env.get("GIT_CONFIG_COUNT", "0"))
    env.update({"GIT_CONFIG_COUNT": str(n + 1), f"GIT_CONFIG_KEY_{n}": key})
    env[f"GIT_CONFIG_VALUE_{n}"] = value
    return env


def packed(store: Path) -> tuple[int, int]:
    """Packs in the store, and the bytes its objects take."""
    names = list((store / "objects").rglob("*"))
    count = sum(1 for p in names if p.suffix == ".pack")
    return count, sum(p.stat().st_size for p in names if p.is_file())


@dataclass(frozen=True)
class Collection:
    """The `git gc --auto` that (a) leaves to the background: its time, and (packs, bytes)
    before and after it."""

    wall: float
    cpu: float
    before: tuple[int, int]
    after: tuple[int, int]


def measure(problem: str, generations: int) -> tuple[dict[str, Job], Collection]:
    """The three jobs, and the collection after (a)."""
    n = 32 if problem == "rastrigin" else 256
    with tempfile.TemporaryDirectory(prefix="mindgit-bench-") as tmp:
        store = prepare_store(problem, Path(tmp) / "store")
        # evolve ends with `git gc --auto`, which git runs detached: the command returns before
        # the repack. It is held back here (gc.auto=0, the check still runs) and then timed on
        # its own, so that it neither counts in (a)'s wall time nor runs during (b) and (c).
        a = run(
            [
                sys.executable, "-c", MINDGIT, "--store", str(store), "evolve",
                "--fitness", "fitness", "--population", str(POPULATION),
                "--generations", str(generations), "--seed", "1", "--tournament", "3",
                "--crossover-rate", "0.5", "--mutation-rate", repr(1 / n),
                "--mutation-scale", "0.1", "-q",
            ],
            env=git_config_env("gc.auto", "0"),
        )  # fmt: skip
        before = packed(store)
        gc_argv = ["git", f"--git-dir={store}", "gc", "--auto", "--quiet"]
        gc_wall, _, gc_cpu = run(gc_argv, env=git_config_env("gc.autoDetach", "false"))
        gc = Collection(gc_wall, gc_cpu, before, packed(store))
    b = run([sys.executable, "-c", DEAP, problem, str(generations), str(POPULATION)])
    wat = FITNESS / ("rastrigin.wat" if problem == "rastrigin" else "onemax.wat")
    c = run([sys.executable, "-c", FLOOR, str(wat), str(n), str(generations), str(POPULATION)])
    return {"a": a, "b": b, "c": c}, gc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="short,long", help="short,long")
    parser.add_argument("--problems", default="rastrigin,onemax", help="rastrigin,onemax")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure each job this many times, (a), (b), (c) in turn; print medians",
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    names = {"a": "(a) mindgit evolve", "b": "(b) DEAP eaSimple", "c": "(c) bare wasm loop"}
    cores = os.cpu_count() or 1
    subprocess.run([sys.executable, "-m", "compileall", "-q", "mindgit"], cwd=ROOT, check=True)
    print(f"population {POPULATION}; each job a whole process; {cores} cores")
    for problem in args.problems.split(","):
        for job in args.jobs.split(","):
            generations = JOBS[job]
            load = os.getloadavg()[0]
            runs = [measure(problem, generations) for _ in range(args.repeat)]
            evals = POPULATION * generations
            how = f", median of {args.repeat}" if args.repeat > 1 else ""
            print(f"\n{problem}, {job} job ({generations} generations{how})")
            if load > 0.5 * cores:
                # mindgit needs both cores (breeding and the writer process): wall times taken
                # while other work runs are not comparable; the CPU column still is, roughly.
                print(f"  ! load average {load:.1f} on {cores} cores: the machine is busy")
            print(f"  {'':22}{'wall s':>9}{'evals/s':>11}{'peak MiB':>10}{'CPU s':>8}")
            medians: dict[str, Job] = {}
            for key in "abc":
                jobs = [results[key] for results, _ in runs]
                wall, rss, cpu = (statistics.median(j[i] for j in jobs) for i in range(3))
                medians[key] = (wall, int(rss), cpu)
                print(
                    f"  {names[key]:22}{wall:9.2f}{evals / wall:11,.0f}{rss / 1024:10.1f}{cpu:8.2f}"
                )
            ta, tb, tc = (medians[k][0] for k in "abc")
            ca, cb = medians["a"][2], medians["b"][2]
            print(
                f"  time (b)/(a) = {tb / ta:.2f}   (c)/(a) = {tc / ta:.2f}   CPU (b)/(a) = {cb / ca:.2f}"
            )
            if args.repeat > 1:
                # Each repetition's own ratios: the spread says how far one run can be trusted.
                each = [(r["b"][0] / r["a"][0], r["a"][0] / r["c"][0]) for r, _ in runs]
                print(
                    "  each run: (b)/(a) "
                    + " ".join(f"{b:.2f}" for b, _ in each)
                    + ";  (a)/(c) "
                    + " ".join(f"{a:.2f}x" for _, a in each)
                )
            gc = runs[0][1]
            mib = 1 << 20
            (p0, b0), (p1, b1) = gc.before, gc.after
            if gc.after == gc.before:
                print(f"  then git gc --auto: nothing to do ({p0} packs, {b0 / mib:.1f} MiB)")
            else:
                print(
                    f"  then git gc --auto, in the background: {gc.wall:.2f} s wall, "
                    f"{gc.cpu:.2f} s CPU; {p0} packs, {b0 / mib:.1f} MiB -> {p1}, {b1 / mib:.1f} MiB"
                )


if __name__ == "__main__":
    main()
