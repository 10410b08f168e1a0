"""Readers of runs over a damaged store: `runs` lists every run that reads and names each run ref
that does not (as `git for-each-ref`), a lost object is one line (never an internal error),
merge's fitness lookup refuses a re-tipped run ref as runs and plot do, and `plot --width` keeps
to widths a chart can be drawn in."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import pygit2
import pytest

from mindgit.evolve.chart import PNG_WIDTHS, TEXT_WIDTHS
from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.run import start_run
from mindgit.evolve.runs import RunRefMismatch, history, lineage, list_runs, scan_runs
from mindgit.merge.lookup import find_fitness, find_module, latest_run
from mindgit.store.fitness_store import FitnessRefCorrupt
from mindgit.store.generation import GENERATION_FILE, RunFormatError, RunParams
from mindgit.store.repository import Store, open_store
from tests.conftest import Mg
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.snapshots import changed, snapshot

MISSING = "1" * 40


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    path = tmp_path_factory.mktemp("readers-s7") / "s"
    store = new_store(path, float_genes(3))
    add_fitness(store, RASTRIGIN)
    first = start_run(store, "rastrigin", RunParams(population=4, generations=4, seed=3))
    second = start_run(store, "rastrigin", RunParams(population=4, generations=3, seed=4))
    return path, first.run_id, second.run_id


@pytest.fixture
def node(made: tuple[Path, str, str], tmp_path: Path) -> tuple[Store, str, str]:
    path = tmp_path / "s"
    shutil.copytree(made[0], path, symlinks=True)
    return open_store(path), made[1], made[2]


def git(store: Store, *args: str, data: bytes | None = None) -> str:
    proc = subprocess.run(
        ["git", "--git-dir", str(store.path), *args], input=data, capture_output=True, check=True
    )
    return proc.stdout.decode().strip()


def damage(store: Store, kind: str, run_id: str) -> tuple[str, str]:
    """A run ref damaged as ``kind``; its name and words its error must hold."""
    if kind == "blob":
        blob = git(store, "hash-object", "-w", "--stdin", data=b"not a run\n")
        git(store, "update-ref", "refs/runs/aaaaaaaaaaaa", blob)
        return "refs/runs/aaaaaaaaaaaa", f"{blob}: is not a commit"
    if kind == "no-run-json":
        git(store, "update-ref", "refs/runs/aaaaaaaaaaaa", store.head())
        return "refs/runs/aaaaaaaaaaaa", "holds no run.json"
    if kind == "other-run":
        git(store, "update-ref", "refs/runs/bbbbbbbbbbbb", f"refs/runs/{run_id}")
        return "refs/runs/bbbbbbbbbbbb", f"points at a generation of run {run_id}"
    if kind == "junk-file":
        # A ref file libgit2 cannot parse is left out of its listing: the run vanished from
        # `runs` (exit 0) while `verify --all` failed on it.
        (store.path / "refs" / "runs" / "dddddddddddd").write_text("junk\n")
        return "refs/runs/dddddddddddd", "corrupted loose reference file"
    if kind == "dangling":
        # A symbolic ref to nothing, which a lookup takes for no ref: skipped, exit 0.
        git(store, "symbolic-ref", "refs/runs/eeeeeeeeeeee", "refs/runs/nothing")
        return "refs/runs/eeeeeeeeeeee", "it points at refs/runs/nothing, which does not exist"
    assert kind == "missing"
    # update-ref refuses an object it cannot find: a pruned or never-fetched one, as git leaves it.
    (store.path / "refs" / "runs" / "cccccccccccc").write_text(MISSING + "\n")
    return "refs/runs/cccccccccccc", f"names an object this store cannot read ({MISSING})"


KINDS = ["blob", "no-run-json", "other-run", "missing", "junk-file", "dangling"]


def one_line_each(err: str, count: int) -> list[str]:
    lines = err.strip().splitlines()
    assert len(lines) == count, err
    assert all(line.startswith("mindgit: error: ") for line in lines), err
    assert "Traceback" not in err and "internal error" not in err, err
    return lines


# ---- runs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_runs_lists_every_readable_run_beside_a_damaged_ref(
    node: tuple[Store, str, str], mg: Mg, kind: str
) -> None:
    # It listed nothing: the one damaged ref was the whole answer (a lost object: exit 3).
    store, first, second = node
    ref, words = damage(store, kind, first)
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "runs")
    assert r.code == 1, r.err
    assert sorted(line.split("\t")[0] for line in r.out.splitlines()) == sorted([first, second])
    (line,) = one_line_each(r.err, 1)
    assert ref in line and words in line, line
    assert changed(before, store.path) == []


@pytest.mark.parametrize("kind", KINDS)
def test_runs_json_keeps_the_runs_beside_the_damaged(
    node: tuple[Store, str, str], mg: Mg, kind: str
) -> None:
    store, first, second = node
    good = mg("--store", str(store.path), "runs", "--json")
    assert good.code == 0, good.err
    listed = json.loads(good.out)
    assert sorted(r["run"] for r in listed) == sorted([first, second])
    ref, words = damage(store, kind, first)
    r = mg("--store", str(store.path), "runs", "--json")
    assert r.code == 1, r.err
    doc = json.loads(r.out)
    # One document, the error document every --json command fails with; the runs in it are
    # exactly what the command lists on success.
    assert doc["type"] == "DamagedRuns" and ref in doc["error"]
    assert doc["runs"] == listed
    assert [d["ref"] for d in doc["damaged"]] == [ref]
    assert words in doc["damaged"][0]["error"]
    one_line_each(r.err, 1)


def test_runs_names_every_damaged_ref_once(node: tuple[Store, str, str], mg: Mg) -> None:
    store, first, second = node
    refs = [damage(store, kind, first)[0] for kind in ("blob", "other-run", "missing")]
    r = mg("--store", str(store.path), "runs")
    assert r.code == 1
    assert len(r.out.splitlines()) == 2
    lines = one_line_each(r.err, 3)
    assert [ref for line in lines for ref in refs if f"error: {ref}" in line] == sorted(refs)
    doc = json.loads(mg("--store", str(store.path), "runs", "--json").out)
    assert doc["error"] == "3 run refs cannot be read as runs"
    assert [d["ref"] for d in doc["damaged"]] == sorted(refs)
    listing = scan_runs(store)
    assert sorted(s.run_id for s in listing.runs) == sorted([first, second])
    # The library's strict listing raises the first, as it did.
    with pytest.raises(RunFormatError, match="aaaaaaaaaaaa"):
        list_runs(store)


@pytest.mark.parametrize("kind", KINDS)
def test_runs_check_plot_lineage_of_a_damaged_ref_is_one_line(
    node: tuple[Store, str, str], mg: Mg, kind: str
) -> None:
    store, first, second = node
    ref, words = damage(store, kind, first)
    run_id = ref.removeprefix("refs/runs/")
    before = snapshot(store.path)
    for args in (("runs", "--check", run_id), ("plot", run_id), ("lineage", run_id)):
        r = mg("--store", str(store.path), *args)
        assert r.code == 1, (args, r.err)
        (line,) = one_line_each(r.err, 1)
        assert ref in line and words in line, line
    # Another run is read on its own, whatever state its neighbours are in.
    assert mg("--store", str(store.path), "runs", "--check", second).code == 0
    assert mg("--store", str(store.path), "plot", second).code == 0
    assert changed(before, store.path) == []


def test_lineage_of_a_state_looks_past_a_damaged_ref(node: tuple[Store, str, str]) -> None:
    # A state CID was looked up through the strict listing: one damaged ref hid every run.
    store, first, second = node
    state = lineage(store, first).state
    damage(store, "missing", first)
    # The second run may start from that very state, so either run may hold it newest (their
    # commits can share a second): found in one of them, not hidden by the damaged ref.
    assert lineage(store, str(state)).runs[0].run_id in (first, second)
    store.think("later", ["test"])
    elsewhere = str(store.snapshot().manifest.cid)
    # Not in a run that reads: it may be in the one that does not, which is the answer.
    with pytest.raises(RunFormatError, match="cannot read"):
        lineage(store, elsewhere)


# ---- objects lost inside a run ------------------------------------------------------------------


def retip(store: Store, run_id: str, parent_of_older: str, older_record: str | None = None) -> None:
    """Point the run at a copy of its newest generation over a copy of the one before it whose
    parent is ``parent_of_older`` (and whose generation.json is ``older_record``)."""
    tip = git(store, "rev-parse", f"refs/runs/{run_id}")
    older = git(store, "rev-parse", f"{tip}^")
    tree = git(store, "rev-parse", f"{older}^{{tree}}")
    if older_record is not None:
        lines = [
            e.split("\t")[0].rsplit(" ", 1)[0] + f" {older_record}\t{GENERATION_FILE}"
            if e.endswith("\t" + GENERATION_FILE)
            else e
            for e in git(store, "ls-tree", older).splitlines()
        ]
        tree = git(store, "mktree", "--missing", data=("\n".join(lines) + "\n").encode())
    head = git(store, "cat-file", "commit", older).split("\n\n", 1)
    headers = [h for h in head[0].splitlines() if not h.startswith(("parent ", "gpgsig", " "))]
    headers = [f"tree {tree}" if h.startswith("tree ") else h for h in headers]
    headers.insert(1, f"parent {parent_of_older}")
    text = "\n".join(headers) + "\n\n" + head[1]
    crafted = git(
        store, "hash-object", "-t", "commit", "-w", "--literally", "--stdin", data=text.encode()
    )
    message = git(store, "log", "-1", "--format=%B", tip)
    new_tip = git(store, "commit-tree", f"{tip}^{{tree}}", "-p", crafted, "-m", message)
    git(store, "update-ref", f"refs/runs/{run_id}", new_tip)


def test_a_run_whose_older_generation_lost_its_parent_is_named(
    node: tuple[Store, str, str], mg: Mg
) -> None:
    # A shallow fetch or a pruned object: KeyError, an internal error, in plot and runs --check.
    store, first, _ = node
    retip(store, first, MISSING)
    with pytest.raises(RunFormatError, match=f"commit {MISSING}: is missing from this store"):
        history(store, first)
    before = snapshot(store.path)
    for args in (("plot", first), ("runs", "--check", first)):
        r = mg("--store", str(store.path), *args)
        assert r.code == 1, (args, r.err)
        (line,) = one_line_each(r.err, 1)
        assert f"commit {MISSING}: is missing" in line, line
    assert changed(before, store.path) == []


def test_a_run_whose_older_generation_record_is_lost_is_named(
    node: tuple[Store, str, str], mg: Mg
) -> None:
    store, first, _ = node
    grandparent = git(store, "rev-parse", f"refs/runs/{first}~2")
    retip(store, first, grandparent, older_record=MISSING)
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "plot", first)
    assert r.code == 1, r.err
    (line,) = one_line_each(r.err, 1)
    assert f"of run {first}: names an object this store cannot read ({MISSING})" in line, line
    # Lineage walked into it with read_generation_commit: a KeyError, exit 3.
    for args in (("lineage", first), ("lineage", "--all", first)):
        r = mg("--store", str(store.path), *args)
        assert r.code == 1, (args, r.err)
        (line,) = one_line_each(r.err, 1)
        assert f"names an object this store cannot read ({MISSING})" in line, line
    assert changed(before, store.path) == []


# ---- merge's fitness lookup ---------------------------------------------------------------------


def test_lookup_refuses_a_run_ref_that_names_another_run(node: tuple[Store, str, str]) -> None:
    # It read refs/runs/* without the check: a re-tipped ref was taken for the run it points at.
    store, first, _ = node
    module = str(list_runs(store)[0].module)
    assert find_fitness(store.repo, experiment="main", own_key=store.public_key) is not None
    git(store, "update-ref", "-d", "refs/fitness/rastrigin")
    assert str(find_module(store.repo, module)) == module
    git(store, "update-ref", "refs/runs/000000000000", f"refs/runs/{first}")
    with pytest.raises(RunRefMismatch, match=f"generation of run {first}, not of run 000000000000"):
        find_fitness(store.repo, experiment="main", own_key=store.public_key)
    # By CID the re-tipped ref is looked past (the genuine ref holds the module)...
    assert str(find_module(store.repo, module)) == module
    # ...and is the answer when nothing readable holds the CID.
    unknown = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    with pytest.raises(RunRefMismatch):
        find_module(store.repo, unknown)


# ---- plot --width -------------------------------------------------------------------------------


def png_width(data: bytes) -> int:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width: int = struct.unpack(">I", data[16:20])[0]
    return width


@pytest.mark.parametrize("png", [False, True])
def test_plot_width_at_and_past_its_bounds(
    node: tuple[Store, str, str], mg: Mg, tmp_path: Path, png: bool
) -> None:
    # Widths of 20 px made a PNG of overlapping labels; a terminal chart took 10,000 columns.
    store, first, _ = node
    lo, hi = PNG_WIDTHS if png else TEXT_WIDTHS
    out = tmp_path / "chart.png"
    extra = ["-o", str(out)] if png else []
    for width in (lo, hi):
        r = mg("--store", str(store.path), "plot", first, "--width", str(width), *extra)
        assert r.code == 0, r.err
        if png:
            assert png_width(out.read_bytes()) == width
            out.unlink()
        else:
            assert "*" in r.out
    before = snapshot(tmp_path)
    for width in (lo - 1, hi + 1, 10**9, 0, -5):
        r = mg("--store", str(store.path), "plot", first, "--width", str(width), *extra)
        assert r.code == 2, (width, r.err)
        (line,) = one_line_each(r.err, 1)
        assert f"--width {width} is out of range" in line and f"{lo}..{hi}" in line, line
        assert r.out == ""
    assert changed(before, tmp_path) == []


def test_plot_help_shows_the_width_bounds(mg: Mg) -> None:
    r = mg("plot", "--help")
    assert r.code == 0
    text = " ".join(r.out.split())
    assert f"columns, {TEXT_WIDTHS[0]}-{TEXT_WIDTHS[1]}" in text, text
    assert f"pixels for PNG, {PNG_WIDTHS[0]}-{PNG_WIDTHS[1]:,}" in text, text


# ---- merge's fitness lookup over damaged refs ---------------------------------------------------


@pytest.mark.parametrize("kind", ["blob", "missing"])
def test_lookup_of_a_fitness_ref_that_is_no_commit_is_one_line(
    node: tuple[Store, str, str], mg: Mg, kind: str
) -> None:
    # An AssertionError (a blob) or a KeyError (a lost commit): an internal error, exit 3.
    store, _, _ = node
    module = str(list_runs(store)[0].module)
    if kind == "blob":
        oid = git(store, "hash-object", "-w", "--stdin", data=b"x\n")
        git(store, "update-ref", "refs/fitness/aaa", oid)
        words = f"refs/fitness/aaa: {oid} is not a commit"
    else:
        oid = MISSING
        (store.path / "refs" / "fitness" / "aaa").write_text(MISSING + "\n")
        words = f"refs/fitness/aaa: {MISSING} is missing from this repository"
    with pytest.raises(FitnessRefCorrupt, match=words):
        find_module(store.repo, "aaa")
    # By CID, the damaged name does not hide the module another name holds...
    assert str(find_module(store.repo, module)) == module
    # ...and is the answer when no readable version holds the CID.
    unknown = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    with pytest.raises(FitnessRefCorrupt, match=words):
        find_module(store.repo, unknown)
    git(store, "branch", "other", "main")
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "merge", "other", "--fitness", "aaa", "--dry-run")
    assert r.code == 1, r.err
    (line,) = one_line_each(r.err, 1)
    assert words in line, line
    assert changed(before, store.path) == []


def test_lookup_skips_an_own_run_whose_history_is_cut_short(node: tuple[Store, str, str]) -> None:
    # signed_by read the lost parent with repo.read: a KeyError stopped the merge.
    store, first, second = node
    tip = git(store, "rev-parse", f"refs/runs/{first}")
    older = git(store, "rev-parse", f"{tip}^")
    message = git(store, "log", "-1", "--format=%B", older)
    # A loose copy of the older generation, then lost: the newest stays validly signed.
    lost = git(store, "commit-tree", f"{older}^{{tree}}", "-p", f"{older}^", "-m", message + "\n")
    tip_commit = store.repo[tip].peel(pygit2.Commit)
    new_tip = store.write_commit(tip_commit.tree.id, [lost], tip_commit.message)
    git(store, "update-ref", f"refs/runs/{first}", new_tip)
    (store.path / "objects" / lost[:2] / lost[2:]).unlink()
    # A fresh repository: the store's own caches the commit it just wrote over.
    chosen = latest_run(pygit2.Repository(str(store.path)), "main", store.public_key)
    assert chosen is not None and chosen.run_id == second
