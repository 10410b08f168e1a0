"""One rule for standard output at the CLI edge, whatever the command writes (text, JSON, bytes):
a reader that went away ends the command quietly with git's 141; a write that stdout refuses
(closed with ``>&-``, ``> /dev/full``) is a failed operation, exit 1, one line naming stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mindgit.adapters.agentfile import import_af
from mindgit.cli.main import EXIT_PIPE_CLOSED
from mindgit.store.repository import Store
from tests.conftest import FIXTURES, stdout_closed
from tests.snapshots import changes, snapshot

AF = FIXTURES / "agent-files" / "memgpt_agent.af"


@pytest.fixture
def agents(store: Store) -> Store:
    import_af(store, AF, name="m")
    for i in range(3):
        store.think(f"thought {i}")
    return store


def commands(store: Store) -> dict[str, list[str]]:
    shown = subprocess.run(
        [sys.executable, "-m", "mindgit", "--store", str(store.path), "show", "m", "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    root = json.loads(shown)["state"]
    return {
        "text": ["show"],
        "json": ["log", "--json"],
        "table": ["experiments"],
        "block as text": ["cat", root],
        "block as bytes": ["cat", "--raw", root],
        "car": ["export", "m", "--car", "-"],
        "agent file": ["export-af", "m", "-o", "-"],
        "help": ["log", "--help"],
    }


def mindgit(
    store: Store, args: list[str], stdout: int | None, preexec: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "mindgit", "--store", str(store.path), *args],
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        preexec_fn=preexec,
        check=False,
    )


def closed_stdout(store: Store, args: list[str]) -> subprocess.CompletedProcess[bytes]:
    return stdout_closed("--store", str(store.path), *args)


def full_stdout(store: Store, args: list[str]) -> subprocess.CompletedProcess[bytes]:
    if not Path("/dev/full").exists():  # Linux and the BSDs have it; macOS does not
        pytest.skip("no /dev/full here")
    fd = os.open("/dev/full", os.O_WRONLY)
    try:
        return mindgit(store, args, fd)
    finally:
        os.close(fd)


def reader_gone(store: Store, args: list[str]) -> subprocess.CompletedProcess[bytes]:
    # A pipe whose reader closed before mindgit wrote anything (`mindgit ... | head -c 0`).
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return mindgit(store, args, write_end)
    finally:
        os.close(write_end)


def one_line(err: bytes) -> str:
    text = err.decode()
    assert text.count("\n") == 1 and text.startswith("mindgit: error: "), text
    assert "Traceback" not in text
    return text


def test_a_closed_stdout_is_a_failed_write_for_every_kind_of_output(agents: Store) -> None:
    # `show`, `cat` (text) exited 0 having printed nothing; `cat --raw`, `export --car -`,
    # `export-af -o -` exited 2 as if the command line were wrong.
    before = snapshot(agents.path)
    for kind, args in commands(agents).items():
        r = closed_stdout(agents, args)
        err = one_line(r.stderr)
        assert r.returncode == 1, (kind, err)
        assert "cannot write to stdout: Bad file descriptor" in err, (kind, err)
    assert changes(before, snapshot(agents.path)) == []


def test_a_full_device_is_a_failed_write_for_every_kind_of_output(agents: Store) -> None:
    # `show --json > /dev/full` was an internal error with two tracebacks; `show > /dev/full`
    # said "No space left on device" without saying what was full.
    before = snapshot(agents.path)
    for kind, args in commands(agents).items():
        r = full_stdout(agents, args)
        err = one_line(r.stderr)
        assert r.returncode == 1, (kind, err)
        assert "cannot write to stdout: No space left on device" in err, (kind, err)
    assert changes(before, snapshot(agents.path)) == []


def test_a_reader_that_went_away_ends_every_kind_of_output_quietly(agents: Store) -> None:
    for kind, args in commands(agents).items():
        r = reader_gone(agents, args)
        assert (r.returncode, r.stderr) == (EXIT_PIPE_CLOSED, b""), kind


@pytest.mark.parametrize("stdout", [closed_stdout, full_stdout, reader_gone])
def test_an_error_with_json_is_its_own_line_when_stdout_refuses_the_document(
    agents: Store, stdout: Callable[[Store, list[str]], subprocess.CompletedProcess[bytes]]
) -> None:
    # The command's own error is the report; a stdout that cannot take the JSON document
    # neither hides it nor adds a second line.
    r = stdout(agents, ["show", "no-such-rev", "--json"])
    err = one_line(r.stderr)
    assert r.returncode == 1 and "unknown experiment or revision 'no-such-rev'" in err


def test_a_command_that_wrote_nothing_is_not_failed_by_a_closed_stdout(agents: Store) -> None:
    # Only a write fails: `config set` prints nothing without --json.
    r = closed_stdout(agents, ["config", "set", "fuel", "1000"])
    assert (r.returncode, r.stderr) == (0, b"")
