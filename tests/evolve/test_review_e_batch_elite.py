"""An elite scored in a batch can fail in a later generation, so with an elite the run's result
is not always the last generation's best.

A batch (``fitness_batch``) gets ``fuel x population`` shared by its individuals, and a batch
that fails (one genome traps) is scored again one individual at a time with ``fuel`` each. So an
expensive best that scored inside one generation's batch fails in a later one, and the last
generation's best is less fit than an earlier one's. ``evolve`` committed the earlier best (its
in-memory leader), but ``run_best`` took the last generation's best for any run with an elite:
``runs`` and ``lineage RUN`` named another individual than the result commit holds, and a run
stopped after the best generation and resumed committed another result than an uninterrupted
run (the determinism contract). Found by review E.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mindgit.evolve.run import RunResult, resume_run, start_run
from mindgit.evolve.runs import lineage, list_runs
from mindgit.store.generation import RunParams, read_generation_commit
from mindgit.store.genome import Gene
from mindgit.store.repository import Store, open_store
from tests.conftest import fsck
from tests.evolve.helpers import new_store, stop_after
from tests.evolve.test_run import chain

# score = x0; costs x0^4 * 100 loop turns of fuel; traps when x1 > 0.8. With FUEL, x0 above
# ~4.1 fails alone and scores inside a batch of mostly cheaper individuals.
COSTLY = r"""
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func $alloc (export "alloc") (param $size i32) (result i32)
    (local $p i32) (local $end i32)
    (local.set $p (global.get $heap))
    (local.set $end (i32.and (i32.add (i32.add (local.get $p) (local.get $size)) (i32.const 7))
                             (i32.const -8)))
    (if (i32.gt_u (local.get $end) (i32.shl (memory.size) (i32.const 16)))
      (then (if (i32.eq (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end)
                          (i32.shl (memory.size) (i32.const 16))) (i32.const 16)) (i32.const 1)))
                        (i32.const -1))
              (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $p))
  (func (export "fitness") (param i32 i32) (result f64) unreachable)
  (func (export "fitness_batch") (param $in i32) (param $count i32) (param $dim i32)
                                 (param $out i32)
    (local $i i32) (local $x0 f64) (local $n i32)
    (block $done
      (loop $each
        (br_if $done (i32.ge_s (local.get $i) (local.get $count)))
        (local.set $x0 (f64.load (local.get $in)))
        (if (f64.gt (f64.load offset=8 (local.get $in)) (f64.const 0.8)) (then unreachable))
        (local.set $n (i32.trunc_f64_s
          (f64.mul (f64.mul (f64.mul (local.get $x0) (local.get $x0))
                            (f64.mul (local.get $x0) (local.get $x0)))
                   (f64.const 100))))
        (block $b (loop $l
          (br_if $b (i32.le_s (local.get $n) (i32.const 0)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $l)))
        (f64.store (local.get $out) (local.get $x0))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (local.set $in (i32.add (local.get $in) (i32.mul (local.get $dim) (i32.const 8))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))))
"""
FUEL = 256_000
PARAMS = RunParams(population=16, generations=30, seed=0)  # elite 1
GENES = [
    Gene.make("x0", "float", 1.0, min=0.0, max=10.0),
    Gene.make("x1", "float", 0.0, min=0.0, max=1.0),
]


def costly_store(tmp_path: Path) -> tuple[Store, str]:
    module = tmp_path / "costly.wat"
    module.write_text(COSTLY)
    return new_store(tmp_path / "s", GENES), str(module)


def last_best(store: Store, run_id: str) -> float:
    record = read_generation_commit(store.repo, str(chain(store, run_id)[-1].id)).record
    assert record.best is not None
    score = record.individuals[record.best].score
    assert score is not None
    return score


def result(r: RunResult) -> tuple[object, ...]:
    return (r.generations_done, r.best_generation, r.best_state, r.best_score)


def test_runs_and_lineage_name_the_committed_result_when_the_elite_fails_later(
    tmp_path: Path,
) -> None:
    store, module = costly_store(tmp_path)
    r = start_run(store, module, PARAMS, fuel=FUEL)
    assert r.best_generation is not None and r.best_score is not None
    # The case: the result is an earlier generation's best, fitter than the last one's.
    assert r.best_generation < PARAMS.generations - 1
    assert last_best(store, r.run_id) < r.best_score
    assert r.result_commit is not None and store.head() == r.result_commit
    (listed,) = list_runs(store)
    assert (listed.best, listed.best_generation) == (r.best_score, r.best_generation)
    assert lineage(store, r.run_id).state == r.best_state == store.snapshot().manifest.cid
    fsck(store.path)


def test_a_run_resumed_after_its_best_generation_ends_as_an_uninterrupted_one(
    tmp_path: Path,
) -> None:
    store, module = costly_store(tmp_path)
    shutil.copytree(store.path, tmp_path / "copy")
    whole = start_run(store, module, PARAMS, fuel=FUEL)
    assert whole.best_generation is not None and whole.best_generation < 20

    other = open_store(tmp_path / "copy")
    stopped = start_run(other, module, PARAMS, fuel=FUEL, should_stop=stop_after(20))
    assert stopped.stopped and stopped.generations_done == 21
    resumed = resume_run(other, stopped.run_id)
    assert result(resumed) == result(whole)
    assert other.snapshot().manifest.cid == store.snapshot().manifest.cid
    fsck(other.path)
