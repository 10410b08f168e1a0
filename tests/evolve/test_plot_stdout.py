"""`plot -o` and `export-af -o` (one writer, adapters.agentfile_export.write_whole) fail, as
`export --car` does, when the descriptor they are told to write through is closed: on Linux,
/dev/stdout with descriptor 1 closed reopened the /dev/null the CLI puts there, took the PNG and
said "wrote /dev/stdout", exit 0. A full device's hint fits a full device."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mindgit.adapters.agentfile import import_af
from mindgit.adapters.agentfile_export import CannotWrite, write_whole
from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.run import start_run
from mindgit.store.generation import RunParams
from tests.conftest import FIXTURES, ROOT, Mg, stdout_closed, stdout_to_file
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("plot-stdout") / "s"
    store = new_store(path, float_genes(3))
    add_fitness(store, RASTRIGIN)
    run = start_run(store, "rastrigin", RunParams(population=4, generations=2, seed=3))
    import_af(store, FIXTURES / "agent-files" / "memgpt_agent.af", name="m")
    return path, run.run_id


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reopening /dev/stdout is Linux's")
@pytest.mark.parametrize("target", ["/dev/stdout", "/dev/fd/1"])
def test_plot_and_export_af_to_a_closed_stdout_fail(made: tuple[Path, str], target: str) -> None:
    path, run_id = made
    for args in (["plot", run_id, "-o", target], ["export-af", "m", "-o", target]):
        r = stdout_closed("--store", str(path), *args)
        err = r.stderr.decode()
        assert r.returncode == 1, err
        assert err.startswith("mindgit: error: ") and err.count("\n") == 1, err
        assert f"cannot write {target} (standard output is closed" in err, err
        assert "wrote" not in err


def test_a_descriptor_open_only_for_reading_is_refused(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    kept.write_bytes(b"old")
    fd = os.open(kept, os.O_RDONLY)
    try:
        with pytest.raises(CannotWrite, match=f"descriptor {fd} is closed or not open for writing"):
            write_whole(Path(f"/dev/fd/{fd}"), b"new")
    finally:
        os.close(fd)
    assert kept.read_bytes() == b"old"


def test_an_open_descriptor_is_still_written_through(tmp_path: Path) -> None:
    out = tmp_path / "out"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        write_whole(Path(f"/dev/fd/{fd}"), b"png")
    finally:
        os.close(fd)
    assert out.read_bytes() == b"png"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_a_full_device_is_not_told_to_check_its_directory(made: tuple[Path, str], mg: Mg) -> None:
    path, run_id = made
    r = mg("--store", str(path), "plot", run_id, "-o", "/dev/full")
    assert r.code == 1, r.err
    assert "cannot write /dev/full (" in r.err and "directory" not in r.err, r.err
    assert "no room is left there" in r.err, r.err


def test_a_missing_directory_is_still_named(made: tuple[Path, str], mg: Mg, tmp_path: Path) -> None:
    path, run_id = made
    r = mg("--store", str(path), "plot", run_id, "-o", str(tmp_path / "no" / "x.png"))
    assert r.code == 1, r.err
    assert "check that its directory exists" in r.err, r.err


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reopening /dev/stdout is Linux's")
def test_export_car_to_a_closed_stdout_is_refused_before_it_writes(made: tuple[Path, str]) -> None:
    # It wrote the CAR into the CLI's /dev/null placeholder and failed only on printing the
    # root CID; now the descriptor is looked at first, as for plot -o and export-af -o.
    path, _ = made
    r = stdout_closed("--store", str(path), "export", "m", "--car", "/dev/stdout")
    err = r.stderr.decode()
    assert r.returncode == 1, err
    assert err.startswith("mindgit: error: cannot write /dev/stdout (standard output is closed")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_export_car_to_a_full_device_gets_the_full_device_hint(
    made: tuple[Path, str], mg: Mg
) -> None:
    path, _ = made
    r = mg("--store", str(path), "export", "m", "--car", "/dev/full")
    assert r.code == 1, r.err
    assert "no room is left there" in r.err and "directory" not in r.err, r.err


@pytest.mark.parametrize("suffix", ["/", "/.", "/.."])
def test_plot_to_a_directory_spelling_is_refused(
    made: tuple[Path, str], mg: Mg, tmp_path: Path, suffix: str
) -> None:
    # pathlib drops a trailing '/': `plot -o out/` wrote a PNG named out.
    path, run_id = made
    r = mg("--store", str(path), "plot", run_id, "-o", f"{tmp_path / 'out'}{suffix}")
    assert r.code == 2 and "names a directory" in r.err
    assert not (tmp_path / "out").exists()


def test_plot_to_dash_writes_the_png_to_stdout(made: tuple[Path, str], tmp_path: Path) -> None:
    """`-o -` made a file named '-' in the working directory; it is stdout, as for export-af."""
    path, run_id = made
    code, out, err = stdout_to_file(tmp_path, "--store", str(path), "plot", run_id, "-o", "-")
    assert code == 0, err
    assert out.startswith(b"\x89PNG\r\n\x1a\n")
    assert not (ROOT / "-").exists()  # where it runs


def test_plot_to_dash_with_json_is_a_usage_error(made: tuple[Path, str], mg: Mg) -> None:
    path, run_id = made
    r = mg("--store", str(path), "plot", run_id, "-o", "-", "--json")
    assert r.code == 2 and "where --json goes too" in r.err
