"""The git merge driver wrote its result over %A in place: a write that failed midway (a full
disk, a file size limit, a kill) left %A cut short, and git took the cut manifest as the merge's
result or its base. The result is now written to a file beside %A and renamed over it, keeping
%A's mode: %A is either as git wrote it or the whole result. Found by review (H5)."""

from __future__ import annotations

import resource
import shlex
import subprocess
import sys
from pathlib import Path

from mindgit.merge.gitdriver import merge_files
from mindgit.store.state import State
from tests.merge.conftest import x


def sides(tmp_path: Path) -> tuple[Path, Path, Path, bytes]:
    """Base, ours and theirs manifests that merge without a conflict into a larger one; and
    the merged manifest's bytes."""
    base = State().with_genome(State().genome.with_genes(*(x(f"x{i}", 0.0) for i in range(40))))
    ours = base.with_genome(base.genome.with_genes(x("x0", 1.0)))
    theirs = base.with_genome(base.genome.with_genes(*(x(f"y{i:03d}", 2.0) for i in range(200))))
    merged = theirs.with_genome(theirs.genome.with_genes(x("x0", 1.0)))
    paths = []
    for name, state in (("O", base), ("A", ours), ("B", theirs)):
        p = tmp_path / name
        p.write_bytes(state.manifest().data)
        paths.append(p)
    return paths[0], paths[1], paths[2], merged.manifest().data


def test_a_write_that_fails_midway_leaves_ours_as_it_was(tmp_path: Path) -> None:
    o, a, b, merged = sides(tmp_path)
    before = a.read_bytes()
    limit = len(merged) // 2
    assert len(before) < limit

    def small_files() -> None:  # CPython ignores SIGXFSZ: a write past the limit is EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    prefix = f"{shlex.quote(sys.executable)} -m mindgit"
    proc = subprocess.run(
        [*shlex.split(prefix), "merge-driver", str(o), str(a), str(b), "manifest.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        preexec_fn=small_files,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert a.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["A", "B", "O"]


def test_the_result_replaces_ours_and_keeps_its_mode(tmp_path: Path) -> None:
    o, a, b, merged = sides(tmp_path)
    a.chmod(0o640)
    merge_files(o, a, b, repo_dir=tmp_path)
    assert a.read_bytes() == merged
    assert a.stat().st_mode & 0o7777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["A", "B", "O"]
