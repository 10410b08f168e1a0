"""Our bytes, judged by the JavaScript IPLD stack (@ipld/dag-json, @ipld/car, multiformats).

Each check starts one node process for a whole batch of blocks, because node is slow to start.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mindgit.ipld import dagjson
from mindgit.ipld.car import write_car
from mindgit.ipld.cid import CID, RAW

from .conftest import JsIpld
from .strategies import HARD_FLOATS, encodable_or_none, finite_floats, nodes

BATCH = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)


def check_files(js_ipld: JsIpld, directory: Path, blocks: list[bytes]) -> list[dict[str, Any]]:
    """Write each block as <cid>.dag-json, let JavaScript judge them all, return its reports."""
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.iterdir():
        old.unlink()
    for data in blocks:
        (directory / f"{CID.of(data)}.dag-json").write_bytes(data)
    reports: list[dict[str, Any]] = js_ipld.json("check-blocks.mjs", "--dir", str(directory))[
        "blocks"
    ]
    assert len(reports) == len({CID.of(b) for b in blocks})
    return reports


def assert_same_everywhere(reports: list[dict[str, Any]]) -> None:
    bad = [
        r
        for r in reports
        if r["error"]
        or not r["identical"]
        or r["reencoded_cid"] != r["cid"]
        or r["computed"] != r["cid"]
    ]
    assert bad == []


@BATCH
@given(st.lists(nodes(interop=True), min_size=20, max_size=60))
def test_hypothesis_values_are_read_and_rewritten_identically_by_js(
    js_ipld: JsIpld, tmp_path: Path, values: list[dagjson.Node]
) -> None:
    blocks = [b for b in map(encodable_or_none, values) if b is not None]
    assert_same_everywhere(check_files(js_ipld, tmp_path / "blocks", blocks))


@BATCH
@given(st.lists(finite_floats(), min_size=100, max_size=300))
def test_floats_are_read_and_rewritten_identically_by_js(
    js_ipld: JsIpld, tmp_path: Path, floats: list[float]
) -> None:
    # One block per float (so a difference names its float) plus the whole list as one block.
    blocks = [dagjson.encode(x) for x in floats] + [dagjson.encode(floats)]
    assert_same_everywhere(check_files(js_ipld, tmp_path / "floats", blocks))


def test_hard_values_are_read_and_rewritten_identically_by_js(
    js_ipld: JsIpld, tmp_path: Path
) -> None:
    link = CID.of(b"null")
    values: list[Any] = [
        *HARD_FLOATS,
        *[-x for x in HARD_FLOATS if x != 0],
        2**64 - 1, -(2**64), 2**53, -(2**53) - 1, 0, -1,
        "".join(chr(c) for c in range(0x80)), "\u2028\u2029\ufeff\uffff\U0010ffff", "\U0001f600",
        {"/": 1}, {"/": {"bytes": 1}}, {"/": {"a": "x", "bytes": "y"}}, {"": "x", "/": "y"},
        {"/": {}}, {"/": b"\x01"}, {"/": link}, {"/": [link]}, {"/": {"/": {"bytes": 2}}},
        {"__proto__": 1}, {"constructor": {"a": 1}}, {"1": 1, "10": 2, "2": 3, "a": 4},
        {"\ufb01": 1, "\uffff": 2, "a": 3}, {"\U0001f600": 1, "\u00e9": 2},
        b"", b"\x00" * 100, bytes(range(256)), CID.parse("QmQg1v4o9xdT3Q14wh4S7dxZkDjyZ9ssFzFzyep1YrVJBY"),
        CID.parse("bafkqabiaaebagba"), [[[[[]]]]], {"a": {"b": {"c": [None, True, False]}}},
    ]  # fmt: skip
    blocks = [dagjson.encode(v) for v in values]
    assert_same_everywhere(check_files(js_ipld, tmp_path / "hard", blocks))


def _bits(x: float) -> str:
    return struct.pack(">d", x).hex()


@BATCH
@given(st.lists(st.integers(0, 2**64 - 1), min_size=200, max_size=400))
def test_numbers_written_by_js_are_read_and_rewritten_identically_by_us(
    js_ipld: JsIpld, patterns: list[int]
) -> None:
    floats = [struct.unpack(">d", p.to_bytes(8, "big"))[0] for p in patterns]
    floats = [x for x in floats if math.isfinite(x)] + HARD_FLOATS + [-x for x in HARD_FLOATS]
    # JavaScript writes -0 as 0; we refuse to write -0.0, so leave it out of the comparison.
    floats = [x for x in floats if not (x == 0 and math.copysign(1, x) < 0)]
    block = js_ipld(
        "encode-numbers.mjs", input=json.dumps([_bits(x) for x in floats]).encode()
    ).stdout
    decoded = dagjson.decode(block)
    assert dagjson.encode(decoded) == block
    assert decoded == floats


def test_a_car_we_write_loads_and_walks_in_js(js_ipld: JsIpld, tmp_path: Path) -> None:
    raw_leaf = (CID.of(b"raw leaf", RAW), b"raw leaf")
    thoughts = [
        dagjson.encode({"text": f"thought {i}", "weight": i / 7, "tags": ["a", "b"]})
        for i in range(20)
    ]
    genome = dagjson.encode(
        {"rate": 0.001, "depth": 3, "flags": [True, False], "seed": b"\x00\x01"}
    )
    manifest = dagjson.encode(
        {
            "genome": CID.of(genome),
            "thoughts": [CID.of(t) for t in thoughts],
            "blob": raw_leaf[0],
            "inline": CID.parse("bafkqabiaaebagba"),  # identity hash: no block needed
            "nested": {"deeper": [{"link": CID.of(thoughts[0])}]},
        }
    )
    blocks = [(CID.of(manifest), manifest), (CID.of(genome), genome), raw_leaf] + [
        (CID.of(t), t) for t in thoughts
    ]
    car = tmp_path / "state.car"
    with car.open("wb") as out:
        write_car(out, [CID.of(manifest)], blocks)
    report = js_ipld.json("check-blocks.mjs", "--car", str(car))
    assert report["roots"] == [str(CID.of(manifest))]
    assert report["missing"] == []
    assert sorted(report["reachable"]) == sorted(str(cid) for cid, _ in blocks)
    assert [b["cid"] for b in report["blocks"]] == [str(cid) for cid, _ in blocks]
    assert all(b["hash_ok"] and b["identical"] and b["error"] is None for b in report["blocks"])


def test_the_js_walk_reports_a_missing_link(js_ipld: JsIpld, tmp_path: Path) -> None:
    absent = CID.of(b'"not in the car"')
    root = dagjson.encode({"present": CID.of(b"null"), "absent": absent})
    car = tmp_path / "broken.car"
    with car.open("wb") as out:
        write_car(out, [CID.of(root)], [(CID.of(root), root), (CID.of(b"null"), b"null")])
    report = js_ipld.json("check-blocks.mjs", "--car", str(car))
    assert report["missing"] == [{"cid": str(absent), "from": str(CID.of(root))}]


def test_js_flags_bytes_that_are_not_canonical(js_ipld: JsIpld, tmp_path: Path) -> None:
    # The oracle must be able to say no: a non-canonical block is not rewritten identically.
    directory = tmp_path / "odd"
    directory.mkdir()
    data = b'{"b":1, "a":2.0}'
    (directory / f"{CID.of(data)}.dag-json").write_bytes(data)
    (report,) = js_ipld.json("check-blocks.mjs", "--dir", str(directory))["blocks"]
    assert report["identical"] is False
    assert report["reencoded_cid"] == str(CID.of(b'{"a":2,"b":1}'))


def test_maps_with_slash_and_bytes_keys_are_refused_both_ways() -> None:
    """@ipld/dag-json fails on {"/": false, "bytes": false} (found by Hypothesis): such a map can
    have no CID that JavaScript reads back, so it is neither written nor read."""
    import pytest

    for value in ({"/": False, "bytes": False}, {"": None, "/": 1, "bytes": 2}):
        with pytest.raises(dagjson.ReservedForm):
            dagjson.encode(value)
    with pytest.raises(dagjson.DagJsonDecodeError):
        dagjson.decode(b'{"":null,"/":false,"bytes":false}')
