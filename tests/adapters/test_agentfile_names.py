"""Experiment names made from agents' names are names an experiment can have, repeats included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mindgit.adapters.agentfile import experiment_names, import_af
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
