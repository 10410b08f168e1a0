"""Options shared by many commands, declared once."""

from __future__ import annotations

import fcntl
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

import click

from mindgit.errors import MindgitError, UsageError, as_usage, quoted, shell_word, shown_path

if TYPE_CHECKING:
    from mindgit.identity.keys import PublicKey

F = TypeVar("F", bound=Callable[..., Any])

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")


def typed_experiment_name(name: str, flag: str | None = None) -> str:
    """An experiment name typed on the command line (after ``flag``, if one), checked before
    the store is opened: a name no experiment can have is a usage error (exit 2); an unknown
    one is the command's own error (exit 1). ``--json`` reports every such name as RefError."""
    from mindgit.store.refs import NamePartTooLong, RefError
    from mindgit.store.repository import NotAnExperimentName, check_experiment_name

    try:
        return check_experiment_name(name)
    except RefError as e:
        # Cut: a name of 100,000 characters made a 100 KB line.
        subject = quoted(name) if flag is None else f"{flag} {quoted(name)}"
        hint = "an experiment name is a git branch name, e.g. dreamer"
        if isinstance(e, NamePartTooLong | NotAnExperimentName):
            # The library's words of what is wrong, after the flag the name was typed with.
            message, hint = f"{subject} is not an experiment name: {e.reason}", e.hint or hint
        elif flag is None:
            message = str(e)
        else:
            message = f"{subject} is not an experiment name ({e})"
        raise UsageError(message, hint=hint, kind="RefError") from None


class StdinError(MindgitError):
    """Standard input, which a command was told to read (``-``), cannot be read or holds
    nothing the command can take. The command line is right, so the operation fails (exit 1),
    as for a file that cannot be read; nothing is changed."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(
            f"{message}; nothing was changed",
            hint=hint or "give the command a standard input (a pipe or < FILE), or a file's name",
        )


def standard_input() -> BinaryIO:
    """Standard input as bytes, for an argument ``-``: refused (:class:`StdinError`) when the
    caller closed it (``<&-``: Python sets ``sys.stdin`` to None) or opened it for writing only
    (``0>FILE``), which the command's first read would have reported as "Bad file
    descriptor"."""
    if sys.stdin is None:
        raise StdinError("cannot read stdin: it is closed")
    stream: BinaryIO = sys.stdin.buffer
    try:
        fd = stream.fileno()
    except (OSError, ValueError):  # not a file (a caller's own stream): read as it is
        return stream
    try:
        writes_only = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY
    except OSError as e:
        raise StdinError(f"cannot read stdin: {e.strerror or e}") from None
    if writes_only:
        raise StdinError("cannot read stdin: it is open for writing only")
    return stream


# Read past a thought's limit by this much, so that a text just over it (or under it, with
# newlines at its end that are dropped) meets the thought's own check, which gives its size.
_STDIN_SLACK = 4096


def standard_input_text(what: str) -> str:
    """All of standard input as text, for ``what`` (text for a thought) given as ``-``: empty
    (or only white space) or not UTF-8 is refused as a :class:`StdinError` (exit 1), never
    quoted (it may be a private thought). Newlines at its end are dropped, as ``$(...)`` does.

    At most a little more than a thought may hold is read (``MAX_THOUGHT_BYTES``, the largest
    limit of any text read this way): more is refused as it is, without reading on. Read whole,
    200 MB piped in took 857 MB of memory before the thought refused it, and ``yes |`` never
    ended."""
    from mindgit.store.state import MAX_THOUGHT_BYTES

    limit = MAX_THOUGHT_BYTES + _STDIN_SLACK
    if sys.stdin is not None and not hasattr(sys.stdin, "buffer"):
        # A text stream a library caller put there (io.StringIO): its text as it is.
        text = sys.stdin.read(limit + 1)
        if len(text) > limit:
            raise _stdin_too_long(what, limit, MAX_THOUGHT_BYTES)
    else:
        stream = standard_input()
        try:
            data = _read_at_most(stream, limit + 1)
        except OSError as e:
            raise StdinError(f"cannot read stdin: {e.strerror or e}") from None
        if len(data) > limit:
            raise _stdin_too_long(what, limit, MAX_THOUGHT_BYTES)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise StdinError(
                f"stdin is not UTF-8 text (at byte {e.start} of {len(data)})",
                hint=f"give the {what} as UTF-8 text",
            ) from None
    if not text.strip():
        raise StdinError(
            f"stdin {'holds only white space' if text else 'is empty'}: no {what}",
            hint=f"write the {what} to the command's standard input",
        )
    return text.rstrip("\n")


def _read_at_most(stream: BinaryIO, size: int) -> bytes:
    """The first ``size`` bytes of ``stream`` (fewer at its end), read without waiting for more:
    a writer that never closes the pipe does not hold the command once ``size`` are in."""
    chunks: list[bytes] = []
    left = size
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _stdin_too_long(what: str, read: int, limit: int) -> StdinError:
    return StdinError(
        f"stdin holds more than {read} bytes, over the {limit}-byte limit of a thought",
        hint=f"give a {what} of at most {limit} bytes",
    )


def check_fitness_option(fitness: str | None) -> None:
    """Refuse an empty ``--fitness`` (exit 2), before the store is opened: no module has an
    empty name, and an empty path is the working directory ("cannot read fitness module .")."""
    if fitness is not None and not fitness.strip():
        raise UsageError("--fitness is empty: give a module's name, CID or path")


def typed_rev(rev: str | None, what: str) -> str | None:
    """A revision typed on the command line (``what`` names it: REV, OLD, --since): an empty
    one names nothing, a usage error (exit 2), before the store is opened. ``--since ''`` was
    read as no --since at all (every commit verified), ``show ''`` as an unknown revision.
    A reflog count libgit2 cannot hold is refused too (see :func:`typed_reflog_counts`)."""
    if rev is not None and not rev.strip():
        raise UsageError(f"{what} is empty: name an experiment or a commit")
    if rev is not None:
        typed_reflog_counts(rev, what)
    return rev


def typed_reflog_counts(rev: str, what: str) -> None:
    """Refuse (exit 2) a revision whose ``@{N}`` or ``@{-N}`` counts past what libgit2 reads
    as a number, by the library's rule (:func:`mindgit.store.repository.check_reflog_counts`):
    typed on the command line, it is a wrong command line."""
    from mindgit.store.repository import ReflogCountTooLarge, check_reflog_counts

    try:
        check_reflog_counts(rev)
    except ReflogCountTooLarge as e:
        raise UsageError(f"{what} {e}", hint=e.hint) from None


def typed_given(value: str, what: str, need: str) -> str:
    """An argument or option (``what``: PATH, LABEL, --trust) that is empty names nothing: a
    usage error (exit 2) saying what to ``need`` give, before the store is opened. Taken as a
    path, '' is the working directory ("the name of the file ." was the word for `fitness add
    ''`); taken as a name, a run's or a revision's, it was 'not found', exit 1."""
    if not value:
        raise UsageError(f"{what} is empty: {need}")
    return value


def typed_key(text: str, flag: str | None = None) -> PublicKey:
    """A public key typed on the command line (after ``flag``, if one): text that cannot be a key
    is a usage error (exit 2), which --json reports as MalformedKey. Every command that takes a
    key there checks it here, before the store is opened."""
    from mindgit.identity.keys import MalformedKey, PublicKey

    try:
        return PublicKey.parse(text)
    except MalformedKey as e:
        raise as_usage(e, prefix=_flag_prefix(flag)) from None


def typed_node_name(name: str, flag: str | None = None) -> str:
    """A node name typed on the command line: one no node can have is a usage error (exit 2),
    which --json reports as InvalidNodeName; an unknown one is the command's own error."""
    from mindgit.identity.trust import InvalidNodeName, check_node_name

    try:
        return check_node_name(name)
    except InvalidNodeName as e:
        raise as_usage(e, prefix=_flag_prefix(flag)) from None


def typed_new_node_name(name: str, flag: str) -> str:
    """A name a node is given (``init --name``, ``trust add --name``): any node name but one of
    the form ``<name>.retired-<n>``, which marks a key its node rotated away from. A node under
    such a name could never be sealed to, and every key rotation it announced would be refused."""
    from mindgit.identity.rotation import is_retired_name

    typed_node_name(name, flag)
    if is_retired_name(name):
        raise UsageError(
            f"{flag}: {name} has the form <name>.retired-<n>, kept for keys a rotation retired",
            hint="choose a name that does not end in .retired-<n>",
        )
    return name


def typed_node(text: str, flag: str | None = None) -> str:
    """A node typed by did:key, OpenSSH line or name (``--node``, ``--to``, ``--with``), its
    form checked as :func:`typed_key` or :func:`typed_node_name` checks it; whether such a node
    is trusted is the command's business. A name never holds a colon or a space."""
    from mindgit.identity.keys import names_a_key

    if names_a_key(text):
        typed_key(text, flag)
    else:
        typed_node_name(text, flag)
    return text


def typed_text(value: str, what: str) -> str:
    """Text typed on the command line (``what`` names it: TEXT, VALUE): bytes that are not
    UTF-8 reach Python as lone surrogates, a wrong encoding that no store could take as text, so
    a usage error (exit 2). Not quoted: the text may be a private thought."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise UsageError(f"{what} is not UTF-8 text; nothing was changed") from None
    return value


def _flag_prefix(flag: str | None) -> str:
    return "" if flag is None else f"{flag}: "


def experiment_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """:func:`typed_experiment_name` as a click callback, for ``-e`` and NAME arguments."""
    if value is None:
        return None
    flag = param.opts[-1] if isinstance(param, click.Option) else None
    return typed_experiment_name(value, flag)


experiment_option = click.option(
    "-e",
    "--experiment",
    metavar="NAME",
    default=None,
    callback=experiment_name,
    help="Target this experiment instead of the current one.",
)


def typed_store(ctx: click.Context) -> str | None:
    """The --store typed on the command line, None when it was not (or came from
    MINDGIT_STORE): for the commands that open no store (init, git-setup, demo), which say what
    a typed --store means to them rather than pass over it."""
    root = ctx.find_root()
    if root.get_parameter_source("store") is not click.core.ParameterSource.COMMANDLINE:
        return None
    store: str | None = root.params.get("store")
    return store


def typed_store_words(ctx: click.Context | None) -> str:
    """``--store PATH `` when --store was typed, for a command a message tells the user to run:
    without it the command ran on another store, or on none (from outside every store)."""
    typed = typed_store(ctx) if ctx is not None else None
    return "" if typed is None else f"--store {shell_word(typed)} "


# A command a message gives to run: in backquotes, or after "run: ". Not the commands that take
# no --store of this kind (init and git-setup take it as a place, demo refuses it), nor a
# pointer to --help, which reads no store.
_COMMAND = re.compile(
    r"(`|\brun: )mindgit (?!--store\b|(?:init|demo|git-setup|hook)\b|[^`\n]*--help\b)"
)


def with_typed_store(text: str | None, ctx: click.Context | None) -> str | None:
    """``text`` with each ``mindgit`` command in it given the --store that was typed."""
    words = typed_store_words(ctx)
    if not words or not text:
        return text
    return _COMMAND.sub(lambda m: f"{m.group(1)}mindgit {words}", text)


def open_store_from(ctx: click.Context) -> Any:
    """The store named by --store / MINDGIT_STORE / the working directory."""
    from mindgit.store.repository import open_store

    return open_store(ctx.find_root().obj.get("store"))


class InsideAStore(UsageError):
    """A file or store a command would write among a store's own files."""

    def __init__(self, what: str, path: Path, store: Path) -> None:
        super().__init__(
            f"{what} {shown_path(path)} is inside the store {shown_path(store)}: writing there "
            "would change the store; "
            "nothing was written",
            hint="give a path outside the store's directory",
        )
        self.path = path
        self.store = store


def refuse_inside_store(what: str, path: Path, store: Path) -> None:
    """Refuse to write ``path`` when it is ``store`` or lies under it: a CAR written over the
    store's HEAD, or an agent file over its config, leaves a store that no longer opens."""
    target = path.resolve()
    root = store.resolve()
    if target == root or root in target.parents:
        raise InsideAStore(what, path, store)


def refuse_inside_any_store(what: str, path: Path) -> None:
    """Refuse to make a store at ``path`` inside another store's directory (git reads a store
    made under refs/heads/ as experiments, and fsck reports its files as broken refs)."""
    from mindgit.store.repository import is_store

    try:
        resolved = path.resolve()
    except (RuntimeError, OSError):
        # A symlink loop (RuntimeError before Python 3.13): nowhere a store could be made,
        # which init itself says.
        return
    for parent in resolved.parents:
        if is_store(parent):
            raise InsideAStore(what, path, parent)


def warn_no_trust_file(store: Any) -> None:
    """A warning when the store's trust file is gone: every commit, this node's own too, then
    reads as signed by an untrusted key (verify fails them all), with no word of why."""
    from mindgit.cli.output import warn

    path = store.trust.path
    try:
        if os.path.lexists(path):
            return
    except (OSError, ValueError):
        return
    try:
        did, name = store.public_key.did, store.name
    except MindgitError:
        warn(f"{shown_path(path)} does not exist: no node is trusted, this one neither")
        return
    store_words = typed_store_words(click.get_current_context(silent=True))
    warn(
        f"{shown_path(path)} does not exist: no node is trusted, this one neither (hint: `mindgit "
        f"{store_words}trust add {did} --name {name}` trusts this node again, `mindgit "
        f"{store_words}trust add` each peer)"
    )
