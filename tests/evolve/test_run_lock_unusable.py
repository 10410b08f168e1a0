"""A run whose lock file cannot be made (mindgit/runs a file, say) was "File exists: .../runs",
an OSError's words with no sign of what was wrong. Now one line names the folder and the fix,
exit 1, and nothing is written."""

from __future__ import annotations

from pathlib import Path

from mindgit.store.repository import Store
from tests.conftest import Mg, git

RASTRIGIN = Path(__file__).resolve().parents[2] / "fixtures" / "fitness" / "rastrigin.wat"


def test_runs_folder_that_is_a_file_is_named(store: Store, mg: Mg) -> None:
    assert (
        mg("--store", str(store.path), "genome", "set", "x0=0.5", "--min", "-5", "--max", "5").code
        == 0
    )
    runs = store.path / "mindgit" / "runs"
    if runs.exists():
        runs.rmdir()
    runs.write_text("")
    before = git("--git-dir", str(store.path), "for-each-ref")
    r = mg("--store", str(store.path), "evolve", "--generations", "2", "--fitness", str(RASTRIGIN))
    assert r.code == 1
    assert r.err.count("\n") == 1
    assert f"{runs} is not a directory; nothing was changed" in r.err
    assert "must be a directory this user can write" in r.err
    assert git("--git-dir", str(store.path), "for-each-ref") == before
