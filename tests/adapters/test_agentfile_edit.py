"""Editing imported agents: blocks (set, restore, history), genes written back, secrets never
committed, and the command line of the issue's walkthrough."""

from __future__ import annotations

import copy
import io
import itertools
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mindgit.adapters.agentfile import (
    BlockTooLong,
    ImportedAgent,
    UnknownBlock,
    export_af,
    import_af,
    restore_block,
    set_block,
)
from mindgit.adapters.agentfile_blocks import AmbiguousBlock
from mindgit.adapters.agentfile_json import parse_document, render_document
from mindgit.cli import main
from mindgit.store import history
from mindgit.store.genome import Gene
from mindgit.store.repository import NothingChanged, Store, init_store
from tests.adapters.test_agentfile_builders import (
    AGENT_FILES,
    REAL_FILES,
    as_exported,
    load_json,
    same,
    text,
    write_af,
)
from tests.conftest import ROOT, fsck


def exported(store: Store, rev: str, tmp_path: Path) -> Any:
    out = tmp_path / f"{rev.replace('~', '_')}.af"
    export_af(store, rev, out)
    return load_json(out.read_bytes())


def test_set_and_restore_a_block(store: Store, tmp_path: Path) -> None:
    path = AGENT_FILES / "memgpt_agent.af"
    import_af(store, path, name="memgpt")
    first = store.state("memgpt").memory("human")
    commit = set_block(store, "human", "First name: Ada", experiment="memgpt")
    assert commit.experiment == "memgpt"
    d = history.diff(store, "memgpt~1", "memgpt")
    assert [m.name for m in d.memories] == ["human"] and not d.genes and not d.data
    data = exported(store, "memgpt", tmp_path)
    original = load_json(path.read_bytes())
    human = next(b for b in data["blocks"] if b["label"] == "human")
    before = next(b for b in original["blocks"] if b["label"] == "human")
    assert human["value"] == "First name: Ada" and human["id"] == before["id"]
    assert same({**human, "value": before["value"]}, before)
    assert same(data["agents"], original["agents"])  # nothing else moved
    restore_block(store, "human", "memgpt~1", experiment="memgpt")
    assert store.state("memgpt").memory("human") == first
    export_af(store, "memgpt", tmp_path / "back.af")
    assert (tmp_path / "back.af").read_bytes() == path.read_bytes()
    with pytest.raises(NothingChanged):
        restore_block(store, "human", "memgpt~2", experiment="memgpt")


def test_blocks_are_found_by_label_or_name(store: Store, tmp_path: Path) -> None:
    value = {
        "agents": [{"id": "agent-0", "name": "a", "block_ids": ["block-0"]}],
        "blocks": [{"id": "block-0", "label": "system/human", "value": "v", "limit": 8}],
    }
    write_af(tmp_path / "a.af", value)
    import_af(store, tmp_path / "a.af")
    set_block(store, "system/human", "by label", experiment="a")
    with pytest.raises(BlockTooLong, match="9 characters, over its limit of 8"):
        set_block(store, "system:human", "too long!", experiment="a")
    set_block(store, "system:human", "name", experiment="a")
    with pytest.raises(UnknownBlock, match="no memory block 'persona' in a") as e:
        set_block(store, "persona", "x", experiment="a")
    assert e.value.hint == "the blocks there are: system:human"
    with pytest.raises(UnknownBlock):
        restore_block(store, "persona", "a~1", experiment="a")


def test_a_label_is_found_before_another_blocks_name(store: Store, tmp_path: Path) -> None:
    # Labels "x_y" and "x y" are memories x_y and x_y-2: "x y" maps to x_y, the other block's
    # name, and `block set "x y"` edited the block labelled "x_y".
    value = {
        "agents": [{"id": "agent-0", "name": "a", "block_ids": ["b0", "b1", "b2", "b3"]}],
        "blocks": [
            {"id": "b0", "label": "x_y", "value": "first"},
            {"id": "b1", "label": "x y", "value": "second"},
            {"id": "b2", "label": "a/b", "value": "third"},
            {"id": "b3", "label": "a:b", "value": "fourth"},
        ],
    }
    write_af(tmp_path / "a.af", value)
    [agent] = import_af(store, tmp_path / "a.af")
    assert agent.memories == ("x_y", "x_y-2", "a:b", "a:b-2")

    def values() -> dict[str, str]:
        return {b["label"]: b["value"] for b in exported(store, "a", tmp_path)["blocks"]}

    set_block(store, "x y", "by label", experiment="a")
    assert values() == {"x_y": "first", "x y": "by label", "a/b": "third", "a:b": "fourth"}
    set_block(store, "x_y-2", "by name", experiment="a")
    assert values()["x y"] == "by name"
    restore_block(store, "x y", "a~2", experiment="a")
    assert values() == {"x_y": "first", "x y": "second", "a/b": "third", "a:b": "fourth"}
    # "a:b" is the label of memory a:b-2 and the name of memory a:b (label "a/b"): refused,
    # nothing written; each block is still reached by its other spelling.
    head = store.head("a")
    with pytest.raises(AmbiguousBlock, match="label of memory a:b-2 and the name of memory a:b"):
        set_block(store, "a:b", "which?", experiment="a")
    with pytest.raises(AmbiguousBlock):
        restore_block(store, "a:b", "a~1", experiment="a")
    assert store.head("a") == head
    set_block(store, "a/b", "3", experiment="a")
    set_block(store, "a:b-2", "4", experiment="a")
    assert values() == {"x_y": "first", "x y": "second", "a/b": "3", "a:b": "4"}


def test_a_block_restored_from_another_agent_replaces_the_one_with_its_label(
    store: Store, tmp_path: Path
) -> None:
    # In "a", labels "x_y" and "x y" are memories x_y and x_y-2; in "b", "x y" alone is x_y.
    # Restoring "x y" from b put it under b's name, over the block labelled "x_y": that block
    # was lost, and the export held two blocks labelled "x y", which import-af refuses.
    def agent(name: str, labels: list[str]) -> dict[str, Any]:
        ids = [f"{name}-{n}" for n in range(len(labels))]
        return {
            "agents": [{"id": "agent-0", "name": name, "block_ids": ids}],
            "blocks": [
                {"id": i, "label": label, "value": f"{name} {label}"}
                for i, label in zip(ids, labels, strict=True)
            ],
        }

    write_af(tmp_path / "a.af", agent("a", ["x_y", "x y"]))
    write_af(tmp_path / "b.af", agent("b", ["x y", "x_y-2", "z"]))
    import_af(store, tmp_path / "a.af")
    import_af(store, tmp_path / "b.af")
    assert [n for n, _ in store.state("b").memories] == ["x_y", "x_y-2", "z"]

    def values() -> dict[str, str]:
        blocks = exported(store, "a", tmp_path)["blocks"]
        labels = [b["label"] for b in blocks]
        assert len(set(labels)) == len(labels)
        return {b["label"]: b["value"] for b in blocks}

    restore_block(store, "x y", "b", experiment="a")
    assert values() == {"x_y": "a x_y", "x y": "b x y"}
    assert dict(store.state("a").memories)["x_y-2"] == store.state("b").memory("x_y")
    # A label "a" lacks is added, under a name no memory of "a" has (b's x_y-2 is taken).
    restore_block(store, "x_y-2", "b", experiment="a")
    restore_block(store, "z", "b", experiment="a")
    assert values() == {"x_y": "a x_y", "x y": "b x y", "x_y-2": "b x_y-2", "z": "b z"}
    assert {n for n, _ in store.state("a").memories} == {"x_y", "x_y-2", "x_y-2-2", "z"}
    out = tmp_path / "out.af"
    export_af(store, "a", out)
    [back] = import_af(store, out, name="back")
    assert len(back.memories) == 4


def test_a_value_with_a_lone_surrogate_round_trips(store: Store, tmp_path: Path) -> None:
    import_af(store, AGENT_FILES / "memgpt_agent.af", name="m")
    set_block(store, "persona", "odd \ud800 text", experiment="m")
    data = exported(store, "m", tmp_path)
    assert next(b for b in data["blocks"] if b["label"] == "persona")["value"] == "odd \ud800 text"


def test_genes_are_written_back_in_the_field_types(store: Store, tmp_path: Path) -> None:
    value = {
        "agents": [
            {
                "id": "agent-0",
                "name": "g",
                "llm_config": {"temperature": 1, "max_tokens": 4096, "context_window": 8192},
                "max_tokens": None,
            }
        ]
    }
    write_af(tmp_path / "g.af", value)
    import_af(store, tmp_path / "g.af")
    genome = store.state("g").genome
    assert genome["llm.max_tokens"].max == 8192 and genome["llm.context_window"].min == 1024
    assert set(genome) == {"llm.temperature", "llm.max_tokens", "llm.context_window"}
    assert same(exported(store, "g", tmp_path)["agents"][0]["llm_config"]["temperature"], 1)
    store.set_genes([genome["llm.temperature"].with_value(0.85)], experiment="g")
    store.set_genes([genome["llm.max_tokens"].with_value(1000)], experiment="g")
    llm = exported(store, "g", tmp_path)["agents"][0]["llm_config"]
    assert same(llm["temperature"], 0.85) and same(llm["max_tokens"], 1000)
    store.set_genes([genome["llm.temperature"].with_value(2.0)], experiment="g")
    assert same(exported(store, "g", tmp_path)["agents"][0]["llm_config"]["temperature"], 2)
    store.unset_genes(["llm.temperature"], experiment="g")
    assert same(exported(store, "g", tmp_path)["agents"][0]["llm_config"]["temperature"], 1)


def _all_objects(store: Store) -> bytes:
    proc = subprocess.run(
        ["git", "--git-dir", str(store.path), "cat-file", "--batch-all-objects", "--batch"],
        capture_output=True,
        check=True,
    )
    return proc.stdout


def test_secrets_are_never_committed(store: Store, tmp_path: Path) -> None:
    value = {
        "agents": [
            {
                "id": "agent-0",
                "name": "s",
                "tool_exec_environment_variables": {"TAVILY_API_KEY": "tvly-SECRET1", "EMPTY": ""},
                "secrets": {"DISCORD_BOT_TOKEN": "SECRET2"},
                "llm_config": {"api_key": "sk-SECRET3"},
            }
        ],
        "mcp_servers": [
            {"id": "mcp-0", "token": "SECRET4", "stdio_config": {"env": {"K": "SECRET5"}}}
        ],
    }
    write_af(tmp_path / "s.af", value)
    [agent] = import_af(store, tmp_path / "s.af")
    assert len(agent.warnings) == 5
    assert any("TAVILY_API_KEY" in w for w in agent.warnings)
    assert b"SECRET" not in _all_objects(store)
    out = exported(store, "s", tmp_path)
    assert out["agents"][0]["tool_exec_environment_variables"] == {
        "TAVILY_API_KEY": "",
        "EMPTY": "",
    }
    assert out["agents"][0]["secrets"] == {"DISCORD_BOT_TOKEN": ""}
    assert out["agents"][0]["llm_config"]["api_key"] == ""
    assert out["mcp_servers"][0]["token"] == "" and out["mcp_servers"][0]["stdio_config"][
        "env"
    ] == {"K": ""}


def test_an_mcp_servers_auth_header_name_is_kept_its_token_is_not(
    store: Store, tmp_path: Path
) -> None:
    # Letta's MCP configs: auth_header names the header ("Authorization"), auth_token holds its
    # value. Something that is no header name there is a credential typed in the wrong field.
    servers = [
        {"id": "mcp-0", "auth_header": "Authorization", "auth_token": "Bearer SECRET7"},
        {"id": "mcp-1", "auth_header": "X-Api-Key"},
        {"id": "mcp-2", "auth_header": "Bearer SECRET8"},
        {"id": "mcp-3", "auth_header": "X-Api-Key: SECRET9"},
    ]
    write_af(
        tmp_path / "m.af", {"agents": [{"id": "agent-0", "name": "m"}], "mcp_servers": servers}
    )
    [agent] = import_af(store, tmp_path / "m.af")
    assert [w.split(":")[0] for w in agent.warnings] == [
        "mcp server #1",
        "mcp server #3",
        "mcp server #4",
    ]
    assert "secret auth_token" in agent.warnings[0] and "secret auth_header" in agent.warnings[1]
    assert b"SECRET" not in _all_objects(store)
    out = exported(store, "m", tmp_path)["mcp_servers"]
    assert [(s.get("auth_header"), s.get("auth_token")) for s in out] == [
        ("Authorization", ""),
        ("X-Api-Key", None),
        ("", None),
        ("", None),
    ]


def test_v1_environment_values_are_dropped(store: Store, tmp_path: Path) -> None:
    original = load_json((AGENT_FILES / "letta-0.6_memgpt_agent.af").read_bytes())
    original["tool_exec_environment_variables"] = [{"key": "K", "value": "SECRET6"}]
    write_af(tmp_path / "v1.af", original)
    [agent] = import_af(store, tmp_path / "v1.af")
    assert agent.warnings and "'K'" in agent.warnings[0]
    assert b"SECRET6" not in _all_objects(store)
    assert exported(store, agent.experiment, tmp_path)["tool_exec_environment_variables"] == [
        {"key": "K", "value": ""}
    ]


def test_a_shared_block_edited_in_one_agent_splits(store: Store, tmp_path: Path) -> None:
    shared = {"id": "block-0", "label": "shared", "value": "same"}
    value = {
        "agents": [
            {"id": "agent-0", "name": "a", "block_ids": ["block-0"]},
            {"id": "agent-1", "name": "b", "block_ids": ["block-0"]},
        ],
        "blocks": [shared],
    }
    write_af(tmp_path / "two.af", value)
    import_af(store, tmp_path / "two.af", name="t")
    set_block(store, "shared", "changed", experiment="t-2")
    out = tmp_path / "out.af"
    export_af(store, ["t-1", "t-2"], out)
    data = load_json(out.read_bytes())
    assert [a["block_ids"] for a in data["agents"]] == [["block-0"], ["block-1"]]
    assert [b["value"] for b in data["blocks"]] == ["same", "changed"]
    # Edited in the first agent instead: the first copy still keeps the id (as the docs say).
    restore_block(store, "shared", "t-1", experiment="t-2")
    set_block(store, "shared", "changed", experiment="t-1")
    export_af(store, ["t-1", "t-2"], out)
    data = load_json(out.read_bytes())
    assert [a["block_ids"] for a in data["agents"]] == [["block-0"], ["block-1"]]
    assert [b["value"] for b in data["blocks"]] == ["changed", "same"]


def test_messages_follow_the_state(store: Store, tmp_path: Path) -> None:
    messages = [{"role": "user", "text": str(n)} for n in range(3)] + [
        {"role": "user", "text": "0"}
    ]
    value = {"agents": [{"id": "agent-0", "name": "m", "messages": messages}]}
    write_af(tmp_path / "m.af", value)
    [agent] = import_af(store, tmp_path / "m.af")
    assert agent.messages == 4 and len(store.state("m").thoughts) == 3  # a repeat is one thought
    assert exported(store, "m", tmp_path)["agents"][0]["messages"] == messages
    store.think("a note is mindgit's own, not a message", experiment="m")
    assert exported(store, "m", tmp_path)["agents"][0]["messages"] == messages


# -- the command line -------------------------------------------------------------------------------


@dataclass
class Ran:
    code: int
    out: str
    err: str


Cli = Callable[..., Ran]


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """`mindgit ARGS...` in-process."""

    def call(*args: str) -> Ran:
        capsys.readouterr()
        code = main.run(list(args))
        cap = capsys.readouterr()
        return Ran(code, cap.out, cap.err)

    path = tmp_path / "alpha"
    assert call("init", str(path), "--name", "alpha").code == 0
    monkeypatch.chdir(path)
    return call


def test_the_issue_walkthrough(cli: Cli, tmp_path: Path) -> None:
    fixture = AGENT_FILES / "memgpt_agent.af"
    r = cli("import-af", str(fixture), "--as", "memgpt")
    assert r.code == 0 and r.out == "memgpt\n" and "2 blocks, 1 messages" in r.err
    show = json.loads(cli("show", "-e", "memgpt", "--json").out)
    assert show["memories"]["human"]["label"] == "human"
    assert show["genome"]["llm.temperature"]["value"] == 0.7
    info = json.loads(cli("af-info", "-e", "memgpt", "--json").out)
    assert info["tools"] == ["conversation_search", "memory_replace", "memory_insert"]
    assert info["messages"] == 1
    assert "tools      3: conversation_search" in cli("af-info", "memgpt").out
    assert cli("block", "set", "human", "First name: Ada", "-e", "memgpt").code == 0
    diff = cli("diff", "memgpt~1", "memgpt").out
    assert "~ memory human" in diff and "+First name: Ada" in diff
    assert cli("restore", "human", "--from", "memgpt~1", "-e", "memgpt").code == 0
    assert cli("block", "restore", "human", "--from", "memgpt~1", "-e", "memgpt").code == 0
    out = tmp_path / "memgpt.af"
    r = cli("export-af", "memgpt", "-o", str(out), "--json")
    assert r.code == 0 and json.loads(r.out)["agents"] == ["memgpt_agent"]
    assert out.read_bytes() != fixture.read_bytes()  # the last restore took Ada back
    assert cli("restore", "human", "--from", "memgpt~3", "-e", "memgpt").code == 0
    cli("export-af", "memgpt", "-o", str(out))
    assert out.read_bytes() == fixture.read_bytes()
    assert cli("verify", "--all").code == 0
    fsck(Path.cwd())


def test_cli_errors_are_one_line(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.af"
    bad.write_text("nope")
    r = cli("import-af", str(bad))
    assert r.code == 1 and r.out == ""
    assert r.err.startswith(f"mindgit: error: {bad}: not JSON") and r.err.count("\n") == 1
    r = cli("block", "set", "human", "x")  # main holds no agent: said so, not "no block human"
    assert r.code == 1 and "experiment main holds no imported agent" in r.err
    assert r.err.count("\n") == 1


def test_cli_warns_about_secrets_and_reads_stdin(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = {"agents": [{"name": "s", "secrets": {"K": "hush"}}]}
    data = json.dumps(value).encode()

    class Stdin:
        buffer = __import__("io").BytesIO(data)

    monkeypatch.setattr("sys.stdin", Stdin)
    r = cli("import-af", "-", "--json")
    assert r.code == 0 and "warning: agent #1: dropped the value of secret secrets['K']" in r.err
    assert json.loads(r.out)[0]["experiment"] == "s"
    r = cli("export-af", "s", "-o", "-")
    assert r.code == 0


def test_show_lists_tools_and_message_count(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    from mindgit.cli.main import run

    af = ROOT / "fixtures" / "agent-files" / "memgpt_agent.af"
    assert run(["--store", str(store.path), "import-af", str(af), "--as", "memgpt"]) == 0
    capsys.readouterr()
    assert run(["--store", str(store.path), "show", "-e", "memgpt", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["agent"]["tools"] == ["conversation_search", "memory_replace", "memory_insert"]
    assert shown["agent"]["messages"] == 1
    assert shown["memories"]["human"]["description"].startswith("The human block")


def test_edits_from_the_command_line_change_only_what_they_name(cli: Cli, tmp_path: Path) -> None:
    fixture = AGENT_FILES / "memgpt_agent_with_convo.af"
    value, style = parse_document(fixture.read_bytes(), fixture.name)
    agent, out = value["agents"][0], tmp_path / "out.af"
    assert "top_p" not in agent["llm_config"] and len(agent["messages"]) == 1
    assert cli("import-af", str(fixture), "--as", "m").code == 0

    def exported_is(expected: Any) -> None:
        assert cli("export-af", "m", "-o", str(out)).code == 0
        assert out.read_bytes() == render_document(expected, style)

    exported_is(value)
    assert cli("genome", "set", "llm.temperature=0.9", "-e", "m").code == 0
    agent["llm_config"]["temperature"] = 0.9
    exported_is(value)
    # A gene for a field the file lacks adds it last; the others keep their order.
    assert cli("genome", "set", "llm.top_p=0.5", "--min", "0", "--max", "1", "-e", "m").code == 0
    agent["llm_config"]["top_p"] = 0.5
    exported_is(value)
    assert cli("think", "a note of mindgit's own", "-e", "m").code == 0
    exported_is(value)
    shown = json.loads(cli("show", "-e", "m", "--json").out)
    [message] = [t["cid"] for t in shown["thoughts"] if t["type"] == "message"]
    assert cli("forget", message, "-e", "m").code == 0
    agent["messages"] = []
    exported_is(value)
    assert cli("block", "set", "human", "First name: Ada", "-e", "m").code == 0
    next(b for b in value["blocks"] if b["label"] == "human")["value"] = "First name: Ada"
    exported_is(value)
    assert cli("verify", "--all").code == 0


# -- edits of the real files, generated -------------------------------------------------------------

_STORES: dict[Path, Store] = {}
_COUNTER = itertools.count()
_HOLDERS = {"llm": "llm_config", "model": "model_settings"}


def _store_for(tmp_path: Path) -> Store:
    """One store per test (Hypothesis runs the body many times with one tmp_path)."""
    if tmp_path not in _STORES:
        _STORES[tmp_path] = init_store(tmp_path / "gen", "gen")
    return _STORES[tmp_path]


REAL_FILE_EDITS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _a_real_import(
    tmp_path: Path, data: st.DataObject, prefix: str
) -> tuple[Store, Path, list[ImportedAgent], int]:
    """A real file imported into the test's store under a fresh name, and one of its agents."""
    store = _store_for(tmp_path)
    path = data.draw(st.sampled_from(REAL_FILES))
    agents = import_af(store, path, name=f"{prefix}{next(_COUNTER)}")
    return store, path, agents, data.draw(st.integers(0, len(agents) - 1))


def _a_value_for(data: st.DataObject, gene: Gene) -> Any:
    if gene.kind == "float":
        assert gene.min is not None and gene.max is not None
        return data.draw(st.floats(gene.min, gene.max))
    if gene.kind == "int":
        assert gene.min is not None and gene.max is not None
        return data.draw(st.integers(int(gene.min), int(gene.max)))
    assert gene.choices
    return data.draw(st.sampled_from(gene.choices))


@REAL_FILE_EDITS
@given(data=st.data())
def test_a_gene_set_in_a_real_file_changes_that_field_only(
    tmp_path: Path, data: st.DataObject
) -> None:
    store, path, agents, n = _a_real_import(tmp_path, data, "g")
    genes = store.state(agents[n].experiment).genome.genes
    gene = data.draw(st.sampled_from(genes))
    changed = gene.with_value(_a_value_for(data, gene))
    if changed.value == gene.value:
        return
    store.set_genes([changed], experiment=agents[n].experiment)
    out = io.BytesIO()
    export_af(store, [a.experiment for a in agents], out)
    value, style = parse_document(path.read_bytes(), path.name)
    imported = copy.deepcopy(value)
    agent = value["agents"][n] if "agents" in value else value
    head, _, field = gene.name.partition(".")
    holder = agent if head == "agent" else agent[_HOLDERS[head]]
    # The field keeps its JSON type: an integer field stays an integer while the value is whole.
    new = changed.value
    assert isinstance(new, int | float | str)
    whole = isinstance(new, int | float) and float(new).is_integer()
    holder[field] = int(new) if type(holder[field]) is int and whole else new
    assert out.getvalue() == as_exported(value, style, imported)


@REAL_FILE_EDITS
@given(data=st.data())
def test_a_block_set_in_a_real_file_changes_that_value_only(
    tmp_path: Path, data: st.DataObject
) -> None:
    store, path, agents, n = _a_real_import(tmp_path, data, "b")
    value, style = parse_document(path.read_bytes(), path.name)
    imported = copy.deepcopy(value)
    if "agents" in value:
        pool = {b["id"]: b for b in value["blocks"]}
        ids = value["agents"][n]["block_ids"]
        # A block another agent shares splits when one edits it; that has its own test.
        others = {i for m, a in enumerate(value["agents"]) if m != n for i in a["block_ids"]}
        blocks = [pool[i] for i in ids if i not in others]
    else:
        blocks = value["core_memory"]
    if not blocks:
        return
    block = data.draw(st.sampled_from(blocks))
    new = data.draw(text)
    if new == block["value"]:
        return
    set_block(store, block["label"], new, experiment=agents[n].experiment)
    block["value"] = new
    out = io.BytesIO()
    export_af(store, [a.experiment for a in agents], out)
    assert out.getvalue() == as_exported(value, style, imported)
