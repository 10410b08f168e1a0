"""Agent files in and out of a real store: real Letta files come back byte for byte, generated
ones (random extra fields, unicode, floats, nested nulls, several agents) equal as JSON with
their exact number types."""

from __future__ import annotations

import copy
import io
import itertools
from pathlib import Path
from typing import Any

import pygit2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mindgit.adapters.agentfile import (
    AgentFileError,
    describe,
    export_af,
    import_af,
    memory_name,
)
from mindgit.adapters.agentfile_json import Style, parse_document, render_document
from mindgit.ipld import dagjson
from mindgit.store import layout
from mindgit.store.repository import Store, init_store
from mindgit.store.verify import verify_commits
from tests.adapters.test_agentfile_builders import (
    AGENT_FILES,
    REAL_FILES,
    agent_file_v1,
    agent_file_v2,
    as_exported,
    fingerprint,
    harmless,
    json_values,
    keys,
    load_json,
    same,
    styles,
    write_af,
)
from tests.conftest import fsck


def verified(store: Store) -> None:
    report = verify_commits(store.repo, store.trust, [store.head(e) for e in store.experiments()])
    assert report.ok, [str(p) for p in report.problems]
    fsck(store.path)


def test_the_fixtures_are_the_real_files() -> None:
    names = {p.name for p in REAL_FILES}
    assert {
        "memgpt_agent.af",
        "memgpt_agent_with_convo.af",
        "customer_service.af",
        "outreach_workflow_agent.af",
        "deep_research_agent.af",
        "co-3.af",
    } <= names
    assert (AGENT_FILES / "LICENSE").read_text().startswith(" " * 33 + "Apache License")


# Files that write one set of keys in two orders: they come back with each such map in the order
# first seen, and are otherwise the same bytes.
KEY_ORDER_NORMALISED = {"co-3.af"}


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name)
def test_real_files_come_back_byte_for_byte(store: Store, path: Path, tmp_path: Path) -> None:
    agents = import_af(store, path, name="agent")
    out = tmp_path / "out.af"
    exported = export_af(store, [a.experiment for a in agents], out)
    original = path.read_bytes()
    assert same(load_json(out.read_bytes()), load_json(original))
    assert out.read_bytes() == as_exported(*parse_document(original, path.name))
    assert (out.read_bytes() == original) is (path.name not in KEY_ORDER_NORMALISED)
    assert exported.size == len(original) and exported.warnings == ()
    verified(store)


def test_a_real_file_as_a_state(store: Store) -> None:
    [agent] = import_af(store, AGENT_FILES / "memgpt_agent_with_convo.af", name="memgpt")
    assert agent.experiment == "memgpt" and agent.agent_name == "memgpt_agent"
    assert agent.memories == ("human", "persona") and agent.warnings == ()
    snap = store.snapshot("memgpt")
    human: Any = dagjson.decode(
        layout.read_block(store.repo, snap.tree, snap.state.memory("human"))
    )
    assert isinstance(human, dict)
    assert human["label"] == "human" and human["value"].startswith("\nThis is what I know")
    assert isinstance(human["description"], str) and human["limit"] == 20000
    genome = snap.state.genome
    assert genome["llm.temperature"].value == 0.7
    assert (genome["llm.temperature"].min, genome["llm.temperature"].max) == (0.0, 2.0)
    assert genome["llm.context_window"].value == 32000
    assert genome["llm.frequency_penalty"].value == 1.0
    assert {name for name, _ in snap.state.data} == {
        "af.agent",
        "af.file",
        "af.messages",
        "af.tool_rules",
        "af.tools",
    }
    summary = describe(store, "memgpt")
    assert summary.tools == ("conversation_search", "memory_replace", "memory_insert")
    assert summary.messages == 1 == len(snap.state.thoughts)
    assert summary.model == "gpt-4o-mini" and summary.layout == "v2"


def test_the_older_letta_layout(store: Store, tmp_path: Path) -> None:
    path = AGENT_FILES / "letta-0.6_memgpt_agent.af"
    [agent] = import_af(store, path)
    assert agent.experiment == "memgpt_agent"
    assert agent.memories == ("persona", "human") and agent.messages == 4
    summary = describe(store, "memgpt_agent")
    assert summary.layout == "v1" and summary.tool_rules == 4 and len(summary.tools) == 6
    assert store.state("memgpt_agent").genome["llm.max_tokens"].max == 8192


def test_several_agents_one_experiment_each(store: Store, tmp_path: Path) -> None:
    path = AGENT_FILES / "evie.af"
    agents = import_af(store, path)
    assert [a.experiment for a in agents] == ["Evie", "companion-sleeptime_copy"]
    named = import_af(store, path, name="evie")
    assert [a.experiment for a in named] == ["evie-1", "evie-2"]
    export_af(store, ["evie-1", "evie-2"], tmp_path / "both.af")
    assert (tmp_path / "both.af").read_bytes() == path.read_bytes()
    one = export_af(store, "evie-1", tmp_path / "one.af")
    data = load_json((tmp_path / "one.af").read_bytes())
    assert [a["name"] for a in data["agents"]] == ["Evie"]
    assert data["groups"] == [] and one.warnings and "group-0" in one.warnings[0]
    own = set(data["agents"][0]["block_ids"])
    assert {b["id"] for b in data["blocks"]} >= own
    verified(store)


def test_another_files_agent_is_not_the_agent_a_group_names(store: Store, tmp_path: Path) -> None:
    # evie's group-0 has Evie ("agent-0") manage agent-1. Exported with another file's
    # "agent-0" in Evie's place, the group was kept, silently managed by that other agent.
    import_af(store, AGENT_FILES / "evie.af", name="evie")
    import_af(store, AGENT_FILES / "memgpt_agent.af", name="m")
    out = tmp_path / "mixed.af"
    mixed = export_af(store, ["evie-2", "m"], out)
    data = load_json(out.read_bytes())
    assert [a["id"] for a in data["agents"]] == ["agent-1", "agent-0"]
    assert data["groups"] == []
    assert any("group 'group-0' left out" in w and "(agent-0)" in w for w in mixed.warnings)
    assert any("m imported from another file than evie-2" in w for w in mixed.warnings)
    # Agents of one import say nothing of other files; both of evie's keep the group.
    both = export_af(store, ["evie-1", "evie-2"], tmp_path / "both.af")
    assert both.warnings == ()
    assert load_json((tmp_path / "both.af").read_bytes())["groups"][0]["id"] == "group-0"


def test_a_file_and_its_stream_import_alike(store: Store) -> None:
    path = AGENT_FILES / "memgpt_agent.af"
    a = import_af(store, path, name="a")[0]
    b = import_af(store, io.BytesIO(path.read_bytes()), name="b")[0]
    assert a.state == b.state  # same content, same manifest CID
    out = io.BytesIO()
    export_af(store, "b", out)
    assert out.getvalue() == path.read_bytes()


def test_labels_that_are_not_names(store: Store, tmp_path: Path) -> None:
    labels = ["system/human/family", "/note_directory", "a b", "a_b", "ü", "x" * 200]
    blocks = [{"id": f"block-{n}", "label": lab, "value": lab} for n, lab in enumerate(labels)]
    value = {
        "agents": [{"id": "agent-0", "name": "odd", "block_ids": [b["id"] for b in blocks]}],
        "blocks": blocks,
    }
    data = write_af(tmp_path / "odd.af", value)
    [agent] = import_af(store, tmp_path / "odd.af")
    assert agent.memories[:2] == ("system:human:family", "_:note_directory")
    assert agent.memories[2:5] == ("a_b", "a_b-2", "_")
    assert len(agent.memories[5]) == 128
    assert memory_name("system/human/family") == "system:human:family"
    export_af(store, "odd", tmp_path / "back.af")
    assert (tmp_path / "back.af").read_bytes() == data


def _roundtrip(store: Store, counter: itertools.count[int], value: Any, style: Style) -> None:
    path = Path(store.path).parent / "gen.af"
    write_af(path, value, style)
    name = f"gen{next(counter)}"
    agents = import_af(store, path, name=name)
    assert [a.warnings for a in agents] == [()] * len(agents)
    out = io.BytesIO()
    export_af(store, [a.experiment for a in agents], out)
    assert same(load_json(out.getvalue()), value)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_generated_v2_files_come_back(tmp_path: Path, data: st.DataObject) -> None:
    store = _generated_store(tmp_path)
    value, style = data.draw(st.tuples(agent_file_v2(), styles))
    _roundtrip(store, _COUNTER, value, style)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_generated_v1_files_come_back(tmp_path: Path, data: st.DataObject) -> None:
    store = _generated_store(tmp_path)
    value, style = data.draw(st.tuples(agent_file_v1(), styles))
    _roundtrip(store, _COUNTER, value, style)


_COUNTER = itertools.count()
_STORES: dict[Path, Store] = {}


def _generated_store(tmp_path: Path) -> Store:
    """One store per test (Hypothesis reruns the body many times with the same tmp_path)."""
    if tmp_path not in _STORES:
        _STORES[tmp_path] = init_store(tmp_path / "gen", "gen")
    return _STORES[tmp_path]


def test_generated_stores_verify(tmp_path: Path) -> None:
    store = _generated_store(tmp_path)
    value = {
        "agents": [{"id": "agent-0", "name": "n", "messages": [{"a": 1.0, "/": "x", "b": -0.0}]}]
    }
    _roundtrip(store, _COUNTER, value, Style())
    verified(store)


@pytest.mark.parametrize(
    "name", ["memgpt_agent_with_convo.af", "deep_research_agent.af", "evie.af"]
)
def test_a_real_file_checked_out_on_windows_comes_back(
    store: Store, tmp_path: Path, name: str
) -> None:
    # git with core.autocrlf=true writes every line end as CRLF.
    original = (AGENT_FILES / name).read_bytes().replace(b"\n", b"\r\n")
    assert original.count(b"\r\n") > 100
    agents = import_af(store, io.BytesIO(original), name="win")
    out = io.BytesIO()
    export_af(store, [a.experiment for a in agents], out)
    assert out.getvalue() == original


# -- mutations of the real files -------------------------------------------------------------------


def _spots(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) of a document, in document order."""
    out: list[tuple[Any, Any]] = []
    stack = [value]
    while stack:
        item = stack.pop()
        children = item.items() if isinstance(item, dict) else enumerate(item)
        for k, v in children:
            out.append((item, k))
            if isinstance(v, dict | list):
                stack.append(v)
    return out


@st.composite
def mutated_real_files(draw: st.DrawFn) -> bytes:
    """A real agent file with one to three changes anywhere in it (a value replaced, an entry
    removed, one added, one repeated), written in the file's own style."""
    path = draw(st.sampled_from(REAL_FILES))
    value, style = parse_document(path.read_bytes(), path.name)
    for _ in range(draw(st.integers(1, 3))):
        holder, key = draw(st.sampled_from(_spots(value)))
        op = draw(st.sampled_from(["replace", "remove", "add", "repeat"]))
        if op == "replace":
            holder[key] = draw(json_values)
        elif op == "remove":
            del holder[key]
        elif op == "add" and isinstance(holder, dict):
            holder.setdefault(draw(keys.filter(harmless)), draw(json_values))
        elif op == "add":
            holder.insert(key, draw(json_values))
        elif isinstance(holder, list):
            holder.insert(key, copy.deepcopy(holder[key]))
        else:
            holder[key] = [holder[key], copy.deepcopy(holder[key])]
    return render_document(value, style)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_mutated_real_files_come_back_or_are_refused(tmp_path: Path, data: st.DataObject) -> None:
    store = _generated_store(tmp_path)
    raw = data.draw(mutated_real_files())
    before = fingerprint(store)
    try:
        agents = import_af(store, io.BytesIO(raw), name=f"mut{next(_COUNTER)}")
    except AgentFileError as e:
        assert "\n" not in str(e)
        assert fingerprint(store) == before
        return
    report = verify_commits(store.repo, store.trust, [a.commit for a in agents])
    assert report.ok, [str(p) for p in report.problems]
    out = io.BytesIO()
    export_af(store, [a.experiment for a in agents], out)
    if any(a.warnings for a in agents):
        return  # a secret was emptied: it cannot come back
    assert same(load_json(out.getvalue()), load_json(raw))
    assert out.getvalue() == as_exported(*parse_document(raw, "mutated.af"))


def test_odd_settings_come_back_as_written(store: Store, tmp_path: Path) -> None:
    llm = (
        '{"model": "m", "context_window": 1000.0, "temperature": 1e-07, "top_p": -0.0, '
        '"max_tokens": 9007199254740993, "top_k": true, "frequency_penalty": null, '
        '"presence_penalty": 123456789012345678901234567890, "reasoning_effort": "xhigh"}'
    )
    raw = ('{"agents": [{"id": "agent-0", "name": "odd", "llm_config": ' + llm + "}]}").encode()
    [agent] = import_af(store, io.BytesIO(raw))
    # An integer gene holds at most 2**53 and a bool or null is no number: those make no gene.
    # A value a gene holds only approximately (the penalty) is written back as imported.
    assert set(agent.genes) == {
        "llm.context_window",
        "llm.temperature",
        "llm.top_p",
        "llm.presence_penalty",
        "llm.reasoning_effort",
    }
    out = io.BytesIO()
    export_af(store, "odd", out)
    assert out.getvalue() == raw


def loose_objects(store: Store) -> set[str]:
    objects = Path(store.repo.path) / "objects"
    return {f"{d.name}{f.name}" for d in objects.glob("[0-9a-f][0-9a-f]") for f in d.iterdir()}


def test_an_import_writes_its_blocks_as_one_pack(store: Store) -> None:
    before = loose_objects(store)
    packs = set((Path(store.repo.path) / "objects" / "pack").glob("*.pack"))
    agents = import_af(store, AGENT_FILES / "evie.af")
    # Only the two commits are loose; every block, manifest and tree is in one new pack.
    assert loose_objects(store) - before == {a.commit for a in agents}
    (new_pack,) = set((Path(store.repo.path) / "objects" / "pack").glob("*.pack")) - packs
    for agent in agents:
        tree = store.repo[agent.commit].peel(pygit2.Commit).tree
        assert layout.read_state(store.repo, tree)[1].cid == agent.state
    assert new_pack.with_suffix(".idx").exists()
    verified(store)
