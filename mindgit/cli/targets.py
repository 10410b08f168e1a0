"""The file a command is told to write (`export --car`, `export-af -o`, `plot -o`): what is
refused before anything is read or written, and whether it is standard output by another name."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from mindgit.errors import UsageError, shown_path


def refuse_directory_spelling(option: str, path: str) -> None:
    """Refuse ``path`` ending in ``/``, ``/.`` or ``/..``: pathlib drops a trailing slash, so
    ``-o out/`` wrote a file named ``out``."""
    if os.path.basename(path) in ("", ".", ".."):
        raise UsageError(f"{option} {shown_path(path)} names a directory; give a file to write")


def same_file(fd: int, stream: Any) -> bool:
    """Whether ``fd`` is the file behind ``stream`` (not /dev/null, which mixes nothing)."""
    try:
        here, there = os.fstat(fd), os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return _mixes(here, there)


def written_through_to(path: str, stream: Any) -> bool:
    """Whether writing ``path`` writes through to the file behind ``stream``: ``/dev/stdout``
    or ``/dev/fd/1`` for standard output. A file that is replaced whole (see
    ``mindgit.adapters.agentfile_export.atomic_target``) never is."""
    from mindgit.adapters.agentfile_export import atomic_target

    if atomic_target(Path(path)) is not None:
        return False
    try:
        here, there = os.stat(path), os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return _mixes(here, there)


def _mixes(here: os.stat_result, there: os.stat_result) -> bool:
    if not os.path.samestat(here, there):
        return False
    return not (stat.S_ISCHR(here.st_mode) and os.path.samestat(here, os.stat(os.devnull)))
