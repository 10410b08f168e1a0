"""The schema of ``message`` thoughts: one message of an imported agent's conversation.

An agent file (``mindgit.adapters.agentfile``) keeps each message of an agent as a thought::

    {"message": {<the message, as JSON>}, "type": "message"}

plus, only when the message holds JSON that canonical DAG-JSON cannot spell exactly, a ``"fix"``
record saying how to get the exact JSON back (see :func:`check_fix`). The order of the messages
is not part of a thought (thoughts are a set); the adapter keeps it in a data block.
"""

from __future__ import annotations

from typing import Any

from mindgit.store.state import SchemaError

FIX_KEYS = frozenset({"floats", "raw", "keys"})
MESSAGE_KEYS = frozenset({"type", "message"})


def check_message(where: str, node: dict[str, Any]) -> None:
    """A message thought: exactly ``type`` and a ``message`` map, and an optional ``fix``."""
    keys = set(node)
    if not MESSAGE_KEYS <= keys <= MESSAGE_KEYS | {"fix"}:
        raise SchemaError(where, "a message has exactly 'message' and 'type', and maybe 'fix'")
    if not isinstance(node["message"], dict):
        raise SchemaError(where, "a message's 'message' is a map")
    if "fix" in node:
        check_fix(where, node["fix"])


def check_fix(where: str, fix: object) -> None:
    """A fix record: how to turn a stored DAG-JSON node back into the exact JSON it came from.

    ``{"floats": [path, ...], "keys": [[path, text], ...], "raw": [path, ...]}``, each list
    present only when non-empty; a path is a list of map keys (strings) and list indexes (ints).
    """
    if not isinstance(fix, dict) or not fix or not set(fix) <= FIX_KEYS:
        raise SchemaError(where, "a fix record is a non-empty map of 'floats', 'keys' and 'raw'")
    for name in ("floats", "raw"):
        paths = fix.get(name, [None])
        if not isinstance(paths, list) or not paths:
            raise SchemaError(where, f"fix '{name}' is a non-empty list of paths")
        if name in fix:
            for path in paths:
                _check_path(where, path)
    entries = fix.get("keys", [None])
    if not isinstance(entries, list) or not entries:
        raise SchemaError(where, "fix 'keys' is a non-empty list of [path, text] pairs")
    if "keys" in fix:
        for entry in entries:
            if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], str)):
                raise SchemaError(where, "fix 'keys' is a list of [path, text] pairs")
            _check_path(where, entry[0])


def _check_path(where: str, path: object) -> None:
    if not isinstance(path, list) or not all(
        isinstance(step, str) or (type(step) is int and step >= 0) for step in path
    ):
        raise SchemaError(where, "a fix path is a list of map keys and list indexes")
