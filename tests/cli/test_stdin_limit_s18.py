"""Standard input is read at most a little past a thought's limit: ``think -`` read all of it
before anything looked at its size, so 200 MB piped in peaked at 857 MB of memory before the
thought refused it, and ``yes | mindgit think -`` ran until the memory ran out.
"""

from __future__ import annotations

import contextlib
import re
import resource
import shlex
import subprocess
import sys
import threading
from pathlib import Path

from mindgit.store.repository import Store
from mindgit.store.state import MAX_THOUGHT_BYTES
from tests.snapshots import changed, snapshot

MINDGIT = str(Path(sys.executable).with_name("mindgit"))
READ = MAX_THOUGHT_BYTES + 4096  # what think - reads at most: mindgit.cli.options._STDIN_SLACK more
TOO_LONG = (
    f"mindgit: error: stdin holds more than {READ} bytes, over the {MAX_THOUGHT_BYTES}-byte "
    "limit of a thought; nothing was changed (hint: give a text for the thought of at most "
    f"{MAX_THOUGHT_BYTES} bytes)\n"
)


def think(store: Store, *args: str, input: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [MINDGIT, "--store", str(store.path), "think", "-", *args],
        input=input,
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_five_megabytes_piped_in_are_refused_in_one_line(store: Store) -> None:
    before = snapshot(store.path)
    for private in ((), ("--private",)):
        r = think(store, *private, input=b"a" * (5 << 20))
        assert (r.returncode, r.stdout, r.stderr.decode()) == (1, b"", TOO_LONG)
    assert not changed(before, store.path)


def test_a_text_just_over_the_limit_gets_the_thoughts_own_error(store: Store) -> None:
    # Within what is read: the thought's check says its size, as before.
    r = think(store, input=b"a" * READ)
    assert r.returncode == 1
    assert re.fullmatch(
        rb"mindgit: error: thought: \d+ bytes is over the 1048576 limit\n", r.stderr
    ), r.stderr
    # A text under the limit with newlines at its end (dropped) is still taken.
    text = b"b" * (MAX_THOUGHT_BYTES - 100)
    r = think(store, input=text + b"\n" * 50)
    assert r.returncode == 0, r.stderr
    shown = subprocess.run(
        [MINDGIT, "--store", str(store.path), "show", "--json"],
        capture_output=True,
        timeout=120,
        check=True,
    ).stdout
    assert shown.count(text) == 1 and text + b"\n" not in shown


def test_a_writer_that_never_closes_stdin_does_not_hold_the_command(store: Store) -> None:
    """Read whole, stdin is read to its end: a writer that keeps the pipe open after 2 MB held
    the command for ever."""
    before = snapshot(store.path)
    proc = subprocess.Popen(
        [MINDGIT, "--store", str(store.path), "think", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stderr is not None

    def write() -> None:
        assert proc.stdin is not None
        try:
            proc.stdin.write(b"a" * (2 << 20))
            proc.stdin.flush()
        except BrokenPipeError:
            pass  # the command stopped reading, and ended

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        code = proc.wait(timeout=60)
    finally:
        proc.kill()
        proc.wait()
        writer.join(timeout=10)
        err = proc.stderr.read().decode()
        proc.stderr.close()
        assert proc.stdout is not None
        proc.stdout.close()
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()
    assert (code, err) == (1, TOO_LONG)
    assert not changed(before, store.path)


def _at_most_a_gigabyte() -> None:
    # Were stdin read whole again, the test would stop there instead of taking the machine's.
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, resource.RLIM_INFINITY))


def test_yes_piped_in_ends_with_the_error(store: Store) -> None:
    before = snapshot(store.path)
    r = subprocess.run(
        [
            "bash",
            "-c",
            f"yes | {shlex.quote(MINDGIT)} --store {shlex.quote(str(store.path))} think -",
        ],
        capture_output=True,
        timeout=60,
        check=False,
        preexec_fn=_at_most_a_gigabyte,
    )
    assert (r.returncode, r.stdout, r.stderr.decode()) == (1, b"", TOO_LONG)
    assert not changed(before, store.path)
