"""Checking a long list of commits in two processes: a forked worker takes the later half.

A commit's checks (its signature, and every object of its tree against its CID) depend on that
commit's objects alone; what a process remembers between commits only saves work. So the list
can be cut in two, the halves checked at once on two cores, and the answers put back in order:
the result is the one a single process gives. ``verify`` and the gate every pull and
pre-receive hook passes use it.

A second process pays off only on a long list (forking, and each process checking its own copy
of what a run's generations share) and only with a core to spare: on a busy machine it would
only compete with the first. If the worker fails in any way, this process checks its share too.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")

# Below this many commits a second process costs more than it saves: forking, and each process
# checking its own copy of what the generations of a run share (run.json, the module, the first
# manifest in full). Measured as wall time, two processes against one, on runs of 64 states
# (2026-11-26, after the per-commit checks got faster): 12 commits lose 40%, 16-20 break even,
# 28 save ~8%, 36 a quarter, 54 ~40%, 104 ~half.
SPLIT_MIN_COMMITS = 24


def idle_core() -> bool:
    """Whether the last minute's load leaves a core free for a second process."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return False
    # The load counts this process too (about 1 while it runs): a core is free while the rest
    # of the machine keeps at least half of one idle.
    return cores > 1 and load <= cores - 0.5


def check_in_halves(
    commits: Sequence[str],
    check: Callable[[Sequence[str]], list[T]],
    *,
    workers: int | None = None,
) -> tuple[list[T], bool]:
    """``check(commits)``, or the same list made by two processes, and whether it was.

    ``check`` maps a share of ``commits`` to its results in order (each commit's depending on
    its own objects alone); its results must pickle. Two processes when ``workers`` is 2, or
    when it is None and the list is long enough (:data:`SPLIT_MIN_COMMITS`) and a core is idle.
    Never with another thread running (a fork copies only the calling thread: a lock another
    thread holds would never be released in the child) or without ``os.fork``.
    """
    if workers is None:
        workers = 2 if len(commits) >= SPLIT_MIN_COMMITS and idle_core() else 1
    if workers < 2 or len(commits) < 2 or not hasattr(os, "fork"):
        return check(commits), False
    if threading.active_count() != 1:
        return check(commits), False
    cut = len(commits) // 2
    theirs = _Worker.start(check, commits[cut:])
    try:
        mine = check(commits[:cut])
    except BaseException:
        if theirs is not None:
            theirs.kill()
        raise
    later = theirs.result() if theirs is not None else None
    if later is not None:
        return mine + later, True
    return mine + check(commits[cut:]), False


class _Worker(Generic[T]):
    """A forked process checking a share of the commits; its results come back pickled."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid = pid
        self.fd: int | None = fd

    @classmethod
    def start(
        cls, check: Callable[[Sequence[str]], list[T]], commits: Sequence[str]
    ) -> _Worker[T] | None:
        """Start checking ``commits`` in a forked process; None if no process could be made."""
        read_fd, write_fd = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_fd)
            os.close(write_fd)
            return None
        if pid != 0:
            os.close(write_fd)
            return cls(pid, read_fd)
        # The worker: it must never return into its caller's frames (they would go on as a
        # second copy of this verify, pull or hook), so every way out is os._exit.
        status = 1
        try:
            os.close(read_fd)
            data = pickle.dumps(check(commits), protocol=pickle.HIGHEST_PROTOCOL)
            view = memoryview(data)
            while view:
                view = view[os.write(write_fd, view) :]
            status = 0
        finally:
            os._exit(status)

    def result(self) -> list[T] | None:
        """The worker's results once it is done; None if it failed in any way."""
        assert self.fd is not None
        chunks = []
        try:
            while chunk := os.read(self.fd, 1 << 16):
                chunks.append(chunk)
        except BaseException:
            self.kill()
            raise
        self._close()
        _, status = os.waitpid(self.pid, 0)
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            return None
        try:
            # Written by this process's own fork just now, not by anyone else.
            rows = pickle.loads(b"".join(chunks))
        except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError):
            return None
        return rows if isinstance(rows, list) else None

    def kill(self) -> None:
        """Stop the worker (this process is leaving with an error) and reap it."""
        self._close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)

    def _close(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)
