"""Talking to a peer: stock ``git fetch``, ``git push`` and ``git ls-remote`` in a subprocess.

git already speaks every transport a user may have (a path, file://, ssh://, git://, https://),
so mindgit never implements one. What it adds is a bound on time: the git calls of one pull,
push or sync with a peer share one :class:`Budget` of ``timeout`` seconds, and a subprocess still
running when what is left of it runs out is killed with its whole process group (git starts ssh
or git-remote-https as children). The low-level knobs make a dead link fail sooner than that
(``GIT_HTTP_LOW_SPEED_*`` for http, ``ConnectTimeout`` for ssh). Credentials are never asked
for: a prompt would hang a sync.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from mindgit.errors import (
    SSH_SCHEMES,
    MindgitError,
    message_url,
    one_line,
    said,
    scrub,
    shown_url,
)
from mindgit.procs import dying_with_parent

DEFAULT_TIMEOUT = 60.0
# A link slower than this many bytes/s for this many seconds is dead (http only).
_LOW_SPEED_LIMIT = "1000"
_CONNECT_TIMEOUT = 10
# How often a running fetch is looked at (its size so far), in seconds.
_WATCH_EVERY = 0.2
# What git prints when it could not reach the other side at all.
_UNREACHABLE = (
    "connection refused",
    "could not resolve host",
    "could not read from remote repository",
    "unable to connect",
    "unable to access",
    "does not appear to be a git repository",
    "no such file or directory",
    "repository not found",
    "connection timed out",
    "network is unreachable",
    "no route to host",
    "the remote end hung up unexpectedly",
    "unable to look up",
    # git daemon: with --informative-errors, then without (it tells no repository from one
    # it does not export).
    "no such repository",
    "access denied or repository not exported",
)
# An http(s) server's 404: git says "repository '<url>/' not found", which no fixed words above
# match ("repository not found" is GitHub's own).
_NOT_FOUND = re.compile(r"repository '[^\n]*' not found")


class TransportError(MindgitError):
    """git could not fetch from or push to a peer; ``detail`` is git's own last words."""

    def __init__(
        self,
        peer: str,
        url: str,
        operation: str,
        detail: str,
        *,
        message: str | None = None,
        hint: str = "check the URL with `mindgit remote list`, and that the peer is up",
    ) -> None:
        # Whatever a subclass put in its message, git's words included, never shows the
        # URL's credentials (nor is recorded with them as the peer's last error). A subclass
        # names the URL and git's words as message_url and said show them, cut.
        detail = said(detail, url)
        self.peer = peer
        self.url = shown_url(url)
        self.operation = operation
        self.detail = detail
        where = message_url(url)
        super().__init__(
            scrub(
                message or f"{operation} {peer} ({where}) failed: {detail or 'git gave no reason'}",
                url,
            ),
            hint=hint,
        )


class PeerUnreachable(TransportError):
    """The peer's URL leads nowhere: refused, unresolvable, no repository there."""

    def __init__(self, peer: str, url: str, operation: str, detail: str) -> None:
        super().__init__(
            peer,
            url,
            operation,
            detail,
            message=f"{operation} {peer}: cannot reach {message_url(url)}: "
            f"{said(detail, url) or 'no answer'}",
            hint="check that the peer is up and the URL is right (`mindgit remote list`)",
        )


class PeerTimeout(TransportError):
    """The peer did not answer within the time allowed."""

    def __init__(self, peer: str, url: str, operation: str, timeout: float) -> None:
        super().__init__(
            peer,
            url,
            operation,
            f"no answer within {timeout:g}s",
            message=f"{operation} {peer}: {message_url(url)} did not answer within {timeout:g}s",
            hint="the peer may be down or the link slow; raise --timeout if it is only slow",
        )
        self.timeout = timeout


class ObjectFormatMismatch(TransportError):
    """The peer's repository names objects by another hash (SHA-256) than this store (SHA-1)."""

    def __init__(self, peer: str, url: str, operation: str, detail: str) -> None:
        super().__init__(
            peer,
            url,
            operation,
            detail,
            message=f"{operation} {peer}: {message_url(url)} uses another object format (hash) "
            f"than this store: {said(detail, url)}",
            hint="mindgit peers are SHA-1 repositories: point the peer at one made with "
            "`git init --bare <path>`",
        )


class ObjectsRefused(TransportError):
    """git's own object check (fsck) refused something the peer sent; nothing was kept."""

    def __init__(self, peer: str, url: str, operation: str, detail: str) -> None:
        super().__init__(
            peer,
            url,
            operation,
            detail,
            message=f"{operation} {peer} refused: git found a malformed object: "
            f"{said(detail, url)}; "
            "nothing was changed",
            hint=f"{peer} serves objects no git should accept; tell its owner, or "
            f"`mindgit remote remove {peer}`",
        )


class FetchTooLarge(TransportError):
    """A peer sent more than this store accepts in one pull (``mindgit.maxfetch``)."""

    def __init__(self, peer: str, url: str, limit: int, size: int) -> None:
        super().__init__(
            peer,
            url,
            "pull from",
            f"{size} bytes received, over the limit of {limit}",
            message=f"pull from {peer} refused: it sent over {limit} bytes, the most this store "
            "accepts in one pull (mindgit.maxfetch); nothing was changed",
            hint=f"if {peer} is trusted to send that much, raise the limit: "
            "`git config mindgit.maxfetch 4G`",
        )
        self.limit = limit
        self.size = size


class LocalWriteFailed(TransportError):
    """git could not write what the peer sent into this store: a full disk, a file size limit,
    a read-only file system. This node's problem, not the peer's."""

    def __init__(self, peer: str, url: str, operation: str, detail: str) -> None:
        super().__init__(
            peer,
            url,
            operation,
            detail,
            message=f"{operation} {peer}: this store could not write what {peer} sent "
            f"({said(detail, url)}); nothing was changed",
            hint="free some disk space (or raise the file size limit) and pull again",
        )


# The environment variable naming the file this store's pre-push hook writes what it refuses
# to, when `mindgit push` runs it (see push()), and how much of it is read.
PRE_PUSH_CHANNEL = "MINDGIT_PRE_PUSH_CHANNEL"
_CHANNEL_MAX = 64 * 1024

_MORE_PROBLEMS = re.compile(r"\.\.\. and (at least )?(\d+) more problem\(s\)")


class PrePushRefused(TransportError):
    """This store's own pre-push hook (``mindgit hooks install``) refused the push before git
    sent anything: the peer was never at fault, nor its URL."""

    def __init__(self, peer: str, url: str, said_by_hook: Sequence[str]) -> None:
        first, *rest = said_by_hook
        # The hook shows 20 problems, then "... and [at least ]N more problem(s)".
        counted = _MORE_PROBLEMS.fullmatch(rest[-1]) if rest else None
        others = len(rest) - 1 + int(counted.group(2)) if counted else len(rest)
        least = "at least " if counted and counted.group(1) else ""
        more = f" (and {least}{others} more)" if others else ""
        hint = (
            "the hook (`mindgit hooks install`) checks every commit a new ref brings, the part "
            "the peer already holds too, against this node's trust, and objects against this "
            "store's mindgit.maxObjectBytes; fix what it names, or remove the hook (`mindgit "
            "push` checks what it sends itself)"
        )
        # The hook's own error ("error: config ... (hint: fix it with ...)") brings its hint.
        text, cut, own = first.rpartition(" (hint: ")
        if cut and own.endswith(")") and not more:
            first, hint = text, own[:-1]
        super().__init__(
            peer,
            url,
            "push to",
            first + more,
            message=f"push to {peer} refused by this store's pre-push hook: "
            f"{said(first, url)}{more}",
            hint=hint,
        )


# What git says when it cannot write here. index-pack killed by SIGXFSZ (a file size limit)
# says only "died of signal 25"; a full disk or a read-only one is named by the OS.
_LOCAL_WRITE = (
    "no space left on device",
    "file too large",
    "disk quota exceeded",
    "read-only file system",
    f"died of signal {signal.SIGXFSZ.value}",
)


_BOILERPLATE = frozenset(
    {
        "fatal: could not read from remote repository.",
        "please make sure you have the correct access rights",
        "and the repository exists.",
    }
)
_FSCK_LINE = re.compile(r"^error: object ([0-9a-f]{40}): (.*)$", re.M)


@dataclass(frozen=True, slots=True)
class GitResult:
    code: int
    stdout: str
    stderr: str
    # What this store's own pre-push hook told push() through its private channel.
    hook_said: str = ""


class Budget:
    """The time a peer may take to answer one pull, push or sync (``--timeout``), shared by every
    git call made with it: a push lists the peer's refs, pushes and may list them again, and a
    sync pulls then pushes, and each call used to get the whole timeout again. Only the calls
    spend it; local work between them (verification) and the wait for the peer's lock do not."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._spent = 0.0

    @classmethod
    def of(cls, timeout: float | Budget) -> Budget:
        """``timeout`` itself if it is a budget, else a fresh one of that many seconds."""
        return timeout if isinstance(timeout, Budget) else cls(timeout)

    def left(self) -> float:
        """Seconds still to spend (zero or less: none)."""
        return self.seconds - self._spent

    def spend(self, seconds: float) -> None:
        self._spent += seconds


def git_env(
    base: Mapping[str, str] | None = None,
    *,
    timeout: float,
    settings: Sequence[tuple[str, str]] = (),
    ssh_configured: bool = False,
) -> dict[str, str]:
    """The environment a transport subprocess runs with: no prompts, bounded stalls.

    ``settings`` are git config entries added through ``GIT_CONFIG_COUNT`` (in the environment,
    which only this user can read, not on the command line: they may hold a token); with
    ``ssh_configured`` (``core.sshCommand`` is set), the user's ssh command is left to run.
    """
    env = dict(os.environ if base is None else base)
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_ASKPASS"] = "true"
    env["SSH_ASKPASS"] = "true"
    env["GCM_INTERACTIVE"] = "never"
    stall = str(max(1, int(timeout)))
    env.setdefault("GIT_HTTP_LOW_SPEED_LIMIT", _LOW_SPEED_LIMIT)
    env.setdefault("GIT_HTTP_LOW_SPEED_TIME", stall)
    # GIT_SSH_COMMAND takes precedence over core.sshCommand: set over a configured one, it
    # dropped the user's key or jump host (ssh without a terminal prompts for nothing anyway:
    # git runs in a session of its own).
    if "GIT_SSH_COMMAND" not in env and "GIT_SSH" not in env and not ssh_configured:
        connect = min(_CONNECT_TIMEOUT, max(1, int(timeout)))
        env["GIT_SSH_COMMAND"] = f"ssh -o BatchMode=yes -o ConnectTimeout={connect}"
    if settings:
        try:
            count = int(env.get("GIT_CONFIG_COUNT", "0"))
        except ValueError:
            count = 0
        for key, value in settings:
            env[f"GIT_CONFIG_KEY_{count}"] = key
            env[f"GIT_CONFIG_VALUE_{count}"] = value
            count += 1
        env["GIT_CONFIG_COUNT"] = str(count)
    return env


# What of a store's own config says how to reach a peer (its proxy, credential helper, ssh
# command, URL rewrites, TLS settings, extra headers): a pull's git runs in the quarantine
# repository, whose config is not the store's, and went without them while push had them.
_TRANSPORT_SECTIONS = ("url.", "http.", "credential.", "ssh.")
_TRANSPORT_KEYS = ("core.sshcommand", "core.gitproxy")


def transport_settings(gitdir: Path) -> list[tuple[str, str]]:
    """The store's own transport settings, for a git running in a repository that borrows the
    store's objects (``objects/info/alternates``: a pull's quarantine); none for any other."""
    try:
        first = (gitdir / "objects" / "info" / "alternates").read_text().splitlines()[0]
    except (OSError, UnicodeDecodeError, IndexError):
        return []
    store_config = Path(first.strip()).parent / "config"
    listed = subprocess.run(
        ["git", "config", "--file", str(store_config), "--includes", "--null", "--list"],
        capture_output=True,
        check=False,
    )
    out = []
    for entry in listed.stdout.split(b"\0"):
        key, _, value = entry.decode("utf-8", "surrogateescape").partition("\n")
        lowered = key.lower()
        if lowered.startswith(_TRANSPORT_SECTIONS) or lowered in _TRANSPORT_KEYS:
            out.append((key, value))
    return out


def _ssh_command_configured(gitdir: Path, env: Mapping[str, str]) -> bool:
    """Whether the git about to run in ``gitdir`` with ``env`` has a ``core.sshCommand``."""
    found = subprocess.run(
        ["git", f"--git-dir={gitdir}", "config", "--get", "core.sshCommand"],
        capture_output=True,
        env=dict(env),
        check=False,
    )
    return found.returncode == 0


def _may_be_ssh(url: str) -> bool:
    # As git tells them apart: ssh://, or host:path (a ':' before any '/') without "://".
    if "://" in url:
        return url.lower().startswith(SSH_SCHEMES)
    return ":" in url.split("/", 1)[0]


def run_git(
    gitdir: Path,
    args: Sequence[str],
    *,
    peer: str,
    url: str,
    operation: str,
    timeout: float | Budget = DEFAULT_TIMEOUT,
    config: Sequence[str] = (),
    settings: Sequence[tuple[str, str]] = (),
    watch: Callable[[], MindgitError | None] | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> GitResult:
    """Run ``git --git-dir=<gitdir> [-c ...] <args>``; kill it (and its children) when the
    ``timeout`` (seconds, or what is left of a :class:`Budget`, which the call spends) runs out,
    or as soon as ``watch`` (asked every few tenths of a second) returns an error to raise.

    A non-zero exit is returned, not raised: push reports rejected refs that way. ``settings``
    are config entries handed over in the environment (see :func:`git_env`).
    """
    budget = Budget.of(timeout)
    left = budget.left()
    if left <= 0:
        raise PeerTimeout(peer, url, operation, budget.seconds)
    started = time.monotonic()
    try:
        return _run_git(
            gitdir,
            args,
            peer,
            url,
            operation,
            budget.seconds,
            left,
            config,
            settings,
            watch,
            extra_env or {},
        )
    finally:
        budget.spend(time.monotonic() - started)


def _run_git(
    gitdir: Path,
    args: Sequence[str],
    peer: str,
    url: str,
    operation: str,
    whole: float,
    timeout: float,
    config: Sequence[str],
    settings: Sequence[tuple[str, str]],
    watch: Callable[[], MindgitError | None] | None,
    extra_env: Mapping[str, str],
) -> GitResult:
    """:func:`run_git` with ``timeout`` seconds left of ``whole`` (what a timeout reports)."""
    cmd = ["git", f"--git-dir={gitdir}", "-c", "protocol.ext.allow=never"]
    for item in config:
        cmd += ["-c", item]
    cmd += list(args)
    ssh_configured = _may_be_ssh(url) and _ssh_command_configured(
        gitdir, git_env(timeout=timeout, settings=settings, ssh_configured=True)
    )
    env = git_env(timeout=timeout, settings=settings, ssh_configured=ssh_configured)
    env.pop(PRE_PUSH_CHANNEL, None)  # a channel of some other push's is not this git's
    env.update(extra_env)
    # A session of its own, so that a timeout can kill git and every helper it started.
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
        # git runs in a session of its own (a timeout kills its group): without this it would
        # outlive a mindgit killed with SIGKILL, writing into the quarantine with no timeout.
        preexec_fn=dying_with_parent(),
    )
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            try:
                out, err = proc.communicate(
                    timeout=max(0.0, left if watch is None else min(left, _WATCH_EVERY))
                )
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline:
                    raise PeerTimeout(peer, url, operation, whole) from None
                stop = watch() if watch is not None else None
                if stop is not None:
                    raise stop from None
    except BaseException:
        _kill_group(proc)
        raise
    return GitResult(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def failure(peer: str, url: str, operation: str, result: GitResult) -> TransportError:
    """The error for a git transport command that failed, unreachable peers told apart."""
    lines = [
        line.strip()
        for line in result.stderr.splitlines()
        if line.strip() and not line.startswith(("remote: ", "hint: "))
    ]
    # git ends every failure to reach a repository with the same three lines, which were all
    # the error showed (the last two): ssh's "Connection refused", "not a git repository"...
    # said before them were lost.
    said = [line for line in lines if line.lower() not in _BOILERPLATE]
    lines = said or lines
    detail = one_line(
        "; ".join(line.removeprefix("fatal: ").removeprefix("error: ") for line in lines[-2:])
    )
    if operation == "push to":
        # The store's own pre-push hook was reported as the peer's failure, "push to <peer>
        # (<url>) failed: ...", with the hint to check the URL and that the peer is up. What it
        # said is taken from the channel push() gave it alone: its "mindgit: ..." lines on git's
        # stderr could be anyone's (an ssh peer's remote command writes there unprefixed).
        hook = [
            line.removeprefix("mindgit: ").removeprefix("refused: ").removeprefix("error: ")
            for line in (ln.strip() for ln in result.hook_said.splitlines())
            if line.startswith("mindgit: ")
        ]
        if hook:
            return PrePushRefused(peer, url, [one_line(line) for line in hook])
    fsck = _FSCK_LINE.search(result.stderr)
    if fsck is not None:
        found = one_line(f"object {fsck.group(1)}: {fsck.group(2)}")
        return ObjectsRefused(peer, url, operation, found)
    lowered = result.stderr.lower()
    if operation == "pull from":
        # Was reported as the peer's failure, with "check ... that the peer is up".
        ours = "\n".join(ln for ln in lowered.splitlines() if not ln.startswith("remote: "))
        if any(marker in ours for marker in _LOCAL_WRITE):
            return LocalWriteFailed(peer, url, operation, detail)
    if any(m in lowered for m in ("hash algorithm", "object format", "mismatched algorithms")):
        # git ends these with "the remote end hung up", which would read as "unreachable".
        return ObjectFormatMismatch(peer, url, operation, detail)
    if any(marker in lowered for marker in _UNREACHABLE) or _NOT_FOUND.search(lowered):
        return PeerUnreachable(peer, url, operation, detail)
    return TransportError(peer, url, operation, detail)


def ls_remote(
    gitdir: Path,
    url: str,
    *,
    peer: str,
    timeout: float | Budget = DEFAULT_TIMEOUT,
    operation: str = "list",
) -> dict[str, str]:
    """The peer's refs (name -> commit id), peeled tags and HEAD left out. ``operation`` is
    what the errors say was being done (a push lists the peer's refs first)."""
    result = run_git(
        gitdir,
        ["ls-remote", "--refs", "--", url],
        peer=peer,
        url=url,
        operation=operation,
        timeout=timeout,
    )
    if result.code != 0:
        raise failure(peer, url, operation, result)
    refs: dict[str, str] = {}
    for line in result.stdout.splitlines():
        oid, _, name = line.partition("\t")
        if name.startswith("refs/") and len(oid) == 40:
            refs[name] = oid
    return refs


def fetch(
    gitdir: Path,
    url: str,
    refspecs: Sequence[str],
    *,
    peer: str,
    timeout: float | Budget = DEFAULT_TIMEOUT,
    max_bytes: int | None = None,
    received: Callable[[], int] | None = None,
) -> None:
    """Fetch ``refspecs`` from ``url``, with git checking every object it receives (fsck).

    With ``max_bytes``, git is stopped (:class:`FetchTooLarge`) once ``received()`` (the bytes
    the fetch has written so far) passes it.
    """

    def too_large() -> MindgitError | None:
        if max_bytes is None or received is None:
            return None
        size = received()
        return FetchTooLarge(peer, url, max_bytes, size) if size > max_bytes else None

    result = run_git(
        gitdir,
        [
            "fetch",
            "--no-tags",
            "--no-write-fetch-head",
            "--no-auto-gc",
            "--no-recurse-submodules",
            "--quiet",
            "--",
            url,
            *refspecs,
        ],
        peer=peer,
        url=url,
        operation="pull from",
        timeout=timeout,
        # git refuses malformed objects, and tree entries such as "..", ".git" or names with "/",
        # before they reach the object store.
        config=("fetch.fsckObjects=true", "transfer.fsckObjects=true"),
        # A pull fetches into its quarantine, a repository of its own: the store's way of
        # reaching peers comes with it.
        settings=transport_settings(gitdir),
        watch=too_large,
    )
    # Checked again at the end: a fetch may finish between two looks.
    stop = too_large()
    if stop is not None:
        raise stop
    if result.code != 0:
        raise failure(peer, url, "pull from", result)


@dataclass(frozen=True, slots=True)
class PushedRef:
    """One line of ``git push --porcelain``: what happened to one ref."""

    ref: str  # the peer's ref
    flag: str  # git's: " " fast-forward, "*" new, "=" up to date, "!" rejected, ...
    summary: str
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.flag != "!"


def push(
    gitdir: Path,
    url: str,
    refspecs: Sequence[str],
    *,
    peer: str,
    timeout: float | Budget = DEFAULT_TIMEOUT,
) -> tuple[list[PushedRef], str]:
    """Push ``refspecs`` (never forced); each ref's outcome, and the peer's messages."""
    # This store's own pre-push hook tells its refusal through a file only this process made
    # (0600, named in the hook's environment, which ssh does not pass to a peer): "mindgit: "
    # lines on git's stderr alone could be a peer's, which would have its failure blamed on
    # the hook (with the hint to remove it).
    fd, channel = tempfile.mkstemp(prefix="mindgit-pre-push-")
    try:
        result = run_git(
            gitdir,
            ["push", "--porcelain", "--no-progress", "--", url, *refspecs],
            peer=peer,
            url=url,
            operation="push to",
            timeout=timeout,
            extra_env={PRE_PUSH_CHANNEL: channel},
        )
        hook_said = os.read(fd, _CHANNEL_MAX).decode(errors="replace")
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(channel)
    result = replace(result, hook_said=hook_said)
    refs = parse_porcelain(result.stdout)
    if result.code != 0 and not refs:
        raise failure(peer, url, "push to", result)
    remote = "\n".join(
        line.removeprefix("remote: ").rstrip()
        for line in result.stderr.splitlines()
        if line.startswith("remote: ")
    )
    return refs, remote


def parse_porcelain(stdout: str) -> list[PushedRef]:
    """Parse ``git push --porcelain`` output: ``<flag>\\t<from>:<to>\\t<summary> (<reason>)``."""
    refs = []
    for line in stdout.splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or len(parts[0]) != 1:
            continue
        flag, spec, summary = parts
        dst = spec.rpartition(":")[2]
        reason = None
        if summary.endswith(")") and " (" in summary:
            summary, _, reason = summary[:-1].partition(" (")
        refs.append(PushedRef(dst, flag, summary.strip(), reason))
    return refs
