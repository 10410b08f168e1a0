"""History blocks: a rebuilt commit gives back the history block it was rebuilt from."""

from __future__ import annotations

import pygit2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mindgit.adapters.car_history import portable_message, split_trailers
from mindgit.store import layout
from mindgit.store.repository import EmptyCommitMessage, Store
from mindgit.store.state import State

messages = st.text(alphabet="ab :-\tKé\n", max_size=60)
trailer_keys = st.from_regex(r"[A-Z][a-z0-9-]{0,8}", fullmatch=True)
trailer_values = st.from_regex(r"[a-z0-9][a-z0-9 :]{0,10}[a-z0-9]", fullmatch=True)


def message_of(store: Store, commit: str) -> str:
    obj = store.repo[commit].peel(pygit2.Commit)
    return obj.message


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(messages, st.dictionaries(trailer_keys, trailer_values, max_size=3))
def test_a_rebuilt_commit_has_the_same_portable_message(
    store: Store, message: str, trailers: dict[str, str]
) -> None:
    tree, manifest = layout.write_state(store.repo, State(), {})
    if not message.strip():
        # Under no text, the trailers were read as the message (no history block has one).
        with pytest.raises(EmptyCommitMessage):
            store.write_commit(tree, [], message, manifest.cid, trailers)
        return
    original = message_of(store, store.write_commit(tree, [], message, manifest.cid, trailers))
    portable = portable_message(original)
    assert "Mindgit-State" not in portable.rsplit("\n\n", 1)[-1]
    body, parsed = split_trailers(portable)
    rebuilt = message_of(store, store.write_commit(tree, [], body, manifest.cid, parsed))
    assert portable_message(rebuilt) == portable
    if message.strip() and "\n\n" not in message.strip() and ":" not in message:
        # A one-paragraph message with trailers, as mindgit writes: rebuilt byte for byte.
        assert rebuilt == original


def test_portable_message_keeps_other_trailers_and_text() -> None:
    assert portable_message("think: x\n\nMindgit-State: bafy\n") == "think: x"
    assert portable_message("a\n\nRun: 1\nMindgit-State: b\n") == "a\n\nRun: 1"
    assert portable_message("Mindgit-State: only\n") == ""
    # Only the trailer paragraph is touched.
    assert (
        portable_message("Mindgit-State: in the body\n\nok") == "Mindgit-State: in the body\n\nok"
    )


def test_split_trailers_needs_a_body_and_well_formed_lines() -> None:
    assert split_trailers("a\n\nRun: 1\nFit: 2") == ("a", {"Run": "1", "Fit": "2"})
    assert split_trailers("Run: 1") == ("Run: 1", {})
    assert split_trailers("a\n\nnot a trailer") == ("a\n\nnot a trailer", {})
    assert split_trailers("a\n\nRun: 1\nRun: 2") == ("a\n\nRun: 1\nRun: 2", {})
