"""After a command that wrote many objects, let git tidy the store (``git gc --auto``)."""

from __future__ import annotations

from typing import Any

from mindgit.cli.output import warn


def housekeep(store: Any) -> None:
    """``git gc --auto`` on ``store``; a failure is a warning, as in git: the command's work stands."""
    from mindgit.store.maintenance import MaintenanceFailed, auto_gc

    try:
        auto_gc(store)
    except MaintenanceFailed as e:
        warn(str(e))
