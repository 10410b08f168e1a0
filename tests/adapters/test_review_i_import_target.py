"""Review I: `mindgit import FILE --as NAME` where experiment NAME points at no commit (a blob, a
tree, a tag, an object the store lacks: a ref set by hand) was an internal error (exit 3: an
AssertionError, a KeyError), met only after the whole CAR was read and checked. It is refused
as every writer refuses such a head (ExperimentAtNoCommit, exit 1), and nothing is written."""

from __future__ import annotations

import io
from pathlib import Path

import pygit2
import pytest

from mindgit.adapters.car_import import import_car
from mindgit.store.repository import ExperimentAtNoCommit, Store, init_store
from tests.adapters.test_car_builders import export_bytes, rich_store, store_fingerprint
from tests.conftest import Mg


def odd_object(store: Store, kind: str) -> str:
    repo = store.repo
    if kind == "blob":
        return str(repo.create_blob(b"not a commit\n"))
    main = repo.references["refs/heads/main"].target
    if kind == "tree":
        return str(repo.revparse_single("main^{tree}").id)
    if kind == "tag":
        sig = pygit2.Signature("t", "t@example.com", 0, 0)
        return str(repo.create_tag("v1", main, pygit2.enums.ObjectType.COMMIT, sig, "a tag"))
    return "0" * 39 + "1"  # missing


def point_at(store: Store, name: str, oid: str) -> None:
    # git refuses to write such a branch (update-ref: "trying to write non-commit object").
    (Path(store.repo.path) / "refs" / "heads" / name).write_text(oid + "\n")


@pytest.mark.parametrize("kind", ["blob", "tree", "tag", "missing"])
def test_an_experiment_at_no_commit_is_refused(kind: str, store: Store, mg: Mg) -> None:
    rich_store(store)
    car = store.path.parent / "dreamer.car"
    car.write_bytes(export_bytes(store, "dreamer"))
    target = init_store(store.path.parent / "beta", "beta")
    point_at(target, "odd", odd_object(target, kind))
    before = store_fingerprint(target)
    r = mg("--store", str(target.path), "import", str(car), "--as", "odd")
    assert r.code == 1, r.err
    assert r.err.startswith("mindgit: error: experiment 'odd' points at "), r.err
    assert "internal error" not in r.err
    assert store_fingerprint(target) == before


def test_a_head_moved_to_no_commit_while_the_car_is_read_is_refused(store: Store) -> None:
    rich_store(store)
    car = export_bytes(store, "dreamer")
    target = init_store(store.path.parent / "beta", "beta")
    blob = odd_object(target, "blob")

    class Moving(io.BytesIO):
        def read(self, n: int | None = -1) -> bytes:
            data = super().read(n)
            if not data:  # the CAR read whole: another tool moves the experiment now
                point_at(target, "main", blob)
            return data

    with pytest.raises(ExperimentAtNoCommit, match="points at a blob"):
        import_car(target, Moving(car), experiment="main")
    assert target.repo.references["refs/heads/main"].target == pygit2.Oid(hex=blob)
