"""Peers: git remotes of the store, what mindgit knows about each, and what it last saw.

A peer is a plain git remote (``remote.<name>.url`` in the store's config, so ``git remote -v``
lists it) with no fetch refspec, so a hand-run ``git fetch <name>`` cannot move anything mindgit
has not verified. ``remote.<name>.mindgitNode`` optionally names the did:key of the node
expected at that URL.

What a node remembers of each peer stays in its git dir and is never pushed:

- ``refs/peers/<peer>/...``: the last head of each synced ref seen from the peer, the mark a
  peer's ref may only move forward from;
- ``mindgit/peers/<peer>.json``: when each of those heads was first and last seen, and the
  last success and the last error of a pull or push.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pygit2

from mindgit.errors import (
    URL_SHOWN_MAX,
    MindgitError,
    UsageError,
    cut_url,
    one_line,
    quoted,
    shell_word,
    shown_path,
    shown_url,
)
from mindgit.identity.keys import DID_PREFIX, PublicKey
from mindgit.identity.trust import InvalidNodeName, TrustedNode, UnknownNode, check_node_name
from mindgit.store.refs import read_ref
from mindgit.store.repository import MINDGIT_DIR, Store
from mindgit.store.rotations import RotationOutcome
from mindgit.sync import refspace
from mindgit.sync.quarantine import QUARANTINE_DIR

PEERS_DIR = "peers"
NODE_KEY = "mindgitNode"
STATE_VERSION = 1
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# The longest URL a peer may have: PATH_MAX, the longest path git (and the system) handles
# well. The URL is named in every message about the peer; 100 KB made each one 100 KB long.
URL_MAX = 4096
# The longest a pull or push waits for another with the same peer (a --timeout shorter than
# this bounds the wait too).
LOCK_WAIT = 30.0


def _quoted_url(url: str) -> str:
    """``url`` for a message, quoted: credentials hidden (:func:`shown_url`), cut past
    :data:`URL_SHOWN_MAX` characters as :func:`errors.quoted` cuts (:func:`cut_url`)."""
    return quoted(shown_url(url), URL_SHOWN_MAX) if len(url) <= URL_SHOWN_MAX else cut_url(url)


class InvalidPeerName(UsageError):
    def __init__(self, name: str) -> None:
        shown = quoted(name)
        fault = _name_fault(name)
        if len(name) > 64 and shown != repr(name):
            # The cut quote gives its length and the hint the 64 allowed: said again, they
            # made the line over 300 characters.
            fault = "it is too long"
        super().__init__(
            f"invalid peer name {shown}: {fault}",
            hint="use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, "
            "with no '..' and not ending with '.' or '.lock'",
        )
        self.name = name


def _name_fault(name: str) -> str:
    """What is wrong with a peer name (the hint said only the rule, never which part of it a
    name broke: `x.lock` looked like a valid name)."""
    if not name:
        return "it is empty"
    if len(name) > 64:
        return f"it is {len(name)} characters long, over 64"
    if not name[0].isascii() or not name[0].isalnum():
        return f"it starts with {name[0]!r}"
    bad = next((c for c in name if not (c.isascii() and (c.isalnum() or c in "_.-"))), None)
    if bad is not None:
        return f"{bad!r} is not allowed in one"
    if ".." in name:
        return "it holds '..'"
    if name.endswith(".lock"):
        return "it ends with '.lock', which git keeps for its lock files"
    return "it ends with '.'"


class InvalidURL(UsageError):
    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"invalid peer URL {_quoted_url(url)}: {reason}")
        self.url = url
        self.reason = reason


class UnknownPeer(MindgitError):
    def __init__(self, name: str, known: list[str]) -> None:
        listing = ", ".join(known) if known else "none yet"
        if not known:
            hint = "add one with `mindgit remote add NAME URL`"
        else:
            import difflib

            # A typo of a peer's name was told to add a peer.
            close = difflib.get_close_matches(name, known, n=1)
            hint = "`mindgit remote list` shows the peers"
            if close:
                hint = f"did you mean {close[0]!r}? {hint}"
        super().__init__(f"no peer named {name!r} (peers: {listing})", hint=hint)
        self.name = name
        self.known = known


class UnusablePeerName(MindgitError):
    """A peer set by hand in the store's config (``git config remote.<name>.url``) under a name
    ``remote add`` refuses, which cannot be one component of ``refs/peers/<name>/...``: a pull
    from it failed as "invalid refspec" with a hint to check its URL, or moved the peer's refs
    and then failed writing its marks. ``remote remove`` still takes it."""

    def __init__(self, store: Store, name: str) -> None:
        super().__init__(
            f"peer {name!r} cannot be pulled from or pushed to: its name, set in the store's "
            f"config by hand, is one `remote add` refuses ({_name_fault(name)}); "
            "nothing was changed",
            hint=f"rename it: `git --git-dir {shell_word(str(store.path))} remote rename {name} "
            "NEW`, NEW being 1 "
            "to 64 letters, digits, '.', '_' or '-', with no '..' and not ending with '.' or "
            "'.lock'",
        )
        self.name = name


class PeerExists(MindgitError):
    def __init__(self, name: str, url: str) -> None:
        super().__init__(
            f"peer {name!r} already exists ({_quoted_url(url)}); nothing was changed",
            hint=f"remove it first with `mindgit remote remove {name}`",
        )
        self.name = name
        self.url = url


class UntrustedPeerNode(MindgitError):
    """``remote add --node NAME`` with no trusted node of that name: a well-formed name this
    store does not know (exit 1, as ``think --to`` with one), not a malformed command line."""

    def __init__(self, node: str, how: str) -> None:
        super().__init__(
            f"no trusted node named {node!r} to expect at this peer; nothing was changed",
            hint=f"give its did:key instead; {how}",
        )
        self.node = node


class PeerBusy(MindgitError):
    def __init__(
        self, name: str, lock: Path, waited: float = 0.0, holder: str | None = None
    ) -> None:
        who = f" (pid {holder})" if holder else ""
        after = f" after {waited:.0f}s" if waited >= 1 else ""
        super().__init__(
            f"another pull or push with peer {name!r} is still running{after}{who}; "
            f"nothing was changed ({shown_path(lock)} is held)",
            # The lock is the kernel's (flock): held means a live process holds it, and removing
            # the file would only let two run at once.
            hint="run this again when the other has finished",
        )
        self.name = name
        self.lock = lock
        self.holder = holder


class PeerNotRemoved(MindgitError):
    def __init__(self, name: str, detail: str) -> None:
        super().__init__(
            f"cannot remove peer {name!r} from the store's config: {detail}",
            hint=f"its marks and state are gone; `git config --remove-section remote.{name}` "
            "removes the rest",
        )
        self.name = name


class PeerStateCorrupt(MindgitError):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"cannot read peer state {shown_path(path)}: {reason}",
            hint="delete the file; it only holds times and errors, which the next sync records again",
        )
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Peer:
    """A configured peer: its name, URL and (optionally) the did:key expected to sign for it."""

    name: str
    url: str
    node: str | None = None


def check_peer_name(name: str) -> str:
    """``name`` if it can be a git remote name and one ref path component, else raise."""
    # It is one component of refs/peers/<name>/..., where git refuses a trailing '.' too.
    if not _NAME.fullmatch(name) or name.endswith((".lock", ".")) or ".." in name:
        raise InvalidPeerName(name)
    return name


def typed_peer_name(name: str) -> str:
    """A peer's name typed on the command line (``push NAME``, ``pull NAME``...): one that no
    peer can have is :class:`InvalidPeerName`, a usage error (exit 2); a well-formed name of no
    peer is :class:`UnknownPeer` from :func:`get_peer` (exit 1). Lenient, so that a remote
    named by hand with ``git config`` is still reached: ``remote remove`` takes it, and a pull
    or push says what is wrong with its name (:class:`UnusablePeerName`, exit 1)."""
    if not _NAME.fullmatch(name):
        raise InvalidPeerName(name)
    return name


def check_url(url: str) -> str:
    """Refuse what git would read as an option, transports that run commands, and characters
    that are not text: the URL is shown in every message about the peer."""
    if not url or url != url.strip():
        raise InvalidURL(url, "empty or surrounded by spaces")
    if len(url) > URL_MAX:
        raise InvalidURL(url, f"it is longer than the {URL_MAX} characters a peer URL may have")
    if url.startswith("-"):
        raise InvalidURL(url, "it would be read as an option")
    if url.startswith("ext::") or url.startswith("fd::"):
        raise InvalidURL(url, "the ext:: and fd:: transports are not allowed")
    # Not printable: control codes (a terminal would run them), and the lone surrogates a
    # byte that is not UTF-8 becomes, which the config file cannot hold.
    if not url.isprintable():
        raise InvalidURL(url, "contains a control character or a byte that is not UTF-8")
    return url


def absolute_url(url: str) -> str:
    """``url``, with a relative local path made absolute against the current directory.

    git reads a relative path against the directory it runs in, which is wherever each later
    pull is started: the peer would move with the user's ``cd``. As git tells them apart, a URL
    is a local path unless it has ``://`` or a ``:`` before any ``/`` (``host:path``, ssh).
    """
    if "://" in url or ":" in url.split("/", 1)[0] or os.path.isabs(url):
        return url
    return os.path.abspath(url)


def _resolve_node(store: Store, node: str) -> str:
    """A did:key from a trusted node's name, a did:key or an OpenSSH line (trusted or not)."""
    # An OpenSSH line is what MalformedKey's hint offers; a node name never holds a space.
    if node.startswith((DID_PREFIX, "ssh-ed25519 ")):
        return PublicKey.parse(node).did
    try:
        trusted: TrustedNode = store.trust.get(node)
    except UnknownNode:
        try:
            check_node_name(node)
            # In backquotes: the CLI gives a command there the --store that was typed, without
            # which it trusted the node in another store.
            how = f"or trust it first: `mindgit trust add <did:key> --name {node}`"
        except InvalidNodeName:
            # The hint offered `trust add --name` with a name it refuses (empty, spaces...).
            how = "a node's name is 1 to 64 letters, digits, '.', '_' or '-'"
        raise UntrustedPeerNode(node, how) from None
    return trusted.did


def add_peer(store: Store, name: str, url: str, *, node: str | None = None) -> Peer:
    """Add a peer (a git remote); ``node`` is the trusted name or did:key expected there."""
    check_peer_name(name)
    # Checked again made absolute: a relative path grows by the directory it is read in.
    url = check_url(absolute_url(check_url(url)))
    existing = _peer_or_none(store, name)
    if existing is not None:
        raise PeerExists(name, existing.url)
    did = _resolve_node(store, node) if node is not None else None
    hide_private_refs(store)
    with peer_lock(store, name, existing=False):
        # Looked at again under the lock: another `remote add` of this name may have added it
        # while this one waited, and a pull of it written its marks, which the clearing below
        # deleted before its URL was overwritten.
        existing = _peer_or_none(store, name)
        if existing is not None:
            raise PeerExists(name, existing.url)
        # A peer whose remote went by hand (`git remote remove`) left its marks and state: the
        # new peer of that name, elsewhere, would inherit them (its first pull refused as a
        # rewind of a peer it never was).
        _forget_files(store, name)
        config = store.repo.config
        config[f"remote.{name}.url"] = url
        if did is not None:
            config[f"remote.{name}.{NODE_KEY}"] = did
    return Peer(name, url, did)


def follow_rotations(store: Store, outcomes: Iterable[RotationOutcome]) -> list[str]:
    """Point every peer expected to sign with a key that ``outcomes`` replaced at its new key;
    the names of the peers changed.

    ``peers`` shows the trust of a peer's expected key, and a rejection names it: left on
    the old key, a peer that rotated showed as ``<name>.retired-1`` for ever.
    """
    moved = {
        o.old.did: o.new.did
        for o in outcomes
        if o.status != "refused" and o.old is not None and o.new is not None
    }
    if not moved:
        return []
    changed = []
    for peer in list_peers(store):
        if peer.node is None:
            continue
        node, passed = peer.node, set()
        while node in moved and node not in passed:  # a chain of rotations, followed to its end
            passed.add(node)
            node = moved[node]
        if node != peer.node:
            try:
                store.repo.config[f"remote.{peer.name}.{NODE_KEY}"] = node
            except (OSError, pygit2.GitError):
                # The rotation is applied, which is what counts; `peers` shows the old key
                # as retired until `git config remote.<peer>.mindgitNode <did>` sets it.
                continue
            changed.append(peer.name)
    return changed


def hide_private_refs(store: Store) -> None:
    """Keep quarantine and peer marks out of what this store shows or accepts over git."""
    config = store.repo.config
    present = {str(v) for v in config.get_multivar("transfer.hideRefs")}
    for prefix in refspace.HIDDEN_PREFIXES:
        if prefix not in present:
            config.set_multivar("transfer.hideRefs", "^$", prefix)


def remove_peer(store: Store, name: str) -> Peer:
    """Forget a peer: its remote, its last-seen marks, its state file (a peer named by hand
    with a name no pull can use too: :class:`UnusablePeerName`)."""
    peer = _peer_or_none(store, name) if _NAME.fullmatch(name) else None
    if peer is None:
        raise UnknownPeer(name, [p.name for p in list_peers(store)])
    with peer_lock(store, name):
        forget_peer(store, name)
    return peer


def forget_peer(store: Store, name: str) -> None:
    """:func:`remove_peer`'s work, for a caller that holds the peer's lock."""
    _forget_files(store, name)
    # The remote goes last: until it is gone the peer is listed, and removing it again
    # finishes the job. Its whole section goes, as `git remote remove` takes it: a key
    # set twice (two `fetch` lines, two `pushurl`s) failed the removal halfway, after the
    # URL was gone, leaving marks no command could reach that a new peer of that name
    # then inherited.
    _remove_remote_section(store, name)


def _forget_files(store: Store, name: str) -> None:
    """Everything of a peer's but its remote: marks, state, quarantine, scratch trust."""
    delete_refs(store.repo, refspace.seen_prefix(name))
    delete_refs(store.repo, refspace.quarantine_prefix(name))
    state_path(store, name).unlink(missing_ok=True)
    # A killed pull's unverified objects (and its scratch trust) would otherwise stay on
    # disk for good.
    shutil.rmtree(store.path / MINDGIT_DIR / QUARANTINE_DIR / name, ignore_errors=True)
    from mindgit.sync.keychains import scratch_path  # only here: it imports the gate's kin

    shutil.rmtree(scratch_path(store, name), ignore_errors=True)


def _remove_remote_section(store: Store, name: str) -> None:
    def git_config(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["git", "--git-dir", str(store.path), "config", *args], capture_output=True, check=False
        )

    removed = git_config("--remove-section", f"remote.{name}")
    # git says "no such section" (exit 128) when there is nothing to remove, which is no
    # failure; the peer is removed once no URL is left.
    if removed.returncode != 0 and git_config("--get-all", f"remote.{name}.url").stdout:
        detail = one_line(removed.stderr.decode("utf-8", "replace")) or "git config failed"
        raise PeerNotRemoved(name, detail)


def _peer_or_none(store: Store, name: str) -> Peer | None:
    # A value set by hand that is not UTF-8 is BadConfigValue (exit 1) from Store.config_get.
    get = store.config_get
    url = get(f"remote.{name}.url")
    if url is None:
        return None
    return Peer(name, url, get(f"remote.{name}.{NODE_KEY}"))


def get_peer(store: Store, name: str) -> Peer:
    """The configured peer ``name`` to pull from or push to: :class:`UnknownPeer` if there is
    none, :class:`UnusablePeerName` if its name (set by hand) cannot name its refs."""
    peer = _peer_or_none(store, name) if _NAME.fullmatch(name) else None
    if peer is None:
        raise UnknownPeer(name, [p.name for p in list_peers(store)])
    try:
        check_peer_name(name)
    except InvalidPeerName:
        raise UnusablePeerName(store, name) from None
    return peer


def list_peers(store: Store) -> list[Peer]:
    """Every configured peer, by name."""
    # git lists the names: pygit2 decodes every config name it iterates over as UTF-8, and a
    # remote named by hand with other bytes was an internal error in every sync command.
    listed = subprocess.run(
        [
            "git",
            "--git-dir",
            str(store.path),
            "config",
            "-z",
            "--name-only",
            "--get-regexp",
            r"^remote\..*\.url$",
        ],
        capture_output=True,
        check=False,
    )
    names = set()
    for raw in listed.stdout.split(b"\0"):
        key = raw.decode("utf-8", "replace")  # a name that is not UTF-8 is no peer's name
        if key.startswith("remote.") and key.endswith(".url"):
            names.add(key[len("remote.") : -len(".url")])
    peers = [_peer_or_none(store, n) for n in sorted(names) if _NAME.fullmatch(n)]
    return [p for p in peers if p is not None]


def delete_refs(repo: pygit2.Repository, prefix: str) -> None:
    """Delete every ref under ``prefix`` (only mindgit's own namespaces are passed here)."""
    for ref in [r for r in repo.references if r.startswith(prefix)]:
        with contextlib.suppress(KeyError):
            repo.references.delete(ref)


def clashing_refs(repo: pygit2.Repository, ref: str) -> list[str]:
    """The refs here that git cannot hold beside ``ref``: one named as a folder of it (``a``
    for ``a/b``), or those under it (``a/b`` for ``a``). Listed only once a write failed."""
    parts = ref.split("/")
    above = {"/".join(parts[:i]) for i in range(2, len(parts))}
    under = ref + "/"
    return sorted(r for r in repo.references if r in above or r.startswith(under))


def seen_heads(store: Store, peer: str, refs: Iterable[str] | None = None) -> dict[str, str]:
    """The last head seen from ``peer`` of each synced ref (synced name -> commit); ``refs``,
    if given, are the store's refs to look among (listed once for every peer)."""
    prefix = refspace.seen_prefix(peer)
    out = {}
    for ref in store.repo.references if refs is None else refs:
        if ref.startswith(prefix):
            oid = read_ref(store.repo, ref)
            if oid is not None:
                out[refspace.synced_name(prefix, ref)] = oid
    return out


# -- the state file -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seen:
    """When a head was first and last seen at a peer."""

    commit: str
    first: float
    last: float


@dataclass(frozen=True, slots=True)
class PeerError:
    at: float
    operation: str
    message: str


@dataclass(frozen=True, slots=True)
class PeerState:
    """Times and errors of one peer (``mindgit/peers/<peer>.json``)."""

    seen: Mapping[str, Seen] = field(default_factory=dict)
    last_pull: float | None = None
    last_push: float | None = None
    last_error: PeerError | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "seen": {
                ref: {"commit": s.commit, "first": s.first, "last": s.last}
                for ref, s in sorted(self.seen.items())
            },
            "last_pull": self.last_pull,
            "last_push": self.last_push,
            "last_error": None
            if self.last_error is None
            else {
                "at": self.last_error.at,
                "operation": self.last_error.operation,
                "message": self.last_error.message,
            },
        }

    @classmethod
    def from_json(cls, node: Any) -> PeerState:
        if not isinstance(node, dict) or node.get("version") != STATE_VERSION:
            raise ValueError(f"not a version {STATE_VERSION} peer state")
        seen = {
            str(ref): Seen(str(s["commit"]), float(s["first"]), float(s["last"]))
            for ref, s in dict(node["seen"]).items()
        }
        err = node.get("last_error")
        last_error = (
            None
            if err is None
            else PeerError(float(err["at"]), str(err["operation"]), str(err["message"]))
        )
        return cls(
            seen, _opt_float(node.get("last_pull")), _opt_float(node.get("last_push")), last_error
        )

    def saw(self, heads: Mapping[str, str], now: float) -> PeerState:
        """This state with ``heads`` (synced ref -> commit) seen at ``now``."""
        seen = dict(self.seen)
        for ref, commit in heads.items():
            old = seen.get(ref)
            first = old.first if old is not None and old.commit == commit else now
            seen[ref] = Seen(commit, first, now)
        return replace(self, seen=seen)


def _opt_float(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a time")
    return float(value)


def state_path(store: Store, peer: str) -> Path:
    return store.path / MINDGIT_DIR / PEERS_DIR / f"{peer}.json"


def read_state(store: Store, peer: str) -> PeerState:
    """The peer's recorded state (empty when nothing was recorded yet)."""
    path = state_path(store, peer)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return PeerState()
    except OSError as e:
        raise PeerStateCorrupt(path, e.strerror or str(e)) from None
    try:
        return PeerState.from_json(json.loads(data))
    except (ValueError, KeyError, TypeError) as e:
        raise PeerStateCorrupt(path, str(e)) from None


def write_state(store: Store, peer: str, state: PeerState) -> None:
    """Replace the peer's state file atomically."""
    path = state_path(store, peer)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
    try:
        tmp.write_text(json.dumps(state.to_json(), indent=1, sort_keys=True) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def record_error(store: Store, peer: str, operation: str, error: BaseException) -> None:
    """Remember that ``operation`` with ``peer`` failed, and why."""
    state = readable_state(store, peer)
    message = one_line(str(error))
    write_state(store, peer, replace(state, last_error=PeerError(time.time(), operation, message)))


def readable_state(store: Store, peer: str) -> PeerState:
    """The peer's recorded state, or an empty one if the file is damaged (a crash between
    writing it and the disk keeping it leaves it empty): it only held times and errors, and a
    pull or push that has already moved refs must not fail on it."""
    try:
        return read_state(store, peer)
    except PeerStateCorrupt:
        return PeerState()  # a damaged file only held times; start again rather than fail


@contextlib.contextmanager
def peer_lock(
    store: Store,
    peer: str,
    wait: float = LOCK_WAIT,
    on_wait: Callable[[str], None] | None = None,
    *,
    existing: bool = True,
) -> Iterator[None]:
    """One pull or push with a peer at a time (they share its quarantine and marks).

    Waits up to ``wait`` seconds for another holder, telling ``on_wait`` once, as soon as it
    starts waiting, so that a person is not left before a silent pause; then raises
    :class:`PeerBusy`. A peer removed while this waited is :class:`UnknownPeer` (unless not
    ``existing``: the caller is adding it).
    """
    folder = store.path / MINDGIT_DIR / PEERS_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    lock = folder / f"{peer}.lock"
    # An advisory lock dies with its process: a killed pull never leaves the peer "busy".
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    held = False
    try:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(fd)
                if time.monotonic() >= deadline:
                    raise PeerBusy(peer, lock, wait, holder) from None
                if not told and on_wait is not None:
                    who = f" (pid {holder})" if holder else ""
                    on_wait(
                        f"waiting for another pull or push with peer {peer!r}{who} to finish "
                        f"(up to {wait:.0f}s)"
                    )
                told = True
                time.sleep(0.05)
        if told and existing and _peer_or_none(store, peer) is None:
            # The holder we waited for was `remote remove` (or the peer went while it ran): a
            # pull or push going on would fetch or push anyway and write marks and a state
            # file for a peer that no longer exists, which a new peer of that name inherited.
            raise UnknownPeer(peer, [p.name for p in list_peers(store)])
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        held = True
        yield
    finally:
        if held:
            # Cleared while still held: a pid left behind would be named by the next waiter
            # as the holder of a lock some other process (or none) holds.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
        os.close(fd)


def _holder(fd: int) -> str | None:
    """The pid the lock's holder wrote into it, if it has yet and that process is alive (a
    holder killed with the lock leaves its pid behind; a new one writes its own only once it
    holds the lock, so a waiter can read an old one in between)."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
    except OSError:
        return None
    pid = int(text) if text.isdigit() else 0
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return None
    except PermissionError:
        pass  # alive, another user's
    return str(pid)


@dataclass(frozen=True, slots=True)
class PeerStatus:
    """Everything ``mindgit peers`` shows about one peer."""

    peer: Peer
    trusted_as: str | None  # the trust name of ``peer.node``, if it is trusted
    marks: Mapping[str, str]  # synced ref -> last head seen (refs/peers/<peer>/...)
    state: PeerState


def peer_statuses(store: Store) -> list[PeerStatus]:
    """Each peer with its expected key's trust, its last-seen heads, times and last error."""
    out = []
    peers = list_peers(store)
    # The refs are listed once: a listing per peer (~16 ms at 1,200 refs) made `mindgit peers`
    # grow with peers x refs (200 peers with 5 marks each: 7 s).
    marks: dict[str, list[str]] = {}
    for ref in store.repo.references if peers else ():
        if ref.startswith(refspace.PEERS_PREFIX):
            name = ref.removeprefix(refspace.PEERS_PREFIX).partition("/")[0]
            marks.setdefault(name, []).append(ref)
    for peer in peers:
        trusted_as = None
        if peer.node is not None:
            with contextlib.suppress(MindgitError):
                found = store.trust.find(PublicKey.parse(peer.node))
                trusted_as = found.name if found is not None else None
        out.append(
            PeerStatus(
                peer,
                trusted_as,
                seen_heads(store, peer.name, marks.get(peer.name, ())),
                readable_state(store, peer.name),
            )
        )
    return out
