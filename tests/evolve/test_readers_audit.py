"""An audit of the commands that read runs back (runs, lineage, plot, verify --recompute) fed
hand-made or hostile runs: each refusal is one line of our own, exits non-zero (2 only for a
wrong command line), leaves the store byte for byte as it was, and lets no peer's escape codes
through to the terminal."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pygit2
import pytest

from mindgit.evolve.chart import png_chart, text_chart
from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.run import start_run
from mindgit.evolve.runs import RunRefMismatch, history, mean_score
from mindgit.store.generation import GENERATION_FILE, RunFormatError, RunParams
from mindgit.store.repository import Store, open_store
from tests.conftest import Mg
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.evolve.test_bad_input_audit import changed, tree_of

BIGGEST = sys.float_info.max
# An OSC sequence (set the window title): click strips CSI colour codes on a pipe, not this.
OSC = "\x1b]0;pwned\x07"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("readers") / "s"
    store = new_store(path, float_genes(3))
    add_fitness(store, RASTRIGIN)
    result = start_run(store, "rastrigin", RunParams(population=6, generations=5, seed=3))
    return path, result.run_id


@pytest.fixture
def node(made: tuple[Path, str], tmp_path: Path) -> tuple[Store, str]:
    path = tmp_path / "s"
    shutil.copytree(made[0], path, symlinks=True)
    return open_store(path), made[1]


def git(store: Store, *args: str, data: bytes | None = None) -> str:
    proc = subprocess.run(
        ["git", "--git-dir", str(store.path), *args], input=data, capture_output=True, check=True
    )
    return proc.stdout.decode().strip()


def refused(mg: Mg, store: Store, *args: str, code: int, words: str) -> str:
    before = tree_of(store.path)
    r = mg("--store", str(store.path), *args)
    assert r.code == code, r.err
    assert words in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err, r.err
    assert "internal error" not in r.err, r.err
    assert changed(before, tree_of(store.path)) == []
    return r.err


def craft_older_generation(store: Store, run_id: str, generation_json: bytes) -> None:
    """Replace the second-newest generation's record with hand-made bytes (git hash-object,
    mktree, commit-tree, unsigned) under a copy of the real tip, and point the run ref at it."""
    tip = git(store, "rev-parse", f"refs/runs/{run_id}")
    older = git(store, "rev-parse", f"{tip}^")
    blob = git(store, "hash-object", "-w", "--stdin", data=generation_json)
    entries = git(store, "ls-tree", older).splitlines()
    lines = [
        e.split("\t")[0].rsplit(" ", 1)[0] + f" {blob}\t{GENERATION_FILE}"
        if e.endswith("\t" + GENERATION_FILE)
        else e
        for e in entries
    ]
    tree = git(store, "mktree", data=("\n".join(lines) + "\n").encode())
    crafted = git(store, "commit-tree", tree, "-p", f"{older}^", "-m", "crafted")
    message = git(store, "log", "-1", "--format=%B", tip)
    new_tip = git(store, "commit-tree", f"{tip}^{{tree}}", "-p", crafted, "-m", message)
    git(store, "update-ref", f"refs/runs/{run_id}", new_tip)


# ---- plot -o ------------------------------------------------------------------------------------


def test_plot_into_the_store_is_refused(node: tuple[Store, str], mg: Mg) -> None:
    # It wrote the PNG over the store's HEAD: the store no longer opened.
    store, run_id = node
    for target in (store.path / "HEAD", store.path / "refs" / "new.png"):
        refused(mg, store, "plot", run_id, "-o", str(target), code=2, words="inside the store")


def test_plot_onto_a_directory_writes_nothing(
    node: tuple[Store, str], mg: Mg, tmp_path: Path
) -> None:
    store, run_id = node
    (tmp_path / "out").mkdir()
    # As export-af -o DIR and export --car DIR: a wrong command line (exit 2).
    refused(mg, store, "plot", run_id, "-o", str(tmp_path / "out"), code=2, words="is a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "s"]
    assert list((tmp_path / "out").iterdir()) == []


def test_plot_to_stdout_with_json_is_refused(node: tuple[Store, str], mg: Mg) -> None:
    store, run_id = node
    args = ["--store", str(store.path), "plot", run_id, "--json", "-o", "/dev/stdout"]
    with open(tmp := store.path.parent / "out", "wb") as out:
        proc = subprocess.run(
            [sys.executable, "-m", "mindgit", *args],
            stdout=out,
            stderr=subprocess.PIPE,
        )
    assert proc.returncode == 2, proc.stderr
    assert b"both write to stdout" in proc.stderr
    assert b"PNG" not in tmp.read_bytes()


def test_plot_to_dev_null_and_to_a_file(node: tuple[Store, str], mg: Mg, tmp_path: Path) -> None:
    store, run_id = node
    before = tree_of(store.path)
    r = mg("--store", str(store.path), "plot", run_id, "-o", "/dev/null")
    assert r.code == 0, r.err
    png = tmp_path / "fitness.png"
    r = mg("--store", str(store.path), "plot", run_id, "-o", str(png))
    assert r.code == 0, r.err
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".fitness")] == []
    assert changed(before, tree_of(store.path)) == []


# ---- hand-made generations ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "words"),
    [
        # Python's json reads NaN and Infinity: plot crashed converting NaN to a row.
        (b'{"best":0,"generation":3,"individuals":[{"score":NaN}],"schema":1}', "individuals"),
        (b"[]", "must be a map"),
        (b'{"generation":"9"}', "must be a map"),
        (b"nope", "not JSON"),
    ],
)
def test_plot_of_a_damaged_older_generation_is_one_line(
    node: tuple[Store, str], mg: Mg, record: bytes, words: str
) -> None:
    store, run_id = node
    craft_older_generation(store, run_id, record)
    for extra in ((), ("-o", str(store.path.parent / "x.png")), ("--json",)):
        refused(mg, store, "plot", run_id, *extra, code=1, words=words)


def test_a_generation_out_of_place_is_named(node: tuple[Store, str]) -> None:
    store, run_id = node
    two_back = git(store, "rev-parse", f"refs/runs/{run_id}~2:{GENERATION_FILE}")
    # A valid record of generation 2 where generation 3 belongs.
    craft_older_generation(store, run_id, store.repo[two_back].read_raw())
    with pytest.raises(RunFormatError, match="is generation 2 where 3 was expected"):
        history(store, run_id)


def test_a_run_that_stops_short_of_generation_0_is_named(node: tuple[Store, str]) -> None:
    store, run_id = node
    tip = git(store, "rev-parse", f"refs/runs/{run_id}")
    message = git(store, "log", "-1", "--format=%B", tip)
    git(
        store,
        "update-ref",
        f"refs/runs/{run_id}",
        git(store, "commit-tree", f"{tip}^{{tree}}", "-m", message),
    )
    with pytest.raises(RunFormatError, match="end at 4, before generation 0"):
        history(store, run_id)


def test_a_run_ref_naming_another_run_is_refused(node: tuple[Store, str], mg: Mg) -> None:
    # `runs` listed the run twice under its own id, and `plot OTHER` charted it silently.
    store, run_id = node
    other = "b" * 12
    git(store, "update-ref", f"refs/runs/{other}", f"refs/runs/{run_id}")
    refused(mg, store, "runs", code=1, words=f"not of run {other}")
    refused(mg, store, "plot", other, code=1, words=f"generation of run {run_id}")
    with pytest.raises(RunRefMismatch):
        history(store, other)
    assert [s.generation for s in history(store, run_id)] == [0, 1, 2, 3, 4]
    # Resuming it went on with the other run under this id.
    refused(mg, store, "evolve", "--resume", other, code=1, words=f"generation of run {run_id}")


# ---- charts -------------------------------------------------------------------------------------


def test_charts_of_scores_at_the_ends_of_the_floats() -> None:
    # (v - lo) / (hi - lo) was inf / inf = NaN for finite scores this far apart.
    for best, mean in (
        ([-BIGGEST, BIGGEST], [None, BIGGEST]),
        ([BIGGEST, BIGGEST], [BIGGEST, BIGGEST]),
        ([-BIGGEST], [-BIGGEST]),
    ):
        lines = text_chart(best, mean, width=20, height=5)
        assert sum(line.count("*") for line in lines[:5]) == len(best)
        assert png_chart(best, mean, width=100, height=60).startswith(b"\x89PNG")


def test_a_chart_skips_what_is_not_a_number() -> None:
    lines = text_chart([float("nan"), 1.0], [float("inf"), 2.0], width=10, height=4)
    assert "".join(lines[:4]).count("*") == 1
    assert text_chart([None], [None]) == ["(no scores to chart)"]


def test_one_generation_is_labelled_once() -> None:
    lines = text_chart([1.0], [1.0], width=60, height=4)
    assert lines[-2].strip() == "0"


def test_the_mean_of_the_largest_scores_is_finite() -> None:
    assert mean_score([BIGGEST, BIGGEST]) == BIGGEST
    assert mean_score([1.0, 2.0]) == 1.5
    assert mean_score([]) is None


# ---- a peer's words on the terminal -------------------------------------------------------------


def test_recompute_problems_quote_trailers_as_one_line(node: tuple[Store, str], mg: Mg) -> None:
    store, run_id = node
    head = store.head()
    tree = store.repo[head].peel(pygit2.Commit).tree.id
    forged = store.write_commit(
        tree,
        [head],
        "forged",
        trailers={
            "Mindgit-Run": run_id,
            "Mindgit-Generation": "4",
            "Mindgit-Fitness": "1.0",
            "Mindgit-Module": f"x{OSC}",
        },
    )
    r = mg("--store", str(store.path), "verify", "--recompute", "all", forged)
    assert r.code == 1
    assert "Mindgit-Module says x?]0;pwned?" in r.out, r.out
    assert "\x1b" not in r.out + r.err and "\x07" not in r.out + r.err


def test_lineage_shows_a_peer_s_experiment_as_one_line(node: tuple[Store, str], mg: Mg) -> None:
    store, run_id = node
    tip = git(store, "rev-parse", f"refs/runs/{run_id}")
    message = git(store, "log", "-1", "--format=%B", tip).replace(
        "Mindgit-Experiment: main", f"Mindgit-Experiment: main{OSC}"
    )
    parent = git(store, "rev-parse", f"{tip}^")
    new_tip = git(store, "commit-tree", f"{tip}^{{tree}}", "-p", parent, "-m", message)
    git(store, "update-ref", f"refs/runs/{run_id}", new_tip)
    r = mg("--store", str(store.path), "lineage", new_tip)
    assert r.code == 0, r.err
    assert f"run {run_id} on main?]0;pwned?" in r.out
    assert "\x1b" not in r.out and "\x07" not in r.out


def _retip_with_module(store: Store, run_id: str, blob: str) -> None:
    """Point the run at a copy of its last generation whose module.wasm entry is ``blob``
    (which may be missing from the object database)."""
    tip = git(store, "rev-parse", f"refs/runs/{run_id}")
    lines = [
        e.split("\t")[0].rsplit(" ", 1)[0] + f" {blob}\tmodule.wasm"
        if e.endswith("\tmodule.wasm")
        else e
        for e in git(store, "ls-tree", tip).splitlines()
    ]
    tree = git(store, "mktree", "--missing", data=("\n".join(lines) + "\n").encode())
    message = git(store, "log", "-1", "--format=%B", tip)
    git(
        store,
        "update-ref",
        f"refs/runs/{run_id}",
        git(store, "commit-tree", tree, "-p", f"{tip}^", "-m", message),
    )


def test_runs_check_of_a_run_whose_module_blob_is_missing(node: tuple[Store, str], mg: Mg) -> None:
    # It was an internal error (KeyError on the missing blob).
    store, run_id = node
    _retip_with_module(store, run_id, "1" * 40)
    refused(mg, store, "runs", "--check", run_id, code=1, words="holds no module.wasm")


def test_runs_check_of_a_run_whose_module_is_other_bytes(node: tuple[Store, str], mg: Mg) -> None:
    store, run_id = node
    other = git(store, "hash-object", "-w", "--stdin", data=b"\0asm\1\0\0\0")
    _retip_with_module(store, run_id, other)
    refused(mg, store, "runs", "--check", run_id, code=1, words="is not the module")


def test_lineage_of_a_run_id_is_its_newest_best(node: tuple[Store, str], mg: Mg) -> None:
    # A run id was "not produced by a run in this store".
    store, run_id = node
    by_run = mg("--store", str(store.path), "lineage", run_id)
    assert by_run.code == 0, by_run.err
    tip = git(store, "rev-parse", f"refs/runs/{run_id}")
    assert by_run.out == mg("--store", str(store.path), "lineage", tip).out
    # One no ref or commit holds names nothing: it was "was not produced by a run" too, as if
    # it were there.
    refused(mg, store, "lineage", "c" * 12, code=1, words="names no state, commit or run")


def test_lineage_of_a_state_in_no_run(node: tuple[Store, str], mg: Mg) -> None:
    store, _ = node
    store.think("later", ["test"])
    state = str(store.snapshot().manifest.cid)
    refused(mg, store, "lineage", state, code=1, words="was not produced by a run")


def test_a_run_ref_at_a_commit_that_is_no_generation_is_named(
    node: tuple[Store, str], mg: Mg
) -> None:
    # The error named only the commit, not which of refs/runs/* broke `mindgit runs`.
    store, run_id = node
    other = "a" * 12
    git(store, "update-ref", f"refs/runs/{other}", store.head())
    for args in (("runs",), ("plot", other), ("runs", "--check", other), ("lineage", other)):
        refused(mg, store, *args, code=1, words=f"refs/runs/{other}: commit")
    assert "not a generation" in refused(mg, store, "runs", code=1, words="holds no")
    assert mg("--store", str(store.path), "plot", run_id).code == 0


def test_verify_all_names_run_refs_that_name_no_generation_of_their_run(
    node: tuple[Store, str], mg: Mg
) -> None:
    # Both verified green while `mindgit runs` refused them.
    store, run_id = node
    assert mg("--store", str(store.path), "verify", "--all").code == 0
    git(store, "update-ref", f"refs/runs/{'a' * 12}", store.head())
    git(store, "update-ref", f"refs/runs/{'b' * 12}", f"refs/runs/{run_id}")
    before = tree_of(store.path)
    r = mg("--store", str(store.path), "verify", "--all")
    assert r.code == 1
    assert f"FAIL refs/runs/{'a' * 12}: is not a generation of a run" in r.out
    assert f"FAIL refs/runs/{'b' * 12}: points at a generation of run {run_id}" in r.out
    assert "2 run refs name no generation of their run" in r.err
    assert changed(before, tree_of(store.path)) == []
