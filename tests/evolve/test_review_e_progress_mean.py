"""The progress of a run whose scores are near the largest float: its mean was inf ("mean inf"
on the progress line), summed before dividing, where `runs` and `plot` take the same scores'
mean finite (tests/evolve/test_readers_audit.py). Found by review E.
"""

from __future__ import annotations

import math
from pathlib import Path

from mindgit.evolve.run import Progress, start_run
from mindgit.store.generation import RunParams
from tests.evolve.helpers import float_genes, new_store

# Every genome scores 1.5e308.
HUGE = r"""
(module
  (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "fitness") (param i32 i32) (result f64) (f64.const 1.5e308))
  (func (export "fitness_batch") (param $in i32) (param $count i32) (param $dim i32)
                                 (param $out i32)
    (local $i i32)
    (block $done
      (loop $each
        (br_if $done (i32.ge_s (local.get $i) (local.get $count)))
        (f64.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3)))
                   (f64.const 1.5e308))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))))
"""


def test_the_progress_mean_of_the_largest_scores_is_finite(tmp_path: Path) -> None:
    module = tmp_path / "huge.wat"
    module.write_text(HUGE)
    store = new_store(tmp_path / "s", float_genes(3))
    seen: list[Progress] = []
    start_run(store, str(module), RunParams(population=8, generations=3), on_progress=seen.append)
    assert [p.mean for p in seen] == [1.5e308] * 3
    assert all(p.best is not None and math.isfinite(p.best) for p in seen)
