"""`mindgit merge` on the command line: what it prints, --json, --dry-run, and errors."""

from __future__ import annotations

import json

from mindgit.store.repository import Store
from tests.conftest import Mg
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
    assert "mindgit config set fitness" in r.err and len(r.err.splitlines()) == 1
    assert store.head("main") == head
