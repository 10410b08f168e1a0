"""Reading a git config's values as mindgit's settings are read: bad data in the file is
``BadConfigValue`` (exit 1). Kept apart from :mod:`mindgit.store.settings` (which knows each
setting's check and the sandbox's bounds) so that every config lookup can use it cheaply."""

from __future__ import annotations

from collections.abc import Callable

import pygit2

from mindgit.errors import MindgitError


class NoValue(str):
    """What a key written with no ``= value`` reads as (a bare ``fuel`` line under
    ``[mindgit]``): git's true where a boolean is wanted, and an empty string (what ``git config
    --get`` prints) anywhere else. A type of its own, so that a setting's reader refuses it
    (:func:`mindgit.store.settings.read_setting`) rather than take "true" for a name or a size."""

    __slots__ = ()

    def __new__(cls) -> NoValue:
        return super().__new__(cls, "")


NO_VALUE = NoValue()


class BadConfigValue(MindgitError):
    """A value found in a config is wrong where it is used: bad data in a file (exit 1), unlike
    the same value typed on the command line (``BadSetting``, exit 2)."""

    def __init__(self, key: str, value: str, problem: str, *, shown: str | None = None) -> None:
        # ``shown`` stands for a value that may be a secret pasted by mistake (a key setting).
        # A key with no value has none to show: "config mindgit.fuel has no value; ...".
        what = "" if isinstance(value, NoValue) else f" = {shown or repr(value)}"
        super().__init__(
            f"config {key}{what} {problem}",
            # Not `git config KEY`: that is the config of the repository git finds from the
            # current directory, which is the store only when the shell is in it.
            hint=f"fix it with `git --git-dir <store> config {key} VALUE` (or `mindgit config set` "
            f"for a setting it lists), or remove it: `git --git-dir <store> config --unset {key}`",
        )
        self.key = key
        self.value = value


def config_reader(config: pygit2.Config) -> Callable[[str], str | None]:
    """A lookup by full key in a git config, for :func:`read_setting`: None when unset, and
    :data:`NO_VALUE` for a key written with no ``= value`` (libgit2 gives None for it too).

    pygit2 decodes a value as UTF-8 and fails with Python's UnicodeDecodeError on other bytes
    (``git config`` writes them as given): bad data in a file, ``BadConfigValue`` (exit 1).
    """

    def get(key: str) -> str | None:
        if key not in config:
            return None
        try:
            value = config[key]
        except UnicodeDecodeError:
            raw = config._get_entry(key).raw_value
            raise BadConfigValue(key, "", "is not UTF-8 text", shown=repr(raw)) from None
        # Not "true" here: that is git's reading for a boolean only; a string or a size setting
        # would silently become "true".
        return NO_VALUE if value is None else str(value)

    return get
