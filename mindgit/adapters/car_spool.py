"""A scratch space for the blocks of a CAR being imported: on disk, private, gone afterwards.

An import must check the whole DAG before it writes anything to the store, and a CAR may be far
larger than memory, so its blocks wait here: one SQLite file (the standard library's) in a fresh
``0700`` temporary directory, keyed by binary CID, with each block's git blob id computed once on
the way in. SQLite keeps a fixed 16 MiB of pages in memory whatever the size of the file,
so the spool's memory does not grow with the CAR; the directory is removed on ``close``, even
after an error. The file is unlinked as soon as it is open, so a process killed outright
(``kill -9``, or a SIGTERM, which runs no ``finally``) leaves at most the empty directory.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path
from types import TracebackType

from mindgit.errors import MindgitError
from mindgit.ipld.cid import CID
from mindgit.store.packs import OBJ_BLOB, git_oid

_DB_NAME = "blocks.sqlite"


class SpoolError(MindgitError):
    """The spool directory could not be created or written (disk full, permissions)."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(
            f"cannot spool the CAR's blocks in {path}: {problem}",
            hint="free some disk space, or choose another directory with TMPDIR",
        )


class Spool:
    """Blocks by CID, on disk. Use as a context manager; ``close`` deletes everything."""

    def __init__(self, parent: Path | str | None = None) -> None:
        try:
            # mkdtemp creates the directory with mode 0700: other users cannot read the blocks.
            self.path = Path(tempfile.mkdtemp(prefix="mindgit-car-", dir=parent))
        except OSError as error:
            raise SpoolError(
                parent or tempfile.gettempdir(), error.strerror or str(error)
            ) from None
        db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(self.path / _DB_NAME, isolation_level=None)
            # A scratch file: no journal, no fsync. One open transaction lets SQLite spill pages
            # to the file as its cache fills instead of committing per row.
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("PRAGMA synchronous = OFF")
            # A fixed 16 MiB page cache holds the CID index of ~200k blocks: random-key inserts and
            # lookups then stay off the file, and memory still does not grow with the CAR.
            db.execute("PRAGMA cache_size = -16384")
            db.execute(
                "CREATE TABLE blocks (cid BLOB PRIMARY KEY, oid BLOB NOT NULL, data BLOB NOT NULL)"
            )
            db.execute("BEGIN")
            # Open, the file needs no name (no journal, and SQLite never reopens it): unlinked,
            # its blocks go with the process however that ends. A `kill -9`, or a SIGTERM (which
            # runs no `finally`), left the whole CAR's blocks in TMPDIR; now an empty directory.
            (self.path / _DB_NAME).unlink()
        except (sqlite3.Error, OSError) as error:
            if db is not None:
                db.close()
            shutil.rmtree(self.path, ignore_errors=True)
            problem = error.strerror if isinstance(error, OSError) else None
            raise SpoolError(self.path, problem or str(error)) from None
        self._db = db
        self.count = 0
        self.size = 0

    def add(self, cid: CID, data: bytes) -> bool:
        """Keep ``data`` under ``cid`` (already verified by the caller); False if already kept."""
        try:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO blocks VALUES (?, ?, ?)",
                (cid.to_bytes(), git_oid(OBJ_BLOB, data), data),
            )
        except sqlite3.Error as error:
            raise SpoolError(self.path, str(error)) from None
        if cursor.rowcount == 0:
            return False
        self.count += 1
        self.size += len(data)
        return True

    def get(self, cid: CID) -> bytes | None:
        """The block's bytes, or None if the CAR did not hold it."""
        row = self._db.execute(
            "SELECT data FROM blocks WHERE cid = ?", (cid.to_bytes(),)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def get_with_oid(self, cid: CID) -> tuple[bytes, bytes] | None:
        """The raw git blob id of the block and its bytes, or None if the CAR did not hold it."""
        row = self._db.execute(
            "SELECT oid, data FROM blocks WHERE cid = ?", (cid.to_bytes(),)
        ).fetchone()
        return None if row is None else (bytes(row[0]), bytes(row[1]))

    def __contains__(self, cid: object) -> bool:
        if not isinstance(cid, CID):
            return False
        row = self._db.execute("SELECT 1 FROM blocks WHERE cid = ?", (cid.to_bytes(),)).fetchone()
        return row is not None

    def close(self) -> None:
        """Forget every block and remove the directory."""
        try:
            self._db.close()
        finally:
            shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> Spool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
