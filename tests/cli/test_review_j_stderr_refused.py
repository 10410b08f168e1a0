"""Standard error that refuses writes (``2>/dev/full``, its reader gone) loses the report, not
the command: ``init`` made the store and printed its did:key, then failed (exit 1, a traceback
no one could read) on its "initialised store" line; a usage error's 2 became 1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mindgit.store.repository import open_store


@contextmanager
def refusing_stderr(how: str) -> Iterator[int]:
    """A descriptor for the child's stderr that refuses every write."""
    if how == "full":
        fd = os.open("/dev/full", os.O_WRONLY)
        try:
            yield fd
        finally:
            os.close(fd)
        return
    read, write = os.pipe()
    os.close(read)  # the reader is gone: EPIPE
    try:
        yield write
    finally:
        os.close(write)


def mindgit(cwd: Path, stderr: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mindgit", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("how", ["full", "reader gone"])
def test_a_command_that_did_its_work_exits_0(tmp_path: Path, how: str) -> None:
    with refusing_stderr(how) as fd:
        r = mindgit(tmp_path, fd, "init", "s", "--name", "a")
    assert r.returncode == 0
    assert r.stdout.startswith("did:key:") and r.stdout.count("\n") == 1
    assert open_store(tmp_path / "s").name == "a"


@pytest.mark.parametrize("how", ["full", "reader gone"])
@pytest.mark.parametrize(
    ("args", "code"),
    [(("keys",), 2), (("log", "--bogus"), 2), (("log",), 1), (("log", "--json"), 1)],
)
def test_a_failure_keeps_its_exit_code(
    tmp_path: Path, how: str, args: tuple[str, ...], code: int
) -> None:
    with refusing_stderr(how) as fd:
        r = mindgit(tmp_path, fd, *args)
    assert r.returncode == code
    if "--json" in args:
        assert r.stdout.startswith("{") and '"type": "NotAStore"' in r.stdout
    else:
        assert r.stdout == ""
