"""The store settings a user may change (`mindgit config set KEY VALUE`), each with its check.

Settings live in the store's git config under ``mindgit.``. Identity (``name``, ``keyfile``) and
git's own keys are not settings: changing them by hand could leave the node unable to sign.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mindgit.errors import MindgitError

_SIZE = re.compile(r"[0-9]+([kKmMgG](i?[bB])?)?")


class BadSetting(MindgitError):
    def __init__(self, key: str, problem: str) -> None:
        super().__init__(
            f"setting {key!r}: {problem}", hint="`mindgit config --help` lists the settings"
        )
        self.key = key


def _text(value: str) -> str | None:
    return None if value.strip() and "\n" not in value else "must be one non-empty line"


def _bool(value: str) -> str | None:
    return None if value in ("true", "false") else "must be true or false"


def _count(value: str) -> str | None:
    return (
        None
        if value.isascii() and value.isdigit() and int(value) > 0
        else "must be a positive integer"
    )


def _size(value: str) -> str | None:
    return None if _SIZE.fullmatch(value) else "must be a size such as 134217728, 128M or 64k"


SETTINGS: dict[str, tuple[Callable[[str], str | None], str]] = {
    "fitness": (_text, "default fitness module for merge (a name, CID or path)"),
    "minimize": (_bool, "lower scores are fitter (merge, when no run says)"),
    "fuel": (_count, "fuel per fitness evaluation"),
    "memory": (_size, "memory cap of a fitness module"),
    "stack": (_size, "wasm stack of a fitness module"),
    "table": (_count, "table elements of a fitness module"),
    "synctimeout": (_count, "seconds a peer may take to answer"),
    "maxfetch": (_size, "most one pull may bring (default 1G)"),
    "allowRewind": (_bool, "server hook: accept rewinds"),
    "allowDelete": (_bool, "server hook: accept ref deletions"),
    "maxObjectBytes": (_size, "server hook: largest object accepted"),
}
_BY_LOWER = {k.lower(): k for k in SETTINGS}


def setting_key(key: str) -> str:
    """The git config key of a setting (``fuel`` or ``mindgit.fuel`` -> ``mindgit.fuel``)."""
    name = key.removeprefix("mindgit.")
    canonical = _BY_LOWER.get(name.lower())
    if canonical is None:
        raise BadSetting(key, f"unknown; the settings are {', '.join(SETTINGS)}")
    return f"mindgit.{canonical}"


def check_setting(key: str, value: str) -> str:
    """The config key for ``key``, once ``value`` is checked to suit it."""
    full = setting_key(key)
    problem = SETTINGS[full.removeprefix("mindgit.")][0](value)
    if problem is not None:
        raise BadSetting(key, f"{value!r} {problem}")
    return full
