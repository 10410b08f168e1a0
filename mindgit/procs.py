"""Child processes that die with their parent: the evolve writer, and git started by a pull.

A process in a session of its own (git, so that a timeout can kill its whole group) or a forked
worker would outlive a parent killed with SIGKILL. Linux kills a process whose parent dies once
it asked to be (``PR_SET_PDEATHSIG``); elsewhere the caller's own bounds (timeouts, the end of
its input) have to do.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


@functools.cache
def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # only here: most commands start no child process

    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


def die_with_parent(parent: int) -> None:
    """Make this process (a child of ``parent``) die when its parent does; leave at once if the
    parent is already gone."""
    prctl = _prctl()
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def dying_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes a subprocess die with this process, or None where the system
    cannot ask for it. Everything it needs is loaded here, before the fork: the child only calls."""
    if _prctl() is None:
        return None
    return functools.partial(die_with_parent, os.getpid())
