"""Review M: `git merge A B` (an octopus) of two heads that changed the state stops with the
clone as it was, as docs/merge.md says (git's octopus strategy calls no merge driver)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mindgit.store.genome import Gene
from mindgit.store.repository import Store
from tests.conftest import git
from tests.merge.test_gitdriver import USER, clone


def test_an_octopus_of_two_changed_states_stops_with_nothing_changed(
    store: Store, tmp_path: Path
) -> None:
    store.set_genes([Gene.make("a", "float", 1.0)])
    store.fork("b", switch=False)
    store.fork("c", switch=False)
    store.set_genes([Gene.make("a", "float", 2.0)], experiment="b")
    store.think("on c", experiment="c")
    store.set_genes([Gene.make("a", "float", 3.0)])
    work = clone(store, tmp_path / "work")
    head = git("-C", str(work), "rev-parse", "HEAD")

    proc = subprocess.run(
        ["git", *USER, "merge", "--no-edit", "origin/b", "origin/c"],
        cwd=work,
        capture_output=True,
        text=True,
    )

    assert proc.returncode == 2
    assert "Should not be doing an octopus" in proc.stdout + proc.stderr
    assert git("-C", str(work), "rev-parse", "HEAD") == head
    assert git("-C", str(work), "status", "--porcelain") == ""
