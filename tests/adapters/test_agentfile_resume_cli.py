"""import-af's command line: what it refuses before reading anything (exit 2, one line)."""

from __future__ import annotations

import pytest

from mindgit.store.repository import Store
from tests.conftest import Mg
from tests.snapshots import snapshot


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("",), "import-af needs a file name ('-' for stdin)"),
        (("--as", ""), "--as '' is not an experiment name"),
        (("--as", "a..b"), "--as 'a..b' is not an experiment name"),
    ],
)
def test_a_file_or_name_that_cannot_be_right_is_a_usage_error(
    store: Store, mg: Mg, args: tuple[str, ...], said: str
) -> None:
    """An empty FILE was read as the current directory: '.: cannot read it (Is a directory)',
    exit 1, as if a file had failed to read."""
    before = snapshot(store.path)
    argv = ("import-af", *args) if args[0] == "" else ("import-af", "x.af", *args)
    out = mg("--store", str(store.path), *argv)
    assert out.code == 2 and said in out.err, out.err
    assert len(out.err.strip().splitlines()) == 1
    assert snapshot(store.path) == before
