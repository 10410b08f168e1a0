"""Ctrl-C while the CLI is still being imported (mindgit.cli.entry)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib

import pytest

from tests.conftest import ROOT

# Runs the console script's entry point with a Ctrl-C arriving in the middle of importing
# ``module`` (argv[1]), as a user's does a fraction of a second after pressing enter.
INTERRUPTED_IMPORT = r"""
import builtins, os, signal, sys
module, args = sys.argv[1], sys.argv[2:]
real = builtins.__import__
def interrupting(name, *a, **k):
    if name == module:
        builtins.__import__ = real
        os.kill(os.getpid(), signal.SIGINT)
    return real(name, *a, **k)
builtins.__import__ = interrupting
sys.argv = ["mindgit", *args]
from mindgit.cli.entry import main
main()
"""


def interrupted(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", INTERRUPTED_IMPORT, module, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("module", "args"),
    [
        ("click", ("--version",)),
        ("mindgit.cli.output", ("id",)),
        ("mindgit.evolve.chart", ("evolve", "-h")),
    ],
)
def test_a_ctrl_c_during_the_imports_is_one_line_and_130(
    module: str, args: tuple[str, ...]
) -> None:
    done = interrupted(module, *args)
    assert done.returncode == 130, done.stderr
    assert done.stderr == "mindgit: error: interrupted\n"
    assert done.stdout == ""


def test_with_json_the_error_document_too() -> None:
    done = interrupted("click", "id", "--json")
    assert done.returncode == 130
    assert json.loads(done.stdout)["type"] == "KeyboardInterrupt"


def test_the_console_script_and_python_m_go_through_it() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["mindgit"] == "mindgit.cli.entry:main"
    assert "mindgit.cli.entry" in (ROOT / "mindgit" / "__main__.py").read_text()
    done = subprocess.run(
        [sys.executable, "-m", "mindgit", "--version"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0 and "version" in done.stdout


def test_a_ctrl_c_is_not_taken_when_the_shell_made_mindgit_ignore_it() -> None:
    # A background job of a script (`mindgit push &`) is started with SIGINT ignored: the
    # Ctrl-C meant for the script's foreground was held and then ended the command with 130.
    script = "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN)\n" + INTERRUPTED_IMPORT
    done = subprocess.run(
        [sys.executable, "-c", script, "click", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "version" in done.stdout


def test_a_command_module_that_cannot_be_imported_is_one_line() -> None:
    # Imported early to hold Ctrl-C, its failure escaped as a traceback; run() maps it.
    script = "import sys; sys.modules['mindgit.cli.commands.core'] = None\n" + INTERRUPTED_IMPORT
    done = subprocess.run(
        [sys.executable, "-c", script, "nothing.imported", "id"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith("mindgit: error: internal error: ModuleNotFoundError")
    assert len(done.stderr.splitlines()) == 1


def test_with_json_and_the_reader_of_stdout_gone_still_one_line_and_130() -> None:
    # The error document could not be written: a BrokenPipeError traceback and exit 1.
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-c", INTERRUPTED_IMPORT, "click", "id", "--json"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
    finally:
        os.close(write)
    assert done.returncode == 130, done.stderr
    assert done.stderr == "mindgit: error: interrupted\n"
