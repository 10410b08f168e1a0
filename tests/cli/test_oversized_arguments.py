"""Arguments past what mindgit takes are refused as such, in one short line, exit 2, nothing
written: a size of more digits than any size may have (evolve --memory), a peer's URL longer
than git handles well (remote add)."""

from __future__ import annotations

import pytest

from mindgit.errors import quoted
from mindgit.store.repository import Store
from mindgit.store.settings import SIZE_DIGITS_MAX
from tests.conftest import Mg
from tests.snapshots import changed, snapshot


@pytest.mark.parametrize("size", ["9" * 5000, "9" * 5000 + "M", " " + "9" * 5000 + "kib"])
def test_evolve_memory_of_5000_digits_is_over_any_size(store: Store, mg: Mg, size: str) -> None:
    """It said "is not a size": it is one, of more digits than int() reads (as `config set`)."""
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "evolve", "--memory", size)
    assert (r.code, r.out) == (2, ""), r.err[:500]
    assert r.err.count("\n") == 1 and len(r.err) < 300, r.err[:500]
    assert f"--memory {quoted(size)} is over {SIZE_DIGITS_MAX} digits long" in r.err, r.err
    assert not changed(before, store.path)


def test_evolve_memory_of_5000_digits_and_junk_is_not_a_size(store: Store, mg: Mg) -> None:
    r = mg("--store", str(store.path), "evolve", "--memory", "9" * 5000 + "x")
    assert r.code == 2 and "is not a size" in r.err, r.err[:500]
