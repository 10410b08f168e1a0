"""How fast a fitness-guided merge scores its candidates, on one core.

Run: ``.venv/bin/python bench/merge.py [seconds-per-case]``

12 conflicting genes (the exhaustive limit: 4,096 candidates) of a 32-gene Rastrigin genome,
scored with the shipped ``rastrigin.wat``. Prints candidates scored per second for:
- the batch path: the candidates' genome vectors through one ``fitness_batch`` call;
- the manifest path: each candidate's manifest through ``fitness`` (what a genome with a
  string gene, or a memory conflict, costs);
- a whole ``mindgit merge --dry-run`` in a store (finding and compiling the module, reading
  both states, the three-way rule, scoring and choosing).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mindgit.evolve.fitness import add_fitness
from mindgit.merge import ModuleScorer, merge, resolve, three_way
from mindgit.sandbox import FitnessModule
from mindgit.store.genome import Gene, Genome
from mindgit.store.repository import init_store
from mindgit.store.state import State

RASTRIGIN = Path(__file__).resolve().parent.parent / "fixtures" / "fitness" / "rastrigin.wat"
GENES, CONFLICTS = 32, 12


def gene(i: int, value: float) -> Gene:
    return Gene.make(f"x{i:02d}", "float", value, min=-5.12, max=5.12)


def sides(extra: tuple[Gene, ...] = ()) -> tuple[State, State, State]:
    base = State(Genome(tuple(gene(i, 1.5) for i in range(GENES)) + extra))
    ours = base.with_genome(base.genome.with_genes(*(gene(i, 0.1 * i) for i in range(CONFLICTS))))
    theirs = base.with_genome(
        base.genome.with_genes(*(gene(i, -0.05 * i - 0.5) for i in range(CONFLICTS)))
    )
    return base, ours, theirs


def rate(fn: Callable[[], int], seconds: float) -> float:
    """Candidates per second of the fastest of several timed calls (CPU time)."""
    fn()
    best = float("inf")
    count = 0
    spent_total = 0.0
    while spent_total < seconds or count < 3:
        start = time.process_time()
        n = fn()
        spent = time.process_time() - start
        spent_total += spent
        count += 1
        best = min(best, spent / n)
    return 1.0 / best


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    module = FitnessModule.load(RASTRIGIN.read_bytes())
    scorer = ModuleScorer(module, None)

    batch = three_way(*sides())

    def batch_case() -> int:
        resolution = resolve(batch, scorer)
        assert resolution.entry == "fitness_batch"
        return resolution.candidates_scored

    text = (Gene.make("name", "str", "bench"),)
    manifests = three_way(*sides(text))

    def manifest_case() -> int:
        resolution = resolve(manifests, scorer)
        assert resolution.entry == "fitness"
        return resolution.candidates_scored

    with tempfile.TemporaryDirectory() as tmp:
        store = init_store(Path(tmp) / "bench", "bench")
        add_fitness(store, RASTRIGIN)
        base, ours, theirs = sides()
        store.set_genes(base.genome.genes)
        store.fork("dreamer", switch=False)
        store.set_genes(theirs.genome.genes[:CONFLICTS], experiment="dreamer")
        store.set_genes(ours.genome.genes[:CONFLICTS], experiment="main")

        def store_case() -> int:
            out = merge(store, "dreamer", fitness="rastrigin", dry_run=True)
            return out.candidates_scored

        cases = [
            ("batch (fitness_batch, genome vectors)", batch_case),
            ("manifests (fitness, one instance each)", manifest_case),
            ("mindgit merge --dry-run in a store", store_case),
        ]
        print(f"{CONFLICTS} conflicting patterns, {1 << CONFLICTS} candidates, {GENES} genes")
        for name, fn in cases:
            per_second = rate(fn, seconds)
            print(
                f"  {name:42} {per_second:12,.0f} candidates/s "
                f"({(1 << CONFLICTS) / per_second * 1000:8.1f} ms per merge)"
            )


if __name__ == "__main__":
    main()
