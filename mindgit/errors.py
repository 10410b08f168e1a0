"""The root of every error mindgit raises on purpose.

Each subsystem defines its own subclasses next to the code that raises them, carrying the data
that explains the failure. The CLI catches ``MindgitError`` once and prints ``str(error)`` as a
single line; anything else is a bug and is reported as such.
"""

from __future__ import annotations

import os
from collections.abc import Sequence


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


def quoted(value: object, limit: int = 80) -> str:
    """``repr(value)`` for a message, short enough to read: a text whose repr is longer than
    ``limit`` characters (its quotes aside) is quoted by as much of its start as fits, and
    says how long it is (``'aaaa'... (100000 characters)``); any other value's repr is cut
    the same way. A user may type (or a peer write) 100 KB where a name belongs, and an error
    that echoes it whole is a 100 KB line."""
    try:
        shown = repr(value)
    except ValueError:  # an int of over 4300 digits, which Python will not spell
        return f"an integer of {value.bit_length()} bits" if isinstance(value, int) else "?"
    if len(shown) <= limit + 2:
        return shown
    if not isinstance(value, str):
        return f"{shown[:limit]}... ({len(shown)} characters)"
    cut = value[:limit]
    while len(repr(cut)) > limit + 2:  # escapes (\x1b, \u202e) take up to 10 characters each
        cut = cut[:-1]
    return f"{cut!r}... ({len(value)} characters)"


# A path a message names longer than this is cut ("File name too long: <5,000 characters>").
PATH_SHOWN_MAX = 160


def shown_path(name: object) -> str:
    """A path for a message, as typed, or cut by :func:`quoted` when longer than
    :data:`PATH_SHOWN_MAX` (bytes and path-likes as the file system spells them)."""
    text = os.fsdecode(name) if isinstance(name, str | bytes | os.PathLike) else str(name)
    return text if len(text) <= PATH_SHOWN_MAX else quoted(text, PATH_SHOWN_MAX)


def counted(n: int, one: str, many: str | None = None) -> str:
    """``n`` and the word for that many: ``1 ref``, ``2 refs`` (``many`` when not ``one`` + s)."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def listed(items: Sequence[str], limit: int) -> str:
    """The first ``limit`` items and how many more: ``a, b and 3 more`` (a list a peer or a
    store may make thousands long stays one line)."""
    shown = ", ".join(items[:limit])
    more = len(items) - limit
    return f"{shown} and {more} more" if more > 0 else shown


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


class DamagedStore(MindgitError):
    """An object the store holds cannot be read: its bytes on disk no longer inflate, parse or
    hash to its id. Nothing mindgit does can repair it; git's fsck says what else is hit."""

    def __init__(self, oid: str | None, reason: str, *, store: str | None = None) -> None:
        what = f"object {oid}" if oid else "an object"
        where = store or "<store>"
        super().__init__(
            f"the store is damaged: {what} cannot be read ({reason})",
            hint=f"run `git --git-dir {where} fsck` to list the damaged objects",
        )
        self.oid = oid
        self.reason = reason


# How libgit2 words a read that failed on the bytes themselves, loose or packed (the pack
# ones are zlib's own words). Not "object not found" (pygit2 raises KeyError for a missing
# object, and a missing one is not damage) nor a revision that does not parse (user input).
_DAMAGE_WORDS = (
    "hash mismatch",
    "loose object",
    "disk object",
    "inflate",
    "data check",
    "header check",
    "corrupt",
    "truncated",
    "packfile",
    "stored block",
    "too far back",
    "invalid code",
)
_HEX_OID = "0123456789abcdef"


def unreadable_object(message: str) -> tuple[str | None, str] | None:
    """libgit2's message for an object it failed to read, as (the object's id if named, the
    reason); None if the message is about something other than damaged object bytes.

    pygit2 puts the id first (``<id>: <reason>``) when one object was asked for; a walk's
    message has none, but a hash mismatch names the id it expected. The caller checks that
    ``message`` is a ``pygit2.GitError``'s (this layer does not import pygit2)."""
    text = " ".join(message.split())
    oid: str | None = None
    head, sep, rest = text.partition(": ")
    if sep and len(head) == 40 and all(c in _HEX_OID for c in head):
        oid, text = head, rest
    lowered = text.lower()
    if "not found" in lowered or "ambiguous" in lowered:
        return None
    # With an id, pygit2 was reading that object, and whatever zlib said (it has many ways to
    # say a stream is bad) is the reason; without one, only damage's own words count.
    if oid is None and not any(w in lowered for w in _DAMAGE_WORDS):
        return None
    if oid is None and (at := lowered.find("expected ")) >= 0:
        named = lowered[at + 9 : at + 49]
        if len(named) == 40 and all(c in _HEX_OID for c in named):
            oid = named
    return oid, text
