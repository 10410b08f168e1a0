"""Pulls at once and pulls killed, as real `mindgit` processes on real stores: a second pull
from the same peer says that it waits (and fails clearly if the other never ends); a pull while
the same experiment is written here loses no local commit; `kill -9` at a random moment of a
pull of a large run leaves the store fsck-clean, verifying, its refs each as before or as
accepted, no lock that blocks, and the pull run again finishes."""

from __future__ import annotations

import os
import random
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import pytest

from mindgit.evolve.run import start_run
from mindgit.store.generation import RunParams
from mindgit.store.repository import HEADS, open_store
from mindgit.store.state import make_thought
from mindgit.sync.peers import PeerBusy, peer_lock
from mindgit.sync.pull import pull
from tests.conftest import FIXTURES, ROOT, fsck, git
from tests.evolve.helpers import float_genes
from tests.sync.conftest import Nodes

# Holds the peer lock of store argv[1] for peer argv[2] until a line arrives on stdin.
HOLDER = r"""
import sys
from mindgit.store.repository import Store
from mindgit.sync.peers import peer_lock
with peer_lock(Store(sys.argv[1]), sys.argv[2]):
    print("held", flush=True)
    sys.stdin.readline()
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def mindgit(store: Path, *args: str, new_session: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mindgit", "--store", str(store), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        start_new_session=new_session,
    )


def run(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    p = mindgit(store, *args)
    out, err = p.communicate(timeout=120)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def line_within(stream: IO[str] | None, seconds: float = 60.0) -> str:
    """The next line a child writes, failing the test (not hanging the suite) if none comes."""
    assert stream is not None
    ready, _, _ = select.select([stream], [], [], seconds)
    assert ready, f"no line from the child within {seconds} s"
    return stream.readline()


def assert_sound(store: Path) -> None:
    fsck(store)
    done = run(store, "verify", "--all")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_second_pull_says_it_waits_for_the_first(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    alpha.fork("shared")
    alpha.think("from alpha")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(beta.path), "alpha"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert line_within(holder.stdout).strip() == "held"
        # Without --verbose too: the wait was up to 30 s of silence.
        waiting = mindgit(beta.path, "pull", "alpha")
        assert waiting.stderr is not None
        # Its first words, while the other still holds the peer: that it waits, for whom.
        line = line_within(waiting.stderr)
        assert "waiting for another pull or push with peer 'alpha'" in line, line
        assert f"(pid {holder.pid})" in line and "up to 30s" in line
        assert holder.stdin is not None
        holder.stdin.write("done\n")
        holder.stdin.flush()
        _, err = waiting.communicate(timeout=60)
        assert waiting.returncode == 0, err
    finally:
        holder.kill()
        holder.wait()
    assert beta.head("shared") == alpha.head("shared")


def test_a_pull_that_gives_up_waiting_names_the_other_and_changes_nothing(pair: Nodes) -> None:
    beta = pair["beta"]
    told: list[str] = []
    with (
        peer_lock(beta, "alpha"),
        pytest.raises(PeerBusy) as caught,
        peer_lock(beta, "alpha", 0.2, told.append),
    ):
        pass
    assert len(told) == 1 and f"(pid {os.getpid()})" in told[0]
    message = str(caught.value)
    assert "still running" in message and f"(pid {os.getpid()})" in message
    assert "nothing was changed" in message
    # The lock is the kernel's: removing its file would let two pulls run at once.
    assert "remove" not in (caught.value.hint or "")


# Thinks on experiment argv[2] of store argv[1], argv[3] times, after a line on stdin.
THINKER = r"""
import sys
from mindgit.store.repository import open_store
store = open_store(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
for i in range(int(sys.argv[3])):
    store.think(f"{sys.argv[4]} {i}", experiment=sys.argv[2])
"""


def test_a_pull_while_the_experiment_is_written_here_loses_no_local_commit(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    alpha.fork("shared")
    alpha.think("a0")
    pull(beta, "alpha")
    for i in range(1, 6):
        alpha.think(f"a{i}")  # theirs moves on: a fast-forward, or a merge once ours moved too
    thinkers = [
        subprocess.Popen(
            [sys.executable, "-c", THINKER, str(beta.path), "shared", "15", f"b{w}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for w in range(3)
    ]
    for t in thinkers:
        assert line_within(t.stdout).strip() == "ready"
    puller = mindgit(beta.path, "pull", "alpha")
    for t in thinkers:
        assert t.stdin is not None
        t.stdin.write("go\n")
        t.stdin.flush()
    for t in thinkers:
        t.communicate(timeout=120)
        assert t.returncode == 0
    _, err = puller.communicate(timeout=120)
    assert puller.returncode == 0, err
    if "pull again" in err:
        # It may lose every try to the writers here: then it keeps ours as a conflict and says
        # so (exit 0, as for any conflict), and the next one brings theirs in.
        assert "refs/heads/shared conflict: it moved here" in err, err
        again = run(beta.path, "pull", "alpha")
        assert again.returncode == 0 and "pull again" not in again.stderr, again.stderr
    ours = {make_thought(f"b{w} {i}", ()).cid for w in range(3) for i in range(15)}
    theirs = {make_thought(f"a{i}", ()).cid for i in range(6)}
    assert open_store(beta.path).state("shared").thoughts == ours | theirs
    assert_sound(beta.path)


def _refs(store: Path) -> dict[str, str]:
    out = git("--git-dir", str(store), "for-each-ref", "--format=%(refname) %(objectname)")
    pairs = (line.split(" ", 1) for line in out.splitlines())
    return {ref: oid for ref, oid in pairs}


def _locks(store: Path) -> list[str]:
    """Lock files of git's kind (created, renamed away): the flock()ed ones of the trust file
    and the peers stay, and block nobody once their process is gone."""
    return sorted(
        str(p.relative_to(store))
        for p in store.rglob("*.lock")
        if p.name != "allowed_signers.lock" and p.parent.name != "peers"
    )


def _left_by(store: Path, pid: int, where: str) -> None:
    """Every ref lock left names the killed process: the next writer of that ref removes it
    (a writer that does not need the ref leaves it, harmless)."""
    for lock in _locks(store):
        token = (store / lock).read_bytes().split()[:2]
        assert token == [b"mindgit-lock", b"%d" % pid], (where, lock)


def test_a_pull_killed_at_random_moments_leaves_a_store_that_pulls_again(
    pair: Nodes, tmp_path: Path
) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    alpha.fork("shared")
    alpha.think("a0")
    pull(beta, "alpha")
    beta.think("b0", experiment="shared")  # diverged: the pull ends with a merge
    alpha.set_genes(float_genes(4), experiment="shared")
    start_run(
        alpha,
        str(FIXTURES / "fitness" / "rastrigin.wat"),
        RunParams(population=32, generations=60, seed=3),
        experiment="shared",
    )
    pristine = tmp_path / "pristine"
    shutil.copytree(beta.path, pristine, symlinks=True)
    before = _refs(pristine)
    # An uninterrupted pull: what each ref may become, and how long a pull takes here.
    began = time.monotonic()
    done = run(beta.path, "pull", "alpha")
    took = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    after = _refs(beta.path)
    rng = random.Random(7)
    for attempt in range(6):
        shutil.rmtree(beta.path)
        shutil.copytree(pristine, beta.path, symlinks=True)
        victim = mindgit(beta.path, "pull", "alpha", new_session=True)
        time.sleep(rng.uniform(0.4, 1.0) * took)  # a random moment, not an ordering
        os.killpg(victim.pid, signal.SIGKILL)  # its git children too, as a crash would
        victim.communicate(timeout=60)
        where = f"attempt {attempt}"
        _left_by(beta.path, victim.pid, where)
        now = _refs(beta.path)
        for ref in before.keys() | now.keys():
            if ref.startswith(("refs/heads/", "refs/runs/", "refs/fitness/", "refs/keys/")):
                # Each synced ref as it was or as an uninterrupted pull left it; a merge made
                # here has its own id, so a merged experiment is checked by its content below.
                if ref == HEADS + "shared" and now[ref] != before[ref]:
                    continue
                assert now.get(ref) in (before.get(ref), after.get(ref)), (where, ref)
        assert_sound(beta.path)
        again = run(beta.path, "pull", "alpha")
        assert again.returncode == 0, (where, again.stderr)
        _left_by(beta.path, victim.pid, where)
        state = open_store(beta.path).state("shared")
        assert make_thought("b0", ()).cid in state.thoughts, where
        assert make_thought("a0", ()).cid in state.thoughts, where
        assert_sound(beta.path)


def test_a_ref_written_here_faster_than_a_pull_can_merge_is_kept_not_raised(
    pair: Nodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mindgit.merge import engine

    alpha, beta = pair["alpha"], pair["beta"]
    alpha.fork("shared")
    alpha.think("a0")
    pull(beta, "alpha")
    alpha.think("a1", experiment="shared")
    beta.think("b0", experiment="shared")  # diverged: the pull merges
    alpha.fork("later", switch=False)  # a new ref the pull takes before it reaches shared
    # Another writer of this store, committing to shared each time the merge has been planned
    # and before it is written: every try of the pull's compare-and-swap loses.
    writer = open_store(beta.path)
    planned = engine.plan_merge
    wrote: list[int] = []

    def plan_then_write(*args: object, **kwargs: object) -> engine.MergePlan:
        plan = planned(*args, **kwargs)  # type: ignore[arg-type]
        writer.think(f"written meanwhile {len(wrote)}", experiment="shared")
        wrote.append(1)
        return plan

    monkeypatch.setattr(engine, "plan_merge", plan_then_write)
    report = pull(beta, "alpha")
    outcome = {r.ref: r for r in report.refs}
    assert outcome[HEADS + "later"].status == "new"
    kept = outcome[HEADS + "shared"]
    assert kept.status == "conflict" and "pull again" in (kept.detail or "")
    assert kept.after == beta.head("shared")  # every local commit kept
    monkeypatch.setattr(engine, "plan_merge", planned)
    again = {r.ref: r for r in pull(beta, "alpha").refs}
    assert again[HEADS + "shared"].status == "merged"
    state = open_store(beta.path).state("shared")
    assert {make_thought(t, ()).cid for t in ("a0", "a1", "b0")} <= state.thoughts
    assert {make_thought(f"written meanwhile {i}", ()).cid for i in range(len(wrote))} <= (
        state.thoughts
    )
    assert_sound(beta.path)
