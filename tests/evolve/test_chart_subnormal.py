"""A run whose scores are subnormal floats a few units of the last place apart (a module that
returns 1e-322 for every state) made `mindgit plot` fail with an internal ZeroDivisionError,
exit 3: the chart's range halved both ends before subtracting (to keep -1e308..1e308 finite),
and halved, such neighbours are one float."""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.evolve.chart import png_chart, text_chart
from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.run import start_run
from mindgit.store.generation import RunParams
from tests.conftest import Mg
from tests.evolve.helpers import float_genes, new_store

TINY = 1e-322  # 20 units of the last place: padded by one each side, halves to one float

CONSTANT_TINY = """(module
  (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "fitness") (param i32 i32) (result f64) (f64.const 1e-322)))
"""


@pytest.mark.parametrize(
    ("best", "mean"),
    [
        ([TINY, TINY], [TINY, TINY]),
        ([5e-324, -5e-324], [0.0, 0.0]),
        ([5e-324, 0.0], [None, 0.0]),
        ([-TINY], [-TINY]),
    ],
)
def test_subnormal_neighbours_are_charted(best: list[float], mean: list[float | None]) -> None:
    lines = text_chart(best, mean, width=20, height=5)
    assert sum(line.count("*") for line in lines[:5]) == len(best)
    assert png_chart(best, mean, width=300, height=60).startswith(b"\x89PNG")


def test_the_ends_of_a_subnormal_range_are_the_chart_edges() -> None:
    lines = text_chart([5e-324, -5e-324], [None, None], width=20, height=5)
    assert lines[0].endswith("|* ") and lines[4].endswith("| *"), lines


def test_plot_of_a_run_scored_1e_322_everywhere(tmp_path: Path, mg: Mg) -> None:
    store = new_store(tmp_path / "s", float_genes(2))
    module = tmp_path / "tiny.wat"
    module.write_text(CONSTANT_TINY)
    add_fitness(store, module)
    run = start_run(store, "tiny", RunParams(population=4, generations=3, seed=1))
    r = mg("--store", str(store.path), "plot", run.run_id)
    assert r.code == 0, r.err
    rows = r.out.splitlines()[:15]  # the chart's rows, before its axis and legend
    assert sum(row.count("*") for row in rows) == 3
    png = tmp_path / "tiny.png"
    r = mg("--store", str(store.path), "plot", run.run_id, "-o", str(png))
    assert r.code == 0, r.err
    assert png.read_bytes().startswith(b"\x89PNG")
