"""Review I: a CAR naming a section (or a block linking a CID) by an identity multihash of 64 KB
kept `mindgit import` busy 13 s, to print a 100 KB line; `mindgit cat` of such a typed CID said
so in a line as long. Each is one short line now, quickly, and nothing is written."""

from __future__ import annotations

from pathlib import Path

from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID, DAG_JSON, IDENTITY
from mindgit.store.repository import Store, init_store
from tests.adapters.test_car_builders import (
    car_sections,
    export_bytes,
    make_car,
    rich_store,
    store_fingerprint,
)
from tests.conftest import Mg

HUGE = CID(1, DAG_JSON, IDENTITY, b"n" * 64_000)


def import_of(mg: Mg, car: bytes, tmp_path: Path) -> tuple[Store, int, str]:
    path = tmp_path / "odd.car"
    path.write_bytes(car)
    target = init_store(tmp_path / "beta", "beta")
    before = store_fingerprint(target)
    r = mg("--store", str(target.path), "import", str(path), "--as", "copy")
    assert store_fingerprint(target) == before
    return target, r.code, r.err


def test_a_section_named_by_a_long_identity_cid(store: Store, mg: Mg, tmp_path: Path) -> None:
    rich_store(store)
    roots, sections = car_sections(export_bytes(store, "dreamer"))
    _, code, err = import_of(mg, make_car(roots, [*sections, (HUGE, b"")]), tmp_path)
    assert code == 1 and err.count("\n") == 1 and len(err) < 600, err[:300]
    assert "(102413 characters): its hash is multihash 0x0" in err


def test_a_block_linking_a_long_identity_cid(store: Store, mg: Mg, tmp_path: Path) -> None:
    rich_store(store)
    _, sections = car_sections(export_bytes(store, "dreamer"))
    # The root (a manifest) is replaced by one naming a data block that links HUGE.
    manifest = dagjson.decode(sections[0][1])
    assert isinstance(manifest, dict)
    linking = dagjson.encode({"link": HUGE})
    manifest["data"] = {"odd": CID.of(linking)}
    new_root = dagjson.encode(manifest)
    blocks = [(CID.of(new_root), new_root), *sections[1:], (CID.of(linking), linking)]
    _, code, err = import_of(mg, make_car([CID.of(new_root)], blocks), tmp_path)
    assert code == 1 and err.count("\n") == 1 and len(err) < 600, err[:300]
    assert "which mindgit cannot keep" in err and "(102413 characters)" in err


def test_cat_of_a_long_typed_cid(store: Store, mg: Mg) -> None:
    r = mg("--store", str(store.path), "cat", str(HUGE))
    assert r.code == 1 and r.err.count("\n") == 1 and len(r.err) < 600, r.err[:300]
    assert "is not in this store" in r.err
