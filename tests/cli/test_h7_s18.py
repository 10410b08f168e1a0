"""Hints whose commands were written outside backquotes, so without the --store that was typed
(see with_typed_store): ``remote add --node nosuch`` and a process stack too small for the wasm
stack gave their commands bare, and run as written they changed another store (or none).
"""

from __future__ import annotations

import os
import re
import resource
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from mindgit.store.repository import init_store
from tests.conftest import Mg
from tests.snapshots import changed, snapshot

MINDGIT = str(Path(sys.executable).with_name("mindgit"))
BINDIR = str(Path(sys.executable).parent)
DEMO_MODULE = Path(__file__).parents[2] / "mindgit" / "demo" / "rastrigin.wasm"


def run_hint(hint: str, cwd: Path, **replace: str) -> subprocess.CompletedProcess[str]:
    """The first backquoted command in ``hint``, run by a shell in ``cwd`` as written (with
    its placeholders replaced)."""
    found = re.search(r"`(mindgit [^`]*)`", hint)
    assert found is not None, hint
    command = found.group(1)
    for placeholder, value in replace.items():
        command = command.replace(placeholder, value)
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env={**os.environ, "PATH": f"{BINDIR}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_remote_add_with_an_unknown_node_hints_trust_add_on_the_typed_store(
    tmp_path: Path, mg: Mg
) -> None:
    store = init_store(tmp_path / "my store", "alpha")
    other = init_store(tmp_path / "other", "other")
    before = snapshot(store.path)
    r = mg(
        "--store", str(store.path), "remote", "add", "origin", str(other.path), "--node", "nosuch"
    )
    assert r.code == 1
    typed = f"`mindgit --store {shlex.quote(str(store.path))} trust add <did:key> --name nosuch`"
    assert r.err == (
        "mindgit: error: no trusted node named 'nosuch' to expect at this peer; nothing was "
        f"changed (hint: give its did:key instead; or trust it first: {typed})\n"
    )
    assert not changed(before, store.path)
    # As written, from elsewhere, it trusts the node in this store, and remote add then works.
    ran = run_hint(r.err, tmp_path, **{"<did:key>": other.public_key.did})
    assert ran.returncode == 0, ran.stderr
    assert (
        mg(
            "--store",
            str(store.path),
            "remote",
            "add",
            "origin",
            str(other.path),
            "--node",
            "nosuch",
        ).code
        == 0
    )


def small_stack(size: int) -> Callable[[], None]:
    def limit() -> None:
        hard = resource.getrlimit(resource.RLIMIT_STACK)[1]
        resource.setrlimit(resource.RLIMIT_STACK, (size, hard))

    return limit


def test_a_stack_too_small_hints_config_set_on_the_typed_store(tmp_path: Path, mg: Mg) -> None:
    store = init_store(tmp_path / "my store", "alpha")
    words = ("--store", str(store.path))
    assert mg(*words, "genome", "set", "x0=0.5", "x1=-1", "--min", "-5", "--max", "5").code == 0
    assert mg(*words, "fitness", "add", str(DEMO_MODULE), "--name", "rastrigin").code == 0
    before = snapshot(store.path)

    def evolve() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [MINDGIT, *words, "evolve", "--fitness", "rastrigin", "-q", "--generations", "1"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            preexec_fn=small_stack(512 << 10),
        )

    r = evolve()
    assert r.returncode == 1, r.stderr
    assert r.stderr.count("\n") == 1
    typed = f"`mindgit --store {shlex.quote(str(store.path))} config set stack SIZE`"
    assert r.stderr.endswith(
        f"(hint: raise it (`ulimit -s 768`) or lower the stack limit ({typed}))\n"
    ), r.stderr
    assert not changed(before, store.path)
    # As written, from elsewhere, it sets this store's stack limit: evolve then runs.
    ran = run_hint(r.stderr, tmp_path, SIZE="256k")
    assert ran.returncode == 0, ran.stderr
    r = evolve()
    assert r.returncode == 0, r.stderr
