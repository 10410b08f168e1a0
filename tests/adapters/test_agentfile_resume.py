"""import-af run again finishes an import cut short between two agents' refs."""

from __future__ import annotations

import json

import pytest

from mindgit.adapters.agentfile import import_af
from mindgit.errors import MindgitError
from mindgit.store.repository import Store
from tests.conftest import FIXTURES, Mg, git
from tests.snapshots import snapshot

EVIE = FIXTURES / "agent-files" / "evie.af"  # two agents
MEMGPT = FIXTURES / "agent-files" / "memgpt_agent.af"


def cut_short(store: Store) -> tuple[str, str]:
    """An import of evie.af killed after its first agent's ref was made, not its second's:
    the experiments made, then the second's ref deleted as if it never was."""
    first, second = import_af(store, EVIE)
    git("--git-dir", str(store.path), "update-ref", "-d", f"refs/heads/{second.experiment}")
    return first.experiment, second.experiment


def test_run_again_it_makes_what_is_missing_and_keeps_what_was_made(store: Store) -> None:
    first, second = cut_short(store)
    kept = store.head(first)
    again = import_af(store, EVIE)
    assert [(a.experiment, a.earlier) for a in again] == [(first, True), (second, False)]
    assert store.head(first) == kept == again[0].commit
    assert store.head(second) == again[1].commit
    assert sorted(store.experiments()) == sorted(["main", first, second])
    assert store.verify(all_refs=True).ok


def test_the_command_says_which_were_there(store: Store, mg: Mg) -> None:
    first, second = cut_short(store)
    out = mg("--store", str(store.path), "import-af", str(EVIE))
    assert out.code == 0, out.err
    assert f"was imported as {first} already" in out.err
    assert f"as {second}:" in out.err
    as_json = mg("--store", str(store.path), "import-af", str(EVIE), "--json")
    assert as_json.code == 1  # all there now: refused as importing a file twice is


def test_a_whole_import_run_again_is_refused(store: Store) -> None:
    import_af(store, EVIE)
    before = snapshot(store.path)
    with pytest.raises(MindgitError, match="already exists"):
        import_af(store, EVIE)
    assert snapshot(store.path) == before


def test_an_experiment_holding_something_else_is_not_taken_for_the_agent(store: Store) -> None:
    """Another file's agent, imported under the name evie's second agent gets: refused."""
    _, second = cut_short(store)
    import_af(store, MEMGPT, name=second)
    before = snapshot(store.path)
    with pytest.raises(MindgitError, match=f"experiment '{second}' already exists"):
        import_af(store, EVIE)
    assert snapshot(store.path) == before


def test_an_experiment_that_moved_on_is_not_taken_for_the_agent(store: Store) -> None:
    """Worked on since (its head no longer the import's root commit): refused."""
    first, _ = cut_short(store)
    store.think("work after the import", experiment=first)
    before = snapshot(store.path)
    with pytest.raises(MindgitError, match=f"experiment '{first}' already exists"):
        import_af(store, EVIE)
    assert snapshot(store.path) == before


def test_json_marks_the_agents_made_before(store: Store, mg: Mg) -> None:
    first, second = cut_short(store)
    out = mg("--store", str(store.path), "import-af", str(EVIE), "--json")
    assert out.code == 0, out.err
    assert [(a["experiment"], a["earlier"]) for a in json.loads(out.out)] == [
        (first, True),
        (second, False),
    ]


def test_a_dead_writer_s_lock_on_an_agent_made_before_is_removed(store: Store) -> None:
    """Killed with the first agent's ref in place and its lock not yet removed: nothing writes
    that ref again to clear the lock, so the rerun does (the kill test saw it 1 run in ~10)."""
    from tests.store.test_kill_audit import die_holding

    first, second = cut_short(store)
    kept = store.head(first)
    lock = die_holding(store, f"refs/heads/{first}")
    again = import_af(store, EVIE)
    assert [(a.experiment, a.earlier) for a in again] == [(first, True), (second, False)]
    assert not lock.exists()
    assert store.head(first) == kept


def test_a_dead_writer_s_lock_goes_when_every_agent_was_made(store: Store) -> None:
    """Killed after its last ref was in place, before that ref's lock went: the rerun refuses
    (all were made) and removes the lock all the same (the kill test saw it under load)."""
    from tests.store.test_kill_audit import die_holding

    _, second = import_af(store, EVIE)
    lock = die_holding(store, f"refs/heads/{second.experiment}")
    with pytest.raises(MindgitError, match="already exists"):
        import_af(store, EVIE)
    assert not lock.exists()
