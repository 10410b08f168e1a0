"""`plot RUN -o -` wrote the PNG to a terminal (compressed bytes a terminal may act on), while
`-o /dev/stdout` on a terminal was refused: both are refused now (exit 2, nothing written, a hint
to redirect or pipe), as `export --car -` refuses a terminal. A pipe still takes the PNG."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.run import start_run
from mindgit.store.generation import RunParams
from tests.conftest import ROOT
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.snapshots import changes, snapshot
from tests.terminal import on_a_terminal

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("plot-terminal") / "s"
    store = new_store(path, float_genes(3))
    add_fitness(store, RASTRIGIN)
    run = start_run(store, "rastrigin", RunParams(population=4, generations=2, seed=3))
    return path, run.run_id


@pytest.mark.parametrize("target", ["-", "/dev/stdout"])
def test_a_png_is_not_written_to_a_terminal(made: tuple[Path, str], target: str) -> None:
    path, run_id = made
    before = snapshot(path)
    code, shown, err = on_a_terminal("--store", str(path), "plot", run_id, "-o", target)
    assert (code, shown) == (2, b""), err
    assert err.startswith(f"mindgit: error: -o {target} is a terminal; a PNG is not text"), err
    assert "redirect" in err and "pipe" in err and "> FILE.png" in err, err
    assert err.count("\n") == 1
    assert changes(before, snapshot(path)) == []


def test_the_text_chart_still_goes_to_a_terminal(made: tuple[Path, str]) -> None:
    path, run_id = made
    code, shown, err = on_a_terminal("--store", str(path), "plot", run_id)
    assert code == 0, err
    assert PNG_MAGIC not in shown and shown.strip()


def test_a_pipe_still_takes_the_png(made: tuple[Path, str], tmp_path: Path) -> None:
    path, run_id = made
    out = tmp_path / "f.png"
    # `plot RUN -o - | cat > f.png`, through a shell's own pipe.
    script = '"$1" -m mindgit --store "$2" plot "$3" -o - | cat > "$4"'
    proc = subprocess.run(
        ["sh", "-c", script, "sh", sys.executable, str(path), run_id, str(out)],
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC) and data.endswith(b"IEND\xaeB`\x82")
    # And a pipe read by this process.
    piped = subprocess.run(
        [sys.executable, "-m", "mindgit", "--store", str(path), "plot", run_id, "-o", "-"],
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == data
