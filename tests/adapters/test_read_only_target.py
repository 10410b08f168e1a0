"""An output file this process may not write (mode 0444) is refused, as a shell's `>` refuses it.

`export-af -o`, `export --car` and `plot -o` write a temporary file beside the target and rename
it over: only the directory's permission counted, so a read-only file was silently replaced
(exit 0, its old bytes gone, the new ones read-only). Now each fails, exit 1, one line, with the
file, its directory and the store as they were. As root, which file modes do not stop, the
commands run with the capability that overrides them dropped (setpriv).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mindgit.adapters.agentfile import import_af
from mindgit.adapters.agentfile_export import CannotWrite, write_whole
from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.run import start_run
from mindgit.store.generation import RunParams
from tests.conftest import FIXTURES, ROOT
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.snapshots import changes, snapshot

DROP = "-dac_override,-dac_read_search,-fowner"


def bound_by_modes() -> list[str] | None:
    """A prefix under which file modes bind this process (None: none can be made here)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = [setpriv, f"--bounding-set={DROP}", f"--inh-caps={DROP}"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
    return prefix if probe.returncode == 0 else None


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("read-only-target") / "s"
    store = new_store(path, float_genes(3))
    add_fitness(store, RASTRIGIN)
    run = start_run(store, "rastrigin", RunParams(population=4, generations=2, seed=3))
    import_af(store, FIXTURES / "agent-files" / "memgpt_agent.af", name="m")
    return path, run.run_id


def mindgit(prefix: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, sys.executable, "-m", "mindgit", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "command",
    [
        ["export-af", "m", "-o"],
        ["export", "m", "--car"],
        ["plot", "@run", "-o"],
    ],
)
@pytest.mark.parametrize("through_link", [False, True])
def test_a_read_only_file_is_not_replaced(
    node: tuple[Path, str], tmp_path: Path, command: list[str], through_link: bool
) -> None:
    prefix = bound_by_modes()
    if prefix is None:
        pytest.skip("running as root without setpriv: file modes cannot bind this process")
    path, run_id = node
    kept = tmp_path / "kept.out"
    kept.write_bytes(b"old")
    kept.chmod(0o444)
    target = tmp_path / "link.out" if through_link else kept
    if through_link:
        target.symlink_to(kept.name)
    before = snapshot(path)
    args = [run_id if a == "@run" else a for a in command]
    r = mindgit(prefix, "--store", str(path), *args, str(target))
    assert r.returncode == 1, r.stderr
    assert r.stderr == (
        f"mindgit: error: cannot write {target} (Permission denied); nothing was written "
        "(hint: check that it can be written to)\n"
    )
    assert r.stdout == ""
    assert kept.read_bytes() == b"old" and kept.stat().st_mode & 0o777 == 0o444
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({kept.name, target.name})
    assert changes(before, snapshot(path)) == []
    # The same command writes the file once it may be written.
    kept.chmod(0o644)
    r = mindgit(prefix, "--store", str(path), *args, str(target))
    assert r.returncode == 0, r.stderr
    assert kept.read_bytes() != b"old" and kept.stat().st_mode & 0o777 == 0o644


def test_write_whole_refuses_what_cannot_be_opened_for_writing(tmp_path: Path) -> None:
    # In-process, as whoever runs the tests: a directory given as the file to replace is left
    # to the rename (the system's words), and a new file is made as before.
    fresh = tmp_path / "new.af"
    write_whole(fresh, b"data")
    assert fresh.read_bytes() == b"data"
    if os.geteuid() != 0:
        fresh.chmod(0o444)
        with pytest.raises(CannotWrite, match="Permission denied"):
            write_whole(fresh, b"other")
        assert fresh.read_bytes() == b"data"
