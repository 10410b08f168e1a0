"""`mindgit merge` on the command line: what it prints, --json, --dry-run, and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mindgit.store.repository import Store, init_store
from tests.conftest import Mg, git
from tests.merge.conftest import RASTRIGIN, diverge, x


def test_merge_prints_what_was_kept_and_why(rastrigin: Store, mg: Mg) -> None:
    store = rastrigin
    diverge(
        store,
        ours=[x("x0", 1.0), x("x3", 1.0)],
        theirs=[x("x0", 0.0), x("x2", 3.0)],
        start=[x(f"x{i}", 1.5) for i in range(4)],
    )
    store.think("dream", experiment="dreamer")
    r = mg("--store", str(store.path), "merge", "dreamer", "--fitness", "rastrigin")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].startswith("kept theirs (dreamer) for x0: fitness: ours -")
    assert lines[1] == "kept theirs (dreamer) for x2: only theirs changed it"
    assert lines[2] == "kept ours for x3: only ours changed it"
    assert lines[3] == "thoughts: 1 added from dreamer, 0 removed"
    assert lines[4] == store.head("main")
    assert "2 candidate(s) scored by bafkrei" in r.err and "higher is fitter" in r.err


def test_merge_json_and_dry_run(rastrigin: Store, mg: Mg) -> None:
    store = rastrigin
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x0", 0.0)], start=[x("x0", 3.0)])
    head = store.head("main")
    r = mg(
        "--store",
        str(store.path),
        "merge",
        "dreamer",
        "--into",
        "main",
        "--dry-run",
        "--json",
        "--fitness",
        str(RASTRIGIN),
    )
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["commit"] is None and data["dry_run"] and data["into"] == "main"
    assert data["candidates_scored"] == 2 and data["entry"] == "fitness_batch"
    decision = data["decisions"][0]
    assert decision["pattern"] == "x0" and decision["winner"] == "theirs"
    assert decision["theirs"] == {"max": 5.12, "min": -5.12, "type": "float", "value": 0}
    assert decision["scores"]["theirs"] == 0.0
    assert store.head("main") == head
    r = mg("--store", str(store.path), "merge", "dreamer", "--dry-run", "--fitness", "rastrigin")
    assert r.code == 0 and "dry run: nothing written" in r.err


def test_fast_forward_and_up_to_date_messages(store: Store, mg: Mg) -> None:
    store.fork("dreamer", switch=False)
    store.think("ahead", experiment="dreamer")
    r = mg("--store", str(store.path), "merge", "dreamer")
    assert r.code == 0 and "fast-forward main to dreamer" in r.err
    assert r.out.strip() == store.head("dreamer") == store.head("main")
    r = mg("--store", str(store.path), "merge", "dreamer")
    assert r.code == 0 and "already up to date" in r.err


def test_merge_errors_are_one_line_and_exit_1(store: Store, mg: Mg) -> None:
    r = mg("--store", str(store.path), "merge", "nobody")
    assert r.code == 1 and "unknown experiment or revision 'nobody'" in r.err
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x0", 0.0)], start=[x("x0", 3.0)])
    head = store.head("main")
    r = mg("--store", str(store.path), "merge", "dreamer")
    assert r.code == 1
    assert r.err.startswith("mindgit: error: both sides changed 1 pattern(s) differently (x0)")
    assert f"mindgit --store {store.path} config set fitness" in r.err
    assert len(r.err.splitlines()) == 1
    assert store.head("main") == head


def test_many_conflicts_are_named_in_a_short_line(store: Store, mg: Mg) -> None:
    # Every conflicting pattern was named: 3,000 conflicting genes made an 87 KB error line.
    genes = [f"gene_{i:04d}" for i in range(300)]
    diverge(
        store,
        ours=[x(g, 1.0) for g in genes],
        theirs=[x(g, 2.0) for g in genes],
        start=[x(g, 0.0) for g in genes],
    )
    head = store.head("main")
    r = mg("--store", str(store.path), "merge", "dreamer")
    assert r.code == 1 and len(r.err.splitlines()) == 1 and len(r.err) < 600
    assert f"300 pattern(s) differently ({', '.join(genes[:12])} and 288 more)" in r.err
    r = mg("--store", str(store.path), "merge", "dreamer", "--json")
    assert r.code == 1 and json.loads(r.out)["conflicts"] == genes
    assert store.head("main") == head


def disk(store: Store) -> dict[str, bytes]:
    """Every file of the store but the compiled-module cache (a private, local cache: compiling
    a module is not a change to the store), with its bytes."""
    cache = store.path / "mindgit" / "wasm-cache"
    return {
        str(p.relative_to(store.path)): p.read_bytes()
        for p in sorted(store.path.rglob("*"))
        if p.is_file() and cache not in p.parents
    }


HOSTILE_DIR = RASTRIGIN.parent / "hostile"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["nobody"], "unknown experiment or revision 'nobody'"),
        (["dreamer", "--into", "nobody"], "unknown experiment 'nobody'"),
        (["main"], "cannot merge main into itself"),
        (["dreamer", "--into", "dreamer"], "cannot merge dreamer into itself"),
        (["beta"], "beta and main share no history"),
        (["dreamer", "--fitness", "nosuch"], "no fitness module named 'nosuch'"),
        (["dreamer", "--fitness", "nosuch.wasm"], "cannot read fitness module nosuch.wasm"),
        (["dreamer", "--fitness", str(HOSTILE_DIR)], "hostile: not a file"),
        (["dreamer"], "both sides changed 1 pattern(s) differently (x0)"),
        (["dreamer", "--fitness", str(HOSTILE_DIR / "unreachable.wat")], "failed on all 2"),
        (["dreamer", "--fitness", str(HOSTILE_DIR / "infinite_loop.wat")], "ran out of fuel"),
        (["dreamer", "--fitness", str(HOSTILE_DIR / "nan_score.wat")], "not a finite score"),
        (["dreamer", "--fitness", str(HOSTILE_DIR / "wasi_import.wat")], "imports wasi"),
    ],
)
def test_bad_input_is_one_line_exit_1_and_changes_nothing_on_disk(
    rastrigin: Store, mg: Mg, tmp_path: Path, args: list[str], says: str
) -> None:
    store = rastrigin
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x0", 0.0)], start=[x("x0", 3.0)])
    other = init_store(tmp_path / "beta", "beta")
    other.set_genes([x("x5", 1.0)])
    git("--git-dir", str(store.path), "fetch", "-q", str(other.path), "main:refs/heads/beta")
    before = disk(store)
    for extra in ([], ["--dry-run"]):
        r = mg("--store", str(store.path), "merge", *args, *extra)
        assert r.code == 1, r.err
        assert r.err.startswith("mindgit: error: ") and says in r.err, r.err
        assert len(r.err.splitlines()) == 1 and r.out == ""
        r = mg("--store", str(store.path), "merge", *args, *extra, "--json")
        assert r.code == 1 and says in json.loads(r.out)["error"]
    assert disk(store) == before


def test_a_corrupt_ref_to_merge_into_is_a_one_line_error(rastrigin: Store, mg: Mg) -> None:
    store = rastrigin
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x0", 0.0)], start=[x("x0", 3.0)])
    (store.path / "refs" / "heads" / "main").write_text("not an object id\n")
    before = disk(store)
    r = mg("--store", str(store.path), "merge", "dreamer", "--fitness", "rastrigin")
    assert disk(store) == before
    assert r.code == 1 and "refs/heads/main" in r.err and len(r.err.splitlines()) == 1, r.err


def test_a_thought_blob_lost_from_the_store_is_a_one_line_error(store: Store, mg: Mg) -> None:
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x1", 0.0)])
    _, lost = store.think("a dream", experiment="dreamer")
    oid = git("--git-dir", str(store.path), "rev-parse", f"dreamer:thoughts/{lost}").strip()
    (store.path / "objects" / oid[:2] / oid[2:]).unlink()
    before = disk(store)
    r = mg("--store", str(store.path), "merge", "dreamer")
    assert disk(store) == before
    assert r.code == 1 and str(lost) in r.err and len(r.err.splitlines()) == 1, r.err
