"""A local, private cache of compiled fitness modules.

``wasmtime.Module.deserialize`` runs the machine code it is given without checking it, so a
cache file is as trusted as mindgit's own code. That is why the cache is local only (never
synced, never read from a store or a peer), lives in a directory only its owner can enter
(0700), and every file carries a SHA-256 of its payload that is checked before deserialising:
a truncated or bit-flipped file is ignored and rebuilt, never run.

Layout: ``<cache_dir>/<wasmtime version>-<config hash>/<sha256 of the module bytes>.cwasm``,
so code compiled by another wasmtime or under another configuration is never looked at.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import tempfile
from pathlib import Path

import wasmtime

from mindgit.leftovers import remove_stale
from mindgit.sandbox.errors import UnsafeCacheDir

_MAGIC = b"mindgit-cwasm 1\n"
_DIGEST_SIZE = 32


def _make_private(path: Path) -> None:
    """Create ``path`` with mode 0700, or check that the existing one is ours and private."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.lstat()
    except FileExistsError:
        raise UnsafeCacheDir(str(path), "it is not a directory") from None
    except OSError as exc:
        raise UnsafeCacheDir(str(path), f"cannot create it ({exc.strerror})") from exc
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise UnsafeCacheDir(str(path), "it is not a plain directory")
    if info.st_uid != os.geteuid():
        raise UnsafeCacheDir(str(path), f"it is owned by uid {info.st_uid}, not by this user")
    if stat.S_IMODE(info.st_mode) & 0o077:
        # Ours but readable or writable by others: a cache we are about to trust must not be.
        path.chmod(0o700)


def cache_file(cache_dir: Path, key: str, module_digest: bytes) -> Path:
    """The cache file for a module, creating its private directories if needed."""
    _make_private(cache_dir)
    directory = cache_dir / key
    _make_private(directory)
    return directory / f"{module_digest.hex()}.cwasm"


def load(path: Path, engine: wasmtime.Engine) -> wasmtime.Module | None:
    """The cached module at ``path``, or None if it is missing, corrupt or not for ``engine``."""
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    header = len(_MAGIC) + _DIGEST_SIZE
    if len(blob) <= header or not blob.startswith(_MAGIC):
        return None
    payload = memoryview(blob)[header:]
    if hashlib.sha256(payload).digest() != blob[len(_MAGIC) : header]:
        return None
    try:
        return wasmtime.Module.deserialize(engine, payload.tobytes())
    except wasmtime.WasmtimeError:
        # Another engine's artefact that slipped past the key; compile afresh.
        return None


# store() writes through a temporary file named as mkstemp names it: prefix, 8 characters of
# tempfile's alphabet, suffix. A process killed while writing one leaves it behind.
_TMP_PREFIX, _TMP_SUFFIX = ".tmp-", ".cwasm"
_TMP_NAME = re.compile(rf"{re.escape(_TMP_PREFIX)}[a-z0-9_]{{8}}{re.escape(_TMP_SUFFIX)}")
# A temporary file is written in one go once the module is compiled (seconds, for the largest
# module); one this old belongs to no live writer.
STALE_TMP_SECONDS = 10 * 60


def sweep_stale(directory: Path) -> None:
    """Remove temporary files :func:`store` left in ``directory`` (killed while writing): only
    regular files of its exact name pattern, owned by this user, untouched for
    ``STALE_TMP_SECONDS``; anything else, and whatever cannot be removed, is left as it is."""
    remove_stale(directory, _TMP_NAME, STALE_TMP_SECONDS)


def store(path: Path, module: wasmtime.Module) -> None:
    """Write ``module``'s compiled code to ``path`` atomically (a reader sees all or nothing),
    first sweeping the directory of temporary files a killed writer left (:func:`sweep_stale`)."""
    payload = bytes(module.serialize())
    sweep_stale(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=_TMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(_MAGIC)
            out.write(hashlib.sha256(payload).digest())
            out.write(payload)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
