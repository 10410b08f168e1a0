"""The commands that write a state end as `git commit` does, with `git gc --auto`.

Each write of a big state leaves a loose tree and manifest the size of the state; think, forget
and genome set/unset never let git pack them (only evolve, pull and the imports did), so a store
that only ever thinks grew by the state's size per thought, and a peer's fetch packed it all.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mindgit.store import maintenance
from mindgit.store.repository import Store
from tests.conftest import Mg, git


def _loose(path: Path) -> list[Path]:
    return [p for p in (path / "objects").glob("??/*") if p.is_file()]


@pytest.mark.parametrize(
    "args",
    [
        ("think", "a new thought"),
        ("genome", "set", "x=1"),
        ("genome", "unset", "y"),
        ("forget", "<cid>"),
    ],
)
def test_each_state_write_asks_git_to_tidy(
    store: Store, mg: Mg, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    _, cid = store.think("to forget")
    at = ("--store", str(store.path))
    assert mg(*at, "genome", "set", "y=2").code == 0
    asked: list[Path] = []
    monkeypatch.setattr(maintenance, "auto_gc", lambda s: asked.append(s.path))
    typed = tuple(str(cid) if a == "<cid>" else a for a in args)
    r = mg(*at, *typed)
    assert r.code == 0, r.err
    assert asked == [store.path]


def test_a_refused_write_asks_nothing(
    store: Store, mg: Mg, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[Path] = []
    monkeypatch.setattr(maintenance, "auto_gc", lambda s: asked.append(s.path))
    r = mg("--store", str(store.path), "genome", "unset", "nothing-here")
    assert r.code == 1
    assert asked == []


def test_think_packs_a_store_over_gits_threshold(store: Store, mg: Mg) -> None:
    """With git's own rule (gc.auto loose objects, estimated from objects/17) set low, the
    think that crosses it leaves the store packed."""
    git("--git-dir", str(store.path), "config", "gc.auto", "1")
    sample = store.path / "objects" / "17"
    # git counts objects/17 only, and gcs when it holds more than gc.auto/256 (rounded up).
    for i in range(5000):
        if sample.is_dir() and len(list(sample.iterdir())) >= 2:
            break
        store.think(f"filler {i}")
    assert len(list(sample.iterdir())) >= 2
    r = mg("--store", str(store.path), "think", "the one that crosses it", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["thought"]
    assert _loose(store.path) == []
    assert list((store.path / "objects" / "pack").glob("*.pack"))
