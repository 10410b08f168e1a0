"""Store.resolve("main@{2147483648}") returned the head: libgit2 reads the count of an @{N}
or @{-N} as a 32-bit int and took larger digits as a date. The CLI refused such a revision
typed on its command line (d27ea9a); the library's resolve refuses it now too, by the same
rule (repository.check_reflog_counts), as an UnknownRef: the reflog has no such entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.store.repository import (
    ReflogCountTooLarge,
    UnknownRef,
    check_reflog_counts,
    init_store,
)


@pytest.mark.parametrize(
    ("rev", "form", "count"),
    [
        ("main@{2147483648}", "@{N}", "2147483648"),
        ("main@{4294967297}", "@{N}", "4294967297"),
        ("main@{ +0004294967297}", "@{N}", "0004294967297"),
        ("@{-2147483648}", "@{-N}", "2147483648"),
        ("main@{0}~1@{99999999999}", "@{N}", "99999999999"),
    ],
)
def test_resolve_refuses_a_count_libgit2_cannot_hold(
    tmp_path: Path, rev: str, form: str, count: str
) -> None:
    store = init_store(tmp_path / "s", "n")
    store.think("second")
    with pytest.raises(ReflogCountTooLarge) as info:
        store.resolve(rev)
    assert isinstance(info.value, UnknownRef)
    assert str(info.value) == (
        f"{rev!r}: the {form} count {count!r} is too large (at most 2147483647)"
    )
    assert info.value.hint is not None and "reflog" in info.value.hint


def test_fork_from_such_a_count_makes_nothing(tmp_path: Path) -> None:
    store = init_store(tmp_path / "s", "n")
    with pytest.raises(ReflogCountTooLarge):
        store.fork("x", start="main@{2147483648}", switch=False)
    assert store.experiments() == ["main"]


def test_counts_libgit2_holds_resolve_as_before(tmp_path: Path) -> None:
    store = init_store(tmp_path / "s", "n")
    first = store.head()
    store.think("second")
    assert store.resolve("main@{1}") == first
    assert store.resolve("main@{0001}") == first
    # A count of 100000000 or more is a time, as git reads it: 2038, after every entry.
    assert store.resolve("main@{2147483647}") == store.head()
    with pytest.raises(UnknownRef):
        store.resolve("main@{5}")
    check_reflog_counts("main@{2147483647}")  # the largest count libgit2 holds
