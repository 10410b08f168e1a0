"""`experiments` warns of a ref file on one line (review C, pass 16)."""

from __future__ import annotations

from mindgit.store.repository import Store
from tests.conftest import Mg


def test_an_experiment_file_named_with_a_newline_warns_on_one_line(store: Store, mg: Mg) -> None:
    """`experiments` warned of a ref file no experiment can be named as with the name raw: a
    newline in it started a line of its own, which no 'mindgit: warning:' began."""
    heads = store.path / "refs" / "heads"
    (heads / "evil\nmindgit: error: forged").write_bytes((heads / "main").read_bytes())
    r = mg("--store", str(store.path), "experiments")
    assert r.code == 0, r.err
    lines = r.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mindgit: warning: evil mindgit: error"), r.err
