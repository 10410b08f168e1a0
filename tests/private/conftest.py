"""Fixtures for private thoughts: several nodes, each with its own store, and git transport."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mindgit.store.repository import Store, init_store
from tests.conftest import git

Nodes = Callable[..., list[Store]]


@pytest.fixture
def nodes(tmp_path: Path) -> Nodes:
    """``nodes("alpha", "beta")``: one store per name; every node trusts every other by name."""

    def make(*names: str, trust: bool = True) -> list[Store]:
        stores = [init_store(tmp_path / name, name) for name in names]
        if trust:
            for s in stores:
                for other in stores:
                    if other is not s:
                        s.trust.add(other.public_key, other.name)
        return stores

    return make


def fetch(into: Store, source: Store, refspec: str) -> None:
    """Plain `git fetch` from one store's directory into another (no mindgit involved)."""
    git("--git-dir", str(into.path), "fetch", "--quiet", str(source.path), refspec)
