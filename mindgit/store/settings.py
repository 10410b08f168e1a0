"""The store settings a user may change (`mindgit config set KEY VALUE`), each with its check.

Settings live in the store's git config under ``mindgit.``. Identity (``name``, ``keyfile``) and
git's own keys are not settings: changing them by hand could leave the node unable to sign.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mindgit.errors import UsageError, quoted
from mindgit.sandbox.limits import (
    MAX_FUEL,
    MAX_MEMORY_BYTES,
    MAX_STACK_BYTES,
    MAX_TABLE_ELEMENTS,
)

# Re-exported: the settings' error and reader live in store.config, which imports no sandbox.
from mindgit.store.config import BadConfigValue as BadConfigValue
from mindgit.store.config import NoValue as NoValue
from mindgit.store.config import config_reader as config_reader

_SIZE = re.compile(r"([0-9]+)\s*([kmg]i?b?)?", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
# A peer's git runs under a timeout that ends up in poll(), in milliseconds held in a C int:
# a longer one is an OverflowError when the first push waits on it.
MAX_SYNC_TIMEOUT = (2**31 - 1) // 1000
# The most digits a size may have (leading zeros aside): as many as int() reads.
SIZE_DIGITS_MAX = 4300

# A key typed is quoted cut past this (twice the longest setting's key, mindgit.maxObjectBytes):
# an unknown one is followed by the list of the settings, and the line must stay one to read.
KEY_SHOWN_MAX = 44

Check = Callable[[str], str | None]


class BadSetting(UsageError):
    """A setting named or valued wrongly on the command line (``config get``/``config set``): a
    usage error, exit 2. A bad value met later in a store's config is its consumer's error."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(
            f"setting {quoted(key, KEY_SHOWN_MAX)}: {problem}",
            hint="`mindgit config --help` lists the settings",
        )
        self.key = key


def _text(value: str) -> str | None:
    # A control character (a carriage return, an escape code) is as wrong as a newline: the
    # value is echoed to terminals and names a module, a CID or a path.
    if value.strip() and value.isprintable():
        return None
    return "must be one non-empty line of printable characters"


def _bool(value: str) -> str | None:
    return None if value in ("true", "false") else "must be true or false"


def _count(most: int) -> Check:
    def check(value: str) -> str | None:
        digits = value.lstrip("0")
        if not (value.isascii() and value.isdigit() and digits):
            return "must be a positive integer"
        # Counted before read: int() refuses over 4,300 digits (an internal error, exit 3).
        if len(digits) > len(str(most)) or int(digits) > most:
            return f"is over the limit of {most}"
        return None

    return check


def size_bytes(text: str) -> int | None:
    """``134217728``, ``128M``, ``128MiB``, ``64k`` as bytes (powers of 1024); None if ``text``
    is no size, or one of more digits than :data:`SIZE_DIGITS_MAX` (see :func:`too_long`).
    The one reading of a size: settings checked here read the same where used."""
    m = _SIZE.fullmatch(text.strip())
    if m is None or too_long(text):
        return None
    return int(m.group(1).lstrip("0") or "0") * _UNITS[(m.group(2) or "")[:1].lower()]


def too_long(text: str) -> bool:
    """A size of more digits (leading zeros aside) than int() reads: it said "Exceeds the limit
    (4300 digits)", an internal error (exit 3), for `config set memory <5,000 digits>`."""
    m = _SIZE.fullmatch(text.strip())
    return m is not None and len(m.group(1).lstrip("0")) > SIZE_DIGITS_MAX


def _size(most: int | None) -> Check:
    def check(value: str) -> str | None:
        if too_long(value):
            if most is not None:
                return f"is over the limit of {most} bytes ({_human(most)})"
            return f"is over {SIZE_DIGITS_MAX} digits long, more than any size mindgit reads"
        size = size_bytes(value)
        if size is None:
            return "must be a size such as 134217728, 128M or 64k"
        if size <= 0:
            return "must be a positive size"
        if most is not None and size > most:
            return f"is over the limit of {most} bytes ({_human(most)})"
        return None

    return check


def _human(size: int) -> str:
    for unit, factor in (("G", 1 << 30), ("M", 1 << 20), ("k", 1 << 10)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


# maxfetch and maxObjectBytes have no upper bound: their consumers only compare sizes to them.
SETTINGS: dict[str, tuple[Check, str]] = {
    "fitness": (_text, "default fitness module for merge (a name, CID or path)"),
    "minimize": (_bool, "lower scores are fitter (merge, when no run says)"),
    "fuel": (_count(MAX_FUEL), "fuel per fitness evaluation"),
    "memory": (_size(MAX_MEMORY_BYTES), "memory cap of a fitness module"),
    "stack": (_size(MAX_STACK_BYTES), "wasm stack of a fitness module"),
    "table": (_count(MAX_TABLE_ELEMENTS), "table elements of a fitness module"),
    "synctimeout": (_count(MAX_SYNC_TIMEOUT), "seconds a peer may take to answer"),
    "maxfetch": (_size(None), "most one pull may bring (default 1G)"),
    "allowRewind": (_bool, "server hook: accept rewinds"),
    "allowDelete": (_bool, "server hook: accept ref deletions"),
    "maxObjectBytes": (_size(None), "server hook: largest object accepted"),
}
_BY_LOWER = {k.lower(): k for k in SETTINGS}


def setting_key(key: str) -> str:
    """The git config key of a setting (``fuel`` or ``mindgit.fuel`` -> ``mindgit.fuel``)."""
    # git's section names are case-insensitive as its keys are: MINDGIT.fuel is mindgit.fuel.
    section, dot, name = key.partition(".")
    if not dot or section.lower() != "mindgit":
        name = key
    canonical = _BY_LOWER.get(name.lower())
    if canonical is None:
        raise BadSetting(key, f"unknown; the settings are {', '.join(SETTINGS)}")
    return f"mindgit.{canonical}"


def check_setting(key: str, value: str) -> str:
    """The config key for ``key``, once ``value`` is checked to suit it."""
    full = setting_key(key)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # Bytes that are not UTF-8 reach Python as lone surrogates, which git's config cannot hold.
        raise BadSetting(key, f"{quoted(value)} is not UTF-8 text") from None
    problem = SETTINGS[full.removeprefix("mindgit.")][0](value)
    if problem is not None:
        raise BadSetting(key, f"{quoted(value)} {problem}")
    return full


def read_setting(get: Callable[[str], str | None], name: str) -> str | None:
    """Setting ``name`` as ``get`` (a config lookup by full key) finds it, checked as `config set`
    checks it (``BadConfigValue`` if it would refuse it), or None if it is not set. A key written
    with no value (:class:`NoValue`) is "true" for a boolean setting, as git reads it, and
    ``BadConfigValue`` for any other."""
    key = f"mindgit.{name}"
    raw = get(key)
    if raw is None:
        return None
    check = SETTINGS[name][0]
    if isinstance(raw, NoValue):
        if check is _bool:
            return "true"
        raise BadConfigValue(key, raw, f"has no value; it {check('') or 'needs one'}")
    problem = check(raw)
    if problem is not None:
        raise BadConfigValue(key, raw, problem)
    return raw


def read_size(get: Callable[[str], str | None], name: str) -> int | None:
    """A size or count setting (``memory``, ``maxfetch``, ``fuel``...) as a number, read as
    :func:`read_setting` reads it (a size in bytes; a count's digits read alike)."""
    raw = read_setting(get, name)
    if raw is None:
        return None
    size = size_bytes(raw)
    assert size is not None  # the setting's check read it as a size
    return size
