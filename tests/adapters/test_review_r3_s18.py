"""Review R3 (session 18) of agent files: import-af, export-af and the edits of an imported agent.

* export-af of a gene its field cannot hold hinted `mindgit genome unset GENE` with no -e: run
  as written it acted on the current experiment, unsetting another agent's gene (or failing),
  and the export failed again.
* block set/restore of a label that is one block's label and another memory's name hinted
  `mindgit af-info`, which describes the current experiment, not the one asked of.
* an import cut short and run again after a key rotation refused the agents it had made
  ("already exists"): their commits were signed by this node's retired key, not its current one.
* af-info REV -e EXP described REV and dropped -e without a word; show refuses both at once.
* a block or tool of the file's pool with an id 5, or none, or one repeated, was "has a missing
  or repeated 'id'" alike; each is said as it is.
* af-info and show of an imported agent decoded every message (and rebuilt its JSON) to count
  them: 9 s of af-info's 9.6 on 60,000 messages. Each thought is told by how its bytes end.
* a file whose maps (messages' among them) write many sets of keys unsorted filled af.file with
  their key orders, refused as "the file's own part (all but its agents)... trim that part".
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from mindgit.adapters.agentfile import _message_thought, import_af
from mindgit.adapters.agentfile_format import DanglingReference
from mindgit.store.genome import Gene
from mindgit.store.repository import init_store
from tests.adapters.test_agentfile_builders import AGENT_FILES
from tests.conftest import Mg


def _hint_command(err: str) -> list[str]:
    start = err.index("`mindgit ") + 1
    return shlex.split(err[start : err.index("`", start)])[1:]


def test_a_gene_that_does_not_fit_hints_unset_on_the_exported_experiment(tmp_path, mg: Mg) -> None:  # type: ignore[no-untyped-def]
    store = init_store(tmp_path / "alpha", "alpha")
    at = ("--store", str(store.path))
    for name, file in (("m", "memgpt_agent.af"), ("c", "customer_service.af")):
        assert mg(*at, "import-af", str(AGENT_FILES / file), "--as", name).code == 0
    assert mg(*at, "switch", "c").code == 0  # the current experiment is another agent
    store.unset_genes(["llm.temperature"], experiment="m")
    store.set_genes([Gene.make("llm.temperature", "bool", True)], experiment="m")
    out = tmp_path / "m.af"
    r = mg(*at, "export-af", "m", "-o", str(out))
    assert r.code == 1 and not out.exists()
    assert "-e m`" in r.err, r.err
    c_genes = store.state("c").genome
    assert mg(*_hint_command(r.err)).code == 0  # the hint, run as written
    assert store.state("c").genome == c_genes  # the other agent's genes are untouched
    assert "llm.temperature" not in store.state("m").genome
    assert mg(*at, "genome", "set", "llm.temperature=0.5", "-e", "m").code == 0
    assert mg(*at, "export-af", "m", "-o", str(out)).code == 0


def test_a_gene_that_does_not_fit_at_a_commit_hints_an_experiment(tmp_path, mg: Mg) -> None:  # type: ignore[no-untyped-def]
    store = init_store(tmp_path / "alpha", "alpha")
    at = ("--store", str(store.path))
    assert mg(*at, "import-af", str(AGENT_FILES / "memgpt_agent.af"), "--as", "m").code == 0
    store.unset_genes(["llm.temperature"], experiment="m")
    store.set_genes([Gene.make("llm.temperature", "str", "hot")], experiment="m")
    for rev in ("refs/heads/m", store.head("m")):
        r = mg(*at, "export-af", rev, "-o", str(tmp_path / "m.af"))
        assert r.code == 1
        if rev.startswith("refs/"):
            assert "genome unset llm.temperature -e m`" in r.err, r.err
        else:
            assert "-e EXPERIMENT`" in r.err and "export its head" in r.err, r.err


def test_an_ambiguous_block_hints_af_info_of_the_experiment_asked_of(tmp_path, mg: Mg) -> None:  # type: ignore[no-untyped-def]
    store = init_store(tmp_path / "alpha", "alpha")
    at = ("--store", str(store.path))
    value = json.loads(json.loads((AGENT_FILES / "customer_service.af").read_text()))
    value["blocks"][0]["label"], value["blocks"][1]["label"] = "a/b", "a:b"
    (tmp_path / "amb.af").write_text(json.dumps(value))
    assert mg(*at, "import-af", str(tmp_path / "amb.af"), "--as", "amb").code == 0
    r = mg(*at, "block", "set", "a:b", "new", "-e", "amb")  # the current experiment is main
    assert r.code == 1 and "is the label of memory a:b-2 and the name of memory a:b" in r.err
    shown = mg(*_hint_command(r.err))  # the hint, run as written, lists amb's blocks
    assert shown.code == 0, shown.err
    assert "  a/b  (memory a:b)\n" in shown.out and "  a:b  (memory a:b-2)\n" in shown.out


def test_an_import_cut_short_is_finished_after_a_key_rotation(tmp_path, mg: Mg) -> None:  # type: ignore[no-untyped-def]
    store = init_store(tmp_path / "alpha", "alpha")
    at = ("--store", str(store.path))
    evie = str(AGENT_FILES / "evie.af")
    assert mg(*at, "import-af", evie, "--as", "ev").code == 0
    first = store.head("ev-1")
    store.repo.references.delete("refs/heads/ev-2")  # as if killed between the two refs
    assert mg(*at, "keys", "rotate").code == 0
    r = mg(*at, "import-af", evie, "--as", "ev", "--json")
    assert r.code == 0, r.err
    done = json.loads(r.out)
    assert [(a["experiment"], a["earlier"]) for a in done] == [("ev-1", True), ("ev-2", False)]
    assert store.head("ev-1") == first
    assert mg(*at, "verify", "--all").code == 0
    assert mg(*at, "export-af", "ev-1", "ev-2", "-o", str(tmp_path / "e.af")).code == 0
    assert (tmp_path / "e.af").read_bytes() == (AGENT_FILES / "evie.af").read_bytes()


def test_af_info_refuses_a_revision_and_an_experiment_as_show_does(tmp_path, mg: Mg) -> None:  # type: ignore[no-untyped-def]
    store = init_store(tmp_path / "alpha", "alpha")
    at = ("--store", str(store.path))
    assert mg(*at, "import-af", str(AGENT_FILES / "memgpt_agent.af"), "--as", "m").code == 0
    for experiment in ("main", "nosuch"):
        r = mg(*at, "af-info", "m", "-e", experiment)
        assert (r.code, r.out) == (2, ""), r
        assert r.err == "mindgit: error: give a revision or -e/--experiment, not both\n"
    assert mg(*at, "af-info", "m").code == 0
    assert mg(*at, "af-info", "-e", "m").code == 0


@pytest.mark.parametrize(
    ("kind", "change", "said"),
    [
        ("blocks", lambda items: items[0].pop("id"), "block #1 has no 'id'"),
        ("blocks", lambda items: items[1].update(id=5), "block #2 has an 'id' that is no text (5)"),
        (
            "blocks",
            lambda items: items[1].update(id=items[0]["id"]),
            "block #2 repeats the id 'block-2' of an earlier block",
        ),
        (
            "tools",
            lambda items: items[2].update(id=items[0]["id"]),
            "tool #3 repeats the id 'tool-5' of an earlier tool",
        ),
    ],
)
def test_a_bad_block_or_tool_id_is_said_as_it_is(tmp_path, kind, change, said) -> None:  # type: ignore[no-untyped-def]
    store = init_store(tmp_path / "alpha", "alpha")
    value = json.loads(json.loads((AGENT_FILES / "customer_service.af").read_text()))
    change(value[kind])
    (tmp_path / "bad.af").write_text(json.dumps(value))
    refs = sorted(r for r in store.repo.references)
    with pytest.raises(DanglingReference) as caught:
        import_af(store, tmp_path / "bad.af")
    assert str(caught.value) == f"{tmp_path / 'bad.af'}: {said}; nothing was imported"
    assert sorted(r for r in store.repo.references) == refs


def test_the_message_count_is_exports_without_decoding_each_message(
    tmp_path: Path, mg: Mg, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = init_store(tmp_path / "alpha", "alpha")
    at = ("--store", str(store.path))
    value = json.loads(json.loads((AGENT_FILES / "customer_service.af").read_text()))
    message = value["agents"][0]["messages"][0]
    many = [{**message, "id": f"message-{n}"} for n in range(300)]
    value["agents"][0]["messages"] = [*many, message, message]  # a repeat is written twice
    (tmp_path / "many.af").write_text(json.dumps(value))
    assert mg(*at, "import-af", str(tmp_path / "many.af"), "--as", "m").code == 0
    assert mg(*at, "think", "a note, not a message", "-e", "m").code == 0
    assert mg(*at, "think", "a private note", "--private", "-e", "m").code == 0

    import mindgit.ipld.dagjson as dagjson

    decoded = []
    real = dagjson.decode

    def counting(data: bytes) -> object:
        decoded.append(len(data))
        return real(data)

    monkeypatch.setattr(dagjson, "decode", counting)
    r = mg(*at, "af-info", "-e", "m", "--json")
    assert r.code == 0 and json.loads(r.out)["messages"] == 302
    assert len(decoded) < 20  # the state's own blocks and the two notes, no message
    monkeypatch.setattr(dagjson, "decode", real)
    assert mg(*at, "export-af", "m", "-o", str(tmp_path / "out.af")).code == 0
    out = json.loads((tmp_path / "out.af").read_bytes())
    while isinstance(out, str):
        out = json.loads(out)
    assert len(out["agents"][0]["messages"]) == 302
    # A message forgotten is counted out, each time the order names it.
    cid = _message_thought(message).cid
    assert cid in store.state("m").thoughts
    assert mg(*at, "forget", str(cid), "-e", "m").code == 0
    assert json.loads(mg(*at, "af-info", "-e", "m", "--json").out)["messages"] == 299


def test_an_af_file_filled_by_key_orders_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mindgit.adapters.agentfile as agentfile

    store = init_store(tmp_path / "alpha", "alpha")
    value = json.loads(json.loads((AGENT_FILES / "customer_service.af").read_text()))
    message = value["agents"][0]["messages"][0]
    # Each message with a map of keys no other has, written unsorted: an order kept for each.
    value["agents"][0]["messages"] = [
        {**message, "id": f"m{n}", "meta": {f"k{n}-{j}": 0 for j in (3, 2, 1)}} for n in range(2000)
    ]
    (tmp_path / "orders.af").write_text(json.dumps(value))
    monkeypatch.setattr(agentfile, "MAX_BLOCK_BYTES", 60_000)
    refs = sorted(store.repo.references)
    with pytest.raises(agentfile.PartTooLarge) as caught:
        import_af(store, tmp_path / "orders.af")
    said = str(caught.value)
    found = re.search(r"af\.file, with the key order of each of the (\d+) sets of keys", said)
    assert found is not None and int(found.group(1)) > 2000, said
    assert "sort_keys=True" in (caught.value.hint or "")
    assert sorted(store.repo.references) == refs
    # Written sorted, the same file has no order to keep, and imports.
    monkeypatch.undo()
    (tmp_path / "sorted.af").write_text(json.dumps(value, sort_keys=True))
    [agent] = import_af(store, tmp_path / "sorted.af", name="s")
    assert agent.messages == 2000


def test_an_af_file_filled_by_its_own_part_says_that_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mindgit.adapters.agentfile as agentfile

    store = init_store(tmp_path / "alpha", "alpha")
    value = json.loads(json.loads((AGENT_FILES / "customer_service.af").read_text()))
    value["metadata"] = {"notes": "x" * 100_000}
    (tmp_path / "big.af").write_text(json.dumps(value))
    monkeypatch.setattr(agentfile, "MAX_BLOCK_BYTES", 60_000)
    with pytest.raises(agentfile.PartTooLarge) as caught:
        import_af(store, tmp_path / "big.af")
    assert "the file's own part (all but its agents), af.file, would be a block of " in str(
        caught.value
    )
    assert "trim that part first" in (caught.value.hint or "")
