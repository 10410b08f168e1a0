"""A commit with an empty message cannot travel in a history CAR: it has no history block an
import could rebuild it from (Store.write_commit refuses such a message), so export and import
refuse it, and every history that does travel re-exports under the root it arrived with."""

from __future__ import annotations

import io
from pathlib import Path

import pygit2
import pytest

from mindgit.adapters.car_history import HistoryFormatError, UnportableCommit
from mindgit.adapters.car_import import import_car
from mindgit.ipld.cid import CID
from mindgit.store import layout
from mindgit.store.repository import Store, init_store
from mindgit.store.state import Block, State
from mindgit.store.verify import STATE_TRAILER, trailer
from tests.adapters.test_car_builders import car_sections, export_bytes, make_car
from tests.conftest import Mg
from tests.snapshots import changed, snapshot


@pytest.fixture
def target(tmp_path: Path) -> Store:
    return init_store(tmp_path / "beta", "beta")


def history_car(store: Store, message: str) -> bytes:
    """A history CAR of the store's head state whose one history block says ``message``,
    encoded by hand (the HistoryBlock class refuses an empty message)."""
    (root,), sections = car_sections(export_bytes(store))
    block = Block.encode(
        {"message": message, "parents": [], "schema": 1, "state": root, "type": "mindgit-history"}
    )
    return make_car([block.cid], [*sections, (block.cid, block.data)])


@pytest.mark.parametrize("message", ["", " ", "\t"])
def test_an_import_of_an_empty_message_is_refused_and_writes_nothing(
    store: Store, target: Store, message: str, tmp_path: Path, mg: Mg
) -> None:
    car = history_car(store, message)
    before = snapshot(target.path)
    with pytest.raises(HistoryFormatError, match="'message' is empty"):
        import_car(target, io.BytesIO(car), experiment="copy")
    path = tmp_path / "empty.car"
    path.write_bytes(car)
    r = mg("--store", str(target.path), "import", str(path), "--as", "copy")
    assert r.code == 1 and r.err.count("\n") == 1, r.err
    assert "'message' is empty" in r.err
    assert changed(before, target.path) == []


def old_empty_message_commit(store: Store) -> str:
    """A commit as write_commit wrote one for an empty message before it refused them: its
    state trailer alone, which git reads as the message's subject."""
    tree, manifest = layout.write_state(store.repo, State(), {})
    who = pygit2.Signature("alpha", "did:key:z", 1_700_000_000, 0)
    oid = store.repo.create_commit(
        None, who, who, f"\n\n{STATE_TRAILER}: {manifest.cid}\n", tree, [store.head()]
    )
    message = store.repo[oid].peel(pygit2.Commit).message
    assert trailer(message, STATE_TRAILER) is None  # the bug: no reader saw its trailer
    return str(oid)


def test_an_export_of_an_old_empty_message_commit_names_it(store: Store) -> None:
    oid = old_empty_message_commit(store)
    store.repo.references.create("refs/heads/old", oid)
    with pytest.raises(UnportableCommit, match=f"commit {oid} .*'message' is empty"):
        export_bytes(store, "old", history=True)
    # The state itself still travels.
    assert car_sections(export_bytes(store, "old"))[0] == (
        CID.of(layout.read_state(store.repo, store.repo[oid].peel(pygit2.Tree))[1].data),
    )


@pytest.mark.parametrize("message", ["Run: 1", " x", "x \n\nWhy: y", "x\n\nWhy: y\nHow: z"])
def test_an_imported_history_re_exports_under_its_root(
    store: Store, target: Store, message: str
) -> None:
    car = history_car(store, message)
    (root,), _ = car_sections(car)
    summary = import_car(target, io.BytesIO(car), experiment="copy")
    assert summary.root == root
    head = target.repo[summary.commit].peel(pygit2.Commit).message
    assert trailer(head, STATE_TRAILER) is not None
    assert car_sections(export_bytes(target, "copy", history=True))[0] == (root,)
