"""Git hooks that gate pushes: ``pre-receive``/``update`` on a server, ``pre-push`` on a client.

The hook files are tiny shell scripts (``hooks/`` in the source tree holds them as shipped) that
``exec`` ``mindgit hook <name>`` with the Python that installed them, so a hook keeps working
when ``mindgit`` is not on the ``PATH`` git runs hooks with. All the checking is here, in the
library: :mod:`mindgit.sync.gate` decides, this module reads what git hands a hook.

A server needs no mindgit store, only its trust file at ``<git dir>/mindgit/allowed_signers``
(an OpenSSH allowed-signers file, like a store's) and, optionally, these git config keys::

    mindgit.maxObjectBytes   largest object a push may bring (default 32 MiB; 64k, 16M, ...)
    mindgit.allowRewind      accept non-fast-forward updates (default false)
    mindgit.allowDelete      accept ref deletions (default false)
"""

from __future__ import annotations

import contextlib
import os
import shlex
import tempfile
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pygit2

from mindgit.errors import MindgitError, UsageError, shell_word, shown_path
from mindgit.identity.trust import TrustFileCorrupt, TrustFileUnreadable, TrustStore
from mindgit.store.config import BadConfigValue
from mindgit.store.refs import RefError, check_ref_name, read_ref
from mindgit.store.settings import config_reader, read_setting, read_size
from mindgit.store.verify import Problem
from mindgit.sync import keychains, refspace
from mindgit.sync.gate import (
    DEFAULT_MAX_OBJECT_BYTES,
    MAX_PROBLEMS,
    ZERO_OID,
    RefUpdate,
    check_commits,
    check_updates,
)
from mindgit.sync.transport import PRE_PUSH_CHANNEL

SERVER_HOOKS = ("pre-receive", "update")
CLIENT_HOOKS = ("pre-push",)
HOOK_NAMES = SERVER_HOOKS + CLIENT_HOOKS
TRUST_DIR = "mindgit"
TRUST_FILE = "allowed_signers"
# The trust file as a hook's errors name it: by its place in the repository. git hands those
# errors to whoever pushes ("remote: ..."), who need not learn where the server keeps it.
SHOWN_TRUST = Path(TRUST_DIR) / TRUST_FILE
MARKER = "# mindgit-hook: "
CONFIG_MAX_OBJECT = "mindgit.maxObjectBytes"
CONFIG_REWIND = "mindgit.allowRewind"
CONFIG_DELETE = "mindgit.allowDelete"

# libgit2 (pygit2, so mindgit itself) reads no ref name longer than this (GIT_REFNAME_MAX, less
# its NUL); git writes longer ones. One accepted on a server made every later push and pull
# that lists the server's refs fail, so the hook refuses them before anything else.
MAX_REF_NAME_BYTES = 1023

_PYTHON_LINE = "MINDGIT_PYTHON="
_PURPOSE = {
    "pre-receive": "Refuses a whole push if any commit in it is not one mindgit accepts",
    "update": "Refuses a ref update if any commit it brings is not one mindgit accepts",
    "pre-push": "Refuses to push unsigned or unverifiable commits from this store",
}


class HookInputError(MindgitError):
    """Git handed the hook input it does not send: the hook was called by hand, wrongly."""

    def __init__(self, hook: str, line: str, problem: str) -> None:
        super().__init__(
            f"{hook}: cannot read {line!r}: {problem}",
            hint="git runs this hook itself; see docs/hooks.md to call it by hand",
        )
        self.hook = hook
        self.line = line
        self.problem = problem


class HookOutsideRepository(MindgitError):
    """``mindgit hook NAME`` run where git never runs it: outside a git repository (a server
    hook) or a mindgit store (pre-push), as by hand from a shell. "<path> is not a git
    repository" with the hint to `git init --bare` told how to make a server, not what the
    hook is."""

    def __init__(self, name: str, path: Path) -> None:
        where = Path(os.path.abspath(path))
        if name in SERVER_HOOKS:
            message = (
                f"{shown_path(where)} is not a git repository: the {name} hook runs inside one, "
                "as git runs it (in a server's bare repository, on each push to it)"
            )
            hint = (
                "install it into the server's repository with `mindgit hooks install --server "
                "PATH`; git then runs it on every push"
            )
        else:
            message = (
                f"{shown_path(where)} is not a mindgit store: the {name} hook runs inside one, "
                "as git runs it (on a `git push` or `mindgit push` from the store)"
            )
            hint = "install it into a store with `mindgit hooks install` (or --store PATH)"
        super().__init__(message, hint=hint)
        self.name = name
        self.path = where


class NoServerTrust(MindgitError):
    """A gated repository has no trust file, so no push could ever be accepted; or (``installing``)
    an install was given none for a repository that has none, and wrote nothing."""

    def __init__(self, path: Path, *, installing: bool = False) -> None:
        # At an install, "every push is refused" told the admin the server was locked when no
        # hook had been written at all: pushes to it were as unchecked as before.
        said = (
            ", and no --trust given; nothing was changed"
            if installing
            else "; every push is refused"
        )
        super().__init__(
            f"no trust file at {shown_path(path)}{said}",
            hint="install one: mindgit hooks install --server <repo> --trust <allowed_signers> "
            "(`mindgit trust export > allowed_signers` in a store that trusts the right nodes)",
        )
        self.path = path
        self.installing = installing


class EmptyTrust(MindgitError):
    """A trust file that trusts nobody would make a server refuse every push."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"{shown_path(path)} trusts no key; a server with it would refuse every push",
            hint="add nodes first (`mindgit trust add`), or give another --trust file",
        )
        self.path = path


class HookExists(MindgitError):
    """A hook that mindgit did not write, or wrote and someone then edited, is in the way."""

    def __init__(self, path: Path, *, edited: bool = False, link: str | None = None) -> None:
        if link is not None:
            what = f"is a symbolic link to {link}"
        elif edited:
            what = "is a mindgit hook edited since it was installed"
        else:
            what = "exists and is not a mindgit hook"
        super().__init__(
            f"{shown_path(path)} {what}; nothing was changed",
            hint="move it aside (or chain it from a wrapper), or pass --force to replace it",
        )
        self.path = path
        self.edited = edited
        self.link = link


class SharedHooksPath(MindgitError):
    """``core.hooksPath`` comes from git's global or system config: its directory holds the
    hooks of every repository that config covers, not of this one alone."""

    def __init__(self, directory: Path, name: str) -> None:
        victims = (
            "every push from a repository that is not a mindgit store"
            if name in CLIENT_HOOKS
            else "every push to a repository with no mindgit trust file"
        )
        super().__init__(
            f"core.hooksPath ({shown_path(directory)}) is set in git's global or system config, "
            f"not this repository's: a {name} hook there runs for every repository it covers and "
            f"would refuse {victims}; nothing was changed",
            hint="give this repository hooks of its own (`git config core.hooksPath hooks` in "
            "it), or pass --force to install into the shared directory anyway",
        )
        self.directory = directory
        self.name = name


class HookNotWritten(MindgitError):
    """A file of the install (a hook, the trust file, the git config holding the policy) or its
    directory could not be written."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"cannot write {shown_path(path)}: {reason}; nothing was changed")
        self.path = path
        self.reason = reason


class NotARepository(MindgitError):
    """The path given for a server is not a git repository."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"{shown_path(path)} is not a git repository",
            hint="create the shared repository first: git init --bare <path>",
        )
        self.path = path


class RepositoryNotOwned(MindgitError):
    """A git repository another user owns, which libgit2 (and so mindgit) will not open unless
    git's ``safe.directory`` names it: a server's repository owned by the user git serves it
    as, with the install run by root or an admin."""

    def __init__(self, path: Path, owner: str) -> None:
        super().__init__(
            f"{shown_path(path)} is a git repository owned by {owner}, not by this user, and "
            "libgit2 (so mindgit) opens no repository another user owns; nothing was changed",
            hint=f"install as its owner (sudo -u {owner} mindgit hooks install --server ...), "
            "the user git runs the hook as; or add it to git's safe.directory",
        )
        self.path = path
        self.owner = owner


class ServerIsAStore(MindgitError):
    """``--server`` named a node's store, whose trust file is where a gated repository keeps
    its own: writing the server's trust there replaced the trust of the store, without a word."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"{shown_path(path)} is a mindgit store: its hook trusts what the store trusts "
            f"({SHOWN_TRUST}), which --trust would replace; nothing was changed",
            hint="install without --trust, and change whom the store trusts with "
            f"`mindgit --store {shell_word(str(path))} trust add` (or `trust remove`)",
        )
        self.path = path


class UnsupportedObjectFormat(MindgitError):
    """A git repository whose object ids are not SHA-1, which libgit2 (and so mindgit) cannot read."""

    def __init__(self, path: Path, object_format: str) -> None:
        super().__init__(
            f"{shown_path(path)} uses {object_format} object ids; mindgit reads SHA-1 "
            "repositories only",
            hint="gate a repository made with plain `git init --bare <path>` (SHA-1)",
        )
        self.path = path
        self.object_format = object_format


def server_repository(path: Path) -> pygit2.Repository:
    """The repository at ``path``, or the reason it cannot be one mindgit reads
    (:class:`NotARepository`, :class:`UnsupportedObjectFormat`)."""
    try:
        # NO_SEARCH: the repository at ``path`` itself (its work tree's .git too), never one
        # above it. Searched upwards, `--server /srv/minds.git` before its `git init --bare`
        # gated whatever repository held /srv (a home directory's dotfiles, say), writing its
        # hook and trust file there.
        return pygit2.Repository(str(path), pygit2.enums.RepositoryOpenFlag.NO_SEARCH)
    except pygit2.GitError as e:
        # libgit2's words for a repository whose owner is not this user (its safe.directory
        # check): it was "not a git repository", with a hint to `git init --bare` it.
        if "not owned by current user" in str(e):
            raise RepositoryNotOwned(path, _owner(path)) from None
    for config in (path / "config", path / ".git" / "config"):
        try:
            fmt = pygit2.Config(str(config))["extensions.objectformat"]
        except (pygit2.GitError, KeyError, OSError):
            continue
        if isinstance(fmt, str) and fmt.lower() != "sha1":
            raise UnsupportedObjectFormat(path, fmt.upper().replace("SHA", "SHA-"))
    raise NotARepository(path)


def _owner(path: Path) -> str:
    """The user owning the repository at ``path`` (its git dir, or the work tree's)."""
    import pwd

    for where in (path / ".git", path):
        try:
            uid = where.stat().st_uid
        except OSError:
            continue
        try:
            return pwd.getpwuid(uid).pw_name
        except KeyError:
            return f"uid {uid}"
    return "another user"


# ---- what git hands a hook ---------------------------------------------------------------------


def open_repository(path: str | Path | None = None) -> pygit2.Repository:
    """The repository a hook runs in, seeing the objects of a push still in quarantine.

    git keeps a push's objects in a quarantine directory until ``pre-receive`` and ``update``
    have accepted them, and tells hooks where through ``GIT_OBJECT_DIRECTORY`` and
    ``GIT_ALTERNATE_OBJECT_DIRECTORIES`` (git >= 2.11). libgit2 reads neither, so they are added
    to the object database here, or the gate would find the pushed commits missing.
    """
    where = Path(path) if path is not None else Path(os.environ.get("GIT_DIR") or ".")
    repo = server_repository(where)
    extra = []
    objects = os.environ.get("GIT_OBJECT_DIRECTORY")
    if objects:
        extra.append(objects)
    extra.extend(_path_list(os.environ.get("GIT_ALTERNATE_OBJECT_DIRECTORIES", "")))
    own = Path(repo.path, "objects").resolve()
    for directory in extra:
        resolved = Path(directory).resolve()
        if resolved != own and resolved.is_dir():
            repo.odb.add_disk_alternate(str(resolved))
    return repo


def _path_list(text: str) -> list[str]:
    # git's alternates list: separated by ':' (';' on Windows); an entry may be double-quoted.
    out = []
    for part in text.split(os.pathsep):
        part = part.strip()
        if len(part) >= 2 and part[0] == part[-1] == '"':
            part = part[1:-1]
        if part:
            out.append(part)
    return out


def parse_ref_updates(hook: str, lines: Iterable[str]) -> list[RefUpdate]:
    """``pre-receive`` input: one ``<old> <new> <ref>`` line per ref."""
    updates = []
    for line in lines:
        line = line.rstrip("\n")
        if not line:
            continue
        parts = line.split(" ")
        if len(parts) != 3:
            raise HookInputError(hook, line, "expected '<old> <new> <ref>'")
        old, new, ref = parts
        _check_oid(hook, line, old)
        _check_oid(hook, line, new)
        updates.append(RefUpdate.of(ref, old, new))
    return updates


@dataclass(frozen=True, slots=True)
class PushedRef:
    """One ``pre-push`` input line: what is pushed where, and what the remote has there now."""

    local_ref: str
    local: str | None
    remote_ref: str
    remote: str | None


def parse_pushed_refs(lines: Iterable[str]) -> list[PushedRef]:
    """``pre-push`` input: one ``<local ref> <local sha> <remote ref> <remote sha>`` per ref."""
    pushed = []
    for line in lines:
        line = line.rstrip("\n")
        if not line:
            continue
        parts = line.split(" ")
        if len(parts) != 4:
            raise HookInputError(
                "pre-push", line, "expected '<local ref> <local sha> <remote ref> <remote sha>'"
            )
        local_ref, local, remote_ref, remote = parts
        _check_oid("pre-push", line, local)
        _check_oid("pre-push", line, remote)
        update = RefUpdate.of(remote_ref, remote, local)
        pushed.append(PushedRef(local_ref, update.new, remote_ref, update.old))
    return pushed


def _check_oid(hook: str, line: str, oid: str) -> None:
    if len(oid) not in (40, 64) or any(c not in "0123456789abcdef" for c in oid):
        raise HookInputError(hook, line, f"{oid!r} is not an object id")


# ---- what a hook decides -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServerPolicy:
    """What a gated repository accepts beyond the checks every push gets."""

    allow_rewind: bool = False
    allow_delete: bool = False
    max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES


def read_policy(repo: pygit2.Repository, *, skip: Collection[str] = ()) -> ServerPolicy:
    """The policy in a repository's git config (``mindgit.*`` keys; defaults when absent), each
    value checked as `mindgit config set` checks it (``BadConfigValue`` otherwise). Keys in
    ``skip`` (about to be replaced) are not read: a bad one is what replacing it mends."""
    read = config_reader(repo.config)
    skipped = {k.lower() for k in skip}

    def get(key: str) -> str | None:
        return None if key.lower() in skipped else read(key)

    limit = read_size(get, CONFIG_MAX_OBJECT.removeprefix("mindgit."))
    return ServerPolicy(
        allow_rewind=_config_bool(get, CONFIG_REWIND),
        allow_delete=_config_bool(get, CONFIG_DELETE),
        max_object_bytes=DEFAULT_MAX_OBJECT_BYTES if limit is None else limit,
    )


def _server_policy(repo: pygit2.Repository) -> ServerPolicy:
    """:func:`read_policy`, its errors worded for the pusher, who sees them: the hint named
    where the server keeps the repository (`git --git-dir /srv/... config ...`), which a hook's
    words never do (see :data:`SHOWN_TRUST`)."""
    try:
        return read_policy(repo)
    except BadConfigValue as e:
        e.hint = (
            f"the server's admin fixes it with `git --git-dir <repository> config {e.key} "
            f"VALUE`, or removes it: `git --git-dir <repository> config --unset {e.key}`"
        )
        raise


def _config_bool(get: Callable[[str], str | None], key: str) -> bool:
    # true or false only, as `config set` takes them: git's own reading would open a server to
    # rewinds or deletions on a 2, a 0x10 or a yes, which `config set` refuses.
    return read_setting(get, key.removeprefix("mindgit.")) == "true"


def server_trust_path(repo: pygit2.Repository) -> Path:
    """Where a gated repository keeps the keys it trusts."""
    return Path(repo.path) / TRUST_DIR / TRUST_FILE


def has_server_trust(path: Path | str) -> bool:
    """Whether the repository at ``path`` (its git dir, or the work tree of one that is not
    bare) has a trust file; False for a path that is no repository mindgit reads."""
    try:
        repo = server_repository(Path(path))
    except MindgitError:
        return False
    return server_trust_path(repo).is_file()


def server_trust(repo: pygit2.Repository) -> TrustStore:
    """A gated repository's trust store; ``NoServerTrust`` if it has none. Its errors name the
    file as :data:`SHOWN_TRUST` (they reach the pusher)."""
    path = server_trust_path(repo)
    try:
        present = path.is_file()
    except OSError as e:
        # A `mindgit/` directory the hook's user may not search (a umask of 027 where another
        # user installed it): Python's is_file raises on EACCES, which reached the pusher as
        # "Permission denied: <where the server keeps the repository>".
        raise TrustFileUnreadable(SHOWN_TRUST, e.strerror or str(e)) from None
    if not present:
        raise NoServerTrust(SHOWN_TRUST)
    trust = TrustStore(path)
    try:
        nodes = trust.nodes()
    except TrustFileCorrupt as e:
        raise TrustFileCorrupt(SHOWN_TRUST, e.line, e.reason) from None
    except TrustFileUnreadable as e:
        raise TrustFileUnreadable(SHOWN_TRUST, e.reason) from None
    # Said once, about the file, rather than "untrusted key" about every commit of every push.
    if not nodes:
        raise EmptyTrust(SHOWN_TRUST)
    return trust


def pre_receive(repo: pygit2.Repository, updates: Sequence[RefUpdate]) -> list[Problem]:
    """Why a push of ``updates`` must be refused as a whole (empty: accept it).

    A server follows a trusted node's key rotations as a pull does, by the same rule: its new
    key signs, its old one only below the heads its rotation named. Nothing is written: the
    chains it holds are read again at each push (with those pushed), so a rotation counts from
    the push that brought it (its own new-key work included), and a key removed from the trust
    file takes its rotations with it. A pushed chain with a problem is left out of the trust
    and refused by the gate; one that would take a rotation away, by :func:`chain_losses`.
    """
    trust = server_trust(repo)
    policy = _server_policy(repo)
    judged = [(u, _ref_name_problem(u)) for u in updates]
    problems = [p for _, p in judged if p is not None]
    # A refused name is not looked up at all: libgit2 may not even read it.
    named = [u for u, p in judged if p is None]
    crowded = _too_many_refs(repo, named)
    if crowded is not None:
        return [*problems, crowded]
    stale = [p for u in named if (p := _claimed_old_problem(repo, u)) is not None]
    problems += stale
    if stale:
        # The gate takes each old value as a head this repository accepted and checks nothing
        # below it: told a pushed commit instead, it would wave through its whole history.
        return problems
    # A chain ref unreadable here follows no rotation; its own pushes are the gate's to judge.
    held = keychains.held_chains(repo, skip_unreadable=True)
    after = _chains_after(held, named)
    budget = keychains.MAX_ANNOUNCEMENTS
    chains, unread = keychains.read_chains_in(repo, after, budget)
    # A chain left unread would bound none of the keys it retires: the push that brings the
    # chains over the limit (a trusted node's own long chains, say) is refused whole.
    over = keychains.over_budget(unread, budget)
    standing = standing_forks(chains, named)
    if over or standing:
        return problems + over[:1] + standing
    with tempfile.TemporaryDirectory(prefix="mindgit-hook-") as scratch:
        gated = check_updates(
            repo,
            keychains.rotated_trust(repo, trust, chains, Path(scratch)),
            named,
            allow_rewind=policy.allow_rewind,
            allow_delete=policy.allow_delete,
            max_object_bytes=policy.max_object_bytes,
            hashed_on_arrival=True,  # by git's receive-pack, into its quarantine, just now
        )
    # A push the gate refuses loses nothing; one it passes may still take a rotation away (the
    # trust it was verified with was the one that loss makes).
    return problems + (gated or chain_losses(repo, held, after, chains, named))


def _too_many_refs(repo: pygit2.Repository, updates: Sequence[RefUpdate]) -> Problem | None:
    """Why a repository holding its synced refs as ``updates`` leave them would be refused by
    every pull from it (a pull takes at most ``MAX_REFS`` refs of a peer): anyone who may push
    could otherwise create thousands of refs to commits the server holds, no key needed."""
    from mindgit.sync.pull import MAX_REFS

    refs = {r for r in repo.references if refspace.is_synced(r)}
    before = len(refs)
    for u in updates:
        if refspace.is_synced(u.ref):
            (refs.discard if u.new is None else refs.add)(u.ref)
    # A repository already over it (refs written past the hook) may still lose some.
    first = next((u for u in updates if u.new is not None), None)
    if len(refs) <= max(MAX_REFS, before) or first is None:
        return None
    return Problem(
        first.new or first.old or ZERO_OID,
        f"the push would leave {len(refs)} refs under {', '.join(refspace.SYNCED_PREFIXES)}, "
        f"over the {MAX_REFS} a pull takes from one peer (every pull from here would be "
        "refused); delete some first",
    )


def _chains_after(held: Mapping[str, str], updates: Sequence[RefUpdate]) -> dict[str, str]:
    """The chain refs (ref -> tip) a repository holding ``held`` holds once ``updates`` moved."""
    tips = dict(held)
    for u in updates:
        if u.ref.startswith(refspace.KEYS_PREFIX):
            if u.new is None:
                tips.pop(u.ref, None)
            else:
                tips[u.ref] = u.new
    return tips


def chain_losses(
    repo: pygit2.Repository,
    held: Mapping[str, str],
    after: Mapping[str, str],
    chains: Mapping[str, keychains.Chain],
    updates: Sequence[RefUpdate],
) -> list[Problem]:
    """Why ``updates`` would take a key rotation away from a repository holding the chains
    ``held`` (ref -> tip), leaving ``after`` (whose readable chains are ``chains``): a chain
    only grows, whatever the policy says.

    A rotation bounds the key it retires; the server writes nothing else down. A chain deleted
    or rewound (``allowDelete``, ``allowRewind`` are about work, not keys) would free its
    retired keys to sign anything, in that very push. An announcement rotating a key that
    another announcement held or pushed rotates too is a fork of that node's chain: only a
    holder of that key could have made it (a thief, or a retired key's leak), and which fork
    wins would be a matter of ref names.
    """
    moved = {u.ref: u for u in updates if u.ref.startswith(refspace.KEYS_PREFIX)}
    problems: list[Problem] = []
    kept = list(after.values())
    for ref, tip in sorted(held.items()):
        u = moved.get(ref)
        if u is not None and not any(_descends(repo, t, tip) for t in kept):
            problems.append(
                Problem(
                    u.new or tip,
                    f"{ref}: the push would drop key rotation {tip[:12]}, which bounds a "
                    "retired key; a key chain only grows",
                )
            )
    for fork in keychains.forks(chains):
        u = moved.get(fork.ref)
        if u is not None and u.new is not None:
            problems.append(
                Problem(
                    u.new,
                    f"{fork.ref} diverges from key chain {fork.other}: both rotate "
                    f"{fork.key.did}, {fork.commit[:12]} to another key",
                )
            )
    return problems


def standing_forks(
    chains: Mapping[str, keychains.Chain], updates: Sequence[RefUpdate]
) -> list[Problem]:
    """Forks among ``chains`` (ref -> chain) that no ref of ``updates`` is part of: put in the
    repository past the hook (before it was installed, say). No push can say which fork is
    the node's, and following either could hand its name to a thief: every push is refused
    until the admin deletes one."""
    moved = {u.ref for u in updates}
    return [
        Problem(
            chains[fork.ref].tip,
            f"this repository holds key chains {fork.ref} and {fork.other}, both rotating "
            f"{fork.key.did} (a fork); the admin must delete the one that is not the node's "
            "(git update-ref -d)",
        )
        for fork in keychains.forks(chains)
        if fork.ref < fork.other and fork.ref not in moved and fork.other not in moved
    ]


def _descends(repo: pygit2.Repository, new: str, old: str) -> bool:
    if new == old:
        return True
    try:
        return bool(repo.descendant_of(new, old))
    except (KeyError, ValueError, pygit2.GitError):
        return False  # a chain not all here keeps nothing it cannot show


def _claimed_old_problem(repo: pygit2.Repository, u: RefUpdate) -> Problem | None:
    """The old value git hands a hook is the one the client sent, not one git read: git checks
    it only when it moves that ref, after the hook, and a push of several refs goes on with the
    others when one fails. A stock git client sends what the server advertised; any other
    value is refused here (the ref could not have moved anyway)."""
    try:
        check_ref_name(u.ref)
    except RefError:
        return None  # the gate refuses the name, and with it the whole push
    current = read_ref(repo, u.ref)
    if current == u.old:
        return None
    return Problem(
        u.new or u.old or ZERO_OID,
        f"{u.ref} is at {current or 'no commit'}, not {u.old or 'no commit'} as the push says "
        "(fetch, then push again)",
    )


def _ref_bytes(ref: str) -> int:
    # A name git sent that is not UTF-8 arrives with its bytes kept as surrogates.
    return len(ref.encode("utf-8", "surrogateescape"))


def _ref_name_problem(u: RefUpdate) -> Problem | None:
    """What the gate does not see in a name: its length, and the rules a pull reads it by."""
    at = u.new or u.old or ZERO_OID
    size = _ref_bytes(u.ref)
    if size > MAX_REF_NAME_BYTES:
        shown = u.ref[:40].encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return Problem(
            at,
            f"ref name {shown}... is {size} bytes long, "
            f"over the {MAX_REF_NAME_BYTES} that libgit2 (and so mindgit) reads",
        )
    try:
        check_ref_name(u.ref)
    except RefError:
        return None  # the gate names it
    if not refspace.is_synced(u.ref):
        return None  # the gate names it
    # A pull refuses every ref of a peer whole when one is named against its namespace's
    # rules (refs/fitness/<one module name>): on a server, such a ref would stop every pull.
    try:
        refspace.check_synced_ref(u.ref)
    except refspace.BadRefName as e:
        return Problem(at, f"{u.ref}: {e.reason}")
    return None


def update(repo: pygit2.Repository, ref: str, old: str, new: str) -> list[Problem]:
    """The ``update`` hook: why this one ref must not move (empty: let it)."""
    for oid in (old, new):
        _check_oid("update", f"{ref} {old} {new}", oid)
    return pre_receive(repo, [RefUpdate.of(ref, old, new)])


def pre_push(
    repo: pygit2.Repository,
    trust: TrustStore,
    pushed: Sequence[PushedRef],
    *,
    max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES,
) -> list[Problem]:
    """Why a push must not leave this store: problems of every commit it would send.

    The commits sent are those reachable from what is pushed and from none of the commits the
    remote already has there (as far as this store holds them).
    """
    problems: list[Problem] = []
    tips = []
    for p in pushed:
        if p.local is None:
            continue
        commit, problem = _pushed_commit(repo, p.local, p.remote_ref)
        if problem is not None:
            problems.append(problem)
        elif commit is not None:
            tips.append(commit)
    hide = [p.remote for p in pushed if p.remote is not None and _has(repo, p.remote)]
    return problems + check_commits(repo, trust, tips, hide, max_object_bytes=max_object_bytes)


def _pushed_commit(
    repo: pygit2.Repository, oid: str, remote_ref: str
) -> tuple[str | None, Problem | None]:
    """The commit a pushed object is (or a tag names), or why it is none.

    git pushes a tree or a blob as readily as a commit (``git tag t HEAD^{tree}``); the walk of
    history would refuse one only as "objects are missing", which they are not.
    """
    try:
        obj = repo[oid]
        while isinstance(obj, pygit2.Tag):
            obj = repo[obj.target]
    except (KeyError, ValueError, pygit2.GitError):
        return oid, None  # the walk names what is missing
    if obj.type == pygit2.enums.ObjectType.COMMIT:
        return str(obj.id), None
    what = f"is a {obj.type_str}" if str(obj.id) == oid else f"is a tag of a {obj.type_str}"
    return None, Problem(oid, f"{what}, not a commit (pushed to {remote_ref})")


def _has(repo: pygit2.Repository, oid: str) -> bool:
    try:
        return pygit2.Oid(hex=oid) in repo.odb
    except ValueError:
        return False


# A hook names this many refused commits; a push of thousands would bury its own reason.
MAX_REPORTED = 20


def format_problem(problem: Problem) -> str:
    """One line for a refused commit: its id, the object at fault, the reason."""
    where = f" {problem.object}" if problem.object else ""
    return f"{problem.commit}{where}: {problem.reason}"


def report(problems: Sequence[Problem], limit: int = MAX_REPORTED) -> list[str]:
    """The lines a hook prints for ``problems``: the first ``limit``, then how many more."""
    lines = [f"mindgit: refused: {format_problem(p)}" for p in problems[:limit]]
    if len(problems) > limit:
        # The gate stops looking at MAX_PROBLEMS (in each of its two processes).
        least = "at least " if len(problems) >= MAX_PROBLEMS else ""
        lines.append(f"mindgit: refused: ... and {least}{len(problems) - limit} more problem(s)")
    return lines


def tell_pusher(lines: Sequence[str]) -> None:
    """Hand what the pre-push hook says (``lines``, as it prints them) to the ``mindgit push``
    that runs it, through the file ``push()`` made and named in ``MINDGIT_PRE_PUSH_CHANNEL``;
    nothing when a plain ``git push`` runs it. Only an existing file is written to, never a
    link: a stale name makes nothing."""
    path = os.environ.get(PRE_PUSH_CHANNEL)
    if not path or not lines:
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
    except OSError:
        return
    try:
        os.write(fd, "".join(f"{line}\n" for line in lines).encode(errors="replace"))
    except OSError:
        pass
    finally:
        os.close(fd)


# ---- installing --------------------------------------------------------------------------------


def hook_script(name: str, python: str | None = None) -> str:
    """The shell script for hook ``name``; it runs ``python -m mindgit`` if given, else ``mindgit``.

    ``hooks/<name>`` in the source tree is ``hook_script(name)``: copied by hand it finds
    ``mindgit`` on the ``PATH``. A recorded Python that is gone (its venv moved or deleted)
    falls back to ``mindgit`` on the ``PATH`` too; with none there, the hook says what happened
    and how to mend it, where the shell would only say ``mindgit: not found``.
    """
    return _script(name, python, gone_check=python is not None)


def _script(name: str, python: str | None, *, gone_check: bool, safe_path: bool = True) -> str:
    # gone_check False is also the script every hook install wrote before the check existed,
    # which a new install must still recognise as its own; safe_path False the one written
    # before -P. Whoever changes the script keeps the old spelling recognisable too (see
    # _whose): an installed hook that matches no script mindgit writes reads as edited, and
    # only --force would replace it.
    if name not in HOOK_NAMES:
        raise UsageError(f"unknown hook {name!r}", hint=f"one of {', '.join(HOOK_NAMES)}")
    quoted = shlex.quote(python) if python else "''"
    again = "mindgit hooks install" + (
        " --server <this repository>" if name in SERVER_HOOKS else ""
    )
    gone = (
        "if ! command -v mindgit >/dev/null 2>&1; then\n"
        f'    echo "mindgit: {name} hook: $MINDGIT_PYTHON cannot be run and no mindgit is on the PATH;'
        f' install the hook again with the Python that now runs mindgit: {again}" >&2\n'
        "    exit 1\n"
        "fi\n"
        if gone_check
        else ""
    )
    return (
        "#!/bin/sh\n"
        f"{MARKER}{name}\n"
        f"# {_PURPOSE[name]} (see docs/hooks.md).\n"
        "# `mindgit hooks install` records the Python that runs mindgit here; left empty,\n"
        "# `mindgit` on the PATH runs.\n"
        f"{_PYTHON_LINE}{quoted}\n"
        'if [ -n "$MINDGIT_PYTHON" ] && [ -x "$MINDGIT_PYTHON" ]; then\n'
        # -P: git runs the hook in the git dir, whose mindgit/ (the trust file's folder) was
        # first on sys.path for `-m`: with mindgit installed editable, `import mindgit` found
        # that folder, and a file there named as one of mindgit's modules ran in its place.
        f'    exec "$MINDGIT_PYTHON" {"-P " if safe_path else ""}-m mindgit hook {name} "$@"\n'
        "fi\n"
        f"{gone}"
        f'exec mindgit hook {name} "$@"\n'
    )


def hooks_dir(repo: pygit2.Repository, name: str | None = None) -> Path:
    """Where git looks for this repository's hook ``name`` (``core.hooksPath`` if set).

    A relative ``core.hooksPath`` is taken from where git runs the hook: a repository's work
    tree for its own hooks (pre-push), but its git dir for those a push to it runs
    (pre-receive, update), work tree or not, since receive-pack runs in the git dir. Taken from
    the work tree for a server hook too, the hook went where git never looks, and every push
    to that repository went through unchecked.
    """
    gitdir = Path(repo.path)
    if "core.hooksPath" in repo.config:
        try:
            value = str(repo.config["core.hooksPath"])
        except UnicodeDecodeError:
            # A path that is not UTF-8, which git takes as the bytes it is (an internal error
            # here, exit 3): the file system's bytes, as Python names such a path.
            value = os.fsdecode(repo.config._get_entry("core.hooksPath").raw_value or b"")
        configured = Path(os.path.expanduser(value))
        base = Path(repo.workdir) if repo.workdir and name not in SERVER_HOOKS else gitdir
        return configured if configured.is_absolute() else base / configured
    return gitdir / "hooks"


def _hooks_path_is_shared(repo: pygit2.Repository) -> bool:
    """Whether ``core.hooksPath`` is set, and not by the repository's own config file."""
    if "core.hooksPath" not in repo.config:
        return False
    try:
        own = pygit2.Config(str(Path(repo.path) / "config"))
        return "core.hooksPath" not in own
    except (pygit2.GitError, OSError):
        return True


def install_hook(
    repo: pygit2.Repository, name: str, python: str | None, *, force: bool = False
) -> Path:
    """Write hook ``name`` into ``repo`` (executable, atomically); returns its path.

    A hook mindgit wrote before is replaced; any other file there only with ``force``.
    """
    script = hook_script(name, python)
    target = check_replaceable(repo, name, force=force)
    staged = _stage(target, script.encode(), 0o755)
    try:
        _place(staged, target)
    finally:
        staged.unlink(missing_ok=True)
    return target


def _stage(target: Path, data: bytes, mode: int) -> Path:
    """``data`` written to a new temporary file beside ``target`` (its directory made if
    missing), to be put in place by :func:`_place`; ``HookNotWritten`` naming ``target``, not
    the temporary file, if its directory cannot be written."""
    directory = target.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
    except OSError as e:
        raise HookNotWritten(target, _unwritable(directory, e)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise HookNotWritten(target, e.strerror or str(e)) from None
        raise
    return Path(tmp)


def _place(staged: Path, target: Path) -> None:
    try:
        os.replace(staged, target)
    except OSError as e:
        raise HookNotWritten(target, e.strerror or str(e)) from None


def _unwritable(directory: Path, e: OSError) -> str:
    """Why no file can be made in ``directory``: what is wrong with the path, when the error
    (``File exists``, say, from making a directory where a dangling link is) would not say."""
    if os.path.islink(directory) and not directory.exists():
        link = os.readlink(directory)
        return f"{shown_path(directory)} is a symbolic link to {link}, which does not exist"
    if os.path.lexists(directory) and not directory.is_dir():
        return f"{shown_path(directory)} is not a directory"
    return e.strerror or str(e)


def check_replaceable(repo: pygit2.Repository, name: str, *, force: bool = False) -> Path:
    """The path hook ``name`` goes to in ``repo``; ``HookExists`` if a hook mindgit would not
    replace is there (see :func:`install_hook`)."""
    target = hooks_dir(repo, name) / name
    if not force and _hooks_path_is_shared(repo):
        # A user's `git config --global core.hooksPath ~/.githooks`: a pre-push written there
        # failed every `git push` of every other repository ("... is not a mindgit store").
        raise SharedHooksPath(target.parent, name)
    # lexists: a symlink whose target is gone (a hook manager's, say) is still someone's hook.
    if os.path.lexists(target) and not force:
        whose = _whose(target, name)
        if whose == "ours" and os.path.islink(target):
            # So is a link to a script mindgit wrote (the shipped hooks/pre-receive, one kept
            # for many repositories): replaced, the link became a file of its own, and the
            # repository left whatever kept its hooks in step.
            raise HookExists(target, link=os.readlink(target))
        if whose != "ours":
            raise HookExists(target, edited=whose == "edited")
    return target


def _whose(path: Path, name: str) -> str:
    """ "ours" for a script mindgit writes (or wrote) for hook ``name``, unchanged; "edited" for
    one that says it is mindgit's and is not; "foreign" for anything else.

    Only an unchanged script is replaced quietly: lines someone added to it (a chained hook, a
    setting) would otherwise be lost without a word.
    """
    try:
        with open(path, "rb") as f:
            data = f.read(64 << 10)
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return "foreign"
    if MARKER not in text:
        return "foreign"
    recorded = [line for line in text.split("\n") if line.startswith(_PYTHON_LINE)]
    try:
        words = shlex.split(recorded[0].removeprefix(_PYTHON_LINE)) if len(recorded) == 1 else []
    except ValueError:
        words = []
    python = words[0] if len(words) == 1 and words[0] else None
    written = {
        _script(name, python, gone_check=check, safe_path=safe)
        for check in (True, False)
        for safe in (True, False)
    }
    return "ours" if text in written else "edited"


@dataclass(frozen=True, slots=True)
class ServerInstall:
    """What ``install_server`` wrote: the hooks, the trust file, and the policy in force."""

    hooks: tuple[Path, ...]
    trust_file: Path
    trusted: int
    policy: ServerPolicy
    # mindgit's server hook of the other kind, installed before and left in place: it runs too.
    others: tuple[Path, ...] = ()


def install_server(
    path: Path | str,
    *,
    trust_file: Path | None = None,
    trust_text: str | None = None,
    python: str | None = None,
    hooks: Sequence[str] = ("pre-receive",),
    policy: ServerPolicy | None = None,
    force: bool = False,
) -> ServerInstall:
    """Gate a shared repository: its trust file, its policy, and its server hooks.

    The trust comes from ``trust_file`` or ``trust_text`` (an allowed-signers file's content);
    with neither, the repository must already have one. ``policy`` None keeps what is configured.
    """
    target = Path(path)
    repo = server_repository(target)
    for name in hooks:
        if name not in SERVER_HOOKS:
            raise UsageError(f"{name!r} is not a server hook", hint="use pre-receive or update")
    trust_path = server_trust_path(repo)
    if trust_file is not None:
        trust_text = read_trust_file(Path(trust_file))
    elif trust_text is not None:
        _check_trust_text(trust_text, trust_path)
    elif not trust_path.is_file():
        raise NoServerTrust(trust_path, installing=True)
    elif not TrustStore(trust_path).nodes():
        # The trust kept is checked as a given one is, before anything is written: one that
        # did not parse failed the install after the hook and the policy were in place (exit
        # 1), and one that trusts no key was installed ("trusting 0 node(s)", exit 0) to
        # refuse every push.
        raise EmptyTrust(trust_path)
    if trust_text is not None and _is_store(repo) and not _holds(trust_path, trust_text):
        raise ServerIsAStore(target)
    for name in hooks:
        check_replaceable(repo, name, force=force)
    # The policy kept is read before anything is written: a bad value in the config failed the
    # install after the trust file and the hook were in place (exit 1, half installed).
    kept = policy if policy is not None else read_policy(repo)
    # Everything that can fail on bad input has been checked: now write. Each file is staged
    # beside its place first, and the policy written, before any is put in place: a hooks
    # directory that cannot be written (read-only, a dangling link) failed the install after
    # the trust file and the policy were replaced, "nothing was changed" notwithstanding.
    staged: list[tuple[Path, Path]] = []
    made_trust_dir = False
    try:
        for name in hooks:
            target = hooks_dir(repo, name) / name
            staged.append((_stage(target, hook_script(name, python).encode(), 0o755), target))
        if trust_text is not None:
            if not trust_path.parent.is_dir():
                _make_trust_dir(trust_path)
                made_trust_dir = True
            # Put in place before the hooks: a new hook finds the trust it is installed with.
            staged.insert(0, (_stage(trust_path, trust_text.encode(), 0o644), trust_path))
        if policy is not None:
            _write_policy(repo, policy)
        for tmp, target in staged:
            _place(tmp, target)
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        if made_trust_dir:
            with contextlib.suppress(OSError):
                trust_path.parent.rmdir()
        raise
    written = tuple(target for _, target in staged if target != trust_path)
    trusted = len(TrustStore(trust_path).nodes())
    return ServerInstall(written, trust_path, trusted, kept, other_server_hooks(repo, hooks))


def _make_trust_dir(trust_path: Path) -> None:
    directory = trust_path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        # As readable as the trust file in it (0644): made under the installer's umask (077,
        # say), the user git runs the hook as, if another, could not read the file, and every
        # push was refused.
        directory.chmod(0o755)
    except OSError as e:
        raise HookNotWritten(trust_path, _unwritable(directory, e)) from None


def _write_policy(repo: pygit2.Repository, policy: ServerPolicy) -> None:
    try:
        repo.config[CONFIG_REWIND] = policy.allow_rewind
        repo.config[CONFIG_DELETE] = policy.allow_delete
        repo.config[CONFIG_MAX_OBJECT] = str(policy.max_object_bytes)
    except pygit2.GitError as e:
        # A git dir the installer may not write (config.lock): an internal error, exit 3.
        raise HookNotWritten(Path(repo.path) / "config", str(e)) from None


def _is_store(repo: pygit2.Repository) -> bool:
    """Whether ``repo`` is a node's store (its key beside the trust file), not a bare server."""
    from mindgit.store.repository import KEY_FILE, MINDGIT_DIR

    return os.path.lexists(Path(repo.path) / MINDGIT_DIR / KEY_FILE)


def _holds(path: Path, text: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False


def other_server_hooks(repo: pygit2.Repository, installed: Sequence[str]) -> tuple[Path, ...]:
    """mindgit's server hooks in ``repo`` other than ``installed`` (edited ones too; another
    program's are none of ours): `--update-hook` "instead of pre-receive" left a pre-receive
    installed before in place, which refuses a whole push before the update hook sees a ref."""
    out = []
    for name in SERVER_HOOKS:
        path = hooks_dir(repo, name) / name
        if name not in installed and os.path.lexists(path) and _whose(path, name) != "foreign":
            out.append(path)
    return tuple(out)


# The most of a --trust file read: an allowed-signers line is about 150 bytes, so this is some
# hundred thousand nodes. Read whole, `--trust /dev/zero` (or a wrong, huge file) took memory
# until the process failed (exit 3, MemoryError).
MAX_TRUST_BYTES = 16 << 20


def read_trust_file(path: Path) -> str:
    """An allowed-signers file's text (newlines as Python reads text), once the trust store has
    parsed it without complaint.

    Read once, then parsed from a private copy: a pipe (``--trust <(mindgit trust export)``)
    is read as a file is, where parsing the path again found it empty, or "not a regular file".
    """
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_TRUST_BYTES + 1)
    except FileNotFoundError:
        raise TrustFileUnreadable(
            path,
            "there is no such file",
            hint="give an allowed-signers file; `mindgit trust export > allowed_signers` "
            "writes the keys a store trusts",
        ) from None
    except OSError as e:
        raise TrustFileUnreadable(path, e.strerror or str(e)) from None
    if len(data) > MAX_TRUST_BYTES:
        raise TrustFileUnreadable(
            path,
            f"it is over {MAX_TRUST_BYTES >> 20} MiB, far more than an allowed-signers file holds",
            hint="give an allowed-signers file; `mindgit trust export > allowed_signers` "
            "writes the keys a store trusts",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TrustFileUnreadable(
            path, str(e), hint="an allowed-signers file is UTF-8 text"
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    _check_trust_text(text, path)
    return text


def _check_trust_text(text: str, origin: Path) -> None:
    # Parsed by the trust store itself, from a private copy, so bad text is refused before
    # anything is written; its errors name ``origin``, not the copy.
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / TRUST_FILE
        copy.write_text(text, encoding="utf-8")
        try:
            nodes = TrustStore(copy).nodes()
        except TrustFileCorrupt as e:
            raise TrustFileCorrupt(origin, e.line, e.reason) from None
        if not nodes:
            raise EmptyTrust(origin)
