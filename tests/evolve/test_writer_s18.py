"""The writer's failure paths after a key rotation (session 18, H1 and H8).

The writer moved the run ref and then looked for a rotation, moving the ref back when it found
one; a move back that failed (git refusing the deletion, another process moving or deleting the
ref between the two steps), or a kill -9 between them, left the ref on generations the retiring
key signed, which verify refused. It now looks under the ref's lock, just before setting it
(tests/evolve/test_rotation_under_lock.py): a rotation seen there leaves the ref where it was,
and the run says "generations up to G are kept". The rotations here are real moments: the run
ref's lock is held by another thread of the test until the writer's pack is written, and the
rotation's pending key is saved then (so the rotation starts between the writer's two looks for
it); or an audit hook acts (through the library, under its locks) just before the writer takes
the ref's lock, as another process would at that moment.

Then the writer's and run's other failure paths: a run ref deleted, moved or unwritable
without a rotation (RunRefNotMoved: it was the ref's bare error, naming no run), a real
`mindgit evolve` whose ref git deletes meanwhile, a result that cannot be committed once every
generation is written (ResultNotCommitted) or has nowhere to go (ResultNowhere), and a pack
whose index a full disk refuses (it stayed, garbage, for good).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pygit2
import pytest

from mindgit.evolve.run import (
    Progress,
    ResultNotCommitted,
    ResultNowhere,
    result_experiment,
    resume_run,
    start_run,
)
from mindgit.evolve.runs import read_run
from mindgit.evolve.writer import (
    GenerationWriter,
    KeyRotatedDuringRun,
    RunRefNotMoved,
    StagedGeneration,
    write_pack,
)
from mindgit.identity.keys import NodeKey
from mindgit.store.generation import (
    GENERATION_FILE,
    MODULE_FILE,
    RUN_FILE,
    STATES,
    TRAILER_FITNESS,
    RunParams,
)
from mindgit.store.packs import OBJ_BLOB, git_oid
from mindgit.store.refs import delete_ref, locked_ref, read_ref, update_ref
from mindgit.store.repository import Store, open_store
from mindgit.store.rotations import rotate_key
from tests.conftest import Mg, fsck, git
from tests.evolve.helpers import (
    RASTRIGIN,
    evolve_whose_run_ref_git_deletes,
    float_genes,
    new_store,
    stop_after,
)
from tests.evolve.test_review_e_write_failed import small_files

PARAMS = RunParams(population=6, generations=4, seed=3)


@dataclass
class Write:
    """A run's generation as its writer had it, the run ref back on the generation before."""

    store: Store
    writer: GenerationWriter
    staged: StagedGeneration
    ref: str
    run_id: str
    found: str | None  # where the ref is before the write


def staged_write(tmp_path: Path, generation: int = 0) -> Write:
    """A real run stopped after ``generation``, its ref put back where it was before it: that
    generation staged as the writer stages it, and a writer for that write."""
    store = new_store(tmp_path / "s", float_genes(3))
    bred = iter(range(generation, -1, -1))
    done = start_run(store, str(RASTRIGIN), PARAMS, should_stop=lambda: next(bred) == 0)
    tip = read_run(store.repo, done.run_id)
    assert tip is not None and tip.record.generation == generation
    tree = tip.tree
    commit = store.repo[tip.commit].peel(pygit2.Commit)
    score = next(
        line.split(": ", 1)[1]
        for line in commit.message.splitlines()
        if line.startswith(TRAILER_FITNESS + ": ")
    )
    record = store.repo[tree[GENERATION_FILE].id].read_raw()
    states = {str(e.name): e.id.raw for e in store.repo[tree[STATES].id].peel(pygit2.Tree)}
    staged = StagedGeneration(
        generation, record, None if score == "none" else float(score), states, []
    )
    shared = {
        str(e.name): e.id
        for e in tree
        if e.name not in (RUN_FILE, GENERATION_FILE, MODULE_FILE, STATES)
    }
    assert tip.experiment is not None
    found = str(commit.parent_ids[0]) if generation else None
    writer = GenerationWriter(
        store,
        tip.info,
        tip.experiment,
        tip=found,
        module_blob=tree[MODULE_FILE].id,
        shared=shared,
    )
    ref = tip.info.ref
    if found is None:
        assert delete_ref(store.repo, ref, tip.commit) is None
    else:
        update_ref(store.repo, ref, found, tip.commit, message="test", committer="t <t>")
    return Write(store, writer, staged, ref, done.run_id, found)


def packs(store: Store) -> int:
    return len(list((Path(store.repo.path) / "objects" / "pack").glob("*.idx")))


@contextmanager
def rotation_between_the_looks(store: Store, ref: str) -> Iterator[None]:
    """Another writer holds ``ref``'s lock until the writer's pack is written (after its first
    look for a rotation, before it takes the ref's lock): then a rotation starts (its pending
    key, as `mindgit keys rotate` saves it first) and the lock is let go, so the writer takes
    the lock with the rotation under way."""
    held = threading.Event()
    failed: list[BaseException] = []
    before = packs(store)

    def hold() -> None:
        try:
            with locked_ref(store.repo, ref):
                held.set()
                while packs(store) == before:
                    threading.Event().wait(0.002)
                NodeKey.generate().save(store.pending_key_path, comment=store.name)
        except BaseException as e:  # said by the test's thread
            failed.append(e)
            held.set()

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait()
    try:
        yield
    finally:
        thread.join(30)
    assert not failed, failed


# An audit hook cannot be removed: one for the process, which runs what a test arms.
_ARMED: list[Callable[[str, tuple[object, ...]], None]] = []


def _dispatch(event: str, args: tuple[object, ...]) -> None:
    if _ARMED and event == "os.link":
        _ARMED[0](event, args)


@contextmanager
def at_each_lock(store: Store, ref: str, steps: list[Callable[[], None]]) -> Iterator[None]:
    """Run ``steps[i]`` just before the ``i``-th taking of ``ref``'s lock (the link that
    creates it), as another process would act at that moment. What the steps do is done
    through the library, under its locks."""
    lock = os.fsdecode(Path(store.repo.path) / ref) + ".lock"
    taken = 0
    busy = False

    def step(event: str, args: tuple[object, ...]) -> None:
        nonlocal taken, busy
        if busy or os.fsdecode(args[1]) != lock:  # type: ignore[arg-type]
            return
        taken += 1
        if taken <= len(steps):
            busy = True
            try:
                steps[taken - 1]()
            finally:
                busy = False

    if not getattr(sys.modules[__name__], "_hooked", False):
        sys.addaudithook(_dispatch)
        globals()["_hooked"] = True
    _ARMED.append(step)
    try:
        yield
    finally:
        _ARMED.clear()
    assert taken >= len(steps)


def rotation_starts(store: Store) -> Callable[[], None]:
    return lambda: NodeKey.generate().save(store.pending_key_path, comment=store.name)


def finish_rotation_and_verify(mg: Mg, store: Store) -> None:
    rotate_key(open_store(store.path))
    r = mg("--store", str(store.path), "verify", "--all")
    assert r.code == 0, r.out + r.err
    fsck(store.path)


@pytest.mark.parametrize("generation", [0, 1], ids=["first-write", "later-write"])
def test_a_rotation_while_the_pack_is_written_leaves_the_ref_where_it_was(
    tmp_path: Path, mg: Mg, generation: int
) -> None:
    w = staged_write(tmp_path, generation)
    log = Path(w.store.repo.path) / "logs" / w.ref
    logged = log.read_bytes() if log.exists() else None
    with rotation_between_the_looks(w.store, w.ref), pytest.raises(KeyRotatedDuringRun) as e:
        w.writer.write([w.staged])
    said, hint = str(e.value), e.value.hint or ""
    # It moved onto the generation the retiring key signed, then back (both in its reflog),
    # and a kill between the two left it there: it is not touched now.
    assert read_ref(w.store.repo, w.ref) == w.found
    assert (log.read_bytes() if log.exists() else None) == logged
    assert e.value.kept == generation - 1 and "\n" not in said
    if generation == 0:
        assert said == (
            f"a key rotation started while run {w.run_id} was written; no generation of it is "
            "kept, and nothing after them is signed with the retiring key"
        )
        assert hint.endswith("start it again")
    else:
        assert said == (
            f"a key rotation started while run {w.run_id} was written; generations up to 0 are "
            "kept, and nothing after them is signed with the retiring key"
        )
        assert hint.endswith(f"`mindgit evolve --resume {w.run_id}` continues it")
    finish_rotation_and_verify(mg, w.store)
    # The way on the hint gives.
    if generation == 0:
        done = start_run(open_store(w.store.path), str(RASTRIGIN), PARAMS)
    else:
        done = resume_run(open_store(w.store.path))
    assert done.complete and done.run_id == w.run_id
    finish_rotation_and_verify(mg, w.store)


def test_a_rotation_started_as_the_ref_s_lock_is_taken_wins_over_a_disk_that_refuses(
    tmp_path: Path, mg: Mg
) -> None:
    w = staged_write(tmp_path, 1)
    log = Path(w.store.repo.path) / "logs" / w.ref
    aside = log.with_name("aside")

    def rotation_and_unwritable_log() -> None:  # as on a full disk
        rotation_starts(w.store)()
        log.rename(aside)
        log.mkdir()

    with (
        at_each_lock(w.store, w.ref, [rotation_and_unwritable_log]),
        pytest.raises(KeyRotatedDuringRun) as e,
    ):
        w.writer.write([w.staged])
    # It moved the ref, then failed to move it back ("could not be moved back (cannot write
    # ...): it still holds generations up to 1, and the retiring key signed generation 1"):
    # now nothing is written, so the disk is not asked.
    assert str(e.value) == (
        f"a key rotation started while run {w.run_id} was written; generations up to 0 are "
        "kept, and nothing after them is signed with the retiring key"
    )
    assert e.value.kept == 0 and read_ref(w.store.repo, w.ref) == w.found
    log.rmdir()
    aside.rename(log)
    finish_rotation_and_verify(mg, w.store)
    done = resume_run(open_store(w.store.path))
    assert done.complete and done.run_id == w.run_id
    finish_rotation_and_verify(mg, w.store)


# Without a rotation: the ref moved, deleted or unwritable when the writer moves it.


def test_a_run_ref_deleted_meanwhile_names_the_run_and_how_to_bring_it_back(
    tmp_path: Path, mg: Mg
) -> None:
    w = staged_write(tmp_path, 1)

    def delete() -> None:
        assert w.found is not None and delete_ref(w.store.repo, w.ref, w.found) is None

    with at_each_lock(w.store, w.ref, [delete]), pytest.raises(RunRefNotMoved) as e:
        w.writer.write([w.staged])
    said, hint = str(e.value), e.value.hint or ""
    # It was "refs/runs/… moved while this command ran (…); nothing was changed" with the
    # hint "run the command again", which starts the run from scratch.
    assert said == (
        f"run {w.run_id}: its ref {w.ref} was deleted by another process while the run was "
        "written; nothing more of it is written"
    )
    assert read_ref(w.store.repo, w.ref) is None
    command = hint.split("`", 2)[1]
    assert "brings back its generations up to 0" in hint
    subprocess.run(shlex.split(command), check=True)
    assert read_ref(w.store.repo, w.ref) == w.found
    r = mg("--store", str(w.store.path), "verify", "--all")
    assert r.code == 0, r.out + r.err
    fsck(w.store.path)
    done = resume_run(open_store(w.store.path))
    assert done.complete and done.run_id == w.run_id


def test_a_run_ref_that_cannot_be_written_says_what_is_kept(tmp_path: Path, mg: Mg) -> None:
    w = staged_write(tmp_path, 1)
    log = Path(w.store.repo.path) / "logs" / w.ref
    aside = log.with_name("aside")

    def unwritable_log() -> None:
        log.rename(aside)
        log.mkdir()

    with at_each_lock(w.store, w.ref, [unwritable_log]), pytest.raises(RunRefNotMoved) as e:
        w.writer.write([w.staged])
    said, hint = str(e.value), e.value.hint or ""
    assert said.startswith(
        f"run {w.run_id}: writing its generations failed: cannot write {w.ref} ("
    )
    assert hint.startswith(
        f"generations up to 0 are kept; `mindgit evolve --resume {w.run_id}` continues the "
        "run once that is mended (check that"
    )
    assert read_ref(w.store.repo, w.ref) == w.found
    log.rmdir()
    aside.rename(log)
    r = mg("--store", str(w.store.path), "verify", "--all")
    assert r.code == 0, r.out + r.err
    fsck(w.store.path)


def test_evolve_whose_run_ref_another_process_deletes_stops_with_one_line(
    tmp_path: Path, mg: Mg
) -> None:
    store = new_store(tmp_path / "s", float_genes(8))
    stopped = evolve_whose_run_ref_git_deletes(store, "-q")
    assert stopped.code == 1, stopped.err
    lines = stopped.err.decode().splitlines()
    assert len(lines) == 1 and not stopped.out, stopped.err
    run = stopped.run
    assert f"run {run}: its ref refs/runs/{run} was deleted by another process" in lines[0]
    r = mg("--store", str(store.path), "verify", "--all")
    assert r.code == 0, r.out + r.err
    fsck(store.path)


def test_a_result_the_rotation_keeps_from_being_signed_says_resume_commits_it(
    tmp_path: Path, mg: Mg, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Inline, so that the last generation is written when its progress is reported: the
    # rotation (interrupted: its pending key stays) then starts before the result commit.
    monkeypatch.setenv("MINDGIT_EVOLVE_FORK", "0")
    store = new_store(tmp_path / "s", float_genes(3))

    def rotation_at_the_end(p: Progress) -> None:
        if p.generation == PARAMS.generations - 1:
            rotation_starts(store)()

    with pytest.raises(ResultNotCommitted) as e:
        start_run(store, str(RASTRIGIN), PARAMS, on_progress=rotation_at_the_end)
    run_id = e.value.run_id
    # It said only "a key rotation is unfinished (...); nothing is signed until it is
    # finished", as if the run were lost, and nothing of --resume.
    assert str(e.value).startswith(
        f"run {run_id}: its {PARAMS.generations} generations are written, but its result was "
        "not committed: a key rotation is unfinished ("
    )
    assert (e.value.hint or "").endswith(
        f"finishes the rotation it started; then `mindgit evolve --resume {run_id}` commits it"
    )
    finish_rotation_and_verify(mg, store)
    r = mg("--store", str(store.path), "evolve", "--resume", run_id, "-q")
    assert r.code == 0, r.out + r.err
    finish_rotation_and_verify(mg, store)


def test_a_pack_whose_index_cannot_be_written_is_not_left_behind(tmp_path: Path) -> None:
    blob = b"a generation's manifest\n"
    objects = [(OBJ_BLOB, blob, git_oid(OBJ_BLOB, blob))]
    repo = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
    pack_dir = Path(repo.path) / "objects" / "pack"
    # A file size limit stands in for the full disk (EFBIG): the pack (~70 bytes) fits, its
    # index (over 1,000 bytes: its fan-out table alone is 1,024) does not.
    with small_files() as limit:
        limit()
        with pytest.raises(OSError):
            write_pack(Path(repo.path) / "objects", objects)
    assert list(pack_dir.iterdir()) == []
    write_pack(Path(repo.path) / "objects", objects)
    assert len(list(pack_dir.iterdir())) == 2
    fsck(Path(repo.path))


def test_a_result_with_nowhere_to_go_says_how_to_make_room(tmp_path: Path) -> None:
    # "... all hold other work; nowhere to commit the result" came with no hint, and once
    # every generation is written no other failure of the result is said so plainly.
    store = new_store(tmp_path / "s", float_genes(3))
    first = start_run(store, str(RASTRIGIN), PARAMS, should_stop=stop_after(1))
    store.think("written on main while the run was paused")
    side = result_experiment("main", first.run_id)
    names = [side, *(f"{side}-{n}" for n in range(2, 101))]
    for name in names:
        store.fork(name, switch=False)
    with pytest.raises(ResultNowhere) as e:
        resume_run(store, first.run_id)
    assert str(e.value) == (
        f"run {first.run_id}: {side} and the next 99 names after it all hold other work; "
        "nowhere to commit the result"
    )
    hint = e.value.hint or ""
    assert f"then `mindgit evolve --resume {first.run_id}` commits it there" in hint
    git("--git-dir", str(store.path), "update-ref", "-d", f"refs/heads/{names[7]}")
    done = resume_run(store, first.run_id)
    assert done.complete and done.result_experiment == names[7]
