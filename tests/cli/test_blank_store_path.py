"""A store path that would not show as itself in a message is quoted: `--store " "` said
"mindgit: error:   does not exist", the path invisible (found by review J)."""

from __future__ import annotations

import pytest

from mindgit.errors import shown_path
from tests.conftest import Mg


def test_a_blank_store_path_is_quoted(mg: Mg, monkeypatch: pytest.MonkeyPatch) -> None:
    r = mg("--store", " ", "log")
    assert r.code == 1 and "error: ' ' does not exist" in r.err, r.err
    monkeypatch.setenv("MINDGIT_STORE", " x\t")
    r = mg("log")
    assert r.code == 1 and "MINDGIT_STORE names ' x\\t', which does not exist" in r.err, r.err


@pytest.mark.parametrize(
    ("path", "shown"),
    [("/srv/minds/a", "/srv/minds/a"), ("", "''"), (" a", "' a'"), ("a\nb", "'a\\nb'")],
)
def test_shown_path(path: str, shown: str) -> None:
    assert shown_path(path) == shown
