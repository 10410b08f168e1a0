"""An export of many agents of one import takes memory linear in them (found by review): the
file block they share was decoded, and kept, once per agent."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path
from typing import Any

from mindgit.adapters.agentfile import export_af, import_af
from mindgit.store.repository import Store
from tests.adapters.test_agentfile_builders import write_af


def _many(n: int, prefix: str) -> dict[str, Any]:
    return {
        "agents": [
            {"id": f"{prefix}-{i}", "name": f"{prefix}{i}", "block_ids": [f"block-{i}"]}
            for i in range(n)
        ],
        "blocks": [{"id": f"block-{i}", "label": "persona", "value": f"v{i}"} for i in range(n)],
    }


def _export_peak(store: Store, names: list[str]) -> int:
    tracemalloc.start()
    try:
        export_af(store, names, io.BytesIO())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def test_an_export_of_many_agents_takes_memory_linear_in_them(store: Store, tmp_path: Path) -> None:
    # The file block the agents of one import share names every agent and block of the file;
    # it was decoded (and kept) once per agent: 100 agents peaked at ~2.3 MB, 400 at ~25 MB
    # (x11 for x4 agents). Decoded once per export, it is ~0.7 MB and ~2.6 MB.
    peaks = {}
    for n in (100, 400):
        write_af(tmp_path / f"f{n}.af", _many(n, f"a{n}"))
        agents = import_af(store, tmp_path / f"f{n}.af", name=f"f{n}")
        peaks[n] = _export_peak(store, [a.experiment for a in agents])
    assert peaks[400] < 6 * peaks[100], peaks


def test_an_export_of_many_agents_gives_their_file_back(store: Store, tmp_path: Path) -> None:
    data = write_af(tmp_path / "f.af", _many(30, "agent"))
    agents = import_af(store, tmp_path / "f.af", name="f")
    out = io.BytesIO()
    export_af(store, [a.experiment for a in agents], out)
    assert out.getvalue() == data
