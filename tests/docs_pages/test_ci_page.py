"""docs/ci.md's shell blocks run as written: the verify line in a CI clone of a store, and the
server block (its /srv path moved into a temp dir), whose hook refuses an unsigned push in the
words the page shows. (The page's workflow is run step by step by tests/sync/test_hooks_ci.py.)"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from mindgit.evolve.run import start_run
from mindgit.store.generation import RunParams
from mindgit.store.genome import Gene
from mindgit.store.repository import Store, init_store
from tests.conftest import FIXTURES, ROOT, git
from tests.docs_pages.shell import sh

PAGE = (ROOT / "docs" / "ci.md").read_text()
BLOCKS = re.findall(r"```sh\n(.*?)```", PAGE, re.S)
SHOWN = re.findall(r"```text\n(.*?)```", PAGE, re.S)


def evolved(tmp_path: Path) -> Store:
    store = init_store(tmp_path / "node", "alpha")
    store.fork("lab")
    store.set_genes([Gene.make(f"x{i}", "float", 1.5 - i, min=-5.12, max=5.12) for i in range(2)])
    rastrigin = FIXTURES / "fitness" / "rastrigin.wat"
    result = start_run(store, str(rastrigin), RunParams(population=4, generations=3, seed=2))
    assert result.result_commit is not None
    return store


def test_the_pages_blocks_are_the_ones_run_here() -> None:
    assert len(BLOCKS) == 2 and len(SHOWN) == 2
    assert BLOCKS[0].strip().startswith("mindgit verify --trust ../allowed_signers")
    assert "/srv/minds.git" in BLOCKS[1]


def test_the_verify_line_checks_what_an_experiment_adds(tmp_path: Path) -> None:
    store = evolved(tmp_path)
    (tmp_path / "allowed_signers").write_text(store.trust.export())
    clone = tmp_path / "store"
    git("clone", "-q", str(store.path), str(clone))
    # As the page says: a plain clone has no runs or fitness refs; fetch them.
    git(
        "-C",
        str(clone),
        "fetch",
        "-q",
        "origin",
        "+refs/runs/*:refs/runs/*",
        "+refs/fitness/*:refs/fitness/*",
    )
    git("-C", str(clone), "checkout", "-q", "lab")
    r = sh(BLOCKS[0], clone)
    assert r.returncode == 0, r.stdout + r.stderr
    said = r.stdout + r.stderr
    assert re.search(r"^\d+ commits checked, 0 failed$", said, re.M), said
    assert re.search(r"^(\d+) of \1 fitness claims recomputed, 0 failed$", said, re.M), said


def test_the_server_block_installs_a_hook_that_refuses_an_unsigned_push(tmp_path: Path) -> None:
    store = evolved(tmp_path)
    (tmp_path / "allowed_signers").write_text(store.trust.export())
    server = tmp_path / "srv" / "minds.git"
    r = sh(BLOCKS[1].replace("/srv/minds.git", str(server)), tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    # Signed work goes in.
    git("--git-dir", str(store.path), "push", "-q", str(server), "main", "lab")
    work = tmp_path / "work"
    git("clone", "-q", str(server), str(work))
    git("-C", str(work), "commit", "-q", "--allow-empty", "-m", "unsigned")
    unsigned = git("-C", str(work), "rev-parse", "HEAD").strip()
    push = subprocess.run(
        ["git", "-C", str(work), "push", "origin", "main"], capture_output=True, text=True
    )
    assert push.returncode != 0
    shown = SHOWN[-1].splitlines()
    assert shown[0].startswith("remote: mindgit: refused: ") and shown[0].endswith(
        ": unsigned commit"
    )
    said = [line.rstrip() for line in push.stderr.splitlines()]
    assert f"remote: mindgit: refused: {unsigned}: unsigned commit" in said, push.stderr
    assert shown[2] in said, push.stderr  # " ! [remote rejected] main -> main (...)"
    assert git("--git-dir", str(server), "rev-parse", "main").strip() == store.head("main")
