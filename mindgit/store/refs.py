"""Compare-and-swap ref updates that interoperate with git's own locking.

pygit2 has no compare-and-swap, so this follows git's lockfile protocol: create
``<ref>.lock`` exclusively, re-read the ref under the lock, write the new id into the lock file
and rename it over the ref. Stock git (``git update-ref``, ``receive-pack``) takes the same lock,
so mindgit and git never interleave an update of the same ref.

Until the new id replaces it, the lock file names its holder (``mindgit-lock <pid> <pid
namespace> <boot id> <host>``): a lock left by a mindgit process that died (``kill -9``, a
crash) is removed by the next writer that finds it, so the command run again works. A lock of
any other kind (git's own, another machine's, a live process's) is waited for, then named in
:class:`RefLocked`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import secrets
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pygit2

from mindgit.errors import MindgitError, one_line, quoted

# git check-ref-format rules, reduced to what mindgit ever needs to write, and a part (between
# '/'s) of at most NAME_PART_MAX characters.
NAME_PART_MAX = 100
# The longest ref name libgit2 reads (GIT_REFNAME_MAX, 1024 with its NUL; a name takes ASCII
# only, so characters are bytes): past it every lookup raised ValueError, an internal error.
REF_NAME_MAX = 1023
_COMPONENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+=@-]*")
_ZERO = "0" * 40


class RefError(MindgitError):
    """A ref name is invalid or a ref cannot be updated."""


class RefMoved(RefError):
    """The ref changed between reading it and writing it (compare-and-swap failed)."""

    def __init__(self, ref: str, expected: str | None, actual: str | None) -> None:
        super().__init__(
            f"{ref} moved while this command ran (expected {expected or 'none'}, "
            f"found {actual or 'none'}); nothing was changed",
            hint="run the command again",
        )
        self.ref = ref
        self.expected = expected
        self.actual = actual


class RefUnwritable(RefError):
    """The ref's lock, file or log cannot be written (a read-only store, a full disk)."""

    def __init__(self, ref: str, path: Path, reason: str) -> None:
        super().__init__(
            f"cannot write {ref} ({path}: {reason}); {ref} was not moved",
            hint="check that the store is writable by this user and the disk has room",
        )
        self.ref = ref
        self.path = path


class SymbolicRef(RefError):
    """The ref is a symbolic link to another ref: mindgit moves refs by name, never through a
    link (it would turn the link into a plain ref and leave its target where it was)."""

    def __init__(self, ref: str, target: str) -> None:
        super().__init__(
            f"{ref} is a symbolic ref to {target}; nothing was changed",
            hint=f"name {target.removeprefix('refs/heads/')} instead",
        )
        self.ref = ref
        self.target = target


class RefLocked(RefError):
    """Another writer holds the ref's lock for longer than we wait."""

    def __init__(self, ref: str, lock: Path, waited: float, *, then: str | None = None) -> None:
        hint = f"if no mindgit or git process is running, remove {lock}"
        super().__init__(
            f"{ref} is locked by another writer ({lock} held for over {waited:.0f}s)",
            hint=hint if then is None else f"{hint}; {then}",
        )
        self.ref = ref
        self.lock = lock
        self.waited = waited


class NamePartTooLong(RefError):
    """A ref or experiment name whose only fault is a part (between '/'s) over
    :data:`NAME_PART_MAX` characters: said by its length, the limit and which part, not as an
    "invalid ref name" of a name of valid characters."""

    def __init__(self, name: str, what: str, index: int, length: int) -> None:
        count = name.count("/") + 1
        which = (
            "it is"
            if count == 1
            else "its last part is"
            if index == count - 1
            else f"its part {index + 1} of {count} (between '/') is"
        )
        # The words after "is not <what>: ", which the CLI says of a name typed after a flag.
        self.reason = f"{which} {length} characters long, over the {NAME_PART_MAX} mindgit allows"
        super().__init__(
            f"{quoted(name)} is not {what}: {self.reason}",
            hint=f"give a name of at most {NAME_PART_MAX} characters"
            if count == 1
            else f"give each part between '/'s at most {NAME_PART_MAX} characters",
        )
        self.name = name
        self.index = index
        self.length = length


class RefNameTooLong(RefError):
    """A ref name of valid parts, over :data:`REF_NAME_MAX` characters in all."""

    def __init__(self, ref: str) -> None:
        self.reason = f"it is {len(ref)} characters long, over the {REF_NAME_MAX} git allows"
        super().__init__(f"{quoted(ref)} is not a valid ref name: {self.reason}")
        self.ref = ref


def name_fault(name: str) -> str:
    """What :func:`check_ref_name` refuses in ``name``, a ref's name below ``refs/`` (an
    experiment's, say), in words: the first of its faults, as a user would fix it."""
    if not name:
        return "it is empty"
    parts = name.split("/")
    if "" in parts:
        return "it has an empty part (a '/' at its start or end, or '//')"
    for part in parts:
        if not _COMPONENT.fullmatch(part):
            if not _COMPONENT.fullmatch(part[0]):
                return f"a part starts with {part[0]!r}; each starts with an ASCII letter, a digit or '_'"
            bad = next(c for c in part if not _COMPONENT.fullmatch("_" + c))
            return f"{bad!r} is not allowed; a name takes ASCII letters, digits and _ . + = @ -"
        if ".." in part:
            return "'..' is not allowed"
        if part.endswith(".lock"):
            return f"a part may not end in '.lock' ({quoted(part)})"
        if part.endswith("."):
            return f"a part may not end in '.' ({quoted(part)})"
    if "@{" in name:
        return "'@{' is not allowed"
    return "git does not take it as a ref name"


def check_ref_name(ref: str) -> str:
    """Refuse names git would refuse or that could escape the refs directory, and names with a
    part over :data:`NAME_PART_MAX` characters (:class:`NamePartTooLong` when that is all that
    is wrong with the name), or over :data:`REF_NAME_MAX` characters in all
    (:class:`RefNameTooLong`)."""
    parts = ref.split("/")
    if len(parts) < 2 or parts[0] != "refs" or not all(_COMPONENT.fullmatch(p) for p in parts[1:]):
        raise RefError(f"invalid ref name {quoted(ref)}")
    if any(p.endswith((".lock", ".")) or ".." in p for p in parts):
        raise RefError(f"invalid ref name {quoted(ref)}")
    if not pygit2.reference_is_valid_name(ref):
        raise RefError(f"invalid ref name {quoted(ref)}")
    for index, part in enumerate(parts):
        if len(part) > NAME_PART_MAX:
            raise NamePartTooLong(ref, "a valid ref name", index, len(part))
    if len(ref) > REF_NAME_MAX:
        raise RefNameTooLong(ref)
    return ref


@dataclass(frozen=True, slots=True)
class RefUpdate:
    ref: str
    old: str | None
    new: str


class CorruptRef(RefError):
    """A ref exists but git cannot read it (a damaged loose ref file, a dangling symref)."""

    def __init__(self, ref: str, detail: str) -> None:
        super().__init__(
            f"{ref} cannot be read ({detail}); nothing was changed",
            hint=f"inspect it with `git show-ref`, then repair or delete {ref}",
        )
        self.ref = ref


class PackedRefsDamaged(RefError):
    """The store's ``packed-refs`` file holds a line git cannot parse (a stray write, an edit).

    libgit2 then lists no ref at all, and a ref whose line it was reads as absent: every
    listing failed as "the store is damaged: an object cannot be read" with a hint to ``git
    fsck`` for damaged objects, and the experiment on that line was an "unknown experiment".
    git refuses the same file (``unexpected line in packed-refs``)."""

    def __init__(self, gitdir: Path, detail: str) -> None:
        path = gitdir / "packed-refs"
        super().__init__(
            f"{path} cannot be read ({detail}); nothing was changed",
            hint="repair or remove that line (each is '<commit id> <ref>', or '^<id>' under a "
            "tag's); git refuses the file too. A ref lost with it is named in its reflog, "
            f"{gitdir / 'logs' / 'refs'}",
        )
        self.path = path
        self.detail = detail


_PACKED_LINE = re.compile(rb"[0-9a-f]{40} refs/[^\x00-\x20\x7f]+")
_PACKED_PEEL = re.compile(rb"\^[0-9a-f]{40}")


def packed_refs_fault(gitdir: Path) -> str | None:
    """What is wrong with ``gitdir``'s ``packed-refs`` (its first line git cannot parse), or
    None when it parses or is not there. Read only when something already failed."""
    try:
        data = (gitdir / "packed-refs").read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        return e.strerror or type(e).__name__
    if not data:
        return None
    lines = data.split(b"\n")
    if lines[-1]:
        return f"its last line, line {len(lines)}, has no newline"
    after_ref = False
    for number, raw in enumerate(lines[:-1], 1):
        line = raw.removesuffix(b"\r")
        if number == 1 and line.startswith(b"# pack-refs with:"):
            continue
        if _PACKED_LINE.fullmatch(line):
            after_ref = True
            continue
        if after_ref and _PACKED_PEEL.fullmatch(line):
            after_ref = False
            continue
        text = line.decode("utf-8", "backslashreplace")
        return f"line {number} is not '<commit id> <ref>': {quoted(text)}"
    return None


def ref_damage(gitdir: Path, message: str) -> RefError | None:
    """A libgit2 error ``message`` as the damaged ref it is about, if it is one: a loose ref
    file that does not parse (:class:`CorruptRef`) or a damaged ``packed-refs``
    (:class:`PackedRefsDamaged`); None for anything else."""
    text = " ".join(message.split())
    if "corrupted packed references file" in text:
        return PackedRefsDamaged(gitdir, packed_refs_fault(gitdir) or text)
    marker = "corrupted loose reference file"
    if marker in text:
        ref = text.partition(marker)[2].removeprefix(":").strip()
        if not ref:
            # libgit2 names the file only when an id does not parse (not for "ref: " with no
            # target): then the name looked up is what the message starts with.
            # (less the steps of a revision: refs/heads/x~1 is refs/heads/x's).
            looked_up = re.match(r"[^~^:@{}\s]*", text.partition(marker)[0])
            ref = looked_up[0] if looked_up and looked_up[0] else "a ref"
        damaged = CorruptRef(ref, marker)
        if ref == "HEAD":
            # "repair or delete HEAD": a store without its HEAD opens in neither git nor mindgit.
            damaged.hint = (
                "`mindgit switch <name>` writes HEAD again, naming an experiment "
                "(`mindgit experiments` lists them)"
            )
        return damaged
    return None


def ref_names(repo: pygit2.Repository, prefixes: tuple[str, ...]) -> list[str]:
    """Every ref under ``prefixes``, sorted, those libgit2 cannot parse too.

    libgit2 leaves a loose ref it cannot parse out of its listing (git says "ignoring broken
    ref"), so the ref files are read too: a damaged ref is listed, and reading it names what
    is wrong, rather than vanishing from the listing. A ``packed-refs`` that does not parse
    (no listing at all) is raised as :class:`PackedRefsDamaged`. A file name that is not
    UTF-8 comes with surrogates (``os.fsdecode``), and no lookup takes it as a ref.
    """
    gitdir = Path(repo.path)
    try:
        listed = list(repo.references)
    except pygit2.GitError as e:
        damage = ref_damage(gitdir, str(e))
        if damage is None:
            raise
        raise damage from None
    names = {r for r in listed if r.startswith(prefixes)}
    for prefix in prefixes:
        for folder, _, files in os.walk(gitdir / prefix):
            # A .lock file is a ref being written by git's protocol, not a ref.
            names.update(
                (Path(folder) / f).relative_to(gitdir).as_posix()
                for f in files
                if not f.endswith(".lock")
            )
    return sorted(names)


def read_listed_ref(repo: pygit2.Repository, ref: str) -> str:
    """The commit id of a ref a listing (:func:`ref_names`) named: :class:`CorruptRef` when it
    cannot be read, or when it is a symbolic ref to one that does not exist, which a lookup
    takes for no ref at all (listings skipped it while ``verify --all`` failed on it)."""
    commit = read_ref(repo, ref)
    if commit is not None:
        return commit
    try:
        target = repo.lookup_reference(ref).target
    except (KeyError, ValueError, pygit2.GitError):
        raise CorruptRef(ref, "it went while it was read, or cannot be looked up") from None
    raise CorruptRef(ref, f"it points at {target}, which does not exist")


def read_ref(repo: pygit2.Repository, ref: str) -> str | None:
    """The commit id a ref points at, or None; symbolic refs are followed.

    A ref that exists but cannot be read is :class:`CorruptRef`, never None: a writer would
    otherwise take the ref for absent and create it over the damaged one.
    """
    try:
        return str(repo.lookup_reference(ref).resolve().target)
    except (KeyError, pygit2.InvalidSpecError):
        return None
    except pygit2.GitError as e:
        # libgit2 starts with the ref's name, which CorruptRef says already.
        raise CorruptRef(ref, str(e).strip().removeprefix(f"{ref}: ") or type(e).__name__) from None


class _HeldLock:
    """A lock file this process created; removed on release unless its new value replaced it."""

    def __init__(self, fd: int, lock: Path) -> None:
        self._fd = fd
        self._lock = lock
        self.done = False

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if not self.done:
            self._lock.unlink(missing_ok=True)


class RefLock(_HeldLock):
    """A ref held under git's lock file: read ``current``, then :meth:`set` it once."""

    def __init__(self, repo: pygit2.Repository, ref: str, fd: int, lock: Path) -> None:
        self.repo = repo
        self.ref = ref
        self.current = read_ref(repo, ref)
        super().__init__(fd, lock)

    def set(self, new: str, *, message: str, committer: str) -> RefUpdate:
        if self.done:
            raise RefError(f"{self.ref} was already updated under this lock")
        # No fsync, like git's default: a killed process loses nothing the page cache holds, and
        # libgit2 does not fsync the objects either, so syncing the ref alone would buy nothing.
        gitdir = Path(self.repo.path)
        try:
            os.close(self._fd)
            self._fd = -1
            _append_reflog(gitdir, self.ref, self.current, new, committer, message)
            _install(gitdir, self._lock, gitdir / self.ref, (new + "\n").encode(), sync=False)
        except OSError as e:  # the lock is removed on release: the ref is as it was
            # The file that failed: the reflog's (logs/<ref>, a directory there, say) was named
            # as the ref's own, which was fine.
            failed = Path(os.fsdecode(e.filename)) if e.filename else gitdir / self.ref
            raise RefUnwritable(self.ref, failed, e.strerror or str(e)) from None
        self.done = True
        return RefUpdate(self.ref, self.current, new)


@contextlib.contextmanager
def locked_ref(repo: pygit2.Repository, ref: str, *, wait: float = 10.0) -> Iterator[RefLock]:
    """Hold ``ref``'s lock for a read-compute-write: other writers (git too) wait or fail.

    Taking the lock before writing any object means a writer that cannot get it leaves nothing
    behind. Waits up to ``wait`` seconds, then raises :class:`RefLocked`.
    """
    check_ref_name(ref)
    gitdir = Path(repo.path)
    path = gitdir / ref
    lock = path.with_name(path.name + ".lock")
    _refuse_clash(repo, ref, path)
    made: list[Path] = []

    def make_folders() -> None:
        try:
            new = _make_folders(path.parent, gitdir)
            # Deepest first, made again after git removed them too: removed if not written.
            made[:] = sorted({*made, *new}, key=lambda p: len(p.parts), reverse=True)
        except (FileExistsError, NotADirectoryError):
            raise RefError(f"{ref} clashes with an existing ref {_clash(repo, ref)}") from None
        except OSError as e:
            raise RefUnwritable(ref, path.parent, e.strerror or str(e)) from None

    held: RefLock | None = None
    try:
        make_folders()
        fd = _acquire(lock, ref, wait, gitdir, remake=make_folders)
        try:
            # What writers killed midway left: removed by the next writer, as their locks are.
            remove_dead_spares(gitdir)
            held = RefLock(repo, ref, fd, lock)
        except BaseException:
            # A ref that cannot be read fails here, after the lock was taken: left behind, the
            # lock would block every later writer of this ref once the ref is repaired.
            os.close(fd)
            lock.unlink(missing_ok=True)
            raise
        try:
            target = _symbolic_target(path)
            if target is not None:
                raise SymbolicRef(ref, target)
            yield held
        finally:
            held.release()
    finally:
        if held is None or not held.done:
            # Folders made for a ref that was never written: left, an empty refs/heads/a/ made
            # every later write of refs/heads/a fail as a clash with refs under it.
            _remove_empty(made)


def _refuse_clash(repo: pygit2.Repository, ref: str, path: Path) -> None:
    """Refuse a ref git could not hold beside the others: one named as a folder of an existing
    ref (``a/b`` beside ``a``) or as an existing ref's folder (``a`` beside ``a/b``), loose or
    packed. Folders with no ref in them (left by a deletion) are no clash: removed, as git does."""
    if path.is_dir():
        if _holds_files(path):
            raise RefError(f"{ref} clashes with existing refs under it ({ref}/...)")
        _remove_empty(sorted((Path(d) for d, _, _ in os.walk(path)), reverse=True))
    if path.is_file() or _exists(repo, ref):
        return  # the ref itself is there: nothing can clash with it
    above = _ref_above(repo, ref)
    if above is not None:
        raise RefError(f"{ref} clashes with an existing ref {above}")
    if _packed_under(Path(repo.path), ref):
        raise RefError(f"{ref} clashes with existing refs under it ({ref}/...)")


def _exists(repo: pygit2.Repository, ref: str) -> bool:
    """Whether ``ref`` is a ref of the store, loose or packed, whatever it points at."""
    try:
        repo.lookup_reference(ref)
    except (KeyError, pygit2.InvalidSpecError, ValueError):
        return False
    except pygit2.GitError:
        return True  # there, if unreadable: CorruptRef is said where it is read
    return True


def _holds_files(folder: Path) -> bool:
    return any(files for _, _, files in os.walk(folder))


def _packed_under(gitdir: Path, ref: str) -> bool:
    """Whether ``packed-refs`` holds a ref whose name starts with ``ref/``."""
    try:
        data = (gitdir / "packed-refs").read_bytes()
    except OSError:
        return False
    under = re.compile(rb"^[0-9a-f]{40,64} " + re.escape(ref.encode() + b"/"), re.MULTILINE)
    return under.search(data) is not None


# How often a ref's folder may vanish under one writer before it gives up (RefUnwritable): git
# removes a folder it emptied, and only a loop of such removals (or a folder that cannot stay)
# would need more.
_FOLDER_ATTEMPTS = 100


def _make_folders(folder: Path, top: Path) -> list[Path]:
    """``mkdir -p folder`` (below ``top``): the folders it made, deepest first.

    git removes a ref's folder once it holds no ref (``pack-refs --prune``, which ``git gc``
    runs, and ``update-ref -d``), so a folder can vanish between two of these mkdirs: made
    again, as git's own ref writer does. ``FileExistsError`` (or ``NotADirectoryError``) is a
    file where a folder is needed: a clash with an existing ref."""
    made: list[Path] = []
    for _ in range(_FOLDER_ATTEMPTS):
        missing = []
        at = folder
        while at != top and not at.is_dir():
            missing.append(at)
            at = at.parent
        try:
            for path in reversed(missing):
                try:
                    os.mkdir(path)
                except FileExistsError:
                    if os.path.lexists(path) and not path.is_dir():
                        raise
                    continue  # made by another writer meanwhile (or made and gone again)
                made.insert(0, path)
        except FileNotFoundError:
            continue  # a folder above went meanwhile
        if folder.is_dir():
            return made
    raise FileNotFoundError(errno.ENOENT, "its folder keeps vanishing", str(folder))


def _remove_empty(folders: list[Path]) -> None:
    """Remove each of ``folders`` (deepest first) that is empty; the rest are kept."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return  # not empty (a ref another writer made meanwhile), or gone: so are those above


def _symbolic_target(path: Path) -> str | None:
    """The ref a loose ref file links to (``ref: <target>``), if it is a link (packed refs
    never are)."""
    try:
        with open(path, "rb") as f:
            head = f.read(5 + 1024)
    except (FileNotFoundError, IsADirectoryError):
        return None
    except OSError:
        return None  # unreadable: read_ref has said so already (CorruptRef)
    if not head.startswith(b"ref: "):
        return None
    return head[5:].strip().decode("utf-8", errors="backslashreplace")


def _clash(repo: pygit2.Repository, ref: str) -> str:
    return _ref_above(repo, ref) or "(a file where a directory is needed)"


def _ref_above(repo: pygit2.Repository, ref: str) -> str | None:
    """The existing ref whose name is a folder of ``ref``'s (``a`` for ``a/b``), if any."""
    parts = ref.split("/")
    for i in range(len(parts) - 1, 1, -1):
        prefix = "/".join(parts[:i])
        if _exists(repo, prefix):
            return prefix
    return None


def update_ref(
    repo: pygit2.Repository,
    ref: str,
    new: str,
    expected: str | None,
    *,
    message: str,
    committer: str,
    wait: float = 10.0,
) -> RefUpdate:
    """Point ``ref`` at ``new`` only if it still points at ``expected`` (None: must not exist).

    Waits up to ``wait`` seconds for a concurrent writer's lock, then raises :class:`RefLocked`.
    Raises :class:`RefMoved` when the ref no longer holds ``expected``.
    """
    with locked_ref(repo, ref, wait=wait) as held:
        if held.current != expected:
            raise RefMoved(ref, expected, held.current)
        return held.set(new, message=message, committer=committer)


def _acquire(
    lock: Path, ref: str, wait: float, gitdir: Path, *, remake: Callable[[], None] | None = None
) -> int:
    """Take ``lock`` (see :func:`_take`), waiting up to ``wait`` seconds for another holder.

    ``remake`` makes the lock's folders again: git removes a ref folder it emptied (``git gc``'s
    ``pack-refs --prune``, ``update-ref -d``) between their making and the lock's creation, and
    a lock in a folder that went is taken once it is made again, as git's own writer does."""
    deadline = time.monotonic() + wait
    delay = 0.002
    vanished = 0
    while True:
        try:
            return _take(lock, gitdir)
        except FileNotFoundError as e:
            vanished += 1
            if remake is None or vanished >= _FOLDER_ATTEMPTS:
                raise RefUnwritable(ref, lock, e.strerror or str(e)) from None
            remake()
        except FileExistsError:
            if _break_stale(lock, gitdir):
                continue
            if time.monotonic() >= deadline:
                raise RefLocked(ref, lock, wait) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        except OSError as e:  # a read-only store, no room, no permission
            raise RefUnwritable(ref, lock, e.strerror or str(e)) from None


# A hard link cannot be made here: another filesystem, or one without hard links.
_NO_LINKS = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOSYS, errno.EOPNOTSUPP}


def _take(lock: Path, gitdir: Path) -> int:
    """Create ``lock`` exclusively (``FileExistsError`` if it is there), already naming its
    holder, and open it.

    Who holds it, until the new value replaces it: a later writer that finds a lock left by a
    process killed meanwhile (kill -9, a crash) can tell, and take it. Created empty and then
    written, a kill between the two (it happens, under load) left an empty lock, which reads as
    git's own and was waited for forever. In a store the token goes into a file of its own that
    is then hard-linked as the lock: a link fails where the lock exists, as O_EXCL does, and
    the lock never exists without its token. Where no link can be made, create and write.
    """
    token = _holder_token()
    spare = gitdir / "mindgit"
    if spare.is_dir():
        name = spare / _spare_name(token)
        try:
            _write_new(name, token)
            try:
                os.link(name, lock)
            finally:
                name.unlink(missing_ok=True)
        except FileExistsError:
            raise
        except OSError as e:
            if e.errno not in _NO_LINKS:
                raise
        else:
            return os.open(lock, os.O_RDWR | os.O_CLOEXEC)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, token)
    except BaseException:
        os.close(fd)
        lock.unlink(missing_ok=True)
        raise
    return fd


def _write_new(name: Path, data: bytes, *, sync: bool = False) -> None:
    """A new file ``name`` holding ``data`` (removed again if it cannot be written whole)."""
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        name.unlink(missing_ok=True)
        raise
    os.close(fd)


def _install(gitdir: Path, lock: Path, target: Path, data: bytes, *, sync: bool = True) -> None:
    """Put ``data`` at ``target`` with one rename, then drop ``lock``.

    In a store the new content goes through a file of its own under ``mindgit/``, so that the
    lock names its holder to the end: killed at any moment, the process leaves either no lock or
    one the next writer knows for a dead process's. Elsewhere, or where ``mindgit/`` is another
    filesystem than the refs (a rename across them fails), as git does: the lock itself,
    written and renamed into place.
    """
    spare = gitdir / "mindgit"
    if spare.is_dir():
        try:
            _install_through(spare / _spare_name(_holder_token()), target, data, sync)
        except OSError as e:
            if e.errno != errno.EXDEV:
                raise
        else:
            with contextlib.suppress(OSError):  # in place already; a lock left names this process
                lock.unlink()
            return
    with open(lock, "r+b") as f:
        f.truncate(0)
        f.write(data)
        f.flush()
        if sync:
            os.fsync(f.fileno())
    os.replace(lock, target)


def _install_through(name: Path, target: Path, data: bytes, sync: bool) -> None:
    _write_new(name, data, sync=sync)
    try:
        os.replace(name, target)
    except BaseException:
        name.unlink(missing_ok=True)
        raise


def _spare_name(token: bytes) -> str:
    """The name a holder's new values are written under before their rename: the pid alone
    would match a live process of another pid namespace sharing the store (another
    container), whose file the breaker of a dead one's lock would then delete."""
    pid = token.split()[1].decode()
    return f"ref-{pid}-{hashlib.sha256(token).hexdigest()[:16]}-{secrets.token_hex(6)}.tmp"


def _spare_glob(token: bytes) -> str:
    return _spare_name(token).rsplit("-", 1)[0] + "-*.tmp"


_SPARE = re.compile(r"ref-([0-9]{1,10})-([0-9a-f]{16})-[0-9a-f]{12}\.tmp")
# A new value's file lives for milliseconds. One whose writer this machine cannot check (another
# host's or pid namespace's, on a shared filesystem) is taken for a killed writer's this late;
# were that writer only stopped so long, its update fails (RefUnwritable), it writes nothing.
UNCHECKED_SPARE_SECONDS = 3600


def remove_dead_spares(gitdir: Path) -> list[Path]:
    """Remove the files under ``mindgit/`` holding a ref's new value or a lock's holder that a
    writer killed midway left (``ref-<pid>-<hash>-<hex>.tmp``); return those removed.

    The breaker of a dead writer's lock removes its files; a writer killed before its lock
    existed, or after it was gone, left them for good. A file is removed when its name proves
    that its writer has died (the hash is of the holder token of that pid here, and the process
    has ended) or, when the hash is another machine's, once ``UNCHECKED_SPARE_SECONDS`` old.
    """
    spare = gitdir / "mindgit"
    try:
        names = [(n, m) for n in os.listdir(spare) if (m := _SPARE.fullmatch(n)) is not None]
    except OSError:
        return []
    removed: list[Path] = []
    where = " ".join(_here()).encode()
    for name, match in names:
        path = spare / name
        token = b"%s %s %s\n" % (_TOKEN, match.group(1).encode(), where)
        if hashlib.sha256(token).hexdigest()[:16] == match.group(2):
            if not _dead_holder(token):
                continue
        else:
            try:
                if time.time() - path.lstat().st_mtime < UNCHECKED_SPARE_SECONDS:
                    continue
            except OSError:
                continue
        try:
            path.unlink()
        except OSError:
            continue
        removed.append(path)
    return removed


_TOKEN = b"mindgit-lock"
_UNKNOWN = "-"


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return _UNKNOWN


def _boot_id() -> str:
    # The machine, not its name: two hosts can share a name, and both run in the initial pid
    # namespace, whose id is the same on every Linux; a store on a shared filesystem would then
    # take the other machine's live writer for dead. Containers of one kernel share it.
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or _UNKNOWN
    except OSError:
        return _UNKNOWN


# This process's (pid namespace, boot id, host), read once per pid: every ref update names its
# holder twice (the lock, the new value's file), and a fork gets a pid of its own.
_WHERE: dict[int, tuple[str, str, str]] = {}


def _here() -> tuple[str, str, str]:
    pid = os.getpid()
    where = _WHERE.get(pid)
    if where is None:
        where = _WHERE[pid] = (_pid_namespace(), _boot_id(), socket.gethostname())
    return where


def _holder_token() -> bytes:
    fields = (os.getpid(), *_here())
    return b"%s %s\n" % (_TOKEN, " ".join(map(str, fields)).encode())


def _dead_holder(token: bytes) -> bool:
    """Whether ``token`` names a process of this machine and pid namespace that has ended.

    Anything else, git's own locks (empty or holding an id), another machine's, one whose
    process still runs or cannot be checked, counts as alive: such a lock is only ever waited
    for.
    """
    parts = token.split()
    if len(parts) != 5 or parts[0] != _TOKEN or not parts[1].isdigit():
        return False
    here = _here()
    if _UNKNOWN in here or tuple(p.decode(errors="replace") for p in parts[2:]) != here:
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # it exists, as another user's process
    try:  # killed but not reaped yet: a zombie holds no files
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b") ", 1)[1].startswith(b"Z")
    except (OSError, IndexError):
        return False


def lock_held(repo: pygit2.Repository, ref: str) -> bool:
    """Whether ``ref``'s lock file is there and not one a dead mindgit process left (which the
    next writer removes: a check made before writing must not refuse over it)."""
    lock = Path(repo.path) / (ref + ".lock")
    try:
        token = lock.read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        return True
    return not _dead_holder(token)


def remove_dead_lock(repo: pygit2.Repository, ref: str) -> bool:
    """Remove ``ref``'s lock file if a mindgit process that has died left it (killed between
    putting the ref's new value in place and removing its lock); True if it was removed. A live
    writer's lock, or git's own, is left alone."""
    return _break_stale(Path(repo.path) / (ref + ".lock"), Path(repo.path))


def _break_stale(lock: Path, gitdir: Path) -> bool:
    """Remove ``lock`` if the process that took it has died; True if it was removed.

    Writers that find the same stale lock break it one at a time, under a flock of the store's,
    re-reading it there: the file removed is the dead process's, never a live writer's that
    took the lock just before.
    """
    try:
        token = lock.read_bytes()
    except OSError:
        return False
    if not _dead_holder(token):
        return False
    guard = gitdir / "mindgit"
    if not guard.is_dir():
        return False  # not a store: no place for the guard, so never broken
    try:
        fd = os.open(guard / "stale-locks", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if lock.read_bytes() != token or not _dead_holder(token):
                return False
            lock.unlink()
        except OSError:
            return False
        # The new value it was about to rename into place, if it died in between.
        for spare in guard.glob(_spare_glob(token)):
            spare.unlink(missing_ok=True)
        return True
    finally:
        os.close(fd)


def _append_reflog(gitdir: Path, ref: str, old: str | None, new: str, who: str, msg: str) -> None:
    log = gitdir / "logs" / ref
    stamp = f"{int(time.time())} +0000"
    line = f"{old or _ZERO} {new} {who} {stamp}\t{msg.splitlines()[0] if msg else ''}\n"
    for attempt in range(_FOLDER_ATTEMPTS):
        try:
            _make_folders(log.parent, gitdir)
            with open(log, "a", encoding="utf-8") as f:
                f.write(line)
            return
        except FileNotFoundError:
            # The folder went after it was made: git removes a reflog folder it emptied (the
            # deletion of the last other ref under it, update-ref -d). Made again, as the ref's.
            if attempt == _FOLDER_ATTEMPTS - 1:
                raise


class HeadLock(_HeldLock):
    """``HEAD`` held under git's lock file: :meth:`point` it at an experiment once."""

    def __init__(self, gitdir: Path, fd: int, lock: Path) -> None:
        self._gitdir = gitdir
        super().__init__(fd, lock)

    def point(self, ref: str) -> None:
        check_ref_name(ref)
        if self.done:
            raise RefError("HEAD was already updated under this lock")
        try:
            os.close(self._fd)
            self._fd = -1
            _install(self._gitdir, self._lock, self._gitdir / "HEAD", f"ref: {ref}\n".encode())
        except OSError as e:  # the lock is removed on release: HEAD is as it was
            raise RefUnwritable("HEAD", self._gitdir / "HEAD", e.strerror or str(e)) from None
        self.done = True


@contextlib.contextmanager
def locked_head(repo: pygit2.Repository, *, wait: float = 10.0) -> Iterator[HeadLock]:
    """Hold ``HEAD``'s lock, so that a change that ends by pointing it elsewhere (a fork that
    switches) can fail on the lock before it has written anything."""
    gitdir = Path(repo.path)
    lock = gitdir / "HEAD.lock"
    held = HeadLock(gitdir, _acquire(lock, "HEAD", wait, gitdir), lock)
    try:
        yield held
    finally:
        held.release()


def set_head(repo: pygit2.Repository, ref: str, *, wait: float = 10.0) -> None:
    """Make HEAD a symbolic ref to ``ref``, atomically, as git does."""
    check_ref_name(ref)
    with locked_head(repo, wait=wait) as held:
        held.point(ref)


def delete_ref(repo: pygit2.Repository, ref: str, old: str, *, wait: float = 10.0) -> str | None:
    """Delete ``ref`` (a link itself, never the ref it names) if it still points at ``old``;
    None when it is gone, else git's one-line reason. :class:`RefMoved` if it moved.

    git deletes it (``update-ref -d``: the ref's file, its line in ``packed-refs``, its reflog),
    after mindgit's lock protocol, which git's knows nothing of: a lock a killed mindgit writer
    left is removed (git would fail on it every time), a live writer's waited for.
    """
    try:
        check_ref_name(ref)
    except RefError:
        # A name git made that mindgit writes no ref under (refs/heads/we!rd): no mindgit
        # writer takes its lock, and git's compare with ``old`` below is the check.
        if not pygit2.reference_is_valid_name(ref):
            raise
    else:
        with locked_ref(repo, ref, wait=wait) as held:
            if held.current != old:
                raise RefMoved(ref, old, held.current)
    # Another writer may take the lock between the two: git then waits as long, and its
    # compare with ``old`` keeps a ref that moved. A deletion takes packed-refs.lock too,
    # which `git gc` holds while it packs the refs: waited for as long (git's own default is
    # one second, after which the deletion failed while gc ran).
    ms = round(wait * 1000)
    timeouts = ("-c", f"core.filesRefLockTimeout={ms}", "-c", f"core.packedRefsTimeout={ms}")
    deleted = subprocess.run(
        ["git", "--git-dir", repo.path, *timeouts, "update-ref", "--no-deref", "-d", ref, old],
        capture_output=True,
        check=False,
    )
    if deleted.returncode == 0:
        return None
    now = read_ref(repo, ref)
    if now != old:
        raise RefMoved(ref, old, now)
    return one_line(deleted.stderr.decode("utf-8", "replace")) or "git update-ref failed"
