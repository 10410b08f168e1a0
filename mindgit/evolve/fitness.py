"""Fitness modules for evolution: adding them to the store (checked first), finding and loading.

``--fitness`` takes a stored module's name, a module CID, or a path to a ``.wat``/``.wasm`` file
(which is added to the store first, named after the file). Limits come from the defaults, then
the store's config (``mindgit.fuel``, ``mindgit.memory``, ``mindgit.stack``, ``mindgit.table``),
then the caller's explicit values.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from mindgit.errors import PATH_SHOWN_MAX, MindgitError, UsageError, quoted, shell_word, shown_path
from mindgit.ipld.cid import CID
from mindgit.sandbox import FitnessModule, Limits
from mindgit.store.fitness_store import (
    FitnessEntry,
    UnknownFitness,
    check_module_name,
    find_module,
    module_cid,
    parse_cid,
    read_module,
    store_module,
)
from mindgit.store.repository import MINDGIT_DIR, Store
from mindgit.store.settings import SIZE_DIGITS_MAX, read_size, size_bytes, too_long

_WASM_MAGIC = b"\0asm"
CONFIG_KEYS = {
    "fuel": "mindgit.fuel",
    "memory_bytes": "mindgit.memory",
    "stack_bytes": "mindgit.stack",
    "table_elements": "mindgit.table",
}


# The largest module file read: a wasm module may be 16 MiB (sandbox limits); its text format
# takes a few times that.
MAX_SOURCE_BYTES = 64 << 20


class FitnessFileError(MindgitError):
    """A fitness module file cannot be read."""

    def __init__(self, path: Path, problem: str) -> None:
        # A long path is cut (a 3,000-character one made a line as long).
        super().__init__(f"cannot read fitness module {shown_path(path)}: {problem}")
        self.path = path
        self.problem = problem


def parse_size(text: str, what: str) -> int:
    """``134217728``, ``128M``, ``128MiB``, ``64k`` -> bytes (powers of 1024)."""
    value = size_bytes(str(text))
    if value is None:
        # size_bytes refuses a size of more digits than int() reads: that one is a size, too big.
        if too_long(str(text)):
            raise UsageError(
                f"{what} {quoted(text)} is over {SIZE_DIGITS_MAX} digits long, "
                "more than any size mindgit takes"
            )
        raise UsageError(f"{what} {quoted(text)} is not a size (e.g. 134217728, 128M, 64k)")
    if value <= 0:
        raise UsageError(f"{what} must be positive, not {quoted(text)}")
    return value


def config_limits(get: Callable[[str], str | None]) -> Limits:
    """The sandbox limits a config allows (``get`` looks a key up in it): the defaults, then each
    setting it holds, checked as `mindgit config set` checks it (``BadConfigValue``: exit 1)."""
    limits = Limits()
    for field, key in CONFIG_KEYS.items():
        value = read_size(get, key.removeprefix("mindgit."))
        if value is not None:
            limits = replace(limits, **{field: value})
    return limits


def limits_for(store: Store, *, fuel: int | None = None, memory: int | None = None) -> Limits:
    """The sandbox limits: defaults, then the store's config, then these explicit values."""
    limits = config_limits(store.config_get)
    if fuel is not None:
        limits = replace(limits, fuel=fuel)
    if memory is not None:
        limits = replace(limits, memory_bytes=memory)
    return limits


def cache_dir(store: Store) -> Path:
    """Where this node keeps compiled modules: inside the store's private directory."""
    return store.path / MINDGIT_DIR / "wasm-cache"


def to_wasm(source: bytes) -> bytes:
    """A wasm binary from wasm bytes or WAT text (``NotWasm`` for anything else)."""
    if source.startswith(_WASM_MAGIC):
        return source
    # The sandbox's own reading of WAT (wasmtime, ~80 ms to import: only when WAT is given).
    from mindgit.sandbox.runner import to_binary

    return to_binary(source)


def add_fitness(
    store: Store,
    path: Path | str,
    name: str | None = None,
    *,
    limits: Limits | None = None,
    replace: bool = True,
) -> FitnessEntry:
    """Check a ``.wat``/``.wasm`` file with the sandbox and store it; named after the file."""
    path = Path(path)
    source = read_module_file(path)
    name = check_module_name(name) if name is not None else file_module_name(path)
    return add_fitness_bytes(store, source, name, limits=limits, replace=replace)


def file_module_name(path: Path, *, evolving: bool = False) -> str:
    """The name a module file is stored under when none is given: the file's stem, which
    must be a module name. A file whose stem is none is refused saying how to name it (the
    user gave a file, not a name: "invalid fitness module name" left them to work out whose)."""
    try:
        return check_module_name(path.stem)
    except UsageError as e:
        if evolving:
            # The path whole, to be run as printed; past PATH_SHOWN_MAX, as every line cuts one,
            # a placeholder.
            shown = str(path) if len(str(path)) <= PATH_SHOWN_MAX else "FILE"
            hint = (
                f"store it under a name first (`mindgit fitness add {shell_word(shown)} "
                "--name NAME`), then give --fitness NAME"
            )
        else:
            hint = "give one with --name NAME"
        raise UsageError(
            f"{quoted(path.stem)}, the name of the file {shown_path(path)}, is not a valid "
            "fitness module name",
            hint=f"{hint}; {e.hint}" if e.hint else hint,
        ) from None


def read_module_file(path: Path) -> bytes:
    """The bytes of a module file, which must be a regular file: a device such as /dev/zero
    would be read until memory ran out, and a named pipe would wait for a writer for ever.
    Opened without blocking, so a pipe is refused rather than waited on; checked on the open
    descriptor, so nothing can swap the file in between."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        raise FitnessFileError(path, e.strerror or str(e)) from None
    try:
        found = os.fstat(fd)
    except OSError as e:
        os.close(fd)
        raise FitnessFileError(path, e.strerror or str(e)) from None
    mode = found.st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise FitnessFileError(
            path, "is a directory" if stat.S_ISDIR(mode) else "not a regular file"
        )
    too_large = FitnessFileError(path, f"over {MAX_SOURCE_BYTES >> 20} MiB, too large for a module")
    if found.st_size > MAX_SOURCE_BYTES:
        # A 300 MB text took over 10 s to be refused as no module: nothing that large
        # compiles to the 16 MiB a module may be.
        os.close(fd)
        raise too_large
    with os.fdopen(fd, "rb") as f:
        try:
            # One byte past the limit: a file that grew since it was sized is caught too.
            data = f.read(MAX_SOURCE_BYTES + 1)
        except OSError as e:
            raise FitnessFileError(path, e.strerror or str(e)) from None
    if len(data) > MAX_SOURCE_BYTES:
        raise too_large
    return data


def add_fitness_bytes(
    store: Store,
    source: bytes,
    name: str,
    *,
    limits: Limits | None = None,
    replace: bool = True,
) -> FitnessEntry:
    """Check wasm bytes or WAT text with the sandbox and store them as module ``name``
    (a name holding other bytes is repointed only with ``replace``)."""
    check_module_name(name)
    wasm = to_wasm(source)
    # A key that cannot sign refuses it before anything is written, compiled code included.
    _ = store.signing_key
    # Refused here (imports, exports, validation) before anything is written.
    FitnessModule.load(wasm, limits=limits or limits_for(store), cache_dir=cache_dir(store))
    return store_module(store, wasm, name, replace=replace)


def resolve_fitness(store: Store, spec: str, *, limits: Limits | None = None) -> FitnessEntry:
    """A stored module by name or CID; an existing file path is added first."""
    source = find_fitness(store, spec)
    if source.entry is not None:
        return source.entry
    assert source.file_name is not None
    return add_fitness_bytes(store, source.wasm, source.file_name, limits=limits)


@dataclass(frozen=True, slots=True)
class FitnessSource:
    """The module a ``--fitness`` names, found without writing anything: a stored one
    (``entry``), or a file's module to be stored under ``file_name`` (``store_source``)."""

    cid: CID
    wasm: bytes
    entry: FitnessEntry | None
    file_name: str | None


def find_fitness(store: Store, spec: str) -> FitnessSource:
    """A stored module by name or CID, or the module in an existing ``.wat``/``.wasm`` file
    (not stored: a run that is refused must leave the store as it was)."""
    try:
        entry = find_module(store, spec)
    except UnknownFitness:
        pass
    else:
        return FitnessSource(entry.cid, entry_bytes(store, entry), entry, None)
    path = Path(spec)
    if path.is_file():
        name = file_module_name(path, evolving=True)
        wasm = to_wasm(read_module_file(path))
        return FitnessSource(module_cid(wasm), wasm, None, name)
    if parse_cid(spec) is not None:
        raise UnknownFitness(spec)
    if "/" in spec or spec.endswith((".wat", ".wasm")):
        # What is there decides the reason: "no such file" of a directory sends the user
        # looking for a typo.
        if path.is_dir():
            raise FitnessFileError(path, "is a directory")
        if path.exists():
            raise FitnessFileError(path, "not a regular file")
        raise FitnessFileError(path, "no such file")
    raise UnknownFitness(spec)


def fitness_cid(store: Store, spec: str) -> CID | None:
    """The CID of the module ``spec`` names (as ``find_fitness`` finds it), None if none."""
    try:
        return find_fitness(store, spec).cid
    except (UnknownFitness, FitnessFileError):
        return None


def store_source(store: Store, source: FitnessSource) -> FitnessEntry:
    """The stored entry of a module ``find_fitness`` found (and the sandbox has loaded): a
    file's module is stored under the file's name now, repointing it (docs/evolve.md)."""
    if source.entry is not None:
        return source.entry
    assert source.file_name is not None
    return store_module(store, source.wasm, source.file_name, replace=True)


@contextlib.contextmanager
def cache_undone_on_error(store: Store) -> Iterator[None]:
    """Compiled modules cached inside the block are removed again if it raises.

    Loading a module to check a run caches its machine code in the store's private
    directory; a refused run is to leave the store byte for byte as it was.
    """
    root = cache_dir(store)
    before = _cached(root)
    try:
        yield
    except BaseException:
        # Children sort after their directory: reversed, files go before the directories.
        for path in sorted(_cached(root) - before, reverse=True):
            with contextlib.suppress(OSError):
                if path.suffix == ".cwasm" and not path.name.startswith("."):
                    path.unlink()
                elif path.is_dir():
                    path.rmdir()  # only if empty: another process may be writing into it
        raise


def _cached(root: Path) -> set[Path]:
    if not root.is_dir():
        return set()
    return {root, *root.rglob("*")}


def load_fitness(store: Store, wasm: bytes, limits: Limits) -> FitnessModule:
    """Compile (or load from this node's cache) a stored module under ``limits``."""
    return FitnessModule.load(wasm, limits=limits, cache_dir=cache_dir(store))


def entry_bytes(store: Store, entry: FitnessEntry) -> bytes:
    data = read_module(store, entry)
    if module_cid(data) != entry.cid:
        raise MindgitError(f"stored module {entry.name} does not hash to {entry.cid}")
    return data
