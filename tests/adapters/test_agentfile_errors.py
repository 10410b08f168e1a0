"""Bad agent files: each gets its own one-line error and leaves refs and objects untouched."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from mindgit.adapters.agentfile import (
    MAX_FILE_BYTES,
    AgentFileError,
    ExportConflict,
    FileTooLarge,
    MessageTooLarge,
    NotAnImportedAgent,
    export_af,
    import_af,
)
from mindgit.adapters.agentfile import BadExperimentName as BadName
from mindgit.adapters.agentfile_format import (
    BlockWithoutLabel,
    DanglingReference,
    DuplicateLabel,
    NotAnAgentFile,
    UnknownFormatVersion,
)
from mindgit.adapters.agentfile_json import CorruptAgentState, NotJson
from mindgit.store.repository import Store
from mindgit.store.state import MAX_THOUGHT_BYTES, Block
from tests.adapters.test_agentfile_builders import AGENT_FILES, fingerprint


def v2(*agents: dict[str, Any], blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"agents": list(agents), "blocks": blocks or [], "tools": []}


def v1(**fields: Any) -> dict[str, Any]:
    return {"version": "0.6.47", "name": "a", "core_memory": [], "messages": [], **fields}


HUMAN = {"id": "block-0", "label": "human", "value": "x"}
CASES: list[tuple[str, Any, type[AgentFileError], str]] = [
    ("not json", b"hello world", NotJson, "not JSON"),
    ("not utf-8", b'{"agents": "\xff"}', NotJson, "not UTF-8"),
    ("nan", b'{"agents": [], "x": NaN}', NotJson, "NaN"),
    ("a list", [1, 2], NotAnAgentFile, "a JSON list"),
    ("a string", json.dumps("just text"), NotAnAgentFile, "a string"),
    ("another format", {"name": "x", "model": "y"}, NotAnAgentFile, "no 'agents'"),
    ("no agents", v2(), NotAnAgentFile, "non-empty list"),
    ("agents not objects", {"agents": [1]}, NotAnAgentFile, "list of objects"),
    ("messages not a list", v2({"messages": "hi"}), NotAnAgentFile, "'messages'"),
    ("v2 with a version", {**v2({"name": "a"}), "version": "2"}, UnknownFormatVersion, "'2'"),
    ("v1 from the future", v1(version="3.1.0"), UnknownFormatVersion, "'3.1.0'"),
    ("v1 without version", {"core_memory": [], "name": "a"}, UnknownFormatVersion, "None"),
    (
        "block without label",
        v2({"block_ids": ["block-0"]}, blocks=[{"id": "block-0", "value": "x"}]),
        BlockWithoutLabel,
        "block #1 (id block-0) has no label",
    ),
    (
        "empty label",
        v1(core_memory=[{"label": "", "value": "x"}]),
        BlockWithoutLabel,
        "core_memory block #1",
    ),
    (
        "duplicate labels",
        v2({"block_ids": ["block-0", "block-1"]}, blocks=[HUMAN, {**HUMAN, "id": "block-1"}]),
        DuplicateLabel,
        "'human'",
    ),
    (
        "duplicate labels v1",
        v1(core_memory=[{"label": "human", "value": "a"}, {"label": "human", "value": "b"}]),
        DuplicateLabel,
        "'human'",
    ),
    ("dangling block", v2({"block_ids": ["block-9"]}), DanglingReference, "'block-9'"),
    ("repeated block id", v2({}, blocks=[HUMAN, HUMAN]), DanglingReference, "repeated 'id'"),
]


@pytest.mark.parametrize(("what", "content", "error", "text"), CASES, ids=[c[0] for c in CASES])
def test_bad_files_are_refused_and_nothing_is_written(
    store: Store, tmp_path: Path, what: str, content: Any, error: type[Exception], text: str
) -> None:
    path = tmp_path / "bad.af"
    path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    before = fingerprint(store)
    with pytest.raises(error) as caught:
        import_af(store, path, name="x")
    message = str(caught.value)
    assert text in message and "\n" not in message and message.startswith(str(path))
    assert fingerprint(store) == before


def test_a_huge_file_is_refused_before_it_is_read(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "huge.af"
    with path.open("wb") as f:  # sparse: the size is there, the bytes are not
        f.truncate(MAX_FILE_BYTES + 1)
    before = fingerprint(store)
    with pytest.raises(FileTooLarge) as caught:
        import_af(store, path)
    assert caught.value.size == MAX_FILE_BYTES + 1 and "67108864 byte limit" in str(caught.value)
    assert fingerprint(store) == before


def test_a_huge_stream_is_cut_at_the_limit(store: Store) -> None:
    class Counting(io.BytesIO):
        asked = 0

        def read(self, n: int | None = -1) -> bytes:
            Counting.asked = n if n is not None else -1
            return super().read(n)

    stream = Counting(b"[" + b"0," * 5000 + b"0]")
    with pytest.raises(FileTooLarge):
        import_af(store, stream, limit=1000)
    assert Counting.asked == 1001  # never more than the limit and one byte


def test_a_message_too_large_for_a_thought(store: Store, tmp_path: Path) -> None:
    big = {"role": "user", "content": [{"type": "text", "text": "x" * MAX_THOUGHT_BYTES}]}
    path = tmp_path / "big.af"
    path.write_text(json.dumps(v2({"name": "a", "messages": [{"role": "user"}, big]})))
    before = fingerprint(store)
    with pytest.raises(MessageTooLarge, match="message #2"):
        import_af(store, path)
    assert fingerprint(store) == before


def test_experiment_names_that_are_taken_or_unusable(store: Store) -> None:
    path = AGENT_FILES / "memgpt_agent.af"
    import_af(store, path, name="memgpt")
    store.fork("team/a", switch=False)
    before = fingerprint(store)
    for name, text in [
        ("memgpt", "already exists"),
        ("main", "already exists"),
        ("team", "clashes with team/a"),
        ("bad..name", "experiment name"),
        ("-x", "experiment name"),
    ]:
        with pytest.raises(BadName, match=text):
            import_af(store, path, name=name)
    # Two agents, the second name taken: neither is created.
    store.fork("evie-2", switch=False)
    before = fingerprint(store)
    with pytest.raises(BadName, match="'evie-2' already exists"):
        import_af(store, AGENT_FILES / "evie.af", name="evie")
    assert fingerprint(store) == before
    assert "evie-1" not in store.experiments()


def test_a_held_ref_lock_stops_the_import_before_writing(store: Store) -> None:
    lock = store.path / "refs" / "heads" / "x.lock"
    lock.write_text("")
    before = fingerprint(store)
    with pytest.raises(BadName, match="lock file"):
        import_af(store, AGENT_FILES / "memgpt_agent.af", name="x")
    assert fingerprint(store) == before


def test_unreadable_path(store: Store, tmp_path: Path) -> None:
    with pytest.raises(AgentFileError, match="cannot read it"):
        import_af(store, tmp_path / "missing.af")


def test_exporting_what_is_not_an_agent(store: Store, tmp_path: Path) -> None:
    with pytest.raises(NotAnImportedAgent, match="main holds no imported agent"):
        export_af(store, "main", tmp_path / "x.af")
    assert not (tmp_path / "x.af").exists()


def test_exporting_agents_that_do_not_fit_one_file(store: Store, tmp_path: Path) -> None:
    import_af(store, AGENT_FILES / "letta-0.6_memgpt_agent.af", name="old")
    import_af(store, AGENT_FILES / "memgpt_agent.af", name="new")
    import_af(store, AGENT_FILES / "memgpt_agent.af", name="new2")
    for revs, text in [
        (["old", "new"], "some are Letta 0.x"),
        (["old", "old"], "holds one agent"),
        (["new", "new2"], "same agent id"),
        ([], "no agents"),
    ]:
        with pytest.raises(ExportConflict, match=text):
            export_af(store, revs, tmp_path / "x.af")
    assert not (tmp_path / "x.af").exists()


def test_a_tampered_agent_block_is_named(store: Store, tmp_path: Path) -> None:
    import_af(store, AGENT_FILES / "memgpt_agent.af", name="m")
    bad = Block.encode({"json": {"name": "m"}, "fix": {"floats": [["nowhere"]]}})
    data = dict(store.state("m").data)
    data["af.agent"] = bad.cid
    store.update(lambda s: (s.with_data(data), {bad.cid: bad.data}), "tamper", experiment="m")
    with pytest.raises(CorruptAgentState, match=r"m af\.agent"):
        export_af(store, "m", tmp_path / "x.af")
