"""Temporary files a process killed midway left behind (``kill -9``, a power cut), removed safely.

Every writer that renames a temporary file into place (a node key, a partial CAR, a compiled
module) leaves that file behind when it is killed between the two. The next writer of the same
kind sweeps them with :func:`remove_stale`, which takes only what is surely such a leftover.
"""

from __future__ import annotations

import fcntl
import os
import re
import stat
import time
from pathlib import Path


def remove_stale(directory: Path, own: re.Pattern[str], older_than: float) -> list[Path]:
    """Remove the files of ``directory`` whose whole names ``own`` matches; return those removed.

    Only regular files (never a symbolic link: whoever made it chose where it leads) of this
    user, untouched for ``older_than`` seconds, and only when no process holds a flock on the
    file: a writer that takes one on its temporary file as soon as it has made it, and keeps it
    until the file is gone, keeps its file however slow or stopped it is. The file is removed
    only if its name still leads to the one that was checked. Whatever cannot be looked at or
    removed is left as it is.
    """
    try:
        names = [n for n in os.listdir(directory) if own.fullmatch(n)]
    except OSError:
        return []
    removed: list[Path] = []
    for name in names:
        path = directory / name
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            continue  # gone already, a symbolic link (not ours), or not ours to read
        try:
            st = os.fstat(fd)
            if (
                not stat.S_ISREG(st.st_mode)
                or st.st_uid != os.getuid()
                or time.time() - st.st_mtime < older_than
            ):
                continue
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            now = os.lstat(path)
            if (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino):
                os.unlink(path)
                removed.append(path)
        except OSError:
            continue  # a writer holds it (EWOULDBLOCK), it went meanwhile, or no flock here
        finally:
            os.close(fd)
    return removed
