"""A store that was moved or copied: git's setting for its trust file follows it.

``mindgit init`` writes ``gpg.ssh.allowedSignersFile = <store>/mindgit/allowed_signers`` into
the store's config, so that stock ``git verify-commit`` trusts what mindgit trusts. git reads that
path as it is written (a relative one would be read from git's working directory, not the
store's), so it is absolute, and ``mv store elsewhere`` or ``cp -r store copy`` (a backup
restored elsewhere) left it naming the old place: in a moved store ``git verify-commit`` found no
trust file and failed; in a copy it trusted the ORIGINAL store's trust file, which may change
later, without a word.

Each time a store is opened, :func:`follow_move` looks at the setting. The rule: the value is
taken for one left behind by a move or a copy when the store's own config file sets it once, to
an absolute path ``<D>/mindgit/allowed_signers`` that is not this store's trust file, while this
store's own trust file exists, and ``<D>`` either no longer holds that file (the store moved away
from it) or is a git directory (a store this one was copied from). The store's config then names
the store's own trust file again (one atomic write under git's ``config.lock``), and that is said
once on stderr. Any other value is the user's choice and is left alone: a file of another name,
a relative path, a trust file kept in a directory that is no store, several values, a value from
an included or the global config, or none.

A store that cannot be written (a read-only copy, a lock another git holds) is not refused:
every command reads it as before, and a warning (once per process) says that git there still
trusts the other file and how to point it at the store's own.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pygit2

from mindgit.errors import shell_word, shown_path

SETTING = "gpg.ssh.allowedSignersFile"

# How long a config.lock another process holds is waited for: 10 x 50 ms.
_LOCK_TRIES = 10
_LOCK_PAUSE = 0.05

# The stores this process has warned about (a read-only one is looked at on every open).
_warned: set[Path] = set()


def follow_move(gitdir: Path, repo: pygit2.Repository, own: Path) -> str | None:
    """Point ``gpg.ssh.allowedSignersFile`` in the config of the store at ``gitdir`` (opened as
    ``repo``) at its own trust file ``own`` when it names one a move or a copy left behind (see
    the module's rule), and say so on stderr. Returns what was said, or None when the setting
    was left alone. Never raises: a store that cannot be written is warned about, not refused."""
    try:
        value = repo.config[SETTING]
    except (KeyError, ValueError, UnicodeError, pygit2.GitError):
        return None
    if not isinstance(value, str) or value == str(own):
        return None  # the common case, with no file looked at
    try:
        if not _left_behind(gitdir, value, own):
            return None
    except (OSError, ValueError, UnicodeError, pygit2.GitError):
        return None
    error = _write(gitdir, own)
    if error is not None:
        if gitdir in _warned:
            return None
        _warned.add(gitdir)
        where = shell_word(str(gitdir))
        return _say(
            f"mindgit: warning: store moved or copied: git's {SETTING} names "
            f"{shown_path(value)}, not its own trust file {shown_path(own)}, and cannot be "
            f"changed ({_reason(error)}): `git verify-commit` there trusts that other file "
            "(hint: once the store can be written, "
            f"`git --git-dir {where} config {SETTING} {shell_word(str(own))}`)"
        )
    return _say(
        f"mindgit: store moved or copied: git's {SETTING} now names its own trust file, "
        f"{shown_path(own)} (it named {shown_path(value)})"
    )


def _left_behind(gitdir: Path, value: str, own: Path) -> bool:
    """Whether ``value`` is a trust file setting a move or copy left behind (the module's rule)."""
    old = Path(os.path.expanduser(value))
    if not old.is_absolute() or old.parts[-2:] != own.parts[-2:]:
        return False
    if not own.is_file():
        return False  # nothing better to name (verify and log warn of a missing trust file)
    if os.path.realpath(old) == os.path.realpath(own):
        return False
    if old.exists() and os.path.samefile(old, own):
        return False  # the same file by another path (a bind mount)
    # Set in the store's own config file, once: an included file's or the global config's
    # value, or several, are the user's doing.
    if list(pygit2.Config(str(gitdir / "config")).get_multivar(SETTING)) != [value]:
        return False
    home = old.parent.parent
    if not old.exists() and not old.is_symlink():
        return True  # moved away from it
    # Copied from another store: its own trust file. A trust file kept in a folder that is no
    # git directory is one the user chose.
    return (home / "HEAD").is_file() and (home / "objects").is_dir()


def _write(gitdir: Path, own: Path) -> BaseException | None:
    """Set the store's own trust file in its config; the error that stopped it, or None.

    libgit2 writes the file whole under ``config.lock`` and renames it into place. A lock
    another process holds is waited for a little: two commands that open the moved store at
    once both repair it, and the one that finds the other's lock must not warn."""
    error: BaseException | None = None
    for _ in range(_LOCK_TRIES):
        try:
            pygit2.Config(str(gitdir / "config"))[SETTING] = str(own)
            return None
        except (OSError, ValueError, UnicodeError, pygit2.GitError) as e:
            error = e
        if _now_own(gitdir, own):
            return None  # another process repaired it
        if not (gitdir / "config.lock").exists():
            break  # not a lock: a read-only store, a path git's config cannot hold
        time.sleep(_LOCK_PAUSE)
    return error


def _now_own(gitdir: Path, own: Path) -> bool:
    try:
        values = list(pygit2.Config(str(gitdir / "config")).get_multivar(SETTING))
    except (OSError, ValueError, UnicodeError, pygit2.GitError):
        return False
    return values == [str(own)]


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    if isinstance(error, UnicodeError):
        return "its path is not UTF-8, which git's config cannot hold"
    return " ".join(str(error).split()) or type(error).__name__


def _say(text: str) -> str:
    # A path may hold any character: none that a terminal would act on is written.
    shown = "".join(c if c.isprintable() else "?" for c in text)
    try:
        sys.stderr.write(shown + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass  # no stderr to tell (closed, or None under pythonw)
    return shown
