"""The root of every error mindgit raises on purpose.

Each subsystem defines its own subclasses next to the code that raises them, carrying the data
that explains the failure. The CLI catches ``MindgitError`` once and prints ``str(error)`` as a
single line; anything else is a bug and is reported as such.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator, Sequence
from urllib.parse import unquote


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
    # Most texts are one line already: printable (so no whitespace but the ASCII space) with no
    # run of spaces to fold. Returned as they are, without a pass per character (`show` of
    # 50,000 thoughts spent ~0.5 s here).
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text
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
    return _cut_quote(value[:limit], limit, len(value))


def _cut_quote(cut: str, limit: int, length: int) -> str:
    """The start ``cut`` of a text of ``length`` characters, quoted in at most ``limit``
    characters (its quotes aside), and the length said."""
    while len(repr(cut)) > limit + 2:  # escapes (\x1b, \u202e) take up to 10 characters each
        cut = cut[:-1]
    return f"{cut!r}... ({length} characters)"


# A path a message names longer than this is cut ("File name too long: <5,000 characters>").
PATH_SHOWN_MAX = 160


def shown_path(name: object) -> str:
    """A path for a message, as typed, or by :func:`quoted` when longer than
    :data:`PATH_SHOWN_MAX`, empty, with outer blanks or with characters that do not print
    (bytes and path-likes as the file system spells them)."""
    text = os.fsdecode(name) if isinstance(name, str | bytes | os.PathLike) else str(name)
    if text.strip() != text or not text or not text.isprintable():
        # Quoted where it would not show as itself: `--store " "` read "error:   does not exist".
        return quoted(text, PATH_SHOWN_MAX)
    return text if len(text) <= PATH_SHOWN_MAX else quoted(text, PATH_SHOWN_MAX)


def shell_word(text: str) -> str:
    """``text`` as one word of a command a person copies into a shell, on one line:
    ``shlex.quote``'s, or bash's ``$'...'`` with escapes when it holds a character that does not
    print (a store path with a newline made the command a diagnostic names two lines, the
    first of them a command that names another path). Every hint or message that builds a
    command to run quotes its words (paths above all) with this."""
    if text.isprintable():
        return shlex.quote(text)
    out = []
    for c in text:
        if c in "\\'":
            out.append("\\" + c)
        elif c.isprintable():
            out.append(c)
        else:
            # Its bytes, each as \xHH: bash's $'\x85' is the byte 0x85 (not U+0085's two
            # bytes) and $'\u2028' is the character only in a UTF-8 locale (in C bash keeps
            # "\u2028" as typed). A byte that is not UTF-8, which os.fsdecode keeps as a
            # surrogate, is that byte again.
            raw = c.encode(
                "utf-8", "surrogateescape" if 0xDC80 <= ord(c) <= 0xDCFF else "surrogatepass"
            )
            out.extend(f"\\x{b:02x}" for b in raw)
    return "$'" + "".join(out) + "'"


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
        where = shell_word(store) if store else "<store>"
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


# ---- URLs in messages: credentials hidden, long ones cut ---------------------------------------


# A URL a message names is cut past this many characters (its start quoted, its length said),
# as errors.shown_path cuts a path: one set by hand in the store's config (`git config
# remote.x.url`) has no bound, and 100,000 characters made every error about the peer as long.
URL_SHOWN_MAX = 160
# git's words in a message: each run of characters with no space longer than WORD_SHOWN_MAX
# is cut (git quotes the URL, up to 4,096 characters of it, after the message has named it;
# a path git names is cut where errors.shown_path cuts one), then the whole past
# DETAIL_SHOWN_MAX.
WORD_SHOWN_MAX = URL_SHOWN_MAX
DETAIL_SHOWN_MAX = 300


# The userinfo of a URL with a scheme: everything between "://" and the last "@" before the
# path. It holds a password or a token (https://user:secret@host/, https://TOKEN@host/). The
# scp-like ssh form (user@host:path) cannot hold one, nor can ssh://user@host/ (ssh never takes
# a password from the URL): a login name alone is shown. A scheme is matched by its last 64
# characters at most: unbounded, a run of letters with no "://" after it was scanned to its end
# from each of its letters (a 100,000-letter URL, or git's error quoting a peer's words: minutes).
# What is hidden is the same: a longer scheme's first characters stay before the match, as is.
#
# Found in two steps, each at most once per "://": a scheme, then in the run after it (up to a
# "/", "?", "#" or space) its last "@". One pattern for both backtracked through the whole run
# from each of the 64 places a scheme may start: 0.4 s for a 63-letter scheme and 100,000
# characters with no "@".
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,63}://")
_AUTHORITY = re.compile(r"[^/?#\s]*")
SSH_SCHEMES = ("ssh://", "git+ssh://", "ssh+git://")
HIDDEN = "***"


def _secret(scheme: str, userinfo: str) -> bool:
    return ":" in userinfo or not scheme.lower().startswith(SSH_SCHEMES)


def shown_url(url: str) -> str:
    """``url`` as it may be shown or recorded: credentials in it replaced by ``***``.

    A peer's URL is named in every message about it (errors, ``remote list``, ``peers``, the
    state file, ``--json``), and a terminal or a log is no place for a password.
    """
    shown: list[str] = []
    done = 0  # what is in ``shown`` already
    for begin, scheme, userinfo, end in _userinfos(url):
        if _secret(scheme, userinfo):
            shown += [url[done:begin], scheme, HIDDEN, "@"]
            done = end + 1
    return "".join(shown) + url[done:]


def _userinfos(url: str) -> Iterator[tuple[int, str, str, int]]:
    """Each scheme with a userinfo after it: where the scheme begins, the scheme, the userinfo
    and where its "@" stands."""
    at = 0
    while (scheme := _SCHEME.search(url, at)) is not None:
        start = scheme.end()
        run = _AUTHORITY.match(url, start)
        end = url.rfind("@", start, run.end() if run is not None else start)
        if end < 0:
            at = start  # a scheme may begin in the run, but no "://" is in it: none is missed
            continue
        yield scheme.start(), scheme[0], url[start:end], end
        at = end + 1


# A scheme and a userinfo that a cut left without its end ('@'): hidden whole.
_UNFINISHED = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]{0,30}://)[^/?#\s]*\Z")


def cut_url(url: str) -> str:
    """``url`` past :data:`URL_SHOWN_MAX` characters, for a message: its start quoted as
    :func:`errors.quoted` quotes, its length said, its credentials hidden. Cut before they are
    looked for (a userinfo the cut leaves unfinished is hidden whole, so is a host cut short: a
    loss only of what was cut anyway): the search is bounded, but a 100,000-character URL is
    still searched several times over for each message."""
    cut = _UNFINISHED.sub(r"\g<scheme>***", shown_url(url[:URL_SHOWN_MAX]))
    return _cut_quote(cut, URL_SHOWN_MAX, len(url))


def message_url(url: str) -> str:
    """``url`` as a one-line message names it: as typed (credentials hidden) up to
    :data:`URL_SHOWN_MAX` characters, cut past that (:func:`cut_url`), as
    :func:`errors.shown_path` shows a path."""
    return shown_url(url) if len(url) <= URL_SHOWN_MAX else cut_url(url)


def cut_words(text: str, limit: int = DETAIL_SHOWN_MAX, *, word: int = WORD_SHOWN_MAX) -> str:
    """``text`` (git's words, a step's) with each run of characters with no space in it
    longer than ``word`` cut, its length said (git quotes a peer's URL up to 4,096 characters
    of it: ``unable to access '<url>'``), then the whole cut past ``limit`` characters. Hide
    credentials first: a cut may leave a userinfo without its '@'."""
    shown = re.sub(
        rf"\S{{{word + 1},}}", lambda m: f"{m[0][:word]}... ({len(m[0])} characters)", text
    )
    return shown if len(shown) <= limit else f"{shown[:limit]}... ({len(text)} characters)"


def said(detail: str, url: str) -> str:
    """git's words about ``url`` as an error shows them: credentials hidden, then cut
    (:func:`cut_words`)."""
    return cut_words(scrub(detail, url))


def scrub(text: str, url: str) -> str:
    """``text`` (ours, or git's words about ``url``) with ``url``'s credentials hidden.

    git names the host of a ``git://`` URL with its userinfo still on (``unable to look up
    user:secret@host``), without the scheme the pattern keys on: the userinfo of ``url``
    itself, as typed and percent-decoded, is hidden wherever it stands before an ``@``.
    """
    secrets = {info for _, scheme, info, _ in _userinfos(url) if info and _secret(scheme, info)}
    secrets |= {unquote(s) for s in secrets}
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret + "@", HIDDEN + "@")
    return shown_url(text)
