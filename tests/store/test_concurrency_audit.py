"""Writers at once on one store, as real processes: `think` by many, `think` against `genome set`,
`fork`/`switch` and `merge`. No commit is lost, histories stay linear where only thoughts were
added, and the store is fsck-clean and verifies; a writer that loses a race fails with a clear
message, having written nothing that a rerun trips on. Also the ref locks' own failure paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pygit2
import pytest

from mindgit.ipld.cid import CID
from mindgit.store.refs import CorruptRef, RefLocked, locked_ref, read_ref, update_ref
from mindgit.store.repository import HEADS, Store
from mindgit.store.state import make_thought
from tests.conftest import ROOT, fsck, git

# Runs the mindgit CLI once per command of its list (a JSON argument), in one process, after
# a start line on stdin: every worker is started and ready before any of them writes, so that
# they really write at once. Prints each command's exit code and its stderr's first line.
WORKER = r"""
import contextlib, io, json, sys
from mindgit.cli.main import run
commands = json.loads(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
for argv in commands:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = run(argv)
    print(json.dumps([code, err.getvalue().strip()]), flush=True)
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def run_at_once(jobs: Sequence[Sequence[Sequence[str]]]) -> list[list[tuple[int, str]]]:
    """Run each job (a list of mindgit command lines) in a process of its own, all started
    together; return each job's (exit code, stderr) per command."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, json.dumps([list(a) for a in job])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for job in jobs
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append([tuple(json.loads(line)) for line in out.splitlines()])
    return results


def mindgit(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mindgit", "--store", str(store.path), *args],
        capture_output=True,
        text=True,
        env=_env(),
    )


def assert_sound(store: Store) -> None:
    fsck(store.path)
    done = mindgit(store, "verify", "--all")
    assert done.returncode == 0, done.stdout + done.stderr


def thought_cid(text: str) -> CID:
    return make_thought(text, ()).cid


def history(store: Store, ref: str) -> list[str]:
    return git("--git-dir", str(store.path), "rev-list", "--parents", ref).splitlines()


def test_many_processes_thinking_at_once_lose_nothing(store: Store) -> None:
    path = str(store.path)
    texts = [[f"worker {w} thought {i}" for i in range(10)] for w in range(8)]
    results = run_at_once([[["--store", path, "think", t] for t in job] for job in texts])
    assert all(r == (0, "") for job in results for r in job), results
    lines = history(store, HEADS + "main")
    assert len(lines) == 1 + 80
    # Linear: every commit but the first has exactly one parent.
    assert all(len(line.split()) == 2 for line in lines[:-1]) and len(lines[-1].split()) == 1
    assert store.state().thoughts == {thought_cid(t) for job in texts for t in job}
    assert_sound(store)


def test_think_and_genome_set_at_once_keep_both(store: Store) -> None:
    path = str(store.path)
    thinkers = [[["--store", path, "think", f"t{w}.{i}"] for i in range(8)] for w in range(3)]
    setters = [
        [["--store", path, "genome", "set", f"g{w}_{i}={i}"] for i in range(8)] for w in range(3)
    ]
    results = run_at_once([*thinkers, *setters])
    assert all(r == (0, "") for job in results for r in job), results
    state = store.state()
    assert state.thoughts == {thought_cid(f"t{w}.{i}") for w in range(3) for i in range(8)}
    assert {g.name: g.value for g in state.genome.genes} == {
        f"g{w}_{i}": i for w in range(3) for i in range(8)
    }
    assert len(history(store, HEADS + "main")) == 1 + 48
    assert_sound(store)


def test_think_while_forking_and_switching_lands_every_thought_once(store: Store) -> None:
    path = str(store.path)
    thinkers = [[["--store", path, "think", f"t{w}.{i}"] for i in range(10)] for w in range(3)]
    mover: list[list[str]] = []
    for i in range(6):
        mover += [["--store", path, "fork", f"side{i}"], ["--store", path, "switch", "main"]]
    results = run_at_once([*thinkers, mover])
    assert all(r == (0, "") for job in results[:3] for r in job), results
    assert [code for code, _ in results[3]] == [0] * len(mover), results[3]
    # A thought goes to whichever experiment was current when it was written: each is in the
    # history of exactly one commit that added it, and in the state of some experiment.
    every = {thought_cid(f"t{w}.{i}") for w in range(3) for i in range(10)}
    held: set[CID] = set()
    added: list[str] = []
    for name in store.experiments():
        held |= store.state(name).thoughts
    for line in git("--git-dir", path, "log", "--all", "--format=%s").splitlines():
        if line.startswith("think: "):
            added.append(line.removeprefix("think: "))
    assert held >= every
    assert sorted(added) == sorted(f"t{w}.{i}" for w in range(3) for i in range(10))
    assert store.current == "main"
    assert_sound(store)


def test_merge_racing_think_loses_nothing_and_says_why_it_failed(store: Store) -> None:
    path = str(store.path)
    store.fork("dreamer")
    for i in range(5):
        store.think(f"dream {i}")
    store.switch("main")
    store.think("awake")
    thinkers = [[["--store", path, "think", f"t{w}.{i}"] for i in range(10)] for w in range(2)]
    merger = [["--store", path, "merge", "dreamer"]] * 3
    results = run_at_once([*thinkers, merger])
    assert all(r == (0, "") for job in results[:2] for r in job), results
    merged = False
    for code, err in results[2]:
        if code == 0:
            merged = True
        else:
            # Lost the race to a thought: one line naming what moved and that nothing changed.
            assert code == 1 and "moved while this command ran" in err, err
            assert "nothing was changed" in err and len(err.splitlines()) == 1
    if not merged:
        done = mindgit(store, "merge", "dreamer")
        assert done.returncode == 0, done.stderr
    wanted = {thought_cid(f"t{w}.{i}") for w in range(2) for i in range(10)}
    wanted |= {thought_cid(f"dream {i}") for i in range(5)} | {thought_cid("awake")}
    assert store.state().thoughts == wanted
    assert_sound(store)


def test_a_ref_that_cannot_be_read_leaves_no_lock_behind(store: Store) -> None:
    ref = store.path / "refs" / "heads" / "broken"
    ref.write_text("not a commit id\n")
    head = store.head()
    with pytest.raises(CorruptRef):
        update_ref(store.repo, HEADS + "broken", head, None, message="m", committer="c")
    assert not ref.with_name("broken.lock").exists()
    ref.write_text(head + "\n")  # repaired: the next writer must not find it locked
    with locked_ref(store.repo, HEADS + "broken", wait=0) as held:
        assert held.current == head


def test_a_fork_that_cannot_switch_creates_nothing(store: Store) -> None:
    lock = store.path / "HEAD.lock"
    lock.write_bytes(b"")  # another writer's, or one left by a killed process
    store.lock_wait = 0.05
    with pytest.raises(RefLocked) as caught:
        store.fork("side")
    assert str(lock) in str(caught.value) and str(lock) in (caught.value.hint or "")
    assert store.experiments() == ["main"] and lock.exists()
    lock.unlink()
    store.fork("side")  # the same command again, once the lock is gone
    assert store.current == "side"
    assert pygit2.Repository(str(store.path)).head.shorthand == "side"
    fsck(store.path)


def test_a_stale_ref_lock_is_named_with_the_way_out(store: Store, tmp_path: Path) -> None:
    lock = store.path / "refs" / "heads" / "main.lock"
    lock.write_bytes(b"")  # as kill -9 between taking the lock and renaming it leaves it
    store.lock_wait = 0.05
    with pytest.raises(RefLocked) as caught:
        store.think("blocked")
    assert f"remove {lock}" in (caught.value.hint or "")
    lock.unlink()
    store.think("after")
    fsck(store.path)


def test_two_forks_of_one_name_at_once_the_loser_says_it_exists(store: Store) -> None:
    path = str(store.path)
    results = run_at_once([[["--store", path, "fork", "twin", "--no-switch"]]] * 4)
    codes = sorted(code for job in results for code, _ in job)
    assert codes == [0, 1, 1, 1], results
    for job in results:
        for code, err in job:
            if code:
                assert "experiment 'twin' already exists" in err, err
    assert store.experiments() == ["main", "twin"]
    fsck(store.path)


def test_a_fork_that_loses_the_race_after_its_check_says_it_exists(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mindgit.store import repository
    from mindgit.store.repository import ExperimentExists

    store.fork("twin", switch=False)
    real = read_ref
    # As the other fork's ref appears between this fork's check and its write.
    monkeypatch.setattr(
        repository, "read_ref", lambda repo, ref: None if ref == HEADS + "twin" else real(repo, ref)
    )
    with pytest.raises(ExperimentExists):
        store.fork("twin")
    assert store.current == "main" and not (store.path / "HEAD.lock").exists()
