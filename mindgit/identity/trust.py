"""The trust store: the nodes whose signatures this node accepts.

The store is an OpenSSH ``allowed_signers`` file (ssh-keygen(1), ALLOWED SIGNERS), so
``git -c gpg.ssh.allowedSignersFile=<it> verify-commit`` trusts exactly the nodes mindgit
trusts. mindgit writes one line per node::

    did:key:z6Mk... namespaces="git" ssh-ed25519 AAAA... <name>

The principal is the node's did:key: git asks ``ssh-keygen -Y find-principals`` which principal
holds the signing key and verifies with that one, so it need not match anything in the commit.
The name rides in the trailing comment, which OpenSSH ignores. Lines written by hand in any form
``ssh-keygen`` accepts are read too; mindgit keeps them as they are when it rewrites the file.

A key its node has rotated away from is trusted only for the history it signed before the
rotation: its comment ends in ``heads=<commit>,<commit>...`` (the tips named by the rotation
record, see ``mindgit.identity.rotation``). mindgit accepts its signature only on those commits
and their ancestors. OpenSSH has no such option, so git itself still accepts the key anywhere;
the scope rides in the comment, where ``ssh-keygen`` ignores it and ``trust export`` carries it
to servers running mindgit's hooks.
"""

from __future__ import annotations

import binascii
import contextlib
import fcntl
import os
import re
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mindgit.errors import MindgitError
from mindgit.identity.fsutil import fsync_dir
from mindgit.identity.keys import (
    DID_PREFIX,
    OPENSSH_KEY_TYPES,
    MalformedKey,
    PublicKey,
    is_valid_point,
)

NAMESPACE = "git"
# How long after a change the file's timestamps cannot prove it unchanged (see _load).
_RACY_NS = 2_000_000_000
_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
_HEAD = re.compile(r"(?:[0-9a-f]{40}|[0-9a-f]{64})\Z")
_HEADS_WORD = "heads="
# Written by ``remove``: a comment to OpenSSH, a memory to mindgit that the user chose to stop
# trusting this key, so a peer's key rotation cannot bring it back (see ``is_removed``).
_REMOVED = re.compile(r"# mindgit removed (did:key:\S+)\Z")
# Key types OpenSSH knows; the token after the principals is options unless it is one of these.
_CERT_SUFFIX = "-cert-v01@openssh.com"


def _is_key_type(token: str) -> bool:
    return token in OPENSSH_KEY_TYPES or token.endswith(_CERT_SUFFIX)


class InvalidNodeName(MindgitError):
    """A node name outside ``[A-Za-z0-9._-]{1,64}``."""

    def __init__(self, name: str) -> None:
        self.name = name
        # Not quoted: what fails here may be something else pasted by mistake (a private key's
        # base64 body, a seed: 44 characters), and an error goes to terminals and logs. Its
        # length and its first character out of place say what to fix.
        if not name:
            shown = "(empty)"
        elif len(name) > 64:
            shown = f"of {len(name)} characters"
        else:
            length = f"of {len(name)} character{'s' if len(name) > 1 else ''}"
            at = next((i for i, c in enumerate(name) if not _NAME.match(c)), None)
            shown = length if at is None else f"{length} ({name[at]!r} at {at + 1} is not allowed)"
        super().__init__(
            f"invalid node name {shown}",
            hint="use 1 to 64 characters from letters, digits, '.', '_' and '-'",
        )


class TrustConflict(MindgitError):
    """The name is taken by another key, or the key is already trusted under another name."""

    def __init__(self, name: str, key: PublicKey, existing: TrustedNode) -> None:
        self.name = name
        self.key = key
        self.existing = existing
        if existing.name == name:
            message = f"node name {name!r} is already trusted with another key ({existing.key.did})"
            hint = f"choose another name, or run `mindgit trust remove {name}` first"
        elif existing.heads is not None:
            # The hint was to remove it and add it again: that traded a key trusted only for
            # the history its rotation named for one trusted to sign anything.
            message = (
                f"key {key.did} is already trusted as {existing.name!r}, a key its node "
                "rotated away from"
            )
            hint = (
                "it may sign only the history its rotation named, and under another name it "
                "could sign anything: trust the node's current key instead"
            )
        else:
            message = f"key {key.did} is already trusted as {existing.name!r}"
            hint = f"to rename it, run `mindgit trust remove {existing.name}`, then add it again"
        super().__init__(message, hint=hint)


class UnknownNode(MindgitError):
    """No trusted node has that name or did:key."""

    def __init__(self, query: str, path: Path) -> None:
        self.query = query
        self.path = path
        super().__init__(
            f"no trusted node {query!r} in {path}",
            hint="`mindgit trust list` shows the trusted nodes' names and ids",
        )


class TrustFileCorrupt(MindgitError):
    """A line of the allowed-signers file that neither OpenSSH nor mindgit can read."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        super().__init__(
            f"{path}:{line}: {reason}",
            hint='fix or delete that line; the form is: <did:key> namespaces="git" ssh-ed25519 <base64> <name>',
        )


class TrustFileUnreadable(MindgitError):
    """The trust file exists but cannot be read."""

    def __init__(self, path: Path, reason: str, *, hint: str = "check its permissions") -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"cannot read trust file {path}: {reason}", hint=hint)


class TrustFileUnwritable(MindgitError):
    """The trust file (or its lock or temporary file) cannot be written."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"cannot write trust file {path}: {reason}",
            hint="check that its directory exists and is writable",
        )


def check_node_name(name: str) -> str:
    """Return ``name`` if it is a valid node name (``[A-Za-z0-9._-]{1,64}``), else raise."""
    if not _NAME.match(name):
        raise InvalidNodeName(name)
    return name


class InvalidHeads(MindgitError):
    """A retired key's bound that is not a sorted list of distinct hex commit ids."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"invalid heads for a retired key: {reason}",
            hint="heads are the sorted, distinct commit ids a key rotation names",
        )


def check_heads(heads: tuple[str, ...]) -> tuple[str, ...]:
    """Return ``heads`` if it is sorted, distinct lowercase hex commit ids, else raise.

    One spelling per set keeps a rotation record's bytes, and so its signatures, reproducible.
    """
    for head in heads:
        if not _HEAD.match(head):
            raise InvalidHeads(f"{head[:80]!r} is not a hex commit id")
    if list(heads) != sorted(set(heads)):
        raise InvalidHeads("they must be sorted and distinct")
    return heads


@dataclass(frozen=True, slots=True)
class TrustedNode:
    """A node whose signatures are accepted: its local name, its key and, for a retired key,
    the commits whose history it may sign (None: no bound)."""

    name: str
    key: PublicKey
    heads: tuple[str, ...] | None = None

    @property
    def did(self) -> str:
        """The node's did:key."""
        return self.key.did

    def allowed_signers_line(self) -> str:
        """The line mindgit writes for this node (no newline)."""
        line = f'{self.key.did} namespaces="{NAMESPACE}" {self.key.openssh} {self.name}'
        if self.heads is not None:
            line += f" {_HEADS_WORD}{','.join(self.heads)}"
        return line


@dataclass(frozen=True, slots=True)
class _Line:
    text: str  # as read, without the line ending
    key: bytes | None  # the ed25519 key on the line, if there is one
    for_git: bool  # git may accept this key's plain signatures in namespace "git"
    node: TrustedNode | None  # set when mindgit trusts the key unconditionally
    removed: bool = False  # a marker left by ``TrustStore.remove``


class _Snapshot:
    __slots__ = ("by_key", "by_name", "data", "lines", "racy", "removed", "stamp")

    def __init__(self, stamp: tuple[int, ...] | None, data: bytes, lines: list[_Line]) -> None:
        self.stamp = stamp
        self.data = data
        self.lines = lines
        self.racy = False
        self.by_key: dict[bytes, TrustedNode] = {}
        self.by_name: dict[str, TrustedNode] = {}
        self.removed = {line.key for line in lines if line.removed}
        for line in lines:
            node = line.node
            if node is not None and node.key.raw not in self.by_key:
                self.by_key[node.key.raw] = node
                self.by_name[node.name] = node

    def text(self) -> str:
        return "".join(line.text + "\n" for line in self.lines)


class TrustStore:
    """The allowed-signers file at ``path`` (absent means no node is trusted).

    Reads are cached and refreshed when the file changes on disk; writes take a lock
    (``<path>.lock``), re-read, and replace the file atomically.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._snapshot: _Snapshot | None = None

    def nodes(self) -> list[TrustedNode]:
        """Every trusted node, in file order."""
        return list(self._current().by_key.values())

    def add(self, key: PublicKey, name: str, heads: tuple[str, ...] | None = None) -> TrustedNode:
        """Trust ``key`` under ``name`` (for a retired key: only below ``heads``); adding the
        same pair again changes nothing."""
        check_node_name(name)
        if heads is not None:
            check_heads(heads)
        with self._locked():
            snapshot = self._load()
            existing = snapshot.by_name.get(name)
            if existing is not None:
                if existing.key == key:
                    return existing
                raise TrustConflict(name, key, existing)
            other = snapshot.by_key.get(key.raw)
            if other is not None:
                raise TrustConflict(name, key, other)
            node = TrustedNode(name, key, heads)
            new_line = _Line(node.allowed_signers_line(), key.raw, True, node)
            kept = [line for line in snapshot.lines if not (line.removed and line.key == key.raw)]
            self._write([*kept, new_line])
            return node

    def remove(self, name_or_did: str, *, remember: bool = False) -> TrustedNode:
        """Stop trusting a node: every line that lets git accept its key goes.

        With ``remember`` a comment marks the key as removed on purpose, so that only ``add``
        trusts it again, never a peer's key rotation (``is_removed``).
        """
        with self._locked():
            snapshot = self._load()
            node = self._lookup(snapshot, name_or_did)
            kept = [
                line for line in snapshot.lines if not (line.key == node.key.raw and line.for_git)
            ]
            if remember and node.key.raw not in snapshot.removed:
                kept.append(
                    _Line(f"# mindgit removed {node.key.did}", node.key.raw, False, None, True)
                )
            self._write(kept)
            return node

    def is_removed(self, key: PublicKey) -> bool:
        """Whether ``remove`` dropped this key and nobody has added it back since."""
        return key.raw in self._current().removed

    def get(self, name_or_did: str) -> TrustedNode:
        """The trusted node with this name or did:key; ``UnknownNode`` if there is none."""
        return self._lookup(self._current(), name_or_did)

    def find(self, key: PublicKey) -> TrustedNode | None:
        """The trusted node holding ``key``, or None (a dict lookup after one ``stat``)."""
        return self._current().by_key.get(key.raw)

    def export(self) -> str:
        """The allowed-signers file content, as git and ssh-keygen read it."""
        return self._current().text()

    def pinned(self) -> TrustStore:
        """The trust as the file holds it now, for one check of many signatures: read once,
        never looked at again. One check sees one trust rather than a file edited halfway
        through; and each look costs a ``stat``, and a whole read while the file is less than
        2 s old (the gate of a pull right after ``trust add``: ~110 reads for 50 generations)."""
        return _Pinned(self.path, self._current())

    def _lookup(self, snapshot: _Snapshot, name_or_did: str) -> TrustedNode:
        if name_or_did.startswith(DID_PREFIX):
            node = snapshot.by_key.get(PublicKey.parse(name_or_did).raw)
        else:
            node = snapshot.by_name.get(name_or_did)
        if node is None:
            raise UnknownNode(name_or_did, self.path)
        return node

    def _current(self) -> _Snapshot:
        snapshot = self._snapshot
        if snapshot is None or snapshot.stamp != self._stamp() or snapshot.racy:
            snapshot = self._load()
        return snapshot

    def _stamp(self) -> tuple[int, ...] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TrustFileUnreadable(self.path, exc.strerror or str(exc)) from None
        return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def _load(self) -> _Snapshot:
        now = time.time_ns()
        try:
            # O_NONBLOCK: a named pipe in the trust file's place would block the open for ever
            # (git too reads this file); it is refused below instead.
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            snapshot = _Snapshot(None, b"", [])
        except OSError as exc:
            raise TrustFileUnreadable(self.path, exc.strerror or str(exc)) from None
        else:
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    # Its permissions are not what is wrong (the hint said to check them).
                    raise TrustFileUnreadable(
                        self.path,
                        "not a regular file",
                        hint="the trust file is a regular file (OpenSSH allowed_signers): "
                        "move this away and put that file back in its place",
                    )
                chunks = []
                while chunk := os.read(fd, 1 << 16):
                    chunks.append(chunk)
                data = b"".join(chunks)
            except OSError as exc:
                raise TrustFileUnreadable(self.path, exc.strerror or str(exc)) from None
            finally:
                os.close(fd)
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            previous = self._snapshot
            if previous is not None and previous.data == data:
                snapshot = previous
                snapshot.stamp = stamp
            else:
                snapshot = _Snapshot(stamp, data, _parse_file(self.path, data))
            # File times are coarse (a clock tick, or worse) and inode numbers are reused, so a
            # file changed again within the same tick can keep the same stamp. Until its times
            # are safely in the past, re-read it on every use instead of trusting the stamp.
            snapshot.racy = now - max(st.st_mtime_ns, st.st_ctime_ns) < _RACY_NS
        self._snapshot = snapshot
        return snapshot

    def _target(self) -> Path:
        """The file writes replace: the trust file's own path, or, when that is a symbolic
        link (to an allowed-signers file kept elsewhere and shared, with git's own
        gpg.ssh.allowedSignersFile say), the file it leads to. Replacing the link by a new file
        cut the store off from it: later changes never reached the shared file, nor it the
        store's."""
        return Path(os.path.realpath(self.path))

    def _shown(self, target: Path) -> Path:
        # An error names the file that could not be written, which a link's is not.
        return target if self.path.is_symlink() else self.path

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        # Beside the file written, so that writers through every link to it take one lock.
        target = self._target()
        lock_path = target.with_name(target.name + ".lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise TrustFileUnwritable(self._shown(target), exc.strerror or str(exc)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _write(self, lines: list[_Line]) -> None:
        text = "".join(line.text + "\n" for line in lines).encode("utf-8")
        target = self._target()
        mode = 0o644
        with contextlib.suppress(OSError):
            mode = stat.S_IMODE(os.stat(target).st_mode)
        tmp = target.with_name(f".{target.name}.{os.urandom(6).hex()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                os.fchmod(fd, mode)
                view = memoryview(text)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
        except OSError as exc:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise TrustFileUnwritable(self._shown(target), exc.strerror or str(exc)) from None
        fsync_dir(target.parent)
        self._load()


class _Pinned(TrustStore):
    """A :class:`TrustStore` held at one snapshot (:meth:`TrustStore.pinned`); writes go to
    the file, and are not seen here."""

    def __init__(self, path: Path, snapshot: _Snapshot) -> None:
        super().__init__(path)
        self._pin = snapshot

    def _current(self) -> _Snapshot:
        return self._pin


def _parse_file(path: Path, data: bytes) -> list[_Line]:
    """Parse every line; the first unreadable one raises ``TrustFileCorrupt``."""
    lines: list[_Line] = []
    names: dict[str, tuple[int, bytes]] = {}  # name -> (line number, key)
    keys: dict[bytes, tuple[int, str]] = {}  # key -> (line number, name)
    unnamed: list[_Unnamed] = []
    chunks = data.split(b"\n")
    if chunks[-1] == b"":
        chunks.pop()  # the empty remainder after a final newline is not a line
    for number, raw in enumerate(chunks, start=1):
        raw = raw.removesuffix(b"\r")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise TrustFileCorrupt(path, number, "the line is not UTF-8") from None
        try:
            line = _parse_line(text, names, keys, number, unnamed)
        except _LineError as exc:
            raise TrustFileCorrupt(path, number, str(exc)) from None
        lines.append(line if line is not None else _Line(text, None, False, None))
    # A line that names no node is named once every name the file gives is known: a name
    # derived on the way (dev@x.com's dev-x.com) refused a later line "dev-x.com <another key>"
    # as a second key for one name, a file git reads, and with it every command that trusts.
    for number, principals, key, heads in unnamed:
        known = keys.get(key.raw)
        name = known[1] if known is not None else _derived_name(principals, key, names)
        names.setdefault(name, (number, key.raw))
        keys.setdefault(key.raw, (number, name))
        text = lines[number - 1].text
        lines[number - 1] = _Line(text, key.raw, True, TrustedNode(name, key, heads))
    return lines


# A line whose node name is derived from its principals: (line number, principals, key, heads).
_Unnamed = tuple[int, list[str], PublicKey, tuple[str, ...] | None]


class _LineError(ValueError):
    """Why one line cannot be read; the caller adds the file and line number."""


def _parse_line(
    text: str,
    names: dict[str, tuple[int, bytes]],
    keys: dict[bytes, tuple[int, str]],
    number: int,
    unnamed: list[_Unnamed],
) -> _Line | None:
    """Parse one line; None for blank and comment lines (kept verbatim by the caller). A line
    that gives no name is added to ``unnamed`` and named by the caller."""
    # ssh-keygen reads a line as a C string, which ends at a NUL: what follows one is not part
    # of it (a principal "alice\0" followed by the key is a line without a key).
    rest = text.split("\0", 1)[0].strip(" \t")
    removed = _REMOVED.match(rest)
    if removed is not None:
        try:
            key = PublicKey.parse(removed.group(1))
        except MalformedKey as exc:
            raise _LineError(f"the removed key is not a did:key ({exc})") from None
        return _Line(text, key.raw, False, None, True)
    if not rest or rest.startswith("#"):
        return None
    principals, rest = _take_principals(rest)
    token = _words(rest, 1)[0] if rest else ""
    options: list[tuple[str, str | None]] = []
    if token and not _is_key_type(token):
        options_text, rest = _take_options(rest)
        options = _parse_options(options_text)
    fields = _words(rest, 2)
    if not fields:
        raise _LineError("no key after the principals")
    key_type = fields[0]
    if not _is_key_type(key_type):
        raise _LineError(f"{key_type!r} is not an SSH key type")
    if len(fields) < 2:
        raise _LineError("the key is missing after its type")
    comment = fields[2].strip() if len(fields) > 2 else ""
    if key_type != "ssh-ed25519":
        # A legal line for another kind of key: git may use it, mindgit nodes never do.
        return _Line(text, None, False, None)
    key = _decode_ed25519(fields[1])
    option_names = {name for name, _ in options}
    for_git = "cert-authority" not in option_names and _namespaces_allow(options, NAMESPACE)
    for principal in principals:
        literal = principal.startswith(DID_PREFIX) and not any(c in principal for c in "*?!")
        if literal and principal != key.did:
            raise _LineError(f"principal {principal} is not the did:key of the key on this line")
    if not for_git or option_names & {"valid-after", "valid-before"}:
        # mindgit does not evaluate validity windows: such a key is not trusted by mindgit
        # (git may still accept it within the window); the line is kept as written.
        return _Line(text, key.raw, for_git, None)
    heads = _comment_heads(comment)
    name = _explicit_name(principals, comment)
    if name is None:
        unnamed.append((number, principals, key, heads))
        return _Line(text, key.raw, True, None)  # named by _parse_file
    taken = names.get(name)
    if taken is not None and taken[1] != key.raw:
        raise _LineError(f"node name {name!r} is already used for another key on line {taken[0]}")
    known = keys.get(key.raw)
    if known is not None and known[1] != name:
        raise _LineError(f"this key is already trusted as {known[1]!r} on line {known[0]}")
    names.setdefault(name, (number, key.raw))
    keys.setdefault(key.raw, (number, name))
    return _Line(text, key.raw, True, TrustedNode(name, key, heads))


# The characters ssh-keygen ends a field of the line with: the principals with any of these, the
# options and the key's parts with a space or a tab only. Python's str.split() also splits on
# \v, \f, \x1c-\x1f, no-break and other Unicode spaces: a line such as "alice\xa0ssh-ed25519
# AAAA..." gave mindgit a key on which ssh-keygen, and so git, sees none.
_PRINCIPALS_END = " \t\r"
_PRINCIPALS_STOP = re.compile(r'[ \t\r"]')
_FIELD_SEP = re.compile(r"[ \t]+")


def _words(text: str, maxsplit: int) -> list[str]:
    """``text`` split as ssh-keygen splits a key's fields (on spaces and tabs), at most
    ``maxsplit`` times; [] for a blank text."""
    text = text.strip(" \t")
    return _FIELD_SEP.split(text, maxsplit) if text else []


def _take_principals(rest: str) -> tuple[list[str], str]:
    # As ssh-keygen (strdelimw) reads them: up to the first space, or, if a quote comes first,
    # up to the next quote, the quote dropped: 'a"b c" KEY' is the principal "ab c", and
    # 'a"b KEY' has no end (a quote only at the start was looked for: "a\"b" was a principal).
    found = _PRINCIPALS_STOP.search(rest)
    if found is None:
        field, rest = rest, ""
    elif found.group() == '"':
        at = found.start()
        end = rest.find('"', at + 1)
        if end < 0:
            raise _LineError("unterminated quote in the principals")
        field, rest = rest[:at] + rest[at + 1 : end], rest[end + 1 :]
        if rest and rest[0] not in _PRINCIPALS_END:
            raise _LineError("text directly after the quoted principals")
    else:
        field, rest = rest[: found.start()], rest[found.start() :]
    principals = field.split(",")
    if not field or any(not p for p in principals):
        raise _LineError("empty principal")
    return principals, rest.lstrip(_PRINCIPALS_END)


def _take_options(rest: str) -> tuple[str, str]:
    quoted = False
    for i, c in enumerate(rest):
        if c == '"':
            quoted = not quoted
        elif c in " \t" and not quoted:
            return rest[:i], rest[i:].lstrip(" \t")
    if quoted:
        raise _LineError("unterminated quote in the options")
    return rest, ""


def _parse_options(text: str) -> list[tuple[str, str | None]]:
    """Split ``a,b="x,y"`` into (lower-case name, unquoted value or None), as OpenSSH reads them."""
    options: list[tuple[str, str | None]] = []
    i = 0
    while i < len(text):
        match = re.match(r"[A-Za-z-]+", text[i:])
        if match is None:
            raise _LineError(f"bad options at {text[i:]!r}")
        name = match.group().lower()
        i += match.end()
        value: str | None = None
        if i < len(text) and text[i] == "=":
            if i + 1 >= len(text) or text[i + 1] != '"':
                raise _LineError(f"the value of option {name!r} must be in double quotes")
            end = text.find('"', i + 2)
            if end < 0:
                raise _LineError(f"unterminated quote in option {name!r}")
            value = text[i + 2 : end]
            i = end + 1
        if name == "cert-authority":
            if value is not None:
                raise _LineError("cert-authority takes no value")
        elif name in ("namespaces", "valid-after", "valid-before"):
            if value is None:
                raise _LineError(f"option {name!r} needs a value")
        else:
            raise _LineError(f"unknown option {name!r}")
        if name != "cert-authority" and any(seen == name for seen, _ in options):
            # ssh-keygen refuses the line ("multiple ... clauses"), so git trusts no key on it.
            raise _LineError(f"option {name!r} is given twice")
        options.append((name, value))
        if i < len(text):
            if text[i] != ",":
                raise _LineError(f"bad options at {text[i:]!r}")
            i += 1
            if i == len(text):
                raise _LineError("options end with a comma")
    return options


def _namespaces_allow(options: list[tuple[str, str | None]], namespace: str) -> bool:
    for name, value in options:
        if name == "namespaces" and value is not None and not _match_pattern_list(namespace, value):
            return False
    return True


def _match_pattern_list(string: str, patterns: str) -> bool:
    """OpenSSH's pattern-list rule: any negated match refuses, else any positive match accepts."""
    positive = False
    for pattern in patterns.split(","):
        negated = pattern.startswith("!")
        if _glob(pattern[1:] if negated else pattern).fullmatch(string):
            if negated:
                return False
            positive = True
    return positive


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.S
    )


def _decode_ed25519(b64: str) -> PublicKey:
    try:
        blob = binascii.a2b_base64(b64.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        raise _LineError("the key is not valid base64") from None
    if binascii.b2a_base64(blob, newline=False) != b64.encode("ascii"):
        # Python takes '=' after a whole key ("AAAA...="); ssh-keygen refuses such a line.
        raise _LineError("the key is not canonical base64")
    try:
        key = PublicKey.from_ssh_blob(blob)
    except MalformedKey as exc:
        raise _LineError(f"bad ssh-ed25519 key: {exc.reason}") from None
    if not is_valid_point(key.raw):
        raise _LineError("the key is not a valid ed25519 point")
    return key


def _explicit_name(principals: list[str], comment: str) -> str | None:
    for principal in principals:
        if _NAME.match(principal):
            return principal
    words = comment.split()
    if words and _NAME.match(words[0]):
        return words[0]
    return None


def _comment_heads(comment: str) -> tuple[str, ...] | None:
    words = [w for w in comment.split() if w.startswith(_HEADS_WORD)]
    if not words:
        return None
    if len(words) > 1:
        raise _LineError(f"more than one {_HEADS_WORD!r} in the comment")
    text = words[0].removeprefix(_HEADS_WORD)
    heads = tuple(text.split(",")) if text else ()
    try:
        return check_heads(heads)
    except InvalidHeads as e:
        raise _LineError(e.reason) from None


def _derived_name(
    principals: list[str], key: PublicKey, names: dict[str, tuple[int, bytes]]
) -> str:
    # A hand-written line such as "dev@example.com ssh-ed25519 ..." has no usable name:
    # derive a stable one rather than refuse a file git itself accepts.
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", principals[0]).strip("-")[:64] or "node"
    taken = names.get(base)
    if taken is None or taken[1] == key.raw:
        return base
    return f"{base[:55]}-{key.did[-8:]}"
