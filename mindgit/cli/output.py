"""Output: data on stdout (plain or JSON), diagnostics on stderr. Rich is loaded only for tables."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, BinaryIO, Literal

import click

from mindgit.errors import UsageError, one_line


def standard_stream(which: Literal["input", "output"]) -> BinaryIO:
    """Standard input or output as bytes; an error of our own when the caller closed it."""
    stream = sys.stdin if which == "input" else sys.stdout
    if stream is None:
        # `mindgit export --car - >&-`: Python sets a closed standard stream to None.
        raise UsageError(f"standard {which} is closed", hint=f"give the command a standard {which}")
    return stream.buffer


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


def info(message: str) -> None:
    """A diagnostic for a person, on stderr."""
    click.echo(message, err=True)


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
