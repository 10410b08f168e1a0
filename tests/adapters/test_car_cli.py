"""`mindgit export`, `mindgit import`, `mindgit cat`: exit codes, stdout data, stderr messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mindgit.store.repository import Store, init_store
from tests.adapters.test_car_builders import car_sections, export_bytes, rich_store
from tests.conftest import ROOT, Mg

SHIM = "import sys; from mindgit.cli.main import run; sys.exit(run(sys.argv[1:]))"


@pytest.fixture
def alpha(store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    rich_store(store)
    monkeypatch.setenv("MINDGIT_STORE", str(store.path))
    return store


def run_binary(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", SHIM, *args], input=input, capture_output=True, cwd=ROOT, timeout=120
    )


def test_export_to_a_file(alpha: Store, mg: Mg, tmp_path: Path) -> None:
    car = tmp_path / "dreamer.car"
    r = mg("export", "dreamer", "--car", str(car))
    assert r.code == 0, r.err
    assert r.out.strip() == str(alpha.snapshot("dreamer").manifest.cid)
    assert "exported 1 state(s), 5 blocks" in r.err
    assert car.read_bytes() == export_bytes(alpha, "dreamer")
    r = mg("export", "dreamer", "--car", str(car), "--history", "--json")
    data = json.loads(r.out)
    assert data["history"] and data["root"] == str(car_sections(car.read_bytes())[0][0])
    assert data["state"] == str(alpha.snapshot("dreamer").manifest.cid)
    assert data["bytes"] == car.stat().st_size and data["blocks"] > 5


def test_a_failed_export_leaves_no_file(alpha: Store, mg: Mg, tmp_path: Path) -> None:
    r = mg("export", "nope", "--car", str(tmp_path / "x.car"))
    assert r.code == 1 and r.err.startswith("mindgit: error: unknown experiment or revision")
    assert list(tmp_path.glob("*x.car*")) == []
    r = mg("export", "--car", str(tmp_path / "missing-dir" / "x.car"))
    # As export-af -o: a place that cannot be written fails the export (exit 1).
    assert r.code == 1 and "cannot write" in r.err and "nothing was written" in r.err


def test_export_to_stdout_and_import_from_stdin(alpha: Store, tmp_path: Path) -> None:
    out = run_binary("export", "dreamer", "--car", "-")
    assert out.returncode == 0, out.stderr
    assert out.stdout == export_bytes(alpha, "dreamer")
    beta = init_store(tmp_path / "beta", "beta")
    r = run_binary("--store", str(beta.path), "import", "-", "--as", "copy", input=out.stdout)
    assert r.returncode == 0, r.stderr
    assert beta.snapshot("copy").manifest.cid == alpha.snapshot("dreamer").manifest.cid
    assert r.stdout.decode().strip() == beta.head("copy")


def test_json_cannot_share_stdout_with_the_car(alpha: Store, mg: Mg) -> None:
    r = mg("export", "--car", "-", "--json")
    assert r.code == 2 and "pick one" in r.err


def test_import_then_import_again(alpha: Store, mg: Mg, tmp_path: Path) -> None:
    car = tmp_path / "d.car"
    car.write_bytes(export_bytes(alpha, "dreamer", history=True))
    r = mg("import", str(car), "--as", "copy")
    assert r.code == 0, r.err
    assert r.out.strip() == alpha.head("copy")
    assert "created experiment copy" in r.err
    r = mg("import", str(car), "--as", "copy", "--json")
    data = json.loads(r.out)
    assert r.code == 0 and data["changed"] is False and data["commits"] == 0
    assert data["state"] == str(alpha.snapshot("dreamer").manifest.cid) and data["history"]
    r = mg("import", str(car), "--as", "copy")
    assert r.code == 0 and "nothing changed: experiment copy already holds state" in r.err


def test_import_of_a_bad_car_is_one_line_and_exit_1(alpha: Store, mg: Mg, tmp_path: Path) -> None:
    car = tmp_path / "bad.car"
    car.write_bytes(export_bytes(alpha, "dreamer")[:-3])
    r = mg("import", str(car), "--as", "copy")
    assert r.code == 1 and r.out == ""
    assert r.err.startswith("mindgit: error: bad CAR file at byte") and r.err.count("\n") == 1
    assert "copy" not in alpha.experiments()
    r = mg("import", str(tmp_path / "absent.car"), "--as", "copy")
    assert r.code == 1 and "cannot read" in r.err  # as import-af: a file that is not there
    r = mg("import", str(car))
    assert r.code == 2  # --as is required


def test_cat_prints_blocks_pretty_raw_and_as_json(alpha: Store, mg: Mg) -> None:
    _, sections = car_sections(export_bytes(alpha, "dreamer", history=True))
    for cid, data in sections:
        r = mg("cat", str(cid))
        assert r.code == 0, r.err
        assert json.loads(r.out) == json.loads(data)
    manifest = alpha.snapshot("dreamer").manifest
    r = mg("cat", str(manifest.cid))
    assert r.out.startswith('{\n  "data": {\n') and '"value": 1e-7' in r.out
    raw = run_binary("cat", str(manifest.cid), "--raw")
    assert raw.returncode == 0 and raw.stdout == manifest.data
    r = mg("cat", str(manifest.cid), "--json")
    assert json.loads(r.out) == {
        "cid": str(manifest.cid),
        "size": len(manifest.data),
        "value": json.loads(manifest.data),
    }


def test_cat_errors(alpha: Store, mg: Mg) -> None:
    r = mg("cat", "bagaaierasords4njcts6vs7qvdjfcvgnume4hqohf65zsfguprqphs3icwea")
    assert r.code == 1 and "is not in this store" in r.err
    r = mg("cat", "not-a-cid")
    assert r.code == 2 and "not a CID" in r.err  # typed on the command line: a usage error
    r = mg("cat", str(alpha.snapshot().manifest.cid), "--raw", "--json")
    assert r.code == 2


def test_hostile_cars_on_stdin_are_exit_1_and_change_nothing(alpha: Store, tmp_path: Path) -> None:
    from mindgit.ipld.varint import encode_uvarint
    from tests.adapters.test_car_builders import store_fingerprint

    beta = init_store(tmp_path / "beta", "beta")
    history = export_bytes(alpha, "dreamer", history=True)
    header_end = 1 + history[0]
    cases = {
        # stdin is a buffered file: a declared 2**50-byte CID digest was a MemoryError, exit 3.
        "huge digest": history[:header_end]
        + encode_uvarint(2**62)
        + b"\x01\xa9\x02\x12"
        + encode_uvarint(2**50),
        "cut history": history[:-1],
        "empty": b"",
    }
    before = store_fingerprint(beta)
    for name, car in cases.items():
        r = run_binary("--store", str(beta.path), "import", "-", "--as", "copy", input=car)
        assert r.returncode == 1, (name, r.stderr)
        assert r.stdout == b"" and r.stderr.decode().count("\n") == 1, (name, r.stderr)
        assert r.stderr.startswith(b"mindgit: error: bad CAR file"), (name, r.stderr)
    assert store_fingerprint(beta) == before
    # And a whole history through a pipe, as `ipfs dag export <root> | mindgit import -` sends it.
    r = run_binary("--store", str(beta.path), "import", "-", "--as", "copy", input=history)
    assert r.returncode == 0, r.stderr
    assert beta.snapshot("copy").manifest.cid == alpha.snapshot("dreamer").manifest.cid
