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
    """The command line itself is wrong (a flag combination, a missing argument, a value typed
    there that nothing could take)."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None, kind: str | None = None) -> None:
        super().__init__(message, hint=hint)
        # What --json reports as the error's type: a library error re-raised for a value typed
        # on the command line (see as_usage) keeps its own name there.
        self.kind = kind or type(self).__name__


def as_usage(error: MindgitError, *, prefix: str = "", hint: str | None = None) -> UsageError:
    """``error``, raised for a value typed on the command line: a usage error (exit 2) with its
    message and hint, which ``--json`` still reports under the error's own type name."""
    return UsageError(
        prefix + str(error),
        hint=error.hint if hint is None else hint,
        kind=getattr(error, "kind", None) or type(error).__name__,
    )
