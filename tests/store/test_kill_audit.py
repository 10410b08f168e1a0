"""`kill -9` of real `mindgit` processes that write a store (`think`, `merge`, `import-af`,
`import` of a CAR) at random moments: the store stays fsck-clean and verifies, nothing is
half-written (each ref as before or as an uninterrupted run left it), no lock file is left that
blocks the next command, and the same command run again finishes."""

from __future__ import annotations

import contextlib
import io
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mindgit.adapters.car_export import export
from mindgit.cli.main import run as cli_run
from mindgit.store.repository import Store, init_store, open_store
from tests.conftest import FIXTURES, ROOT, fsck, git

EVIE = FIXTURES / "agent-files" / "evie.af"  # two agents: two experiments in one import


def _env(store: Path) -> dict[str, str]:
    """The child's environment: temporary files (an import's spool, which a SIGKILL leaves
    behind as an empty directory) in the test's own directory, not the system's /tmp."""
    tmp = store.parent / "tmpdir"
    tmp.mkdir(exist_ok=True)
    return {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp)}


def _argv(store: Path, args: tuple[str, ...]) -> list[str]:
    return [sys.executable, "-m", "mindgit", "--store", str(store), *args]


def _refs(store: Path) -> dict[str, str]:
    out = git("--git-dir", str(store), "for-each-ref", "--format=%(refname) %(objectname)")
    pairs = (line.split(" ", 1) for line in out.splitlines())
    return {ref: oid for ref, oid in pairs}


def _tree(store: Path, commit: str) -> str:
    return git("--git-dir", str(store), "rev-parse", f"{commit}^{{tree}}").strip()


def _locks(store: Path) -> list[Path]:
    """Lock files of git's kind (created, renamed away); the trust file's lock is flock()ed and
    blocks nobody once its process is gone."""
    return sorted(p for p in store.rglob("*.lock") if p.name != "allowed_signers.lock")


def verify_all(store: Path) -> None:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = cli_run(["--store", str(store), "verify", "--all"])
    assert code == 0, err.getvalue()


Rerun = Callable[[subprocess.CompletedProcess[str]], None]


def kill_at_random(
    store: Path,
    args: tuple[str, ...],
    rerun_ok: Rerun,
    *,
    attempts: int,
    seed: int,
) -> None:
    """Run ``mindgit ARGS`` on a copy of ``store`` ``attempts`` times, each killed (with its
    children) at a random moment of it; after each, check the store and run it again."""
    pristine = store.parent / (store.name + "-pristine")
    shutil.copytree(store, pristine, symlinks=True)
    before = _refs(store)
    began = time.monotonic()
    whole = subprocess.run(_argv(store, args), capture_output=True, text=True, env=_env(store))
    took = time.monotonic() - began
    assert whole.returncode == 0, whole.stderr
    after = _refs(store)
    assert after != before
    after_trees = {ref: _tree(store, oid) for ref, oid in after.items()}
    rng = random.Random(seed)
    for attempt in range(attempts):
        where = f"{args[0]}, attempt {attempt}"
        shutil.rmtree(store)
        shutil.copytree(pristine, store, symlinks=True)
        victim = subprocess.Popen(
            _argv(store, args),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_env(store),
            start_new_session=True,
        )
        time.sleep(rng.uniform(0.4, 1.0) * took)  # a random moment, not an ordering
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=60)
        # A lock the victim held is left, naming it: the next writer sees it died, removes it.
        for lock in _locks(store):
            assert lock.read_bytes().split()[:2] == [b"mindgit-lock", b"%d" % victim.pid], where
        now = _refs(store)
        for ref in before.keys() | now.keys():
            # Whole or not at all, ref by ref: as before, or as the uninterrupted run left it
            # (a commit made again has its own id and time, so compared by its tree).
            if now.get(ref) != before.get(ref) and now.get(ref) != after.get(ref):
                assert ref in after and ref in now, (where, ref)
                assert _tree(store, now[ref]) == after_trees[ref], (where, ref)
        fsck(store)
        verify_all(store)
        again = subprocess.run(_argv(store, args), capture_output=True, text=True, env=_env(store))
        rerun_ok(again)
        # What is left names the victim: the next writer of that ref removes it.
        for lock in _locks(store):
            assert lock.read_bytes().split()[:2] == [b"mindgit-lock", b"%d" % victim.pid], where
        fsck(store)
    shutil.rmtree(pristine)


def _succeeds(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stderr


def test_think_killed_at_random_moments(store: Store) -> None:
    for i in range(3):
        store.think(f"before {i}")

    def again(done: subprocess.CompletedProcess[str]) -> None:
        # The kill came after the thought was committed: it is there, and saying so is right.
        if done.returncode != 0:
            assert "nothing changed: think: after the kill" in done.stderr, done.stderr
        assert any(b"after the kill" in t for _, t in open_store(store.path).thoughts())

    kill_at_random(store.path, ("think", "after the kill"), again, attempts=6, seed=1)


def test_merge_killed_at_random_moments(store: Store) -> None:
    store.fork("dreamer")
    for i in range(20):
        store.think(f"dream {i}")
    store.switch("main")
    for i in range(20):
        store.think(f"awake {i}")

    def again(done: subprocess.CompletedProcess[str]) -> None:
        assert done.returncode == 0, done.stderr
        assert (
            open_store(store.path).state().thoughts
            >= open_store(store.path).state("dreamer").thoughts
        )

    kill_at_random(store.path, ("merge", "dreamer"), again, attempts=5, seed=2)


def test_import_af_killed_at_random_moments(store: Store) -> None:
    def again(done: subprocess.CompletedProcess[str]) -> None:
        if done.returncode != 0:
            # Killed after it had made them all: the rerun refuses to make them twice.
            assert "already exists" in done.stderr, done.stderr
        assert len(open_store(store.path).experiments()) == 3  # main and the two agents

    kill_at_random(store.path, ("import-af", str(EVIE)), again, attempts=6, seed=3)


def test_import_of_a_car_killed_at_random_moments(store: Store, tmp_path: Path) -> None:
    source = init_store(tmp_path / "source", "source")
    for i in range(200):
        source.think(f"exported thought {i}")
    car = tmp_path / "state.car"
    with open(car, "wb") as f:
        export(source, None, f, history=True)

    def again(done: subprocess.CompletedProcess[str]) -> None:
        assert done.returncode == 0, done.stderr

    kill_at_random(store.path, ("import", str(car), "--as", "imported"), again, attempts=5, seed=4)


# Takes the lock of ref argv[2] in store argv[1] and dies with it held (SIGKILL, no cleanup);
# with argv[3] == "rename", dies instead at the last moment: the new value about to be renamed
# into place; with "created", at the first: the moment the lock file exists.
DIE_HOLDING = r"""
import os, signal, sys
from mindgit.store.repository import Store
from mindgit.store.refs import locked_head, locked_ref
store, ref, when = Store(sys.argv[1]), sys.argv[2], sys.argv[3]
def dies_once_it_exists(make, at):
    def made(*a, **k):
        result = make(*a, **k)
        if when == "created" and str(a[at]).endswith(ref + ".lock"):
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    return made
os.open = dies_once_it_exists(os.open, 0)
os.link = dies_once_it_exists(os.link, 1)
real_replace = os.replace
def replace(src, dst, *a, **k):
    if str(dst).endswith(ref):
        os.kill(os.getpid(), signal.SIGKILL)
    return real_replace(src, dst, *a, **k)
os.replace = replace
if ref == "HEAD":
    with locked_head(store.repo) as head:
        os.kill(os.getpid(), signal.SIGKILL)
with locked_ref(store.repo, ref) as held:
    if when == "held":
        os.kill(os.getpid(), signal.SIGKILL)
    held.set(store.head(), message="never", committer="x <y>")
"""


def die_holding(store: Store, ref: str, when: str = "held") -> Path:
    done = subprocess.run(
        [sys.executable, "-c", DIE_HOLDING, str(store.path), ref, when],
        env=_env(store.path),
        capture_output=True,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    lock = store.path / (ref + ".lock")
    assert lock.exists()
    return lock


def test_a_lock_left_by_a_killed_writer_is_taken_by_the_next(store: Store) -> None:
    head = store.head()
    lock = die_holding(store, "refs/heads/main")
    store.lock_wait = 0.05  # it must not wait at all: the holder is known dead
    store.think("after the kill")
    assert not lock.exists() and store.state().thoughts and store.head() != head
    fsck(store.path)


def test_a_writer_killed_as_its_lock_appears_leaves_a_lock_the_next_takes(store: Store) -> None:
    # Created empty, then written: a kill in between (seen under load) left an empty lock,
    # which reads as git's and was waited for, then refused, forever.
    head = store.head()
    lock = die_holding(store, "refs/heads/main", "created")
    assert lock.read_bytes().startswith(b"mindgit-lock ")
    store.lock_wait = 0.05  # it must not wait at all: the holder is known dead
    store.think("after the kill")
    assert not lock.exists() and store.head() != head
    assert _spares(store.path) == []
    fsck(store.path)


def test_a_writer_killed_just_before_its_rename_leaves_a_lock_the_next_takes(store: Store) -> None:
    head = store.head()
    lock = die_holding(store, "refs/heads/main", "rename")
    assert store.head() == head  # not moved: nothing half-written
    done = subprocess.run(
        _argv(store.path, ("think", "after the kill")),
        capture_output=True,
        text=True,
        env=_env(store.path),
    )
    assert done.returncode == 0, done.stderr
    assert not lock.exists()
    assert _spares(store.path) == []  # the value it was about to rename went with its lock
    fsck(store.path)


def _spares(store: Path) -> list[str]:
    return sorted(p.name for p in (store / "mindgit").glob("ref-*.tmp"))


def test_breaking_a_dead_writer_s_lock_spares_a_live_namesake_s_file(store: Store) -> None:
    # Another container sharing the store can run a writer under the same pid number: the file
    # it is about to rename into place must outlive the dead writer's lock.
    lock = die_holding(store, "refs/heads/main", "rename")
    pid = lock.read_bytes().split()[1].decode()
    (victims,) = _spares(store.path)
    namesake = f"ref-{pid}-{'0' * 16}-{'a' * 12}.tmp"
    (store.path / "mindgit" / namesake).write_text(store.head() + "\n")
    store.lock_wait = 0.05
    store.think("after the kill")
    assert not lock.exists() and _spares(store.path) == [namesake], victims


def test_a_store_whose_mindgit_folder_is_another_filesystem_moves_its_refs(
    store: Store,
) -> None:
    elsewhere = Path(tempfile.mkdtemp(dir="/dev/shm")) if Path("/dev/shm").is_dir() else None
    if elsewhere is None or elsewhere.stat().st_dev == store.path.stat().st_dev:
        pytest.skip("no second filesystem to put mindgit/ on")
    try:
        folder = store.path / "mindgit"
        shutil.copytree(folder, elsewhere / "mindgit", symlinks=True)
        shutil.rmtree(folder)
        folder.symlink_to(elsewhere / "mindgit")
        head = store.head()
        store.think("across filesystems")  # a rename from mindgit/ into refs/ is EXDEV
        assert store.head() != head and _locks(store.path) == [] and _spares(store.path) == []
        store.fork("side")
        assert store.current == "side"
        fsck(store.path)
    finally:
        shutil.rmtree(elsewhere)


def test_a_switch_after_a_writer_killed_holding_head(store: Store) -> None:
    store.fork("side", switch=False)
    die_holding(store, "HEAD")
    store.lock_wait = 0.05
    store.switch("side")
    assert store.current == "side"


def test_import_af_after_an_import_killed_holding_its_lock(store: Store) -> None:
    from mindgit.adapters.agentfile import import_af

    die_holding(store, "refs/heads/x")
    store.lock_wait = 0.05
    imported = import_af(store, FIXTURES / "agent-files" / "memgpt_agent.af", name="x")
    assert [a.experiment for a in imported] == ["x"]
    fsck(store.path)


def test_locks_of_live_processes_of_git_and_of_other_hosts_are_waited_for(store: Store) -> None:
    from mindgit.store.refs import RefLocked

    lock = store.path / "refs" / "heads" / "main.lock"
    ns = os.readlink("/proc/self/ns/pid").encode()
    boot = Path("/proc/sys/kernel/random/boot_id").read_bytes().strip()
    host = os.uname().nodename.encode()
    gone = subprocess.Popen([sys.executable, "-c", ""])
    gone.wait()
    dead = gone.pid  # ended and reaped: a holder that would be known dead were it ours
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        for content in (
            b"",  # git's own, as it takes it
            b"0" * 40 + b"\n",  # git's, about to be renamed
            b"mindgit-lock %d %s %s %s\n" % (sleeper.pid, ns, boot, host),  # alive
            b"mindgit-lock %d %s %s %s\n" % (dead, ns, boot, host + b"-x"),  # another host's
            b"mindgit-lock %d pid:[1] %s %s\n" % (dead, boot, host),  # another pid namespace's
            # Another machine of the same name: the initial pid namespace has one id everywhere.
            b"mindgit-lock %d %s %s-x %s\n" % (dead, ns, boot, host),
            b"mindgit-lock %d %s %s\n" % (dead, ns, host),  # one that does not say which machine
        ):
            lock.write_bytes(content)
            store.lock_wait = 0.05
            with pytest.raises(RefLocked):
                store.think("blocked")
            assert lock.read_bytes() == content
    finally:
        sleeper.kill()
        sleeper.wait()
    lock.unlink()
