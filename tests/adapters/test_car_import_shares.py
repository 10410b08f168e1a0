"""import checks a history's share commits as verify will: each is rebuilt and signed by the
importing node, so a block labelled a share (``Mindgit-Shared-With``) that is not one would give
this node a commit its own verify, and every peer's pull and hook, refuse."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import pytest

from mindgit.adapters.car_import import CarInvalidShare, import_car
from mindgit.ipld.cid import CID
from mindgit.store.genome import Gene
from mindgit.store.private import share, think_private
from mindgit.store.repository import Store, init_store
from mindgit.store.state import State
from mindgit.store.verify import verify_commits
from tests.adapters.test_car_builders import export_bytes, store_fingerprint
from tests.conftest import Mg


def problems(store: Store, experiment: str) -> list[str]:
    report = verify_commits(store.repo, store.trust, [store.head(experiment)])
    return [p.reason for p in report.problems]


def test_a_real_share_comes_through_and_verifies(tmp_path: Path) -> None:
    alpha, beta, delta = (init_store(tmp_path / n, n) for n in ("alpha", "beta", "delta"))
    for other in (beta, delta):
        alpha.trust.add(other.public_key, other.name)
    _, cid = think_private(alpha, "under the third stone", [], ["beta"])
    share(alpha, cid, "delta")
    target = init_store(tmp_path / "target", "target")
    import_car(target, io.BytesIO(export_bytes(alpha, "main", history=True)), experiment="copy")
    assert problems(target, "copy") == []


@pytest.mark.parametrize(
    ("label", "reason"),
    [
        ("did", "a share commit replaces exactly one thought"),
        ("not-a-did", "Mindgit-Shared-With a text of 9 characters"),
    ],
)
def test_a_block_labelled_a_share_that_is_not_one_is_refused_before_anything_is_written(
    store: Store, tmp_path: Path, mg: Mg, label: str, reason: str
) -> None:
    shared_with = store.public_key.did if label == "did" else label

    def change(state: State) -> tuple[State, Mapping[CID, bytes]]:
        return state.with_genome(state.genome.with_genes(Gene.make("x", "float", 1.0))), {}

    store.think("a plain thought")
    store.update(change, "share: nothing at all", trailers={"Mindgit-Shared-With": shared_with})
    car = export_bytes(store, "main", history=True)
    target = init_store(tmp_path / "target", "target")
    before = store_fingerprint(target)
    with pytest.raises(CarInvalidShare, match=reason):
        import_car(target, io.BytesIO(car), experiment="copy")
    assert store_fingerprint(target) == before
    path = tmp_path / "forged.car"
    path.write_bytes(car)
    r = mg("--store", str(target.path), "import", str(path), "--as", "copy")
    assert r.code == 1 and r.out == "", (r.code, r.err)
    assert r.err.startswith("mindgit: error: history block ") and "labelled a share" in r.err
    assert len(r.err.splitlines()) == 1
    assert store_fingerprint(target) == before
