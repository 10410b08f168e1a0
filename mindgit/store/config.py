"""Reading a git config's values as mindgit's settings are read: bad data in the file is
``BadConfigValue`` (exit 1). Kept apart from :mod:`mindgit.store.settings` (which knows each
setting's check and the sandbox's bounds) so that every config lookup can use it cheaply."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

import pygit2

from mindgit.errors import MindgitError, scrub, shell_word


class ConfigValue(str):
    """A value as :func:`config_reader` found it, knowing the file it was read from (``file``;
    None where libgit2 cannot say): a :class:`BadConfigValue` made of it names that file, or
    the store whose config it is, in its hint. Otherwise a str like any other."""

    _file: Path | None
    _find: Callable[[], Path | None] | None

    def __new__(
        cls, text: str, file: Path | None = None, *, find: Callable[[], Path | None] | None = None
    ) -> ConfigValue:
        value = super().__new__(cls, text)
        value._file = file
        value._find = find
        return value

    @property
    def file(self) -> Path | None:
        # Asked of libgit2 the first time, by ``find``: only an error that names it needs it,
        # and a lookup of every setting read paid for it.
        if self._find is not None:
            self._file, self._find = self._find(), None
        return self._file

    def __getnewargs__(self) -> tuple[str, Path | None]:  # type: ignore[override]
        # str's gives (text,): a copy or a pickle would forget the file.
        return (str(self), self.file)


class NoValue(ConfigValue):
    """What a key written with no ``= value`` reads as (a bare ``fuel`` line under
    ``[mindgit]``): git's true where a boolean is wanted, and an empty string (what ``git config
    --get`` prints) anywhere else. A type of its own, so that a setting's reader refuses it
    (:func:`mindgit.store.settings.read_setting`) rather than take "true" for a name or a size."""

    # ``text`` is what a copy or a pickle passes back (ConfigValue.__getnewargs__): always "".
    def __new__(
        cls,
        text: str = "",
        file: Path | None = None,
        *,
        find: Callable[[], Path | None] | None = None,
    ) -> NoValue:
        return super().__new__(cls, "", file, find=find)  # type: ignore[return-value]


class BadConfigValue(MindgitError):
    """A value found in a config is wrong where it is used: bad data in a file (exit 1), unlike
    the same value typed on the command line (``BadSetting``, exit 2). ``file`` is the config
    file it was read from when the value says (a :class:`ConfigValue`, or given), else None."""

    def __init__(
        self,
        key: str,
        value: str,
        problem: str,
        *,
        shown: str | None = None,
        file: Path | None = None,
    ) -> None:
        # ``shown`` stands for a value that may be a secret pasted by mistake (a key setting).
        # A key with no value has none to show: "config mindgit.fuel has no value; ...".
        what = "" if isinstance(value, NoValue) else f" = {shown or repr(value)}"
        if file is None and isinstance(value, ConfigValue):
            file = value.file
        super().__init__(f"config {key}{what} {problem}", hint=_fix(key, file))
        self.key = key
        self.value = value
        self.file = file


def _fix(key: str, file: Path | None) -> str:
    # Not `git config KEY`: that is the config of the repository git finds from the current
    # directory, which is the store only when the shell is in it.
    if file is None:
        # A lookup that cannot say where its value came from (a plain str given).
        return (
            f"fix it with `git --git-dir <store> config {key} VALUE` (or `mindgit config set` "
            f"for a setting it lists), or remove it: `git --git-dir <store> config --unset {key}`"
        )
    if file.name == "config" and (file.parent / "HEAD").is_file():
        # A repository's own config (the store's, or a server's): named by its git directory.
        where = f"--git-dir {shell_word(str(file.parent))}"
        return (
            f"fix it with `git {where} config {key} VALUE` (or `mindgit config set` for a "
            f"setting it lists), or remove it: `git {where} config --unset {key}`"
        )
    # A file the config includes, or the user's global one: the store's `git config` (and
    # `mindgit config set`) would write elsewhere.
    where = f"--file {shell_word(str(file))}"
    return (
        f"fix it in {shell_word(str(file))} with `git config {where} {key} VALUE`, or remove "
        f"it: `git config {where} --unset {key}`"
    )


def _origin(config: pygit2.Config, key: str) -> Path | None:
    """The file ``config``'s value of ``key`` is read from (libgit2's ``origin_path``, which
    pygit2 does not pass on: asked through its C binding), or None where it cannot say."""
    try:
        from pygit2.ffi import C, ffi

        # pygit2 >= 1.17 names the handle _c_config; earlier ones _config.
        handle = getattr(config, "_c_config", None) or getattr(config, "_config", None)
        if handle is None:
            return None
        out = ffi.new("git_config_entry **")
        if C.git_config_get_entry(out, handle, key.encode("utf-8")) < 0:
            return None
        try:
            entry = out[0]
            if entry.origin_path == ffi.NULL or entry.backend_type == ffi.NULL:
                return None
            if ffi.string(entry.backend_type) != b"file":
                return None
            return Path(os.fsdecode(ffi.string(entry.origin_path)))
        finally:
            C.git_config_entry_free(out[0])
    except Exception:
        # Another pygit2's binding (pygit2 >= 1.15 is required, with no upper bound): a type it
        # does not declare is cffi's CDefError, a field it lacks an AttributeError, and so on.
        # Whatever it is, the value is still read; only the hint names no file, as before.
        return None


def config_reader(config: pygit2.Config) -> Callable[[str], str | None]:
    """A lookup by full key in a git config, for :func:`read_setting`: None when unset, a
    :class:`NoValue` for a key written with no ``= value`` (libgit2 gives None for it too), and
    else the value as a :class:`ConfigValue` that knows its file.

    pygit2 decodes a value as UTF-8 and fails with Python's UnicodeDecodeError on other bytes
    (``git config`` writes them as given): bad data in a file, ``BadConfigValue`` (exit 1).
    """

    def get(key: str) -> str | None:
        # One lookup, not `key in config` first; the file it came from is asked only if needed.
        try:
            value = config[key]
        except KeyError:
            return None
        except UnicodeDecodeError:
            raw = config._get_entry(key).raw_value
            raise BadConfigValue(
                key,
                "",
                "is not UTF-8 text",
                shown=_shown_bytes(key, raw or b""),
                file=_origin(config, key),
            ) from None
        find = functools.partial(_origin, config, key)
        # Not "true" here: that is git's reading for a boolean only; a string or a size setting
        # would silently become "true".
        return NoValue(find=find) if value is None else ConfigValue(str(value), find=find)

    return get


# How much of a value that is not UTF-8 an error quotes (its repr, quotes aside).
_SHOWN_BYTES_MAX = 80


# Settings that name a node's public key (``mindgit.node``, ``remote.<peer>.mindgitNode``): what
# is not one may be a private key or seed pasted by mistake, told by its length alone (as
# :func:`mindgit.identity.keys.shown_key_text` tells such text that is UTF-8).
_KEY_SETTINGS = frozenset({"node", "mindgitnode"})


def _shown_bytes(key: str, raw: bytes) -> str:
    """A config value that is not UTF-8, as an error may quote it: the bytes' repr, with the
    credentials of a URL in it hidden (a remote's URL may hold a token: ``https://***@host``)
    and cut to :data:`_SHOWN_BYTES_MAX` characters with its length; for a setting that names a
    key, its length alone. Its whole repr was shown, secrets and all, however long."""
    if key.rpartition(".")[2].lower() in _KEY_SETTINGS:
        return f"{len(raw)} bytes (not shown: it may be a private key)"
    text = raw.decode("utf-8", "surrogateescape")
    data = scrub(text, text).encode("utf-8", "surrogateescape")
    if len(repr(data)) <= _SHOWN_BYTES_MAX + 3:  # b'' around it
        return repr(data)
    # Cut between bytes, not in the middle of an escape such as \xff.
    size = end = 0
    while size + len(repr(data[end : end + 1])) - 3 <= _SHOWN_BYTES_MAX:
        size += len(repr(data[end : end + 1])) - 3
        end += 1
    return f"{data[:end]!r}... ({len(raw)} bytes)"
