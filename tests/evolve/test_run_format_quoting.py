"""A run's files come from peers: a run.json or generation.json whose value is 100,000
characters (a schema, a run id, a generation) was quoted whole in the RunFormatError, a 100 KB
line; it is quoted cut (mindgit.errors.quoted)."""

from __future__ import annotations

import json

import pytest

from mindgit.ipld import dagjson
from mindgit.store.generation import GenerationRecord, RunFormatError, RunInfo, RunParams

LONG = "s" * 100_000


def test_a_long_schema_in_run_json_is_quoted_cut() -> None:
    keys = ("algorithm", "entry", "limits", "module", "params", "run", "schema", "start")
    node = {k: 1 for k in keys} | {"schema": LONG}
    with pytest.raises(RunFormatError) as caught:
        RunInfo.decode(dagjson.encode(node))
    assert "... (100000 characters) is not 1" in str(caught.value)
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize("key", ["schema", "generation"])
def test_a_long_value_in_generation_json_is_quoted_cut(key: str) -> None:
    node = {"best": 0, "generation": 0, "individuals": [], "schema": 1} | {key: LONG}
    data = json.dumps(node).encode()
    with pytest.raises(RunFormatError) as caught:
        GenerationRecord.decode(data, RunParams(population=4, generations=2, seed=3))
    assert "... (100000 characters)" in str(caught.value)
    assert len(str(caught.value)) < 300
