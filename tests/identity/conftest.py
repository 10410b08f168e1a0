"""Fixtures for identity tests: two fixed node keys."""

from __future__ import annotations

import pytest

from mindgit.identity.keys import NodeKey


@pytest.fixture
def node_key() -> NodeKey:
    return NodeKey.from_seed(bytes(range(32)))


@pytest.fixture
def other_key() -> NodeKey:
    return NodeKey.from_seed(bytes(range(100, 132)))
