"""Output: data on stdout (plain or JSON), diagnostics on stderr. Rich is loaded only for tables."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import select
import sys
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO

import click

from mindgit.errors import MindgitError, one_line
from mindgit.errors import shell_word as shell_word  # re-exported: CLI commands import it here


class StdoutError(MindgitError):
    """Standard output refused a write: it was closed (``>&-``), its device is full
    (``> /dev/full``), or it failed otherwise. The operation failed: exit 1."""

    def __init__(self, error: OSError) -> None:
        hint = None
        if error.errno == errno.EBADF:
            hint = "standard output is closed; give the command somewhere to write"
        super().__init__(f"cannot write to stdout: {error.strerror or error}", hint=hint)
        self.errno = error.errno


class ReaderGone(BrokenPipeError):
    """Standard output's reader went away (``mindgit log | head -1``): not a failure of the
    command; the CLI ends quietly, as git does."""


class _DescriptorWriter(io.RawIOBase):
    """A raw stream over a descriptor of the process's own (1 or 2); ``write`` is each
    subclass's way with failures."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        try:
            return os.isatty(self._fd)
        except OSError:
            return False


class _StdoutWriter(_DescriptorWriter):
    """Descriptor 1 as the CLI writes it: every way a write can fail is one of two errors of
    our own, so that the CLI edge tells "the reader left" from "the write failed" without
    guessing which of the command's files an OSError came from."""

    def __init__(self, fd: int) -> None:
        super().__init__(fd)
        self.discard = False

    def write(self, data: Any) -> int:
        if self.discard:
            return memoryview(data).nbytes
        while True:
            try:
                return os.write(self._fd, data)
            except BlockingIOError:
                # A descriptor another program made non-blocking (shared with a terminal or
                # a pipe): wait until it takes bytes, as a blocking one would.
                select.select([], [self._fd], [])
            except BrokenPipeError:
                raise ReaderGone(errno.EPIPE, os.strerror(errno.EPIPE)) from None
            except OSError as e:
                raise StdoutError(e) from None


@contextlib.contextmanager
def guarded_stdout() -> Iterator[None]:
    """Run the CLI with ``sys.stdout`` writing through :class:`_StdoutWriter`; on leaving, what
    is still buffered (after a failure) is dropped and the caller's stream is put back.

    Only the process's own stdout is wrapped: one a caller has replaced (pytest's capture) is
    left as it is. A descriptor 1 that was closed before Python started (``sys.stdout`` is None)
    gets /dev/null opened read-only, so that no file the command opens becomes descriptor 1 (a
    child would write into it) and a write to it fails with the OS's own EBADF.
    """
    original = sys.stdout
    if original is not sys.__stdout__:
        yield
        return
    if original is None:
        fd = 1
        try:
            os.fstat(fd)
        except OSError:
            devnull = os.open(os.devnull, os.O_RDONLY)
            if devnull != fd:
                os.dup2(devnull, fd)
                os.close(devnull)
        else:
            fd = -1  # descriptor 1 was taken since: writes fail with EBADF, as to a closed one
        encoding, errors, line_buffering = "utf-8", "strict", False
    else:
        try:
            original.flush()
            fd = original.fileno()
        except (OSError, ValueError):
            yield
            return
        encoding, errors = original.encoding, original.errors or "strict"
        line_buffering = original.line_buffering
    raw = _StdoutWriter(fd)
    wrapped = io.TextIOWrapper(
        io.BufferedWriter(raw), encoding=encoding, errors=errors, line_buffering=line_buffering
    )
    sys.stdout = wrapped
    try:
        yield
    finally:
        raw.discard = True
        with contextlib.suppress(OSError, ValueError):
            wrapped.flush()
        sys.stdout = original


class _StderrWriter(_DescriptorWriter):
    """Descriptor 2 as the CLI writes it: a write it refuses (``2>/dev/full``, a reader gone)
    is dropped. What goes there is a report for a person; losing it must not undo or fail a
    command whose work is done (``init`` made the store, printed its did:key, then failed with
    exit 1 on the "initialised store" line), nor turn a usage error's 2 into 1."""

    def write(self, data: Any) -> int:
        size = memoryview(data).nbytes
        while True:
            try:
                os.write(self._fd, data)
                return size  # what a short write left is dropped as a failed one is
            except BlockingIOError:
                select.select([], [self._fd], [])
            except OSError:
                return size


@contextlib.contextmanager
def guarded_stderr() -> Iterator[None]:
    """Run the CLI with ``sys.stderr`` writing through :class:`_StderrWriter`, unbuffered as
    Python's own is; the caller's stream is put back on leaving (a ``--debug`` traceback goes
    there). Only the process's own stderr is wrapped; a closed one (None) is left as it is:
    click writes nothing to it."""
    original = sys.stderr
    if original is not sys.__stderr__ or original is None:
        yield
        return
    encoding, errors = original.encoding, original.errors or "backslashreplace"
    try:
        original.flush()
        fd = original.fileno()
    except (OSError, ValueError):
        yield
        return
    sys.stderr = io.TextIOWrapper(
        _StderrWriter(fd),
        encoding=encoding,
        errors=errors,
        write_through=True,
    )
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        sys.stderr = original


def discard_stdout() -> None:
    """Drop whatever stdout still holds: after a failed write it would only fail again."""
    raw = getattr(getattr(sys.stdout, "buffer", None), "raw", None)
    if isinstance(raw, _StdoutWriter):
        raw.discard = True
        return
    # Not ours (a caller's real stream): send descriptor 1 nowhere, so that Python's own flush
    # at exit does not print "Exception ignored ... BrokenPipeError".
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):
        pass


def standard_output() -> BinaryIO:
    """Standard output as bytes; an error of our own when the caller closed it (standard input
    is read through ``mindgit.cli.options.standard_input``)."""
    if sys.stdout is None:
        # Only outside guarded_stdout (a library caller's closed stdout): as inside it.
        raise StdoutError(OSError(errno.EBADF, os.strerror(errno.EBADF)))
    return sys.stdout.buffer


def emit_json(data: Any) -> None:
    click.echo(terminal_safe_json(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)))


def terminal_safe_json(text: str) -> str:
    """JSON text with every character a terminal would act on written as a ``\\u`` escape.

    json.dumps escapes C0 codes only; a peer's words may hold C1 codes (U+009B is CSI) or bidi
    overrides, which some terminals obey. Escaped, the document reads back the same.
    """
    if text.replace("\n", "").isprintable():
        return text
    return "".join(c if c == "\n" or c.isprintable() else _escaped(c) for c in text)


def _escaped(c: str) -> str:
    n = ord(c)
    if n <= 0xFFFF:
        return f"\\u{n:04x}"
    n -= 0x10000  # JSON spells a character past the BMP as a surrogate pair
    return f"\\u{0xD800 + (n >> 10):04x}\\u{0xDC00 + (n & 0x3FF):04x}"


def warn(message: str) -> None:
    """A warning: the command goes on. Spelt as the CLI's errors are (``mindgit: error: ...``),
    so a script can tell the two apart from anything a command prints, and one line as they
    are: a warning may quote a path, a ref or a file's words, and a newline in one printed a
    line of its making (``mindgit: error: ...`` included)."""
    info(f"mindgit: warning: {one_line(message)}")


def info(message: str) -> None:
    """A diagnostic for a person, on stderr, each of its lines terminal-safe: a message may quote
    an agent file's or a peer's words (`import-af` named the agent as its file spelled it, an
    OSC 52 that wrote the reader's clipboard included). Its newlines are kept: a caller passes
    a path through ``errors.shown_path`` and other words through ``errors.one_line``."""
    lines = message.split("\n")
    click.echo(
        "\n".join(
            "".join(c if c.isprintable() or c == "\t" else "?" for c in line) for line in lines
        ),
        err=True,
    )


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table on stdout: rich on a terminal, tab-separated otherwise (easy to pipe).

    Cells may hold a peer's words (a last error, a detail, a gene value): each is made one
    terminal-safe line here, for both, so that callers pass them as they are.
    """
    cells = [["" if c is None else one_line(str(c)) for c in row] for row in rows]
    if not sys.stdout.isatty():
        for row in cells:
            click.echo("\t".join(row))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    t = Table(title=title, show_edge=False, header_style="bold")
    for col in columns:
        t.add_column(col)
    for row in cells:
        # Plain Text: never read as Rich markup ("[/x]" raised MarkupError, "[link=...]" made
        # a hyperlink).
        t.add_row(*map(Text, row))
    Console().print(t)
