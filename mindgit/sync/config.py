"""Reading the ``mindgit.*`` settings of a repository's git config as the sync code uses them.

``Store.config_get`` and ``pygit2.Config.__getitem__`` decode a value as UTF-8 and fail with
Python's ``UnicodeDecodeError`` on any other bytes (``git config`` writes them as given): that
was an internal error, exit 3, for what is bad data in a file (exit 1, ``BadConfigValue``).
"""

from __future__ import annotations

from collections.abc import Callable

import pygit2

from mindgit.store.settings import BadConfigValue


def config_reader(config: pygit2.Config) -> Callable[[str], str | None]:
    """A lookup by full key for :func:`mindgit.store.settings.read_setting`: None when unset."""

    def get(key: str) -> str | None:
        if key not in config:
            return None
        try:
            value = config[key]
        except UnicodeDecodeError:
            raw = config._get_entry(key).raw_value
            raise BadConfigValue(key, "", "is not UTF-8 text", shown=repr(raw)) from None
        # A key written with no `= value` is git's way of saying true (libgit2 gives None).
        return "true" if value is None else str(value)

    return get
