"""What "nothing changed on disk" is checked against: every directory and file under a root."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

Snapshot = dict[str, tuple[object, ...]]


def snapshot(root: Path) -> Snapshot:
    """Every directory and file under ``root`` (links not followed): kind, mode, and a file's
    size and content hash."""
    seen: Snapshot = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            path = Path(dirpath, name)
            seen[str(path.relative_to(root))] = ("dir", path.lstat().st_mode)
        for name in filenames:
            path = Path(dirpath, name)
            if path.is_symlink():
                seen[str(path.relative_to(root))] = ("link", os.readlink(path))
                continue
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            seen[str(path.relative_to(root))] = ("file", path.lstat().st_mode, len(data), digest)
    return seen


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """The paths whose entry differs between two snapshots."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def changed(before: Snapshot, root: Path) -> list[str]:
    """The paths under ``root`` that differ from ``before`` now."""
    return changes(before, snapshot(root))
