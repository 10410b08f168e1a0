"""Review I: `mindgit import - --as NAME` with standard input a terminal (a `<` forgotten) waited
for the keyboard to type a CAR, which is binary. It is refused at once, as export refuses to
write a CAR to a terminal (exit 2), and nothing is written; so is a FILE that is a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from mindgit.store.repository import Store
from tests.adapters.test_car_builders import store_fingerprint
from tests.conftest import ROOT

SHIM = "import sys; from mindgit.cli.main import run; sys.exit(run(sys.argv[1:]))"


def test_stdin_a_terminal_is_refused(store: Store) -> None:
    before = store_fingerprint(store)
    parent, child = pty.openpty()
    try:
        r = subprocess.run(
            [sys.executable, "-c", SHIM, "--store", str(store.path), "import", "-", "--as", "x"],
            stdin=child,
            capture_output=True,
            cwd=ROOT,
            timeout=60,
        )
        assert r.returncode == 2, r.stderr
        assert r.stderr.startswith(b"mindgit: error: stdin is a terminal; a CAR is binary")
        terminal = os.ttyname(child)
        r = subprocess.run(
            [
                sys.executable,
                "-c",
                SHIM,
                "--store",
                str(store.path),
                "import",
                terminal,
                "--as",
                "x",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            cwd=ROOT,
            timeout=60,
        )
        assert r.returncode == 2, r.stderr
        assert f"{terminal!r} is a terminal; a CAR is binary".encode() in r.stderr
    finally:
        os.close(parent)
        os.close(child)
    assert store_fingerprint(store) == before
