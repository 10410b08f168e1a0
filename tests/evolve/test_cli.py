"""The evolve commands through the real `mindgit` entry point: output, exit codes, errors."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from mindgit.store.generation import RUNS_PREFIX
from mindgit.store.repository import init_store, open_store
from tests.conftest import Mg, fsck
from tests.evolve.helpers import HOSTILE, RASTRIGIN
from tests.evolve.test_kill import DRIVER


@pytest.fixture
def node(tmp_path: Path, mg: Mg, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "alpha"
    assert mg("init", str(path), "--name", "alpha").code == 0
    monkeypatch.chdir(path)
    assert (
        mg(
            "genome", "set", "x0=0.5", "x1=-1", "x2=3.5", "x3=-4", "--min", "-5.12", "--max", "5.12"
        ).code
        == 0
    )
    assert mg("think", "carried along").code == 0
    return path


def test_fitness_add_and_list(node: Path, mg: Mg) -> None:
    r = mg("fitness", "add", str(RASTRIGIN))
    assert r.code == 0 and r.out.strip().startswith("bafkrei")
    cid = r.out.strip()
    listed = json.loads(mg("fitness", "list", "--json").out)
    assert listed == [{"name": "rastrigin", "module": cid, "bytes": listed[0]["bytes"]}]
    assert mg("fitness", "list").out.split("\t")[:2] == ["rastrigin", cid]
    bad = mg("fitness", "add", str(HOSTILE / "wasi_import.wat"))
    assert bad.code == 1 and "wasi" in bad.err.lower() and "imports" in bad.err
    assert "Traceback" not in bad.err


def test_evolve_then_runs_lineage_plot(node: Path, mg: Mg, tmp_path: Path) -> None:
    r = mg(
        "evolve",
        "--fitness",
        str(RASTRIGIN),
        "--population",
        "10",
        "--generations",
        "5",
        "--seed",
        "7",
        "--json",
    )
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["complete"] and out["generations"] == 5 and out["commit"]
    assert out["best"] >= out["start"]
    runs = json.loads(mg("runs", "--json").out)
    assert [(x["run"], x["generations"], x["seed"], x["best"]) for x in runs] == [
        (out["run"], 5, 7, out["best"])
    ]
    assert out["run"] in mg("runs").out

    lin = json.loads(mg("lineage", out["state"], "--json").out)
    assert lin["state"] == out["state"]
    main_line = lin["runs"][0]["main_line"]
    assert [a["generation"] for a in main_line] == [4, 3, 2, 1, 0]
    assert main_line[-1]["parents"] == []
    assert lin["origin"] == lin["runs"][0]["start"]
    text = mg("lineage", "main").out
    assert text.startswith(f"state {out['state']}") and "origin" in text
    assert "g0" in mg("lineage", out["run_commit"], "--all").out

    chart = mg("plot", out["run"])
    assert chart.code == 0 and "* best" in chart.out
    png = tmp_path / "f.png"
    assert mg("plot", out["run"], "-o", str(png)).code == 0
    check_png(png.read_bytes())
    stats = json.loads(mg("plot", out["run"], "--json").out)
    assert [s["generation"] for s in stats] == [0, 1, 2, 3, 4]
    check = mg("runs", "--check", out["run"])
    assert check.code == 0 and "identical" in check.out
    assert json.loads(mg("runs", "--check", out["run"], "--json").out)["ok"] is True
    assert mg("verify", "--all").code == 0
    fsck(node)


def check_png(data: bytes) -> None:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])
        assert zlib.crc32(kind + body) == crc
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        if kind == b"IDAT":
            idat += body
        pos += 12 + n
    assert kind == b"IEND"
    assert len(zlib.decompress(idat)) == height * (1 + 3 * width)


@pytest.mark.parametrize(
    "args, code, words",
    [
        ((), 2, "--fitness is required"),
        (("--fitness", "rastrigin", "--population", "0"), 2, "--population 0"),
        (("--fitness", "rastrigin", "--generations", "0"), 2, "--generations 0"),
        (("--fitness", "rastrigin", "--mutation-rate", "2"), 2, "--mutation-rate"),
        (("--fitness", "nosuch"), 1, "no fitness module named 'nosuch'"),
        (("--fitness", "missing.wat"), 1, "cannot read fitness module"),
        (("--fitness", str(HOSTILE / "unreachable.wat")), 1, "fails on the start state"),
        (("--resume",), 1, "nothing to resume"),
        (("--resume", "zzz"), 2, "not a run id"),
        (("--fitness", "rastrigin", "--memory", "lots"), 2, "not a size"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    node: Path, mg: Mg, args: tuple[str, ...], code: int, words: str
) -> None:
    assert mg("fitness", "add", str(RASTRIGIN)).code == 0
    head = open_store(node).head()
    r = mg("evolve", *args)
    assert r.code == code, r.err
    assert words in r.err and len(r.err.strip().splitlines()) == 1, r.err
    store = open_store(node)
    assert store.head() == head
    assert not [x for x in store.repo.references if x.startswith(RUNS_PREFIX)]


def test_no_evolvable_genes_and_resume_with_other_parameters(
    tmp_path: Path, mg: Mg, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "b"
    assert mg("init", str(path), "--name", "b").code == 0
    monkeypatch.chdir(path)
    assert mg("genome", "set", "label=fixed").code == 0
    r = mg("evolve", "--fitness", str(RASTRIGIN))
    assert r.code == 1 and "no evolvable genes" in r.err
    assert mg("genome", "set", "x=0.5", "--min", "0", "--max", "1").code == 0
    assert mg("genome", "unset", "label").code == 0
    # A run stopped by the first check of should_stop: the library API, as the CLI resumes it.
    from mindgit.evolve.run import start_run
    from mindgit.store.generation import RunParams

    stopped = start_run(
        open_store(path),
        str(RASTRIGIN),
        RunParams(population=4, generations=3),
        should_stop=lambda: True,
    )
    r = mg("evolve", "--resume", "--seed", "5")
    assert r.code == 2 and "seed" in r.err and "nothing was changed" in r.err
    r = mg("evolve", "--resume", stopped.run_id, "--json")
    assert r.code == 0 and json.loads(r.out)["complete"]


def test_lineage_of_something_no_run_made(node: Path, mg: Mg) -> None:
    r = mg("lineage", "main")
    assert r.code == 1 and "not produced by a run" in r.err
    r = mg("plot", "0123456789ab")
    assert r.code == 1 and "no run" in r.err


def test_help_shows_the_defaults(mg: Mg) -> None:
    text = mg("evolve", "--help").out
    for flag, default in [
        ("--population", "64"),
        ("--generations", "50"),
        ("--mutation-scale", "0.1"),
        ("--crossover-rate", "0.5"),
        ("--elite", "1"),
        ("--tournament", "3"),
        ("--seed", "0"),
        ("--fuel", "50000000"),
        ("--memory", "128M"),
    ]:
        assert flag in text and "default: " in text
        assert default in text.split(flag, 1)[1].split("--", 1)[0], flag


def test_demo_runs_from_the_package(
    mg: Mg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # nowhere near fixtures/
    r = mg("demo", "--json", "--generations", "12", "--keep", str(tmp_path / "d"))
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["complete"] and out["best"] > out["start"]
    store = open_store(tmp_path / "d")
    assert len(store.state().thoughts) == 2 and len(store.state().genome) == 32
    fsck(tmp_path / "d")


def test_demo_keep_inside_a_store_is_refused(mg: Mg, tmp_path: Path) -> None:
    # A node made under refs/heads/ reads as experiments of the outer store, and breaks it.
    outer = init_store(tmp_path / "outer", "outer")
    before = sorted(p.relative_to(outer.path) for p in outer.path.rglob("*"))
    r = mg("demo", "--generations", "2", "--keep", str(outer.path / "refs" / "heads" / "d"))
    assert r.code == 2 and "is inside the store" in r.err
    assert sorted(p.relative_to(outer.path) for p in outer.path.rglob("*")) == before


@pytest.mark.skipif(os.name != "posix", reason="SIGINT")
def test_ctrl_c_stops_after_a_committed_generation_and_resume_finishes(node: Path, mg: Mg) -> None:
    assert mg("fitness", "add", str(RASTRIGIN)).code == 0
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            DRIVER,
            "evolve",
            "--fitness",
            "rastrigin",
            "--generations",
            "3000",
            "--population",
            "16",
        ],
        cwd=node,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    store = open_store(node)
    deadline = time.monotonic() + 60
    while not [x for x in store.repo.references if x.startswith(RUNS_PREFIX)]:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert b"--resume" in err and b"generations" in out
    fsck(node)
    line = next(x for x in out.decode().splitlines() if x.startswith("generations"))
    done = int(line.split()[1].split("/")[0])
    (run,) = json.loads(mg("runs", "--json").out)
    assert 0 < done == run["generations"] < 3000
