"""A key rotation (`mindgit keys rotate`) while `mindgit evolve` runs.

The rotation names the old key's history (the tips of the runs, experiments, ...) when it
starts; a commit the old key signs after that fails `mindgit verify` here and at every peer
("signed by alpha.retired-1, a retired key, outside the history its rotation named"). The
writer signed every generation with the key it took at the start and looked only for the
rotation's pending key before each write: a rotation that ran between two writes went
unseen, and the run went on signing with the retired key to its end; one seen mid-write had
its last generations signed already, and the run stopped saying "a key rotation is unfinished
... run `mindgit keys rotate` again", which would rotate a second time. The result commit was
signed with the key the process loaded at the start too. Now the writer stops on a rotation
it sees before a write, or under the run ref's lock before the ref moves (c821cad: it moved the
ref, then looked, then moved it back), and the run says so with the command that resumes it;
the resumed run is the same run, signed by the new key.
Found by review E.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from mindgit.evolve.persist import PersistFailed
from mindgit.evolve.run import Progress, resume_run, start_run
from mindgit.evolve.writer import KeyRotatedDuringRun
from mindgit.store.generation import RunParams
from mindgit.store.repository import Store, open_store
from mindgit.store.rotations import rotate_key
from tests.conftest import Mg, fsck
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.evolve.test_run import fingerprint

PARAMS = RunParams(population=8, generations=30, seed=5)


def verified(mg: Mg, store: Store) -> None:
    r = mg("--store", str(store.path), "verify", "--all", "--json")
    assert r.code == 0, r.out + r.err
    fsck(store.path)


def rotate_at(path: Path, generation: int) -> Callable[[Progress], None]:
    """An on_progress that rotates the node's key (as another process would) once
    ``generation`` is bred."""

    def progress(p: Progress) -> None:
        if p.generation == generation:
            rotate_key(open_store(path))

    return progress


@pytest.mark.parametrize("fork", ["1", "0"], ids=["writer-process", "inline"])
def test_a_rotation_during_a_run_stops_it_and_the_resumed_run_verifies(
    tmp_path: Path, mg: Mg, monkeypatch: pytest.MonkeyPatch, fork: str
) -> None:
    monkeypatch.setenv("MINDGIT_EVOLVE_FORK", fork)
    store = new_store(tmp_path / "s", float_genes(4))
    shutil.copytree(store.path, tmp_path / "ref")
    whole = start_run(open_store(tmp_path / "ref"), str(RASTRIGIN), PARAMS)

    with pytest.raises((PersistFailed, KeyRotatedDuringRun)) as stopped:
        start_run(store, str(RASTRIGIN), PARAMS, on_progress=rotate_at(store.path, 3))
    said, hint = str(stopped.value), stopped.value.hint or ""
    assert f"a key rotation started while run {whole.run_id} was written" in said
    assert "keys rotate` again:" not in hint
    verified(mg, store)

    # The same run, and its result, signed by the new key from where it stopped. The writer
    # process may not have written a generation yet when it saw the rotation.
    if "no generation of it is kept" in said:
        assert hint.endswith("start it again")
        done = start_run(open_store(store.path), str(RASTRIGIN), PARAMS)
    else:
        assert f"`mindgit evolve --resume {whole.run_id}` continues it" in hint
        done = resume_run(open_store(store.path))
    assert done.complete and done.result_commit is not None
    assert fingerprint(store, done.run_id) == fingerprint(
        open_store(tmp_path / "ref"), whole.run_id
    )
    assert done.best_state == whole.best_state
    verified(mg, store)


def test_a_rotation_after_the_last_generation_signs_the_result_with_the_new_key(
    tmp_path: Path, mg: Mg, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Inline, so that the last generation is written when its progress is reported: the
    # rotation then happens between it and the result commit.
    monkeypatch.setenv("MINDGIT_EVOLVE_FORK", "0")
    store = new_store(tmp_path / "s", float_genes(4))
    done = start_run(
        store, str(RASTRIGIN), PARAMS, on_progress=rotate_at(store.path, PARAMS.generations - 1)
    )
    assert done.complete and done.result_commit is not None
    verified(mg, store)
    r = mg("--store", str(store.path), "runs", "--json")
    assert r.code == 0 and json.loads(r.out)[0]["run"] == done.run_id
