"""The ``message`` thought schema (store/agent_schema.py), as ``mindgit verify`` applies it."""

from __future__ import annotations

from typing import Any

import pytest

from mindgit.store.state import Block, SchemaError, check_thought


def test_a_message_thought_passes() -> None:
    nodes: list[Any] = [
        {"message": {"role": "user"}, "type": "message"},
        {"fix": {"floats": [["t"]]}, "message": {"t": 1.0}, "type": "message"},
    ]
    for node in nodes:
        block = Block.encode(node)
        assert check_thought(block.cid, block.data) == node


@pytest.mark.parametrize(
    ("node", "problem"),
    [
        ({"type": "message"}, "exactly 'message' and 'type'"),
        ({"message": {}, "type": "message", "text": "x"}, "exactly 'message' and 'type'"),
        ({"message": "hi", "type": "message"}, "'message' is a map"),
        ({"fix": {}, "message": {}, "type": "message"}, "non-empty map"),
        ({"fix": {"floats": []}, "message": {}, "type": "message"}, "non-empty list of paths"),
        ({"fix": {"raw": [["a", -1]]}, "message": {}, "type": "message"}, "map keys and list"),
        ({"fix": {"raw": [[True]]}, "message": {}, "type": "message"}, "map keys and list"),
        ({"fix": {"keys": [[["a"]]]}, "message": {}, "type": "message"}, "[path, text] pairs"),
        ({"fix": {"keys": []}, "message": {}, "type": "message"}, "[path, text] pairs"),
        ({"fix": {"other": [1]}, "message": {}, "type": "message"}, "non-empty map"),
    ],
)
def test_malformed_message_thoughts_are_refused(node: dict[str, Any], problem: str) -> None:
    block = Block.encode(node)
    with pytest.raises(SchemaError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        check_thought(block.cid, block.data)
