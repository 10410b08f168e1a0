"""Names made from an agent file: experiments from agents' names and memories from blocks'
labels are names they can have, repeats included, and naming many is linear."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mindgit.adapters import agentfile, agentfile_blocks
from mindgit.adapters.agentfile import experiment_names, import_af
from mindgit.adapters.agentfile_blocks import memory_name, memory_names
from mindgit.store.repository import Store, check_experiment_name


@pytest.mark.parametrize(
    "name", ["x" * 150, "a" * 99 + "é", "a" * 98 + ".b" * 10, "a" * 97 + "-" * 5 + "b"]
)
def test_agents_with_one_long_name_get_names_that_fit(name: str) -> None:
    names = experiment_names([name] * 12, None)
    assert len(set(names)) == 12
    for made in names:
        assert check_experiment_name(made) == made and len(made) <= 100
    assert names[1].endswith("-2") and names[11].endswith("-12")


def test_a_file_of_agents_with_one_long_name_imports(store: Store, tmp_path: Path) -> None:
    name = "research assistant " * 8
    agents = [{"id": f"agent-{n}", "name": name} for n in range(3)]
    path = tmp_path / "long.af"
    path.write_text(json.dumps({"agents": agents}))
    made = [a.experiment for a in import_af(store, path)]
    slug = ("research-assistant-" * 8)[:100]  # ends "...-resea"
    assert made == [slug, slug[:98] + "-2", slug[:98] + "-3"]
    assert set(made) <= set(store.experiments())


def _names_as_before(labels: list[str]) -> list[str]:
    """The naming rule as first written: each label scans from -2 up for a free name."""
    names: list[str] = []
    for label in labels:
        base = memory_name(label)
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base[: 128 - len(str(n)) - 1]}-{n}"
        names.append(name)
    return names


@given(st.lists(st.text(alphabet="ab/:-_ é.", min_size=1, max_size=6), unique=True, max_size=40))
def test_memory_names_are_what_the_rule_gives(labels: list[str]) -> None:
    assert memory_names(labels) == _names_as_before(labels)


@given(st.lists(st.sampled_from(["a", "a-2", "a-3", "a_2", "a/2", "a:2", "x" * 130]), max_size=8))
def test_memory_names_of_suffix_lookalikes(picks: list[str]) -> None:
    labels = list(dict.fromkeys(picks + ["a" * 127 + c for c in "bcd"]))
    assert memory_names(labels) == _names_as_before(labels)
    assert len(set(memory_names(labels))) == len(labels)


def test_naming_many_clashing_labels_tries_each_suffix_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 3,000 labels that all map to "x_": the first rule tried -2, -3... again for every one
    # of them (4.5 million names), so 20,000 blocks took 20 s to name.
    tried: list[int] = []

    def counted(base: str, n: int) -> str:
        tried.append(n)
        return suffixed(base, n)

    suffixed = agentfile_blocks._suffixed
    monkeypatch.setattr(agentfile_blocks, "_suffixed", counted)
    labels = ["x" + chr(0x100 + i) for i in range(3000)]
    names = memory_names(labels)
    assert names[0] == "x_" and names[1] == "x_-2" and names[-1] == "x_-3000"
    assert len(tried) == 2999


def _experiments_as_before(agents: list[str]) -> list[str]:
    """The naming rule as first written (with the cut): each agent scans from -2 up."""
    out: list[str] = []
    for agent in agents:
        base = experiment_names([agent], None)[0]
        candidate, n = base, 1
        while candidate in out:
            n += 1
            candidate = base[: 100 - len(f"-{n}")].rstrip("-.") + f"-{n}"
        out.append(candidate)
    return out


@given(
    st.lists(st.sampled_from(["a", "a-2", "a 2", "a/2", "", "HEAD", "x" * 120, "x" * 98 + "-2"]))
)
def test_experiment_names_are_what_the_rule_gives(agents: list[str]) -> None:
    assert experiment_names(agents, None) == _experiments_as_before(agents)


def test_naming_many_agents_of_one_name_tries_each_suffix_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The first rule tried -2, -3... again for every agent: 3,000 agents named alike took
    # 3 minutes to import, nearly all of it naming them.
    tried: list[int] = []

    def counted(base: str, n: int) -> str:
        tried.append(n)
        return suffixed(base, n)

    suffixed = agentfile._suffixed
    monkeypatch.setattr(agentfile, "_suffixed", counted)
    names = experiment_names(["same"] * 3000, None)
    assert names[:2] == ["same", "same-2"] and names[-1] == "same-3000"
    assert len(tried) == 2999
