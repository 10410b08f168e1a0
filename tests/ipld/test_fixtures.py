"""The official IPLD codec fixtures (fixtures/ipld-codec-fixtures, see its README)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mindgit.ipld import dagcbor, dagjson
from mindgit.ipld.car import CarReader
from mindgit.ipld.cid import CID, DAG_CBOR, DAG_JSON

from .conftest import CODEC_FIXTURES

FOLDERS = sorted(p for p in (CODEC_FIXTURES / "fixtures").iterdir() if p.is_dir())
DAG_JSON_FILES = sorted((CODEC_FIXTURES / "fixtures").glob("*/*.dag-json"))
DAG_CBOR_FILES = sorted((CODEC_FIXTURES / "fixtures").glob("*/*.dag-cbor"))
NEGATIVE = [
    case
    for path in sorted((CODEC_FIXTURES / "negative-fixtures" / "dag-json").glob("*/*.json"))
    for case in json.loads(path.read_text())
]


def test_the_fixture_set_is_complete() -> None:
    assert len(FOLDERS) == 128
    assert len(DAG_JSON_FILES) == 128
    assert len(DAG_CBOR_FILES) == 128
    assert len(NEGATIVE) >= 1


@pytest.mark.parametrize("path", DAG_JSON_FILES, ids=lambda p: p.parent.name)
def test_positive_dag_json_fixture(path: Path) -> None:
    data = path.read_bytes()
    value = dagjson.decode(data)
    assert dagjson.encode(value) == data
    cid = CID.of(data, DAG_JSON)
    assert str(cid) == path.stem
    assert CID.parse(path.stem) == cid


@pytest.mark.parametrize("case", NEGATIVE, ids=lambda c: c["name"])
def test_negative_dag_json_fixture(case: dict[str, str]) -> None:
    with pytest.raises(dagjson.DagJsonDecodeError):
        dagjson.decode(bytes.fromhex(case["hex"]))


def _has_float(value: object) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    return False


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_dag_cbor_subset_agrees_with_dag_json(folder: Path) -> None:
    # The tiny DAG-CBOR codec (for CAR headers) must read every fixture without floats exactly,
    # to the same data-model value the DAG-JSON codec reads, and refuse the ones with floats.
    (json_path,) = folder.glob("*.dag-json")
    (cbor_path,) = folder.glob("*.dag-cbor")
    value = dagjson.decode(json_path.read_bytes())
    raw = cbor_path.read_bytes()
    assert str(CID.of(raw, DAG_CBOR)) == cbor_path.stem
    try:
        cbor_value = dagcbor.decode(raw)
    except dagcbor.DagCborError as error:
        assert "float" in error.reason
        assert folder.name.startswith(("float-", "garbage-"))
        return
    assert not _has_float(value)
    assert cbor_value == value
    assert dagcbor.encode(cbor_value) == raw


def test_fixtures_car_reads_and_every_block_verifies() -> None:
    on_disk = {
        path.stem: path.read_bytes()
        for path in (CODEC_FIXTURES / "fixtures").glob("*/*")
        if path.suffix in (".dag-json", ".dag-cbor")
    }
    with (CODEC_FIXTURES / "fixtures.car").open("rb") as stream:
        reader = CarReader(stream)  # verify=True: every block here is sha2-256
        assert reader.roots == ()
        blocks = list(reader)
    assert len(blocks) == 273
    codecs = {cid.codec for cid, _ in blocks}
    assert codecs == {DAG_JSON, DAG_CBOR, 0x70}
    for cid, data in blocks:
        if str(cid) in on_disk:
            assert on_disk[str(cid)] == data
        if cid.codec == DAG_JSON:
            assert dagjson.encode(dagjson.decode(data)) == data
    assert {str(cid) for cid, _ in blocks} >= set(on_disk)
