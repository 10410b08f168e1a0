"""Bad agent files: each gets its own one-line error and leaves refs and objects untouched."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from mindgit.adapters import agentfile
from mindgit.adapters.agentfile import (
    MAX_BLOCK_BYTES,
    MAX_FILE_BYTES,
    AgentFileError,
    CannotWrite,
    ExportConflict,
    FileTooLarge,
    MessageTooLarge,
    NotAnImportedAgent,
    PartTooLarge,
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
from mindgit.store import layout
from mindgit.store.repository import Store
from mindgit.store.state import MAX_THOUGHT_BYTES, Block
from mindgit.store.verify import MAX_BLOB_BYTES, verify_commits
from tests.adapters.test_agentfile_builders import AGENT_FILES, fingerprint
from tests.conftest import Mg


def v2(*agents: dict[str, Any], blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"agents": list(agents), "blocks": blocks or [], "tools": []}


def v1(**fields: Any) -> dict[str, Any]:
    return {"version": "0.6.47", "name": "a", "core_memory": [], "messages": [], **fields}


HUMAN = {"id": "block-0", "label": "human", "value": "x"}
CASES: list[tuple[str, Any, type[AgentFileError], str]] = [
    ("not json", b"hello world", NotJson, "not JSON"),
    ("not utf-8", b'{"agents": "\xff"}', NotJson, "not UTF-8"),
    ("nan", b'{"agents": [], "x": NaN}', NotJson, "NaN"),
    ("a list", [1, 2], NotAnAgentFile, "the document is a list, not an object"),
    ("null", None, NotAnAgentFile, "the document is null, not an object"),
    ("a number", 3, NotAnAgentFile, "the document is a number, not an object"),
    ("a float", 0.5, NotAnAgentFile, "the document is a number, not an object"),
    ("a boolean", True, NotAnAgentFile, "the document is a boolean, not an object"),
    ("a string", json.dumps("just text"), NotAnAgentFile, "a string"),
    (
        "encoded four times",
        json.dumps(json.dumps(json.dumps(json.dumps(v2({"name": "a"}))))),
        NotAnAgentFile,
        "the document is a JSON string of JSON still, encoded more times than the two mindgit "
        "unwraps, not an object",
    ),
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
        "a label that is a number",
        v2({"block_ids": ["block-0"]}, blocks=[{"id": "block-0", "label": 5, "value": "x"}]),
        BlockWithoutLabel,
        "block #1 (id block-0) has a label that is no text",
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
    (
        "one block named twice",
        v2({"block_ids": ["block-0", "block-0"]}, blocks=[HUMAN]),
        DanglingReference,
        "agent #1 names block 'block-0' twice in 'block_ids'",
    ),
    (
        "repeated block id",
        v2({}, blocks=[HUMAN, HUMAN]),
        DanglingReference,
        "block #2 repeats the id 'block-0'",
    ),
    (
        "repeated agent id",
        v2({"id": "agent-0", "name": "a"}, {"id": "agent-0", "name": "b"}),
        DanglingReference,
        "agent #2 repeats the id 'agent-0'",
    ),
    ("repeated agent id, a number", v2({"id": 7}, {"id": 7}), DanglingReference, "the id 7"),
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
    assert caught.value.size == MAX_FILE_BYTES + 1
    # The size a path's stat gave, exactly (it was "over 67108865 bytes is above the ... limit").
    said = f"{path}: 67108865 bytes, over the 67108864-byte limit; nothing was imported"
    assert str(caught.value) == said
    assert fingerprint(store) == before


def test_a_huge_stream_is_cut_at_the_limit(store: Store) -> None:
    class Counting(io.BytesIO):
        asked = 0

        def read(self, n: int | None = -1) -> bytes:
            Counting.asked = n if n is not None else -1
            return super().read(n)

    stream = Counting(b"[" + b"0," * 5000 + b"0]")
    with pytest.raises(FileTooLarge) as caught:
        import_af(store, stream, limit=1000)
    # Read no further than the limit and one byte: how much more there was is not known.
    assert str(caught.value) == "<stream>: more than the 1000-byte limit; nothing was imported"
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
    import_af(store, AGENT_FILES / "outreach_workflow_agent.af", name="other")
    for revs, text in [
        (["new", "other"], "new and other have the same agent id 'agent-0' .*of two files"),
        (["old", "new"], "some are Letta 0.x"),
        (["old", "old"], "holds one agent"),
        (["new", "new2"], "new and new2 have the same agent id 'agent-0'"),
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


def test_a_part_larger_than_a_store_takes_is_refused(store: Store, tmp_path: Path) -> None:
    # verify (here and at every peer) refuses a block over MAX_BLOB_BYTES: an import that wrote
    # one would make a state no one accepts.
    assert MAX_BLOCK_BYTES == MAX_BLOB_BYTES
    big = "x" * (MAX_BLOB_BYTES + 1)
    before = fingerprint(store)
    for content, part in [
        (v2({"block_ids": ["block-0"]}, blocks=[{**HUMAN, "value": big}]), "memory block 'human'"),
        (v2({"name": "a", "system": big}), "agent 'a' object"),
        (v2({"tool_ids": ["t"]}) | {"tools": [{"id": "t", "source_code": big}]}, "tools, af.tools"),
        (v2({}) | {"files": [{"content": big}]}, "the file's own part"),
    ]:
        path = tmp_path / "big.af"
        path.write_text(json.dumps(content))
        with pytest.raises(PartTooLarge) as caught:
            import_af(store, path, name="big")
        assert part in str(caught.value) and "16777216 byte limit" in str(caught.value)
        assert caught.value.size > MAX_BLOB_BYTES and "\n" not in str(caught.value)
        assert fingerprint(store) == before


def test_a_manifest_larger_than_a_store_takes_is_refused(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At the real limit this takes ~240,000 messages (minutes to plan); the check is the same.
    messages = [{"role": "user", "n": n} for n in range(300)]
    path = tmp_path / "many.af"
    path.write_text(json.dumps(v2({"name": "a", "messages": messages})))
    import_af(store, path, name="fits")
    size = len(store.repo.revparse_single("fits:manifest.json").read_raw())
    monkeypatch.setattr(agentfile, "MAX_BLOCK_BYTES", size - 1)
    before = fingerprint(store)
    with pytest.raises(PartTooLarge, match=r"agent 'a' (manifest|message order)") as caught:
        import_af(store, path, name="x")
    assert caught.value.limit == size - 1
    assert fingerprint(store) == before


def test_agent_ids_that_differ_as_json_export_together(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "ids.af"
    path.write_text(json.dumps(v2({"id": 5, "name": "a"}, {"id": "5", "name": "b"})))
    agents = import_af(store, path, name="ids")
    out = tmp_path / "out.af"
    export_af(store, [a.experiment for a in agents], out)
    assert out.read_bytes() == path.read_bytes()


BAD_FOR_CLI: list[tuple[str, bytes, str]] = [
    ("not json", b"hello", "not JSON"),
    ("truncated", (AGENT_FILES / "memgpt_agent_with_convo.af").read_bytes()[:5000], "not JSON"),
    ("a byte-order mark and nothing", b"\xef\xbb\xbf", "not JSON"),
    ("UTF-16", json.dumps(v2({"name": "a"})).encode("utf-16"), "not UTF-8 at byte 0"),
    ("invalid UTF-8", b'{"agents": [{"name": "\xc3"}]}', "not UTF-8 at byte 22"),
    ("not an agent file", b'{"name": "a"}', "not a Letta agent file"),
    ("ids collide", json.dumps(v2({"id": "a"}, {"id": "a"})).encode(), "repeats the id"),
    ("block_ids a string", json.dumps(v2({"block_ids": "block-0"})).encode(), "'block_ids'"),
    ("blocks a map", json.dumps({"agents": [{}], "blocks": {}}).encode(), "'blocks' is not a list"),
    (
        "label a number",
        json.dumps(v2({}, blocks=[{"id": "b", "label": 3}])).encode(),
        "has a label that is no text",
    ),
]


@pytest.mark.parametrize(("what", "data", "text"), BAD_FOR_CLI, ids=[c[0] for c in BAD_FOR_CLI])
def test_the_cli_refuses_bad_files_in_one_line_and_writes_nothing(
    store: Store, tmp_path: Path, mg: Mg, what: str, data: bytes, text: str
) -> None:
    path = tmp_path / "bad.af"
    path.write_bytes(data)
    before = fingerprint(store)
    r = mg("--store", str(store.path), "import-af", str(path), "--as", "x")
    assert r.code == 1 and r.out == ""
    assert r.err.startswith(f"mindgit: error: {path}: ") and text in r.err
    assert r.err.count("\n") == 1 and "Traceback" not in r.err
    r = mg("--store", str(store.path), "import-af", str(path), "--as", "x", "--json")
    assert r.code == 1 and r.err.count("\n") == 1
    error = json.loads(r.out)
    assert text in error["error"] and "\n" not in error["error"]
    assert fingerprint(store) == before
    assert verify_commits(store.repo, store.trust, [store.head("main")]).ok


def test_the_cli_export_of_a_state_that_is_no_agent_writes_nothing(
    store: Store, tmp_path: Path, mg: Mg
) -> None:
    out = tmp_path / "out.af"
    r = mg("--store", str(store.path), "export-af", "main", "-o", str(out))
    assert r.code == 1 and r.err.count("\n") == 1 and "holds no imported agent" in r.err
    assert not out.exists() and list(tmp_path.glob(".out.af*")) == []
    # af-info says the same, with a hint that fits it too (it told of exporting).
    r = mg("--store", str(store.path), "af-info", "main")
    assert r.code == 1 and r.err.count("\n") == 1 and "main holds no imported agent" in r.err
    assert "agents to export or describe" in r.err
    # Without REV, the experiment is named, not its head's commit id.
    for args in (("-e", "main"), ()):
        r = mg("--store", str(store.path), "af-info", *args)
        assert r.code == 1 and "error: experiment main holds no imported agent" in r.err


def test_an_export_where_nothing_can_be_written(store: Store, tmp_path: Path, mg: Mg) -> None:
    import_af(store, AGENT_FILES / "memgpt_agent.af", name="m")
    target = tmp_path / "missing" / "out.af"
    with pytest.raises(CannotWrite) as caught:
        export_af(store, "m", target)
    assert str(caught.value).startswith(f"cannot write {target} (No such file or directory)")
    r = mg("--store", str(store.path), "export-af", "m", "-o", str(target))
    assert r.code == 1 and r.err.count("\n") == 1 and f"cannot write {target}" in r.err
    (tmp_path / "file").write_text("")
    with pytest.raises(CannotWrite, match="Not a directory"):
        export_af(store, "m", tmp_path / "file" / "out.af")
    assert not target.parent.exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "alpha",
        "file",
    ]


def test_a_message_order_too_large_is_refused_from_the_count(store: Store, tmp_path: Path) -> None:
    # ~250,000 tiny messages: a 3 MB file whose order block would pass 16 MiB. The count says
    # so before any message is encoded (encoding them all first took ~14 s).
    count = MAX_BLOB_BYTES // 68 + 1
    path = tmp_path / "many.af"
    path.write_text(json.dumps(v2({"name": "a", "messages": [{"n": n} for n in range(count)]})))
    before = fingerprint(store)
    with pytest.raises(PartTooLarge, match=rf"message order, af\.messages, \({count} messages\)"):
        import_af(store, path, name="x")
    assert fingerprint(store) == before


def test_the_order_block_size_is_known_from_the_count(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages = [{"role": "user", "n": n} for n in range(300)] + [{"role": "user", "n": 0}]
    path = tmp_path / "some.af"
    path.write_text(json.dumps(v2({"name": "a", "messages": messages})))
    import_af(store, path, name="fits")
    snap = store.snapshot("fits")
    size = len(layout.read_block(store.repo, snap.tree, dict(snap.state.data)["af.messages"]))
    monkeypatch.setattr(agentfile, "MAX_BLOCK_BYTES", size - 1)
    with pytest.raises(PartTooLarge, match=r"\(301 messages\)") as caught:
        import_af(store, path, name="x")
    assert caught.value.size == size
