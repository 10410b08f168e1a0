"""A file to write named by a path of 3,000 characters ending in '/' (export --car,
export-af -o, plot -o): "names a directory" repeated the path whole. It is cut past 160
characters, as the CLI cuts a path an OSError names: one line, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.errors import quoted
from mindgit.store.repository import Store
from tests.conftest import Mg
from tests.snapshots import changed, snapshot


@pytest.mark.parametrize(
    "args",
    [
        ("export", "--car", "PATH"),
        ("export-af", "main", "-o", "PATH"),
        ("plot", "RUN", "-o", "PATH"),
    ],
    ids=["export --car", "export-af -o", "plot -o"],
)
@pytest.mark.parametrize("end", ["/", "/.", "/.."])
def test_a_long_directory_spelling_is_cut(
    store: Store, mg: Mg, tmp_path: Path, args: tuple[str, ...], end: str
) -> None:
    path = str(tmp_path.joinpath(*["c" * 200] * 15)) + end
    before = snapshot(store.path)
    r = mg("--store", str(store.path), *(a.replace("PATH", path) for a in args))
    assert (r.code, r.out) == (2, ""), r.err[:500]
    assert r.err.count("\n") == 1 and len(r.err) < 300, r.err[:500]
    assert f" {quoted(path, 160)} names a directory; give a file to write" in r.err, r.err
    assert not changed(before, store.path)
    assert list(tmp_path.iterdir()) == [store.path]


def test_a_short_directory_spelling_is_shown_as_typed(store: Store, mg: Mg, tmp_path: Path) -> None:
    r = mg("--store", str(store.path), "export", "--car", f"{tmp_path}/")
    assert r.err == f"mindgit: error: --car {tmp_path}/ names a directory; give a file to write\n"
