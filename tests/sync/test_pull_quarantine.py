"""A pull fetches into a quarantine repository of its own: a refused pull leaves the store's
objects as they were, an accepted one moves them in, and no pull may bring more than
``mindgit.maxfetch``."""

from __future__ import annotations

import os

import pygit2
import pytest

from mindgit.store.repository import UnknownRef
from mindgit.store.settings import BadConfigValue
from mindgit.sync.outcomes import PullRejected
from mindgit.sync.pull import pull
from mindgit.sync.quarantine import (
    DEFAULT_MAX_FETCH,
    Quarantine,
    max_fetch,
)
from mindgit.sync.transport import FetchTooLarge
from tests.conftest import fsck
from tests.sync.conftest import Nodes
from tests.sync.test_attacks import fingerprint, stored_objects


def _big_thought(nodes: Nodes, size: int) -> None:
    # Random text does not compress: the fetch is at least this large.
    beta = nodes["beta"]
    if beta.repo.references.get("refs/heads/work") is None:
        beta.fork("work")
    beta.think(os.urandom(size).hex(), experiment="work")


def _same_work(nodes: Nodes) -> bool:
    alpha, beta = nodes["alpha"], nodes["beta"]
    return alpha.head("work") == beta.head("work")


def test_a_pull_over_the_cap_is_stopped_and_leaves_nothing(pair: Nodes) -> None:
    alpha = pair["alpha"]
    alpha.config_set("mindgit.maxfetch", "16k")
    _big_thought(pair, 64 << 10)
    before = fingerprint(alpha)
    with pytest.raises(FetchTooLarge) as info:
        pull(alpha, "beta")
    assert info.value.limit == 16 << 10 and info.value.size > 16 << 10
    assert "mindgit.maxfetch" in str(info.value)
    assert fingerprint(alpha) == before
    assert sorted(os.listdir(Quarantine(alpha, "beta").objects)) == ["info", "pack"]
    fsck(alpha.path)
    # Raised, the same pull goes through, and its objects are now the store's own.
    alpha.config_set("mindgit.maxfetch", "1M")
    pull(alpha, "beta")
    assert _same_work(pair)
    assert stored_objects(alpha.path) > before[2]
    fsck(alpha.path)


def test_an_accepted_pull_moves_its_objects_into_the_store(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    _big_thought(pair, 100)
    pull(alpha, "beta")
    head = beta.head("work")
    # The store itself, read by a fresh git, holds the new head: nothing stays in quarantine.
    assert any(line.startswith(head) for line in stored_objects(alpha.path))
    assert sorted(os.listdir(Quarantine(alpha, "beta").objects)) == ["info", "pack"]
    fsck(alpha.path)


def test_a_second_pull_fetches_only_what_is_new(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    _big_thought(pair, 32 << 10)
    pull(alpha, "beta")
    # Everything already here is negotiated away (the store's refs count as the quarantine's
    # "haves"): a cap far below the first pull lets the small second one through.
    alpha.config_set("mindgit.maxfetch", "8k")
    beta.think("small", experiment="work")
    pull(alpha, "beta")
    assert _same_work(pair)


@pytest.mark.parametrize("value", ["lots", "-1", "0", "1T"])
def test_a_bad_cap_is_named(pair: Nodes, value: str) -> None:
    alpha = pair["alpha"]
    alpha.config_set("mindgit.maxfetch", value)
    with pytest.raises(BadConfigValue, match=r"mindgit\.maxfetch") as raised:
        max_fetch(alpha)
    assert raised.value.exit_code == 1  # bad data in the config, not a wrong command line
    with pytest.raises(BadConfigValue):
        pull(alpha, "beta")


def test_the_cap_defaults_and_reads_sizes(pair: Nodes) -> None:
    alpha = pair["alpha"]
    assert max_fetch(alpha) == DEFAULT_MAX_FETCH
    alpha.config_set("mindgit.maxfetch", "2G")
    assert max_fetch(alpha) == 2 << 30


def test_a_refused_pull_leaves_nothing_readable_in_this_process(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("work")
    beta.think("a thought alpha will refuse", experiment="work")
    head = beta.head("work")
    alpha.trust.remove("beta")
    before = fingerprint(alpha)
    with pytest.raises(PullRejected):
        pull(alpha, "beta")
    # Not on disk, and not in this process's view of the store either.
    assert pygit2.Oid(hex=head) not in alpha.repo.odb
    assert alpha.repo.get(head) is None
    with pytest.raises(UnknownRef):
        alpha.fork("refused", start=head)
    assert fingerprint(alpha) == before
    fsck(alpha.path)
