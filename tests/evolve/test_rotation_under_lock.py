"""evolve's writer looks for a key rotation under the run ref's lock, before it sets the ref.

It moved the ref onto a batch of generations and only then looked; seeing a rotation, it moved
the ref back. A kill -9 between the two (or a move back that failed) left on the ref
generations the retiring key signed after the rotation had named the old key's history:
`mindgit verify` refused them for good. Now a rotation seen under the lock leaves the ref where
it was (the rotation saves its pending key, then waits for live ref locks, so a writer that
looks after taking the lock either sees it or is waited for and named).

The rotation runs at real moments of the write: just before the writer takes the ref's lock
(a whole `keys rotate`, as another process would run it then), and while the writer holds the
lock (a `keys rotate` in another thread, which must wait for it). The writer runs in a forked
process that kills itself (SIGKILL) as soon as its ref holds a generation the rotation did not
name, at the next thing it does: the point between the move and the look that must not exist.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pygit2
import pytest

from mindgit.evolve.run import resume_run
from mindgit.evolve.writer import KeyRotatedDuringRun
from mindgit.store.refs import read_ref
from mindgit.store.repository import Store, open_store
from mindgit.store.retired import RECORD_FILE
from mindgit.store.rotations import ANNOUNCE_REF, rotate_key
from tests.conftest import Mg, fsck
from tests.evolve.test_writer_s18 import staged_write

# An audit hook cannot be removed: one for the process, which runs what a test arms.
_ARMED: list[Callable[[str, tuple[object, ...]], None]] = []


def _dispatch(event: str, args: tuple[object, ...]) -> None:
    if _ARMED:
        _ARMED[0](event, args)


@contextmanager
def armed(step: Callable[[str, tuple[object, ...]], None]) -> Iterator[None]:
    if not globals().get("_hooked"):
        sys.addaudithook(_dispatch)
        globals()["_hooked"] = True
    _ARMED.append(step)
    try:
        yield
    finally:
        _ARMED.clear()


def verified(mg: Mg, store: Store) -> None:
    r = mg("--store", str(store.path), "verify", "--all")
    assert r.code == 0, r.out + r.err
    fsck(store.path)


def named_heads(store: Store) -> str:
    """The rotation record's text: the heads it names as the old key's history."""
    repo = store.repo
    tip = read_ref(repo, ANNOUNCE_REF)
    assert tip is not None
    tree = repo[tip].peel(pygit2.Commit).tree
    return repo[tree[RECORD_FILE].id].read_raw().decode()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks the writer")
@pytest.mark.parametrize("generation", [0, 1], ids=["first-write", "later-write"])
def test_a_rotation_just_before_the_ref_s_lock_never_puts_the_ref_on_an_unnamed_generation(
    tmp_path: Path, mg: Mg, generation: int
) -> None:
    w = staged_write(tmp_path, generation)
    gitdir = Path(w.store.repo.path)
    lock = os.fsdecode(gitdir / w.ref) + ".lock"
    target = os.fsdecode(gitdir / w.ref)
    said = tmp_path / "said"
    pid = os.fork()
    if pid == 0:  # the writer: never returns into pytest
        code = 0
        try:
            state = {"busy": False, "rotated": False, "moved": False}

            def step(event: str, args: tuple[object, ...]) -> None:
                if state["busy"]:
                    return
                if state["moved"]:
                    # The ref holds the batch, the rotation did not name it: killed here, the
                    # ref stays so.
                    state["busy"] = True  # os.kill is an audit event too
                    os.kill(os.getpid(), signal.SIGKILL)
                if event == "os.link" and os.fsdecode(args[1]) == lock:  # type: ignore[arg-type]
                    if not state["rotated"]:
                        state["busy"] = state["rotated"] = True
                        try:
                            rotate_key(open_store(w.store.path))  # the whole rotation
                        finally:
                            state["busy"] = False
                elif event == "os.rename" and os.fsdecode(args[1]) == target:  # type: ignore[arg-type]
                    state["moved"] = True

            with armed(step):
                w.writer.write([w.staged])
            said.write_text("written")
        except KeyRotatedDuringRun as e:
            said.write_text(f"{e}\n{e.hint}\n{e.kept}")
        except BaseException:
            said.write_text(traceback.format_exc())
            code = 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    store = open_store(w.store.path)
    # The rotation is finished: killed with its ref on the batch, verify refused it for good.
    verified(mg, store)
    assert not os.WIFSIGNALED(status), "the ref moved onto generations the rotation did not name"
    assert os.WEXITSTATUS(status) == 0, said.read_text()
    message, hint, kept = said.read_text().split("\n")
    assert int(kept) == generation - 1
    if generation == 0:
        assert message == (
            f"a key rotation started while run {w.run_id} was written; no generation of it "
            "is kept, and nothing after them is signed with the retiring key"
        )
        assert hint.endswith("start it again")
    else:
        assert message == (
            f"a key rotation started while run {w.run_id} was written; generations up to 0 are "
            "kept, and nothing after them is signed with the retiring key"
        )
        assert hint.endswith(f"`mindgit evolve --resume {w.run_id}` continues it")
    assert read_ref(store.repo, w.ref) == w.found
    assert not Path(lock).exists()
    if generation:
        done = resume_run(store, w.run_id)
        assert done.complete
        verified(mg, store)


def test_a_rotation_while_the_writer_holds_the_lock_waits_and_names_the_batch(
    tmp_path: Path, mg: Mg
) -> None:
    w = staged_write(tmp_path, 1)
    target = os.fsdecode(Path(w.store.repo.path) / w.ref)
    errors: list[BaseException] = []
    ident = threading.get_ident()

    def rotate() -> None:
        try:
            rotate_key(open_store(w.store.path))
        except BaseException as e:  # said by the test's thread
            errors.append(e)

    rotation = threading.Thread(target=rotate)

    def step(event: str, args: tuple[object, ...]) -> None:
        # Just before the ref is set, under its lock: a rotation starts and saves its key.
        if (
            threading.get_ident() == ident
            and event == "os.rename"
            and os.fsdecode(args[1]) == target  # type: ignore[arg-type]
            and not rotation.is_alive()
            and rotation.ident is None
        ):
            rotation.start()
            while not w.store.pending_key_path.exists():
                assert rotation.is_alive(), errors
                threading.Event().wait(0.002)

    with armed(step):
        commits = w.writer.write([w.staged])
    rotation.join(30)
    assert not errors, errors
    assert rotation.ident is not None, "the writer never set its ref"
    # The writer had looked before the rotation started: its batch stands, and the rotation,
    # which waited for the writer's lock, named it.
    assert read_ref(w.store.repo, w.ref) == commits[-1]
    assert commits[-1] in named_heads(w.store)
    verified(mg, w.store)
