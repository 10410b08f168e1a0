"""The progress line `evolve` writes every few seconds when stderr is no terminal says the time
left, as docs/evolve.md promises (generation, best and mean fitness, evaluations per second,
time left) and as the terminal's bar shows it; the line left it out."""

from __future__ import annotations

import re
from pathlib import Path

from mindgit.cli.commands.evolve import _clock
from tests.conftest import Mg
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store


def test_the_progress_line_says_the_time_left(mg: Mg, tmp_path: Path) -> None:
    store = new_store(tmp_path / "s", float_genes(4))
    args = ["--population", "8", "--generations", "20", "--fitness", str(RASTRIGIN)]
    r = mg("--store", str(store.path), "evolve", *args)
    assert r.code == 0, r.err
    first = r.err.splitlines()[0]  # the first generation's line is always written
    assert re.fullmatch(
        r"generation 1/20  best \S+  mean \S+  [\d,]+ evals/s  \d+:\d\d left", first
    )


def test_a_clock_reads_as_one() -> None:
    assert [_clock(s) for s in (0, 0.4, 7, 59.6, 61, 3599, 3600, 3723, 360000)] == [
        "0:00",
        "0:00",
        "0:07",
        "1:00",
        "1:01",
        "59:59",
        "1:00:00",
        "1:02:03",
        "100:00:00",
    ]
