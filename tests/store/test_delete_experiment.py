"""Deleting an experiment (mindgit.store.deletion): refused where git branch -d refuses."""

from __future__ import annotations

import json

import pytest

from mindgit.errors import MindgitError
from mindgit.store.deletion import CurrentExperiment, NotMerged, delete_experiment
from mindgit.store.refs import RefLocked, locked_ref
from mindgit.store.repository import Store, UnknownExperiment, UnknownRef
from tests.conftest import Mg, fsck, git
from tests.snapshots import snapshot


def test_a_merged_experiment_is_deleted(store: Store) -> None:
    store.fork("lab", switch=False)
    head = store.head("lab")
    assert delete_experiment(store, "lab") == head
    assert "lab" not in store.experiments()
    assert git("--git-dir", str(store.path), "for-each-ref", "refs/heads/lab") == ""
    # Its reflog goes with it, as git's own deletion does.
    assert not (store.path / "logs" / "refs" / "heads" / "lab").exists()
    fsck(store.path)


def test_the_old_head_restores_it(store: Store) -> None:
    store.fork("lab")
    store.think("only on lab")
    store.switch("main")
    head = delete_experiment(store, "lab", force=True)
    store.fork("lab", start=head, switch=False)
    assert store.head("lab") == head


def test_a_packed_experiment_is_deleted(store: Store) -> None:
    store.fork("lab", switch=False)
    git("--git-dir", str(store.path), "pack-refs", "--all")
    delete_experiment(store, "lab")
    assert "lab" not in store.experiments()
    assert "refs/heads/lab" not in (store.path / "packed-refs").read_text()


def test_the_current_experiment_is_refused(store: Store) -> None:
    store.fork("lab")
    before = snapshot(store.path)
    with pytest.raises(CurrentExperiment, match="'lab': it is the current experiment"):
        delete_experiment(store, "lab")
    assert snapshot(store.path) == before


def test_an_unmerged_experiment_needs_force(store: Store) -> None:
    store.fork("lab")
    store.think("only on lab")
    store.switch("main")
    before = snapshot(store.path)
    with pytest.raises(NotMerged, match="which no other experiment holds") as e:
        delete_experiment(store, "lab")
    assert e.value.head == store.head("lab")
    assert "--force" in (e.value.hint or "")
    assert snapshot(store.path) == before
    delete_experiment(store, "lab", force=True)
    assert store.experiments() == ["main"]


def test_an_experiment_behind_another_is_merged(store: Store) -> None:
    store.fork("old", switch=False)
    store.think("main moves on")
    delete_experiment(store, "old")
    assert store.experiments() == ["main"]


@pytest.mark.parametrize("name", ["nope", "a..b", "-x", ""])
def test_unknown_or_malformed_names(store: Store, name: str) -> None:
    before = snapshot(store.path)
    with pytest.raises(MindgitError) as e:
        delete_experiment(store, name)
    if name == "nope":
        assert isinstance(e.value, UnknownRef)
    assert snapshot(store.path) == before


def test_an_experiment_being_written_is_not_deleted(store: Store) -> None:
    """The ref's lock: a live writer holding it longer than the store waits makes the deletion
    fail, ref intact."""
    store.fork("lab", switch=False)
    head = store.head("lab")
    store.lock_wait = 0.2
    with locked_ref(store.repo, "refs/heads/lab"), pytest.raises(RefLocked, match="lock"):
        delete_experiment(store, "lab")
    assert store.head("lab") == head


# ---- the command: mindgit experiments --delete NAME [--force] --------------------------------


def test_the_command_deletes_and_tells_how_to_bring_it_back(store: Store, mg: Mg) -> None:
    store.fork("lab")
    store.think("only on lab")
    store.switch("main")
    head = store.head("lab")
    at = "--store", str(store.path)
    refused = mg(*at, "experiments", "--delete", "lab")
    assert refused.code == 1 and "which no other experiment holds" in refused.err
    done = mg(*at, "experiments", "--delete", "lab", "--force")
    assert done.code == 0, done.err
    assert f"deleted experiment lab (was {head[:12]})" in done.err
    restore = done.err.split("to bring it back: ", 1)[1].split()
    # The store named as it was given: run from anywhere, the command restores it there.
    assert restore[:4] == ["mindgit", "--store", str(store.path), "fork"]
    back = mg(*restore[1:])
    assert back.code == 0, back.err
    assert store.head("lab") == head


def test_the_command_as_json(store: Store, mg: Mg) -> None:
    store.fork("lab", switch=False)
    done = mg("--store", str(store.path), "experiments", "--delete", "lab", "--json")
    assert done.code == 0
    assert json.loads(done.out) == {"deleted": "lab", "head": store.head()}


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (("--delete", "main"), 1, "it is the current experiment"),
        (("--delete", "nope"), 1, "unknown experiment"),
        (("--delete", "a..b"), 2, "--delete 'a..b' is not an experiment name"),
        (("--delete", ""), 2, "is not an experiment name"),
        (("--force",), 2, "--force goes with --delete NAME"),
    ],
)
def test_the_command_refuses(
    store: Store, mg: Mg, args: tuple[str, ...], code: int, said: str
) -> None:
    store.fork("lab", switch=False)
    before = snapshot(store.path)
    out = mg("--store", str(store.path), "experiments", *args)
    assert out.code == code and said in out.err, out.err
    assert len(out.err.strip().splitlines()) == 1
    assert snapshot(store.path) == before


def test_a_switch_racing_a_deletion_never_leaves_head_on_a_deleted_ref(store: Store) -> None:
    """A switch checks the experiment under HEAD's lock, which a deletion holds throughout.
    Checked before taking it, a switch that waited on the lock while the experiment was
    deleted then pointed HEAD at the deleted ref."""
    import threading

    from mindgit.store.refs import locked_head
    from mindgit.store.repository import open_store

    store.fork("lab", switch=False)
    other = open_store(store.path)
    failed: list[BaseException] = []

    def switch() -> None:
        try:
            other.switch("lab")
        except BaseException as e:
            failed.append(e)

    with locked_head(store.repo):  # as delete_experiment holds it
        racer = threading.Thread(target=switch)
        racer.start()
        racer.join(0.3)  # long enough for the switch to reach the lock it waits on
        git("--git-dir", str(store.path), "update-ref", "-d", "refs/heads/lab")
    racer.join()
    assert [type(e) for e in failed] == [UnknownExperiment]
    assert open_store(store.path).current == "main"
