"""The root of every error mindgit raises on purpose.

Each subsystem defines its own subclasses next to the code that raises them, carrying the data
that explains the failure. The CLI catches ``MindgitError`` once and prints ``str(error)`` as a
single line; anything else is a bug and is reported as such.
"""

from __future__ import annotations


class MindgitError(Exception):
    """An expected failure: bad input, a refused object, a missing store.

    ``hint`` says what the user can do next; the CLI prints it after the message.
    """

    exit_code = 1
    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


def one_line(text: str) -> str:
    """``text`` (maybe a peer's words) as one line a terminal shows and never runs: whitespace
    runs become one space, and every other character that is not printable a '?' (as git does
    to a remote's C0 codes; this also covers C1 codes such as U+009B, CSI, and bidi overrides,
    which git lets through as UTF-8). The CLI prints every error through it."""
    return "".join(c if c.isprintable() else "?" for c in " ".join(text.split()))


class UsageError(MindgitError):
    """The command line itself is wrong (a flag combination, a missing argument)."""

    exit_code = 2
