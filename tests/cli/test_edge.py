"""The CLI's edge: with --json every outcome is one JSON document on stdout; a reader that closes
stdout early ends a command quietly, as git does (exit 141, nothing on stderr)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mindgit.cli.main import EXIT_PIPE_CLOSED, wants_json
from mindgit.store.repository import Store
from tests.conftest import Mg
from tests.merge.conftest import diverge, x


def one_document(out: str) -> dict[str, object]:
    data = json.loads(out)  # fails on anything but exactly one document
    assert isinstance(data, dict)
    return data


def test_merge_dry_run_json_with_conflicts_and_no_fitness(store: Store, mg: Mg) -> None:
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x0", 0.0)], start=[x("x0", 3.0)])
    head = store.head("main")
    r = mg("--store", str(store.path), "merge", "dreamer", "--dry-run", "--json")
    assert r.code == 1
    data = one_document(r.out)
    assert data["type"] == "MergeConflict" and data["conflicts"] == ["x0"]
    assert "both sides changed 1 pattern(s)" in str(data["error"])
    assert "--fitness" in str(data["hint"])
    assert r.err.count("\n") == 1 and r.err.startswith("mindgit: error: both sides changed")
    assert store.head("main") == head
    # Without --json: the error line only, stdout empty.
    r = mg("--store", str(store.path), "merge", "dreamer", "--dry-run")
    assert r.code == 1 and r.out == "" and "both sides changed" in r.err


@pytest.mark.parametrize(
    ("args", "code", "kind"),
    [
        (("merge", "dreamer", "--dry-run", "--json", "--fitness", "nosuch"), 1, "UnknownFitness"),
        (("merge", "nosuch", "--json"), 1, "UnknownRef"),
        (("log", "--json", "-n", "many"), 2, "BadParameter"),
        (("log", "--json", "--no-such-option"), 2, "NoSuchOption"),
        (("fitness", "add", "--json", "/nonexistent/f.wat"), 1, "FitnessFileError"),
        (("config", "set", "fuel", "lots", "--json"), 2, "BadSetting"),
    ],
)
def test_json_errors_are_one_document(
    store: Store, mg: Mg, args: tuple[str, ...], code: int, kind: str
) -> None:
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x0", 0.0)], start=[x("x0", 3.0)])
    r = mg("--store", str(store.path), *args)
    assert r.code == code, r.err
    data = one_document(r.out)
    assert data["type"] == kind and data["error"]
    assert "Traceback" not in r.err


def test_json_error_when_there_is_no_store(mg: Mg, tmp_path: Path) -> None:
    r = mg("--store", str(tmp_path / "nowhere"), "log", "--json")
    assert r.code == 1 and one_document(r.out)["type"] == "NotAStore"


def test_wants_json() -> None:
    assert wants_json(["log", "--json"]) and wants_json(["--json"])
    assert not wants_json(["think", "--", "--json"]) and not wants_json(["log"])


def store_with_history(store: Store, n: int = 40) -> None:
    for i in range(n):
        store.think(f"thought {i} " + "x" * 60)


def closed_reader(store: Store, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Run mindgit with a stdout pipe whose reader is gone before it writes anything."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "mindgit", "--store", str(store.path), *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            check=False,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "args",
    [("log",), ("log", "--json"), ("experiments",), ("show",), ("--help",), ("log", "--help")],
)
def test_a_closed_stdout_ends_quietly_like_git(store: Store, args: tuple[str, ...]) -> None:
    store_with_history(store, 3)
    proc = closed_reader(store, *args)
    assert proc.stderr == b""
    assert proc.returncode == EXIT_PIPE_CLOSED


def test_git_itself_dies_of_sigpipe_on_a_closed_pipe(store: Store) -> None:
    """What the above copies: git is killed by SIGPIPE, which a shell reports as 128 + 13."""
    store_with_history(store, 3)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            ["git", "--git-dir", str(store.path), "--no-pager", "log", "-p"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            check=False,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == -signal.SIGPIPE and proc.stderr == b""
    assert EXIT_PIPE_CLOSED == 128 + signal.SIGPIPE


def test_log_piped_to_head(store: Store) -> None:
    """The case from the review, through a real shell pipeline."""
    store_with_history(store)
    script = '"$0" -m mindgit --store "$1" log | head -1; echo "status ${PIPESTATUS[0]}" >&2'
    proc = subprocess.run(
        ["bash", "-c", script, sys.executable, str(store.path)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = proc.stderr.splitlines()
    # Whether the reader closed before mindgit finished writing depends on scheduling; either
    # way, nothing but the status is on stderr, and the status is git's.
    assert lines in (["status 0"], [f"status {EXIT_PIPE_CLOSED}"]), proc.stderr
    assert len(proc.stdout.splitlines()) == 1


def test_config_set_and_remote_remove_report_in_json(store: Store, mg: Mg, tmp_path: Path) -> None:
    s = str(store.path)
    r = mg("--store", s, "config", "set", "fuel", "1000", "--json")
    assert r.code == 0 and one_document(r.out) == {"key": "mindgit.fuel", "value": "1000"}
    assert store.config_get("mindgit.fuel") == "1000"
    assert mg("--store", s, "remote", "add", "beta", str(tmp_path / "beta")).code == 0
    r = mg("--store", s, "remote", "remove", "beta", "--json")
    assert r.code == 0
    assert one_document(r.out) == {"name": "beta", "url": str(tmp_path / "beta"), "node": None}
    r = mg("--store", s, "remote", "remove", "beta", "--json")
    assert r.code == 1 and one_document(r.out)["error"]


def test_plot_json_with_output_writes_the_file_too(store: Store, mg: Mg, tmp_path: Path) -> None:
    from mindgit.evolve.fitness import add_fitness
    from mindgit.evolve.run import start_run
    from mindgit.store.generation import RunParams
    from tests.merge.conftest import RASTRIGIN

    add_fitness(store, RASTRIGIN)
    store.set_genes([x("x0", 2.0)])
    run = start_run(store, "rastrigin", RunParams(population=4, generations=3, seed=1))
    png = tmp_path / "chart.png"
    r = mg("--store", str(store.path), "plot", run.run_id, "-o", str(png), "--json")
    assert r.code == 0
    data = json.loads(r.out)
    assert [g["generation"] for g in data] == [0, 1, 2]
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_export_af_to_stdout_with_json_is_refused(store: Store, mg: Mg) -> None:
    """The agent file and the report cannot both be stdout's one document."""
    r = mg("--store", str(store.path), "export-af", "main", "-o", "-", "--json")
    assert r.code == 2 and one_document(r.out)["type"] == "UsageError"
    assert "pick one" in r.err


def test_the_entry_point_leaves_without_teardown_but_with_all_its_output(store: Store) -> None:
    """main() ends with os._exit: all it wrote must reach the pipe, with its exit code, as when
    the interpreter is torn down the usual way."""
    store_with_history(store, 40)
    usual = "import sys; from mindgit.cli.main import run; sys.exit(run(sys.argv[1:]))"
    for args in (["log"], ["show", "no-such-rev"]):
        fast, slow = (
            subprocess.run(
                [sys.executable, *how, "--store", str(store.path), *args],
                capture_output=True,
                text=True,
                check=False,
            )
            for how in (["-m", "mindgit"], ["-c", usual])
        )
        assert (fast.returncode, fast.stdout, fast.stderr) == (
            slow.returncode,
            slow.stdout,
            slow.stderr,
        )
        if args == ["log"]:
            assert len(fast.stdout.splitlines()) > 40 and fast.returncode == 0
    assert fast.returncode == 1 and fast.stderr.startswith("mindgit: error:")
    assert len(slow.stdout) == 0


def test_an_error_line_never_carries_control_characters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A message may quote a peer's words (a tree entry name in a refused pull): the CLI edge
    # prints it as one line with every non-printable character (C0, C1, bidi) as "?".
    from mindgit.cli.main import _error

    _error("entry 'a\x1b]52;c;ZWNobw==\x07b'\nis odd \u009b2J \u202eevil", "see\tthe\x1b[31m log")
    err = capsys.readouterr().err
    assert err == (
        "mindgit: error: entry 'a?]52;c;ZWNobw==?b' is odd ?2J ?evil (hint: see the?[31m log)\n"
    )


@pytest.mark.parametrize(
    "args, message, hint",
    [
        (("evolve", "--population", "abc"), "Invalid value for '--population'", "mindgit evolve"),
        (("--bogus",), "No such option '--bogus'", "mindgit"),
        (("nosuchcmd",), "No such command 'nosuchcmd'", "mindgit"),
        (("trust", "add", "x"), "Missing option '--name'", "mindgit trust add"),
    ],
)
def test_a_usage_error_is_one_line_naming_the_help_to_read(
    mg: Mg, args: tuple[str, ...], message: str, hint: str
) -> None:
    r = mg(*args)
    assert r.code == 2
    assert r.err.count("\n") == 1 and r.err.startswith(f"mindgit: error: {message}")
    assert r.err.rstrip().endswith(f"(hint: `{hint} --help`)")
    j = mg(*args, "--json")
    assert j.code == 2 and message in json.loads(j.out)["error"]


@given(st.text())
def test_one_line_keeps_every_printable_character_and_nothing_a_terminal_would_run(
    text: str,
) -> None:
    from mindgit.errors import one_line

    line = one_line(text)
    assert line.isprintable() and line == line.strip() and "  " not in line
    # Words keep their printable characters, in order; the rest became "?".
    expected = " ".join("".join(c if c.isprintable() else "?" for c in w) for w in text.split())
    assert line == expected
