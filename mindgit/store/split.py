"""Checking a long list of commits in two processes: a forked worker takes the later half.

A commit's checks (its signature, and every object of its tree against its CID) depend on that
commit's objects alone; what a process remembers between commits only saves work. So the list
can be cut in two, the halves checked at once on two cores, and the answers put back in order:
the result is the one a single process gives. ``verify`` and the gate every pull and
pre-receive hook passes use it.

Checks may come in two phases (:func:`scan_then_check_in_halves`): the gate first scans every
object's size, and reads no object's content unless the whole list passed. Each process scans its
half, the worker reports its scan and waits; only when both halves passed does either go on to
the checks. So a second process shares the scan too, and still nothing is read early.

A second process pays off only on a long list (forking, and each process checking its own copy
of what a run's generations share) and only with a core to spare: on a busy machine it would
only compete with the first. If the worker fails in any way, this process checks its share too.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

S = TypeVar("S")
T = TypeVar("T")

# Below this many commits a second process costs more than it saves: forking, and each process
# checking its own copy of what the generations of a run share (run.json, the module, the first
# manifest in full). Measured as wall time, two processes against one, on runs of 64 states
# (2026-11-26, after the per-commit checks got faster): 12 commits lose 40%, 16-20 break even,
# 28 save ~8%, 36 a quarter, 54 ~40%, 104 ~half.
SPLIT_MIN_COMMITS = 24

Scan = Callable[[Sequence[str]], tuple[list[S], bool]]
Check = Callable[[Sequence[str]], list[T]]
# A message between the processes: its length, then a pickle.
_LENGTH = struct.Struct(">Q")
_GO, _STOP = b"g", b"s"


def idle_core() -> bool:
    """Whether a core is free for a second process now."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    if cores < 2:
        return False
    running = _running_now()
    if running is not None:
        # This process is one of the running tasks.
        return running <= cores - 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return False
    # The load counts this process too (about 1 while it runs): a core is free while the rest
    # of the machine keeps at least half of one idle.
    return load <= cores - 0.5


def _running_now(path: str = "/proc/loadavg") -> int | None:
    """The tasks running or ready to run at this moment (Linux), None where it is not known.

    Not the load average: a minute's average counts the processes a pull itself just ran
    (git's fetch keeps both cores busy), so a pull that follows another on an idle machine
    could be checked in one process (on a run of 54 commits, ~40% slower).
    """
    try:
        with open(path, encoding="ascii") as f:
            fields = f.read().split()
        running = int(fields[3].partition("/")[0])
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return None
    return running if running > 0 else None


def check_in_halves(
    commits: Sequence[str],
    check: Check[T],
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
    halves: Halves[Any, T] = scan_then_check_in_halves(commits, None, check, workers=workers)
    assert halves.checks is not None
    return halves.checks, halves.split


@dataclass(frozen=True, slots=True)
class Halves(Generic[S, T]):
    """What :func:`scan_then_check_in_halves` found.

    ``scans``: each share's scan results, the earlier share first (one share, or two). A share
    scans with no memory of the other's: an object both reach is scanned by both.
    ``checks``: every commit's check results in order; None when a scan said not to go on.
    ``split``: whether a second process did a share of the work.
    """

    scans: tuple[list[S], ...]
    checks: list[T] | None
    split: bool


def scan_then_check_in_halves(
    commits: Sequence[str],
    scan: Scan[S] | None,
    check: Check[T],
    *,
    workers: int | None = None,
) -> Halves[S, T]:
    """``scan(commits)``, then ``check(commits)`` only if the scan says to go on, in one process
    or shared with a second (as :func:`check_in_halves` decides).

    ``scan`` maps a share to its results and whether checking may go on; with two processes
    each scans its half, and neither checks unless both halves may go on. No ``scan``: check
    at once (:func:`check_in_halves`).
    """
    if workers is None:
        workers = 2 if len(commits) >= SPLIT_MIN_COMMITS and idle_core() else 1
    if workers < 2 or len(commits) < 2 or not hasattr(os, "fork") or threading.active_count() != 1:
        found, go = scan(commits) if scan is not None else ([], True)
        return Halves((found,), check(commits) if go else None, False)
    cut = len(commits) // 2
    mine, later = commits[:cut], commits[cut:]
    theirs = _Worker[S, T].start(scan, check, later)
    try:
        if scan is not None:
            my_scan, my_go = scan(mine)
            their = theirs.scanned() if theirs is not None else None
            if their is None:
                theirs = None
                their = scan(later)
            their_scan, their_go = their
            if not (my_go and their_go):
                if theirs is not None:
                    theirs.stop()
                return Halves((my_scan, their_scan), None, theirs is not None)
            if theirs is not None:
                theirs.go()
        else:
            my_scan, their_scan = [], []
        my_checks = check(mine)
    except BaseException:
        if theirs is not None:
            theirs.kill()
        raise
    their_checks = theirs.checked() if theirs is not None else None
    split = their_checks is not None
    if their_checks is None:
        their_checks = check(later)
    return Halves((my_scan, their_scan), my_checks + their_checks, split)


class _Worker(Generic[S, T]):
    """A forked process checking a share of the commits: it sends its scan (if there is one)
    and waits to be told to go on, then sends its checks (each message a pickle) and exits."""

    def __init__(self, pid: int, results: int, orders: int) -> None:
        self.pid = pid
        self._results: int | None = results
        self._orders: int | None = orders

    @classmethod
    def start(
        cls, scan: Scan[S] | None, check: Check[T], commits: Sequence[str]
    ) -> _Worker[S, T] | None:
        """Start on ``commits`` in a forked process; None if no process could be made."""
        results_r, results_w = os.pipe()
        orders_r, orders_w = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            for fd in (results_r, results_w, orders_r, orders_w):
                os.close(fd)
            return None
        if pid != 0:
            os.close(results_w)
            os.close(orders_r)
            return cls(pid, results_r, orders_w)
        # The worker: it must never return into its caller's frames (they would go on as a
        # second copy of this verify, pull or hook), so every way out is os._exit.
        status = 1
        try:
            os.close(results_r)
            os.close(orders_w)
            if scan is not None:
                found, go = scan(commits)
                _send(results_w, (found, go))
                go = go and os.read(orders_r, 1) == _GO
            else:
                go = True
            if go:
                _send(results_w, check(commits))
            status = 0
        finally:
            os._exit(status)

    def scanned(self) -> tuple[list[S], bool] | None:
        """The worker's scan; None if it failed in any way (then it is stopped)."""
        got = self._receive()
        if isinstance(got, tuple) and len(got) == 2 and isinstance(got[0], list):
            return got[0], bool(got[1])
        self.kill()
        return None

    def go(self) -> None:
        """Tell the worker to check its share."""
        self._order(_GO)

    def stop(self) -> None:
        """Tell the worker it is done, and reap it."""
        self._order(_STOP)
        self._close()
        os.waitpid(self.pid, 0)

    def checked(self) -> list[T] | None:
        """The worker's checks once it is done; None if it failed in any way."""
        got = self._receive()
        self._close()
        _, status = os.waitpid(self.pid, 0)
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            return None
        return got if isinstance(got, list) else None

    def kill(self) -> None:
        """Stop the worker (this process is leaving with an error) and reap it."""
        self._close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)

    def _order(self, order: bytes) -> None:
        assert self._orders is not None
        with contextlib.suppress(BrokenPipeError):  # a worker that died is found by its result
            os.write(self._orders, order)

    def _receive(self) -> object:
        """The worker's next message; None at its end or if it cannot be read back."""
        assert self._results is not None
        try:
            head = _read_exactly(self._results, _LENGTH.size)
            body = _read_exactly(self._results, _LENGTH.unpack(head)[0]) if head else b""
        except BaseException:
            self.kill()
            raise
        if not body:
            return None
        try:
            # Written by this process's own fork just now, not by anyone else.
            return pickle.loads(body)
        except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError):
            return None

    def _close(self) -> None:
        for name in ("_results", "_orders"):
            fd = getattr(self, name)
            if fd is not None:
                setattr(self, name, None)
                os.close(fd)


def _send(fd: int, obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_LENGTH.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, n: int) -> bytes:
    """``n`` bytes from ``fd``, or fewer only at its end."""
    chunks = []
    while n > 0:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)
