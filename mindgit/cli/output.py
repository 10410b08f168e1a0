"""Output: data on stdout (plain or JSON), diagnostics on stderr. Rich is loaded only for tables."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click

from mindgit.errors import one_line


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))


def info(message: str) -> None:
    """A diagnostic for a person, on stderr."""
    click.echo(message, err=True)


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table on stdout: rich on a terminal, tab-separated otherwise (easy to pipe)."""
    if not sys.stdout.isatty():
        for row in rows:
            click.echo("\t".join("" if c is None else str(c) for c in row))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Cells may hold a peer's words (a last error, a detail): as plain Text, never read as Rich
    # markup ("[/x]" raised MarkupError, "[link=...]" made a hyperlink), and one terminal-safe
    # line each, so that no escape sequence reaches the terminal.
    def cell(value: Any) -> Text:
        return Text("" if value is None else one_line(str(value)))

    t = Table(title=title, show_edge=False, header_style="bold")
    for col in columns:
        t.add_column(col)
    for row in rows:
        t.add_row(*map(cell, row))
    Console().print(t)
