"""Genes written back into an exported agent file: a value the field cannot hold is refused, a
gene of a settings map the agent lacks is named in a warning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mindgit.adapters.agentfile import GeneDoesNotFit, export_af, import_af
from mindgit.store.genome import Gene
from mindgit.store.repository import Store
from tests.adapters.test_agentfile_builders import AGENT_FILES, load_json, same
from tests.conftest import Mg
from tests.snapshots import changed, snapshot


@pytest.mark.parametrize(
    ("gene", "field"),
    [
        (Gene.make("llm.temperature", "str", "hello"), "llm_config.temperature"),
        (Gene.make("llm.context_window", "bool", True), "llm_config.context_window"),
        (Gene.make("llm.top_k", "floats", [0.1, 0.2]), "llm_config.top_k"),
        (Gene.make("llm.max_tokens", "float", 100.5), "llm_config.max_tokens"),
        (Gene.make("llm.reasoning_effort", "float", 1.0), "llm_config.reasoning_effort"),
        (Gene.make("agent.max_tokens", "str", "many"), "max_tokens"),
    ],
)
def test_a_gene_the_field_cannot_hold_is_refused(
    store: Store, tmp_path: Path, gene: Gene, field: str
) -> None:
    import_af(store, AGENT_FILES / "memgpt_agent.af", name="m")
    # `genome set` keeps a gene's type; one unset and set again (or merged in) takes any.
    if gene.name in store.state("m").genome:
        store.unset_genes([gene.name], experiment="m")
    store.set_genes([gene], experiment="m")
    out = tmp_path / "out.af"
    with pytest.raises(GeneDoesNotFit) as caught:
        export_af(store, "m", out)
    assert f"gene {gene.name} is {gene.kind}" in str(caught.value)
    assert f"which {field} cannot hold" in str(caught.value)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["alpha"]


def test_a_gene_that_fits_is_written_in_the_fields_type(store: Store, tmp_path: Path) -> None:
    import_af(store, AGENT_FILES / "memgpt_agent.af", name="m")
    store.unset_genes(["llm.context_window", "llm.temperature"], experiment="m")
    store.set_genes(
        [
            Gene.make("llm.context_window", "float", 2048.0),  # whole: an integer field takes it
            Gene.make("llm.temperature", "int", 1),
            Gene.make("llm.reasoning_effort", "str", "high"),
        ],
        experiment="m",
    )
    export_af(store, "m", tmp_path / "out.af")
    llm = load_json((tmp_path / "out.af").read_bytes())["agents"][0]["llm_config"]
    assert same(llm["context_window"], 2048) and same(llm["temperature"], 1.0)
    assert llm["reasoning_effort"] == "high"


def test_an_imported_value_comes_back_whatever_its_type(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "odd.af"
    llm = {"max_tokens": 4096.0, "temperature": 1}
    source.write_text(json.dumps({"agents": [{"name": "odd", "llm_config": llm}]}, indent=2))
    import_af(store, source)
    export_af(store, "odd", tmp_path / "out.af")
    assert (tmp_path / "out.af").read_bytes() == source.read_bytes()


def test_a_gene_of_settings_the_agent_lacks_is_named(store: Store, tmp_path: Path) -> None:
    import_af(store, AGENT_FILES / "memgpt_agent.af", name="m")  # model_settings is null
    store.set_genes([Gene.make("model.temperature", "float", 0.2)], experiment="m")
    result = export_af(store, "m", tmp_path / "out.af")
    warning = "m: gene model.temperature not written: the agent has no model_settings"
    assert result.warnings == (warning,)
    assert load_json((tmp_path / "out.af").read_bytes())["agents"][0]["model_settings"] is None


def test_the_cli_refuses_it_in_one_line_and_writes_nothing(
    store: Store, tmp_path: Path, mg: Mg
) -> None:
    import_af(store, AGENT_FILES / "memgpt_agent.af", name="m")
    at = ["--store", str(store.path)]
    assert mg(*at, "genome", "unset", "llm.temperature", "-e", "m").code == 0
    assert mg(*at, "genome", "set", "llm.temperature=hello", "-e", "m").code == 0
    before = snapshot(tmp_path)
    r = mg(*at, "export-af", "m", "-o", str(tmp_path / "out.af"))
    assert r.code == 1 and r.out == "" and r.err.count("\n") == 1
    assert r.err.startswith("mindgit: error: m: gene llm.temperature is str 'hello', which ")
    assert (
        f"`mindgit --store {store.path} genome unset llm.temperature -e m` and set it again as "
        "a number" in r.err
    )
    assert changed(before, tmp_path) == []


def test_a_thinking_budget_evolved_past_max_tokens_is_named(store: Store, tmp_path: Path) -> None:
    # deep_research_agent: enable_reasoner, max_tokens 8192, max_reasoning_tokens 1024.
    import_af(store, AGENT_FILES / "deep_research_agent.af", name="d")
    genome = store.state("d").genome
    assert export_af(store, "d", tmp_path / "out.af").warnings == ()
    store.set_genes([genome["llm.max_reasoning_tokens"].with_value(9000)], experiment="d")
    result = export_af(store, "d", tmp_path / "out.af")
    assert result.warnings == (
        "d: llm_config.max_reasoning_tokens 9000 is not below max_tokens 8192 with "
        "enable_reasoner set (Letta warns of it, and Anthropic refuses such a request)",
    )
    llm = load_json((tmp_path / "out.af").read_bytes())["agents"][0]["llm_config"]
    assert llm["max_reasoning_tokens"] == 9000  # written all the same: Letta loads it
    store.set_genes([genome["llm.max_tokens"].with_value(9001)], experiment="d")
    assert export_af(store, "d", tmp_path / "out.af").warnings == ()


def test_a_thinking_budget_as_imported_is_not_named(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "as-is.af"
    llm = {"enable_reasoner": True, "max_tokens": 100, "max_reasoning_tokens": 200}
    source.write_text(json.dumps({"agents": [{"name": "a", "llm_config": llm}]}))
    import_af(store, source)
    assert export_af(store, "a", tmp_path / "out.af").warnings == ()


def test_max_tokens_evolved_past_the_context_window_is_named(store: Store, tmp_path: Path) -> None:
    # deep_research_agent: max_tokens 8192, context_window 100000.
    import_af(store, AGENT_FILES / "deep_research_agent.af", name="d")
    genome = store.state("d").genome
    store.set_genes([genome["llm.context_window"].with_value(4000)], experiment="d")
    assert export_af(store, "d", tmp_path / "out.af").warnings == (
        "d: llm_config.max_tokens 8192 is over context_window 4000 (no answer can be longer "
        "than the context it is written in)",
    )
    store.set_genes([genome["llm.max_tokens"].with_value(2000)], experiment="d")
    assert export_af(store, "d", tmp_path / "out.af").warnings == ()


def test_max_tokens_over_the_window_as_imported_is_not_named(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "as-is.af"
    llm = {"max_tokens": 900, "context_window": 100}
    source.write_text(json.dumps({"agents": [{"name": "a", "llm_config": llm}]}))
    import_af(store, source)
    assert export_af(store, "a", tmp_path / "out.af").warnings == ()
