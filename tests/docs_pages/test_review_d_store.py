"""docs/store.md on a current experiment deleted with git, as `experiments` shows it (review D):
the page said what every other command does, not that `experiments` goes on with a warning."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ROOT
from tests.docs_pages.shell import sh

PAGE = " ".join((ROOT / "docs" / "store.md").read_text().split())


def test_experiments_lists_the_others_with_a_warning_when_head_names_a_deleted_one(
    tmp_path: Path,
) -> None:
    assert (
        "`experiments` lists the others, none marked current, with that line as a warning "
        "(exit 0)" in PAGE
    )
    r = sh(
        """
        mindgit init s --name s >/dev/null
        mindgit --store s fork b --no-switch >/dev/null
        git --git-dir s update-ref -d refs/heads/main
        """,
        tmp_path,
    )
    assert r.returncode == 0, r.stderr
    r = sh("mindgit --store s experiments", tmp_path)
    assert r.returncode == 0, r.stderr
    assert [line.split("\t")[:2] for line in r.stdout.splitlines()] == [["", "b"]]
    assert r.stderr == (
        "mindgit: warning: the current experiment 'main' (the one HEAD names) does not exist\n"
    )
    r = sh("mindgit --store s show", tmp_path)
    assert r.returncode == 1
    assert "the current experiment 'main' (the one HEAD names) does not exist" in r.stderr
