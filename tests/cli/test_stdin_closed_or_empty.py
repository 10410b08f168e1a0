"""A command told to read standard input (``-``) whose standard input is closed, open for
writing only, empty or not text: the operation fails (exit 1) in one line, nothing changed.

Exit 2 is for a command line that is wrong; ``think -``, ``import -`` and ``import-af -`` are
right, and their input is what failed, as a file that cannot be read fails them. A closed
stdin was exit 2 ("standard input is closed"); one open for writing only was "Bad file
descriptor"; an empty one made ``think -`` say "thought: the text must be a non-empty string",
and bytes that are not UTF-8 "cannot encode DAG-JSON ... lone surrogate U+DCFF".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mindgit.store.repository import Store
from tests.snapshots import changed, snapshot

MINDGIT = str(Path(sys.executable).with_name("mindgit"))

COMMANDS = {
    "think": ("think", "-"),
    "think --private": ("think", "-", "--private"),
    "import": ("import", "-", "--as", "c"),
    "import-af": ("import-af", "-"),
}


def run(store: Store, args: tuple[str, ...], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MINDGIT, "--store", str(store.path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **kwargs,
    )


def assert_fails(r: subprocess.CompletedProcess[str], message: str) -> None:
    assert (r.returncode, r.stdout) == (1, ""), r.stderr
    assert r.stderr.startswith(f"mindgit: error: {message}; nothing was changed (hint: ")
    assert r.stderr.count("\n") == 1, r.stderr


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_closed_stdin_fails_the_command(store: Store, command: str) -> None:
    before = snapshot(store.path)
    r = run(store, COMMANDS[command], stdin=subprocess.DEVNULL, preexec_fn=lambda: os.close(0))
    assert_fails(r, "cannot read stdin: it is closed")
    assert not changed(before, store.path)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_stdin_open_for_writing_only_fails_the_command(
    store: Store, tmp_path: Path, command: str
) -> None:
    before = snapshot(store.path)
    with open(tmp_path / "written", "wb") as stdin:
        r = run(store, COMMANDS[command], stdin=stdin)
    assert_fails(r, "cannot read stdin: it is open for writing only")
    assert not changed(before, store.path)
    assert (tmp_path / "written").read_bytes() == b""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "stdin is empty: no text for the thought"),
        (b"\n\n", "stdin holds only white space: no text for the thought"),
        (b" \t\n", "stdin holds only white space: no text for the thought"),
        (b"caf\xe9 pin 1234\n", "stdin is not UTF-8 text (at byte 3 of 14)"),
    ],
    ids=["empty", "newlines", "white space", "latin-1"],
)
@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
def test_think_from_a_stdin_with_no_text_fails_unquoted(
    store: Store, data: bytes, message: str, private: bool
) -> None:
    before = snapshot(store.path)
    args = ("think", "-", "--private") if private else ("think", "-")
    r = subprocess.run(
        [MINDGIT, "--store", str(store.path), *args],
        input=data,
        capture_output=True,
        timeout=120,
        check=False,
    )
    err = r.stderr.decode()
    assert (r.returncode, r.stdout) == (1, b""), err
    assert err.startswith(f"mindgit: error: {message}; nothing was changed (hint: ")
    assert err.count("\n") == 1 and "pin" not in err
    assert not changed(before, store.path)


def test_json_names_the_error(store: Store) -> None:
    r = run(store, ("think", "-", "--json"), stdin=subprocess.DEVNULL)
    assert r.returncode == 1
    assert json.loads(r.stdout) == {
        "error": "stdin is empty: no text for the thought; nothing was changed",
        "hint": "write the text for the thought to the command's standard input",
        "type": "StdinError",
    }


@pytest.mark.parametrize("command", ["import", "import-af"])
def test_an_empty_stdin_fails_an_import_as_an_empty_file_does(store: Store, command: str) -> None:
    before = snapshot(store.path)
    r = run(store, COMMANDS[command], stdin=subprocess.DEVNULL)
    assert (r.returncode, r.stdout) == (1, "") and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("mindgit: error: ")
    assert not changed(before, store.path)


def test_think_from_stdin_still_takes_its_text(store: Store) -> None:
    r = run(store, ("think", "-", "--json"), input="a thought\nof two lines\n\n")
    assert r.returncode == 0, r.stderr
    cid = json.loads(r.stdout)["thought"]
    shown = json.loads(run(store, ("show", "--json")).stdout)
    assert [t["text"] for t in shown["thoughts"] if t["cid"] == cid] == ["a thought\nof two lines"]
