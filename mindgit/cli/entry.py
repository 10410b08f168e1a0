"""The console script's entry point: Ctrl-C while the CLI is still being imported.

Importing the CLI (click, rich, the command table) takes a noticeable fraction of a second. A
Ctrl-C in it raised KeyboardInterrupt wherever the import was, before ``mindgit.cli.main``
could map it: a traceback, or, inside the import system's own lock handling, an interrupt
printed as "ignored" and the command run to the end. So the interrupt waits until the CLI and
the command's module are imported, then ends the command as an interrupted command ends:
exit 130, one line (and with ``--json`` the error document on stdout).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
from types import FrameType


def main() -> None:
    """``mindgit``: import the CLI with Ctrl-C held back, then run it."""
    interrupted: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        interrupted.append(signum)

    # Started with Ctrl-C ignored (a script's background job), it stays ignored.
    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    previous = None if ignored else signal.signal(signal.SIGINT, hold)
    try:
        from mindgit.cli.main import COMMANDS
        from mindgit.cli.main import main as run

        spec = COMMANDS.get(_command_name(sys.argv[1:]) or "")
        if spec is not None:
            # A module that fails to import fails again in run(), which reports it as one
            # line like every other failure (here it was a traceback).
            with contextlib.suppress(Exception):
                importlib.import_module(f"mindgit.cli.commands.{spec[0]}")
    finally:
        if not ignored:
            signal.signal(signal.SIGINT, previous)
    if interrupted:
        from mindgit.cli.main import interrupted as report

        try:
            code = report(sys.argv[1:])
        except (OSError, ValueError):
            # The --json document could not be written (its reader gone, stdout closed): the
            # line on stderr went first, and the command was interrupted all the same.
            code = 130
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # None: started with the descriptor closed
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
        os._exit(code)
    run()


def _command_name(args: list[str]) -> str | None:
    """The command ``args`` run: the first word after the global options."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--store":
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None
