"""A module that scores -0.0: the run's result commit said `Mindgit-Fitness: -0.0` and
`evolve` printed "best -0.0", where the generation it came from says 0.0 (generation.json has no
-0.0, and its commit's trailer is spelled from it), and `mindgit runs` and a resumed run said
0.0: the result of an uninterrupted run and of a resumed one differed in that trailer. Scores
are taken as the generation stores them now. Found by review E.
"""

from __future__ import annotations

import math
from pathlib import Path

import pygit2

from mindgit.evolve.run import start_run
from mindgit.evolve.runs import list_runs
from mindgit.store.generation import RunParams
from mindgit.store.genome import Gene
from mindgit.store.verify import trailer
from tests.conftest import fsck
from tests.evolve.helpers import new_store
from tests.evolve.test_run import chain

# score = -floor(x0): -0.0 for x0 in [0, 1).
NEGATIVE_ZERO = r"""
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "alloc") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (local.get $p) (i32.and (i32.add (local.get $size) (i32.const 7))
                                                        (i32.const -8))))
    (if (i32.gt_u (global.get $heap) (i32.shl (memory.size) (i32.const 16)))
      (then (drop (memory.grow (i32.shr_u (i32.add (global.get $heap) (i32.const 65535))
                                          (i32.const 16))))))
    (local.get $p))
  (func (export "fitness") (param i32 i32) (result f64) unreachable)
  (func (export "fitness_batch") (param $in i32) (param $count i32) (param $dim i32)
                                 (param $out i32)
    (local $i i32)
    (block $done
      (loop $each
        (br_if $done (i32.ge_s (local.get $i) (local.get $count)))
        (f64.store (local.get $out) (f64.neg (f64.floor (f64.load (local.get $in)))))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (local.set $in (i32.add (local.get $in) (i32.mul (local.get $dim) (i32.const 8))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))))
"""


def test_a_result_scored_negative_zero_is_told_as_its_generation_tells_it(tmp_path: Path) -> None:
    module = tmp_path / "negzero.wat"
    module.write_text(NEGATIVE_ZERO)
    genes = [Gene.make(f"x{i}", "float", v, min=0.0, max=5.0) for i, v in enumerate([4.5, 1.0])]
    store = new_store(tmp_path / "s", genes)
    r = start_run(store, str(module), RunParams(population=16, generations=30, seed=1))
    assert r.result_commit is not None and r.best_generation is not None
    assert r.best_score == 0.0 and math.copysign(1.0, r.best_score) == 1.0
    result = store.repo[r.result_commit].peel(pygit2.Commit)
    generation = chain(store, r.run_id)[r.best_generation]
    assert trailer(result.message, "Mindgit-Fitness") == "0.0"
    assert trailer(generation.message, "Mindgit-Fitness") == "0.0"
    (listed,) = list_runs(store)
    assert (listed.best, listed.best_generation) == (r.best_score, r.best_generation)
    fsck(store.path)
