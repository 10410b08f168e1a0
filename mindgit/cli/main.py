"""The ``mindgit`` command: a thin layer over the library.

Subcommands are imported only when run, so a read command pays for nothing it does not use.
Errors are caught once, here: a ``MindgitError`` is one line on stderr and exit 1 (2 for usage),
anything else is a bug (exit 3, traceback with ``--debug``), Ctrl-C exits 130. With ``--json``
an error is also one JSON document on stdout (``{"error": ..., "hint": ..., "type": ...}``), so a
script always gets exactly one document. Standard output is one rule for every command (text,
JSON or bytes): a reader that closes it early (``mindgit log | head -1``) ends the command
quietly with 141, the status git gets from SIGPIPE; a write it refuses (closed with ``>&-``,
``> /dev/full``) is a failed operation, exit 1 with one line naming stdout and the OS's reason.
"""

from __future__ import annotations

import ast
import atexit
import contextlib
import importlib
import os
import re
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from mindgit.cli.options import with_typed_store
from mindgit.cli.output import (
    ReaderGone,
    StdoutError,
    discard_stdout,
    emit_json,
    guarded_stderr,
    guarded_stdout,
)
from mindgit.errors import (
    DamagedStore,
    MindgitError,
    one_line,
    quoted,
    shown_path,
    unreadable_object,
)

# What git exits with when a reader closes its stdout: killed by SIGPIPE (128 + 13).
EXIT_PIPE_CLOSED = 141
COMPLETE_VAR = "_MINDGIT_COMPLETE"

# command name -> (module under mindgit.cli.commands, function name)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("core", "init"),
    "id": ("core", "id_"),
    "think": ("core", "think"),
    "forget": ("core", "forget"),
    "genome": ("core", "genome"),
    "show": ("core", "show"),
    "log": ("core", "log"),
    "fork": ("core", "fork"),
    "switch": ("core", "switch"),
    "experiments": ("core", "experiments"),
    "diff": ("core", "diff"),
    "config": ("core", "config"),
    "trust": ("trust", "trust"),
    "verify": ("verify", "verify"),
    "fitness": ("evolve", "fitness"),
    "evolve": ("evolve", "evolve"),
    "runs": ("evolve", "runs"),
    "lineage": ("evolve", "lineage"),
    "plot": ("evolve", "plot"),
    "demo": ("evolve", "demo"),
    "merge": ("merge", "merge"),
    "merge-driver": ("merge", "merge_driver"),
    "git-setup": ("merge", "git_setup"),
    "remote": ("sync", "remote"),
    "push": ("sync", "push"),
    "pull": ("sync", "pull"),
    "sync": ("sync", "sync"),
    "peers": ("sync", "peers"),
    "export": ("car", "export"),
    "import": ("car", "import_"),
    "cat": ("car", "cat"),
    "import-af": ("agentfile", "import_af"),
    "export-af": ("agentfile", "export_af"),
    "af-info": ("agentfile", "af_info"),
    "block": ("agentfile", "block"),
    "restore": ("agentfile", "restore"),
    "hooks": ("hooks", "hooks"),
    "hook": ("hooks", "hook"),
    "share": ("private", "share"),
    "keys": ("private", "keys"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = COMMANDS.get(cmd_name)
        if spec is None:
            return None
        module = importlib.import_module(f"mindgit.cli.commands.{spec[0]}")
        cmd: click.Command = getattr(module, spec[1])
        return cmd


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--store",
    metavar="PATH",
    envvar="MINDGIT_STORE",
    help="The store to use (default: $MINDGIT_STORE, else the current directory or a parent).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="mindgit")
@click.pass_context
def cli(ctx: click.Context, store: str | None, debug: bool) -> None:
    """Version control for the state of AI agents, built on git."""
    if store == "":
        # An empty path is the working directory, taken as the store with no search of its
        # parents: inside a store's refs/ it said "not a mindgit store" (exit 1).
        from mindgit.errors import UsageError

        raise UsageError("--store is empty: give the path of a store")
    ctx.obj = {"store": store, "debug": debug}


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and map every outcome to an exit code."""
    code = run(argv)
    # Tearing the interpreter down frees every object one by one: ~0.15 s after an evolve run
    # (a sixth of a 50-generation one) for nothing. The work is done and waited for; what is
    # left is to flush the standard streams and run any exit handlers, then leave.
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # None: started with the descriptor closed
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    atexit._run_exitfuncs()
    os._exit(code)


def run(argv: list[str] | None = None) -> int:
    """Run ``mindgit ARGV`` and return its exit code; nothing escapes but ``--debug`` tracebacks."""
    args = list(argv) if argv is not None else sys.argv[1:]
    if COMPLETE_VAR in os.environ:
        # Shell completion is click's own business, and it exits by itself.
        cli.main(args=args, prog_name="mindgit", complete_var=COMPLETE_VAR)
    as_json = wants_json(args)
    with guarded_stderr(), guarded_stdout():
        try:
            code = _run(args, as_json)
            # Buffered output is written here, where its failure is still reported.
            _flush_stdout()
        except ReaderGone:
            return _quiet_exit()
        except StdoutError as e:
            # Not as JSON: stdout is what failed.
            return _fail(str(e), e.hint, e.exit_code, type(e).__name__, False)
        return code


def interrupted(args: list[str]) -> int:
    """Report a Ctrl-C that came before the command ran (see ``mindgit.cli.entry``)."""
    return _fail("interrupted", None, 130, "KeyboardInterrupt", wants_json(args))


def _run(args: list[str], as_json: bool) -> int:
    debug = "--debug" in args
    ctx: click.Context | None = None
    try:
        # Not cli.main: it turns a closed stdout into a silent exit 1; what it catches is
        # mapped below, and a failed write to stdout in run().
        with cli.make_context("mindgit", args) as ctx:
            rv = cli.invoke(ctx)
    except (ReaderGone, StdoutError):
        raise
    except MindgitError as e:
        e = _store_from_env(e, ctx)
        # A hint's command run as written would miss the store that was typed.
        hint = with_typed_store(e.hint, ctx)
        return _fail(str(e), hint, e.exit_code, getattr(e, "kind", type(e).__name__), as_json)
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    except (click.Abort, EOFError):
        return _fail("aborted", None, 130, "Aborted", as_json)
    except click.exceptions.NoArgsIsHelpError as e:
        # `mindgit` or `mindgit keys` alone: the help, whole, as click shows it (on stderr,
        # exit 2). Its text is the message of a usage error, which made it one line cut at
        # 200 characters: "mindgit: error: Usage: mindgit [OPTIONS] ... (3177 characters)".
        return _missing_command(e.ctx)
    except click.ClickException as e:
        if "PRIVATE KEY" in e.format_message():
            # Never echo a pasted private key back to the terminal or a CI log.
            message = (
                "that looks like a private key; give the public key (did:key or ssh-ed25519 line)"
            )
            return _fail(message, None, 2, type(e).__name__, as_json)
        # One line, as every other error: click's own report is three (usage, a pointer to
        # --help, the error), which the pointer says in the hint here.
        hint = None
        if isinstance(e, click.UsageError):
            # click's parser raises some without the command ("Option '-n' requires an
            # argument.", "Option '--json' does not take a value."): the pointer was missing.
            path = e.ctx.command_path if e.ctx is not None else _command_path(args)
            hint = f"`{path} --help`"
        message = _cut_click_message(e.format_message())
        if isinstance(e, click.NoSuchOption) and e.ctx is not None and e.ctx.parent is not None:
            # `mindgit log --store s1` said "No such option '--store'. Did you mean '--json'?"
            message, hint = _misplaced_option(e.option_name, e.ctx.command_path, message, hint)
        return _fail(message, hint, e.exit_code, type(e).__name__, as_json)
    except KeyboardInterrupt:
        return _fail("interrupted", None, 130, "KeyboardInterrupt", as_json)
    except OSError as e:
        # The world refused (disk full, permission denied): not a bug in mindgit.
        text = (
            f"{e.strerror or e}: {shown_path(e.filename)}" if e.filename else str(e.strerror or e)
        )
        return _fail(text, None, 1, type(e).__name__, as_json)
    except Exception as e:
        damaged = _damaged_store(e, ctx)
        if damaged is not None:
            return _fail(
                str(damaged), damaged.hint, damaged.exit_code, type(damaged).__name__, as_json
            )
        if debug:
            raise
        hint = "rerun with --debug for a traceback"
        return _fail(f"internal error: {type(e).__name__}: {e}", hint, 3, type(e).__name__, as_json)
    return rv if isinstance(rv, int) else 0


def _misplaced_option(
    option: str, path: str, message: str, hint: str | None
) -> tuple[str, str | None]:
    """A command's unknown option that is one of mindgit's own (``--store``, ``--debug``,
    ``--version``): said to go before the command, with the line that does it."""
    own = next((p for p in cli.params if option in getattr(p, "opts", ())), None)
    if not isinstance(own, click.Option) or option in ("-h", "--help"):
        return message, hint
    command = path.removeprefix("mindgit ")
    if own.is_eager:  # --version: it runs no command
        example = f"mindgit {option}"
    else:
        value = "" if own.is_flag else f" {own.metavar or own.name.upper()}"
        example = f"mindgit {option}{value} {command} ..."
    return (
        f"{option} is an option of mindgit itself, not of {command}: give it before the command",
        f"`{example}`",
    )


def _command_path(args: Sequence[str]) -> str:
    """The command ``args`` name ("mindgit keys rotate"), read as click reads them: each word
    past a group's options names one of its commands, as far as one does."""
    path: list[str] = ["mindgit"]
    command: click.Command = cli
    words = iter(args)
    for word in words:
        if word == "--" or not isinstance(command, click.Group):
            break
        if word.startswith("-"):
            option = next((p for p in command.params if word in getattr(p, "opts", ())), None)
            if isinstance(option, click.Option) and not option.is_flag:
                next(words, None)  # its value
            continue
        sub = command.get_command(click.Context(command), word)
        if sub is None:
            break
        path.append(word)
        command = sub
    return " ".join(path)


# A message of click's longer than this is cut: it quotes what was typed whole ("No such command
# 'aaa…'", "Got unexpected extra argument (aaa…)"), and 100,000 characters typed made a 100 KB
# line. A shorter one is printed as click wrote it; a cut one is at most this and its length.
CLICK_MESSAGE_MAX = 200
# What ends a quote click wrote (a repr: 'x', "it's", with backslash escapes), and what ends
# the parentheses it puts extra arguments in.
_QUOTE_END = {"'": re.compile(r"[\\']"), '"': re.compile(r'[\\"]'), "(": re.compile(r"[()]")}


def _cut_click_message(message: str) -> str:
    """``message`` as is if it is short; else each long text it quotes cut by
    :func:`~mindgit.errors.quoted`, and what is still too long cut with its length.

    One pass, no regular expression over the whole: a quote that never closes, repeated, made
    one take minutes (each start scanned to the end)."""
    if len(message) <= CLICK_MESSAGE_MAX:
        return message
    parts: list[str] = []
    done = i = 0
    unclosed: set[str] = set()  # quote marks with no closing one after the last start tried
    while i < len(message):
        end = _quote_end(message, i, unclosed)
        if end is None:
            i += 1
            continue
        if end - i > 82:
            parts += [message[done:i], _cut_quote(message[i:end])]
            done = end
        i = end
    shown = "".join([*parts, message[done:]])
    if len(shown) > CLICK_MESSAGE_MAX:
        shown = f"{shown[:CLICK_MESSAGE_MAX]}... ({len(message)} characters)"
    return shown


def _quote_end(message: str, i: int, unclosed: set[str]) -> int | None:
    """Where the quote (or parenthesis) opening at ``i`` ends, past its closing mark; None if
    none opens there or it never closes (then none of its kind after it does: ``unclosed``)."""
    mark = message[i]
    if mark not in _QUOTE_END or mark in unclosed:
        return None
    at = i + 1
    while (found := _QUOTE_END[mark].search(message, at)) is not None:
        if found.group() == "\\":
            at = found.end() + 1  # an escaped character
        elif mark == "(" and found.group() == "(":
            return None  # parentheses within: not click's list of arguments
        else:
            return found.end()
    unclosed.add(mark)
    return None


def _cut_quote(text: str) -> str:
    """A long quote of click's message, cut: a repr as :func:`~mindgit.errors.quoted` quotes
    the text it spells, arguments in parentheses quoted so."""
    if text[0] == "(":
        return f"({quoted(text[1:-1])})"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an escape Python would warn of: not a repr after all
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            value = None
    return quoted(value if isinstance(value, str) else text[1:-1])


def _store_from_env(error: MindgitError, ctx: click.Context | None) -> MindgitError:
    """A store path that MINDGIT_STORE gave (click reads it as --store) is said to come from
    there: "give the path of a store" was no help to a user who had given none."""
    if ctx is None or "mindgit.store.repository" not in sys.modules:  # imported if it raised
        return error
    from mindgit.store.repository import NotAStore

    if not isinstance(error, NotAStore) or error.how != "given":
        return error
    if ctx.get_parameter_source("store") is not click.core.ParameterSource.ENVIRONMENT:
        return error
    return NotAStore(error.path, "env")


def _damaged_store(error: Exception, ctx: click.Context | None) -> MindgitError | None:
    """``error`` as a damaged store, if it is libgit2 failing to read an object's bytes, or a
    ref file or ``packed-refs`` (named as such: "an object cannot be read" and `git fsck` for
    damaged objects sent the user to the wrong place).

    Caught here, once: objects are read all over mindgit (through pygit2, which checks each
    object's hash as it reads it), and no command can go on past one it cannot read."""
    pygit2 = sys.modules.get("pygit2")  # imported already if it raised
    if pygit2 is None or not isinstance(error, pygit2.GitError):
        return None
    found = unreadable_object(str(error))
    if found is None:
        return None
    where = (ctx.obj or {}).get("store") if ctx is not None else None
    try:
        gitdir = pygit2.discover_repository(where or ".")
    except pygit2.GitError:
        gitdir = None
    store = (gitdir or where or "").rstrip("/") or None
    if store is not None:
        from mindgit.store.refs import ref_damage

        bad_ref = ref_damage(Path(store), str(error))
        if bad_ref is not None:
            return bad_ref
    return DamagedStore(*found, store=store)


def wants_json(args: Sequence[str]) -> bool:
    """Whether a command line asks for ``--json`` (read before parsing, so that an error in the
    parse itself is reported as JSON too)."""
    for arg in args:
        if arg == "--":
            return False
        if arg == "--json":
            return True
    return False


def error_json(message: str, hint: str | None, kind: str) -> dict[str, Any]:
    """The JSON document of an error: what went wrong, what to do, and the error's type."""
    return {"error": " ".join(message.split()), "hint": hint, "type": kind}


def report_error(
    message: str,
    hint: str | None,
    kind: str,
    *,
    as_json: bool,
    details: Mapping[str, Any] | None = None,
) -> None:
    """An error as the CLI reports it: one line on stderr, and with --json a document on stdout
    (``details`` adds fields to it)."""
    if as_json:
        _emit_error(message, hint, kind, details)
    _error(message, hint)


def _fail(message: str, hint: str | None, code: int, kind: str, as_json: bool) -> int:
    # The line on stderr first: it is the report, whatever becomes of stdout. The JSON document
    # is for a reader that is still there; if stdout fails too, the command has failed already.
    _error(message, hint)
    if as_json:
        try:
            _emit_error(message, hint, kind)
            _flush_stdout()
        except (ReaderGone, StdoutError):
            discard_stdout()
    return code


def _emit_error(
    message: str, hint: str | None, kind: str, details: Mapping[str, Any] | None = None
) -> None:
    data = {**error_json(message, hint, kind), **(details or {})}
    emit_json(data)  # terminal-safe: the message may quote a peer's words


def _missing_command(ctx: click.Context) -> int:
    """A group run with no arguments at all: its help on stderr, exit 2. (Not with --json: that
    is an argument, and a group given one it does not know says so as any usage error does.)"""
    click.echo(ctx.get_help(), err=True)
    return 2


def _flush_stdout() -> None:
    # Python sets sys.stdout to None when descriptor 1 was closed before it started.
    if sys.stdout is not None:
        sys.stdout.flush()


def _quiet_exit() -> int:
    discard_stdout()
    return EXIT_PIPE_CLOSED


def _error(message: str, hint: str | None) -> None:
    # A message may quote a peer's words (a tree entry name, a remote's error).
    line = one_line(message if not hint else f"{message} (hint: {hint})")
    click.echo(f"mindgit: error: {line}", err=True)


def exit_with(code: int) -> NoReturn:
    """Leave a command with ``code`` without treating it as an error."""
    raise click.exceptions.Exit(code)
