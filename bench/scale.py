"""Benchmark: commands on stores that grew, each at n and 4n: time, peak memory, their ratio.

Run: .venv/bin/python bench/scale.py [--n N] [--only WORD]... [--scale F]

Each command runs in a fresh interpreter with mindgit imported before the clock starts (no
start-up counted): wall and CPU seconds (best of two; once for a command that changes the
store), and the process's peak resident set (VmHWM, MB) with what the command added to the
imported interpreter's (+MB). On a busy 2-core machine compare the CPU ratio: a command whose
cost follows the work shows a ratio near 4 (near 1 when it reads only a tip), one near 16 is
quadratic; a small command's ~0.2 s of lazy imports flattens its ratio. Asserts nothing. The
rows cover what users run often on big stores: 50,000 thoughts, thousands of experiments,
runs of 2,000 generations, many runs, modules, peers and key rotations, a 2,000-gene genome,
a 10 MB agent file, a store after `git gc` (all at 4n with the defaults; --n sets the first
rows' n, --scale multiplies every row's; the whole table takes ~15 min at --n 500).

Figures before and after fixes (CPU s at n / 4n, ratio):
- peers, 50 / 200 peers with 5 seen refs each: 0.52 / 4.27 (8.2), then 0.25 / 0.29 (1.2); each
  peer's marks were found by a listing of every ref in the store (tests/sync/test_scale_peers.py);
- experiments, 4,000 experiments at one commit: 1.75 then 0.61 at 4n; the head's signature was
  checked once per experiment (tests/cli/test_scale_listings.py);
- verify and log of 200 thinks on 8,000 thoughts: peak 105 MB then 59 MB, CPU unchanged; the
  verifier kept every clean directory's link set, memory growing with commits x thoughts
  (tests/store/test_verify_clean_memo.py).
- show and think on 50,000 thoughts (4n of their rows; median of three runs, wall and CPU s, on
  a busy 2-core machine): show 13.9 / 9.83 then 5.43 / 5.27, peak 116 then 137 MB; think
  2.87 / 1.78 then 0.99 / 0.71, peak 83 then 72 MB. show checked every thought of the head, then
  read and decoded each again to print it: the check now hands over those it found good (held
  as shown beside the check's caches: the 21 MB) (tests/cli/test_thoughts_s18.py); think parsed
  every link of the manifest into a CID, encoded them again and looked each up in the thoughts
  tree: it now writes from the manifest's link texts and the tree's raw entries
  (layout.add_thought, tests/store/test_thoughts_s18.py).
What still grows faster than n: log and verify of a history whose every commit adds a thought
(log after git gc, 300 / 1,200 commits: 0.40 / 1.62, 4.1; verify --all 0.34 / 1.70, 5.1): each
commit's manifest lists all its thoughts, so the bytes read, hashed and parsed grow with
commits x thoughts, by design of the format. verify of 50,000 thoughts is linear but slow
(5.8 s at 4n). log of commits signed by many retired keys walks the whole history once per key
(store/retired.py: RetiredBounds._history).

Earlier fixes, in-process, best of three, at --n 500 (s at n, s at 4n, ratio): show 0.38 / 3.73
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
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mindgit.cli.main import run  # noqa: E402
from mindgit.evolve.fitness import add_fitness, add_fitness_bytes  # noqa: E402
from mindgit.evolve.run import start_run  # noqa: E402
from mindgit.evolve.runs import list_runs  # noqa: E402
from mindgit.store.generation import RunParams  # noqa: E402
from mindgit.store.genome import Gene  # noqa: E402
from mindgit.store.repository import Store, init_store  # noqa: E402
from mindgit.store.rotations import rotate_key  # noqa: E402
from mindgit.store.state import make_thought  # noqa: E402
from mindgit.sync.peers import add_peer  # noqa: E402
from mindgit.sync.pull import pull  # noqa: E402


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


RASTRIGIN = ROOT / "fixtures" / "fitness" / "rastrigin.wat"
AGENT_FILE = ROOT / "fixtures" / "agent-files" / "memgpt_agent_with_convo.af"


def experiments_store(path: Path, n: int) -> Store:
    """``n`` experiments at one commit (refs written directly: ``fork`` would take 3 ms each)."""
    store = init_store(path, "bench")
    store.think("a")
    head = store.head()
    for i in range(n):
        store.repo.references.create(f"refs/heads/e{i:05d}", head)
    return store


def _rastrigin_store(path: Path) -> Store:
    store = init_store(path, "bench")
    store.set_genes([Gene.make(f"x{i}", "float", 1.0, min=-5.12, max=5.12) for i in range(4)])
    add_fitness(store, RASTRIGIN)
    return store


def runs_store(path: Path, n: int) -> Store:
    """``n`` runs of one generation of 2."""
    store = _rastrigin_store(path)
    for i in range(n):
        start_run(store, "rastrigin", RunParams(population=2, generations=1, seed=i))
    return store


def generations_store(path: Path, n: int, *, stop: bool = False) -> Store:
    """One run of ``n`` generations of 4; with ``stop``, one stopped there, 3 short of its end
    (for ``evolve --resume``)."""
    store = _rastrigin_store(path)
    done = [0]

    def should_stop() -> bool:
        done[0] += 1
        return stop and done[0] > n

    params = RunParams(population=4, generations=n + 3 if stop else n, seed=1)
    start_run(store, "rastrigin", params, should_stop=should_stop)
    return store


def first_run(store: Store) -> str:
    return list_runs(store)[0].run_id


def modules_store(path: Path, n: int) -> Store:
    """``n`` fitness modules (rastrigin, each with another heap start: another CID)."""
    store = init_store(path, "bench")
    wat = RASTRIGIN.read_text()
    for i in range(n):
        text = wat.replace("(i32.const 1024)", f"(i32.const {1024 + 8 * i})", 1)
        add_fitness_bytes(store, text.encode(), f"m{i:05d}")
    return store


def peers_store(path: Path, n: int) -> Store:
    """``n`` peers, each with 5 seen refs (refs/peers/<peer>/heads/*)."""
    store = init_store(path, "bench")
    store.think("a")
    head = store.head()
    for i in range(n):
        add_peer(store, f"p{i:05d}", f"/nowhere/{i}")
        for j in range(5):
            store.repo.references.create(f"refs/peers/p{i:05d}/heads/e{j}", head)
    return store


def synced_store(path: Path, n: int) -> Store:
    """A store that pulled ``n`` experiments and n/10 runs from its one peer: nothing new
    either way."""
    source = _rastrigin_store(path.with_name(path.name + "-peer"))
    for i in range(max(n // 10, 1)):
        start_run(source, "rastrigin", RunParams(population=2, generations=1, seed=i))
    head = source.head()
    for i in range(n):
        source.repo.references.create(f"refs/heads/e{i:05d}", head)
    store = init_store(path, "bench")
    store.trust.add(source.public_key, "peer")
    add_peer(store, "peer", str(source.path), node="peer")
    pull(store, "peer")
    store.repo.references["refs/heads/main"].set_target(head)
    return store


def rotations_store(path: Path, n: int) -> Store:
    """``n`` key rotations, a thought signed by each key."""
    store = init_store(path, "bench")
    for i in range(n):
        store.think(f"t{i}")
        rotate_key(store)
    store.think("last")
    return store


def plain_genome_store(path: Path, n: int) -> Store:
    store = init_store(path, "bench")
    store.set_genes([Gene.make(f"g{i:05d}", "float", 0.5, min=-5, max=5) for i in range(n)])
    return store


def gc_store(path: Path, n: int) -> Store:
    """``n`` commits of one thought each, after `git gc`."""
    store = init_store(path, "bench")
    for i in range(n):
        store.think(f"t{i}")
    subprocess.run(["git", "--git-dir", str(store.path), "gc", "-q"], check=True)
    return store


def agent_file(path: Path, megabytes: float) -> Path:
    """The fixture's agent with user messages added up to ``megabytes``."""
    doc = json.loads(AGENT_FILE.read_text())
    agent = doc["agents"][0]
    messages = list(agent["messages"])
    size = 0
    while size < megabytes * 1_000_000:
        text = f"message {len(messages)}: " + "lorem ipsum dolor sit amet " * 36
        messages.append(
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "text", "text": text}],
                "id": f"message-{len(messages)}",
            }
        )
        size += len(text) + 100
    agent["messages"] = messages
    agent["in_context_message_ids"] = [m["id"] for m in messages]
    path.write_text(json.dumps(doc))
    return path


def agent_store(path: Path, megabytes: float) -> Store:
    """A store that imported an agent file of ``megabytes`` as experiment 'agent' (current)."""
    store = init_store(path, "bench")
    af = agent_file(path.with_suffix(".af"), megabytes)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert run(["--store", str(path), "import-af", str(af), "--as", "agent"]) == 0
    store.switch("agent")
    return store


def empty_with_agent_file(path: Path, megabytes: float) -> Store:
    """An empty store, and beside it (``<path>.af``) an agent file of ``megabytes``."""
    agent_file(path.with_suffix(".af"), megabytes)
    return init_store(path, "bench")


# One command in a fresh interpreter, mindgit imported before the clock starts: prints the
# command's wall and CPU seconds, and the process's peak resident set (kB) before and after it.
# The peak is VmHWM, this process's own: getrusage's ru_maxrss survives exec, and a child
# spawned by this (big) process starts with this process's peak as its own.
CHILD = r"""
import contextlib, os, sys, time
sys.path.insert(0, sys.argv[1])
from mindgit.cli.main import run

def peak():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))

sink = open(os.devnull, "w")
before = peak()
t0, c0 = time.perf_counter(), time.process_time()
with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
    code = run(sys.argv[2:])
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
print(code, wall, cpu, before, peak())
"""

Arg = str | Callable[[Store], str]


@dataclass(frozen=True)
class Measure:
    wall: float
    cpu: float
    peak_mb: float  # the process's peak resident set
    grew_mb: float  # how much of it the command added to the imported interpreter's


def measure(store: Store, args: Sequence[Arg], repeat: int) -> Measure:
    """Best wall and CPU time of ``repeat`` runs, and the largest peak (a command that changes
    the store, think or fork, is run once)."""
    argv = [a(store) if callable(a) else a for a in args]
    out = []
    for _ in range(repeat):
        line = subprocess.run(
            [sys.executable, "-c", CHILD, str(ROOT), "--store", str(store.path), *argv],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        code, wall, cpu, before, peak = int(line[0]), *map(float, line[1:])
        assert code == 0, (argv, code)
        out.append(Measure(wall, cpu, peak / 1024, (peak - before) / 1024))
    return Measure(
        min(m.wall for m in out),
        min(m.cpu for m in out),
        max(m.peak_mb for m in out),
        max(m.grew_mb for m in out),
    )


ONLY: list[str] = []
SCALE = [1.0]


def row(
    label: str, n: int, build: Callable[[Path, int], Store], *args: Arg, repeat: int = 2
) -> None:
    """``label`` at n and 4n: wall and CPU seconds, peak memory (MB, and what the command
    added to it), and the ratios 4n / n."""
    if ONLY and not any(word in label for word in ONLY):
        return
    n = max(1, round(n * SCALE[0]))
    with tempfile.TemporaryDirectory() as tmp:
        small = measure(build(Path(tmp) / "small", n), args, repeat)
        big = measure(build(Path(tmp) / "big", 4 * n), args, repeat)
    print(
        f"{label:40} n={n:<6} {small.wall:7.3f}s {small.cpu:7.3f}cpu {small.peak_mb:5.0f}MB"
        f" (+{small.grew_mb:<4.0f}) | 4n {big.wall:7.3f}s {big.cpu:7.3f}cpu {big.peak_mb:5.0f}MB"
        f" (+{big.grew_mb:<4.0f}) | ratio cpu {big.cpu / max(small.cpu, 1e-3):5.1f}"
        f" peak {big.peak_mb / small.peak_mb:4.1f}",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000, help="thoughts, commits and genes at n")
    ap.add_argument(
        "--only", action="append", default=[], help="run the rows whose label holds this"
    )
    ap.add_argument(
        "--scale", type=float, default=1.0, help="multiply every row's n (0.25: a quick look)"
    )
    args = ap.parse_args()
    ONLY.extend(args.only)
    SCALE[0] = args.scale
    n = args.n
    once = {"repeat": 1}
    # The reads of big states and long histories (the cliffs the docstring names).
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
    # 50,000 thoughts at 4n.
    row("think (n thoughts)", 12_500, thoughts_store, "think", "x", **once)
    row("show (n thoughts, text)", 12_500, thoughts_store, "show")
    row("verify (n thoughts)", 12_500, thoughts_store, "verify")
    row("export (n thoughts)", 12_500, thoughts_store, "export", "--car", os.devnull)
    # Thousands of experiments.
    row("experiments (n experiments)", 1000, experiments_store, "experiments")
    row("switch (n experiments)", 1000, experiments_store, "switch", "e00001")
    row("fork (n experiments)", 1000, experiments_store, "fork", "new", **once)
    row("verify --all (n experiments)", 1000, experiments_store, "verify", "--all")
    # Runs: many, and one long.
    row("runs (n runs)", 50, runs_store, "runs")
    row("verify --all (n runs)", 50, runs_store, "verify", "--all")
    row("runs (n generations)", 500, generations_store, "runs")
    row("lineage (n generations)", 500, generations_store, "lineage", first_run)
    row("plot (n generations)", 500, generations_store, "plot", first_run)
    row("verify --all (n generations)", 500, generations_store, "verify", "--all")
    row(
        "evolve --resume (n generations)",
        500,
        lambda p, k: generations_store(p, k, stop=True),
        "evolve",
        "--resume",
        "-q",
        **once,
    )
    # Fitness modules, peers, key rotations.
    row("fitness list (n modules)", 50, modules_store, "fitness", "list")
    row("peers (n peers, 5n seen refs)", 50, peers_store, "peers")
    row("pull, nothing new (n experiments)", 100, synced_store, "pull", "peer")
    row("push, nothing new (n experiments)", 100, synced_store, "push", "peer")
    row("verify (n key rotations)", 20, rotations_store, "verify")
    row("log (n key rotations)", 20, rotations_store, "log")
    # A genome of 2,000 genes at 4n; a 10 MB agent file at 4n; a store after git gc.
    row("genome set (n genes)", 500, plain_genome_store, "genome", "set", "g00001=0.7", **once)
    row("show (n genes)", 500, plain_genome_store, "show")
    row(
        "import-af (n/4 MB agent file)",
        10,
        lambda p, k: empty_with_agent_file(p, k / 4),
        "import-af",
        lambda s: str(s.path.with_suffix(".af")),
        **once,
    )
    row("show (n/4 MB agent)", 10, lambda p, k: agent_store(p, k / 4), "show")
    row(
        "export-af (n/4 MB agent)",
        10,
        lambda p, k: agent_store(p, k / 4),
        "export-af",
        "-o",
        os.devnull,
        "agent",
    )
    row("log (n commits, after git gc)", 300, gc_store, "log")
    row("verify --all (n commits, after git gc)", 300, gc_store, "verify", "--all")


if __name__ == "__main__":
    main()
