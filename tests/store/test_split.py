"""check_in_halves: the later half of a list checked by a forked process must give exactly the
list one process gives, and fall back to one process whenever the worker cannot help."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from mindgit.store import split
from mindgit.store.split import SPLIT_MIN_COMMITS, check_in_halves, scan_then_check_in_halves

ITEMS = [f"c{i:02d}" for i in range(40)]


def tagged(share: Sequence[str]) -> list[tuple[str, int]]:
    """Each item with the process that checked it."""
    return [(item, os.getpid()) for item in share]


def test_the_later_half_is_checked_by_another_process() -> None:
    results, shared = check_in_halves(ITEMS, tagged, workers=2)
    assert shared
    assert [item for item, _ in results] == ITEMS
    me = os.getpid()
    assert {pid for _, pid in results[:20]} == {me}
    (other,) = {pid for _, pid in results[20:]}
    assert other != me


def test_one_worker_or_a_short_list_stays_in_this_process() -> None:
    me = os.getpid()
    for items, workers in ((ITEMS, 1), (ITEMS[:1], 2), ([], 2)):
        results, shared = check_in_halves(items, tagged, workers=workers)
        assert not shared
        assert results == [(item, me) for item in items]


def test_the_default_shares_only_a_long_list_with_an_idle_core(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(split, "idle_core", lambda: True)
    assert check_in_halves(ITEMS[:SPLIT_MIN_COMMITS], tagged)[1]
    assert not check_in_halves(ITEMS[: SPLIT_MIN_COMMITS - 1], tagged)[1]
    monkeypatch.setattr(split, "idle_core", lambda: False)
    assert not check_in_halves(ITEMS, tagged)[1]


def test_no_fork_while_another_thread_runs() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        results, shared = check_in_halves(ITEMS, tagged, workers=2)
    finally:
        stop.set()
        other.join()
    assert not shared
    assert {pid for _, pid in results} == {os.getpid()}


def test_a_failing_worker_leaves_its_share_to_this_process() -> None:
    me = os.getpid()

    def only_here(share: Sequence[str]) -> list[str]:
        if os.getpid() != me:
            raise RuntimeError("the worker fails")
        return list(share)

    assert check_in_halves(ITEMS, only_here, workers=2) == (ITEMS, False)


def test_results_that_do_not_pickle_are_checked_again_here() -> None:
    me = os.getpid()

    def unpicklable(share: Sequence[str]) -> list[object]:
        # A lambda does not pickle: the worker's results cannot come back.
        return [item if os.getpid() == me else (lambda: None) for item in share]

    assert check_in_halves(ITEMS, unpicklable, workers=2) == (ITEMS, False)


def test_an_error_in_this_process_stops_the_worker_and_is_raised() -> None:
    # With another thread running no worker is forked, and the read below would wait forever.
    assert threading.active_count() == 1, [t.name for t in threading.enumerate()]
    me = os.getpid()
    started = os.pipe()

    worker: list[int] = []

    def slow_worker(share: Sequence[str]) -> list[str]:
        if os.getpid() != me:
            os.write(started[1], os.getpid().to_bytes(4, "big"))
            threading.Event().wait()  # until killed
        worker.append(int.from_bytes(os.read(started[0], 4), "big"))  # it is running
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        check_in_halves(ITEMS, slow_worker, workers=2)
    os.close(started[0])
    os.close(started[1])
    # The worker was killed and reaped: not even a zombie is left.
    with pytest.raises(ProcessLookupError):
        os.kill(worker[0], 0)


def _scan_tagged(share: Sequence[str]) -> tuple[list[tuple[str, int]], bool]:
    return tagged(share), True


def test_both_halves_are_scanned_then_checked() -> None:
    halves = scan_then_check_in_halves(ITEMS, _scan_tagged, tagged, workers=2)
    assert halves.split
    me = os.getpid()
    mine, theirs = halves.scans
    assert mine == [(item, me) for item in ITEMS[:20]]
    assert [item for item, _ in theirs] == ITEMS[20:]
    assert {pid for _, pid in theirs} != {me}
    assert halves.checks is not None
    assert [item for item, _ in halves.checks] == ITEMS


@pytest.mark.parametrize("stopper", [ITEMS[3], ITEMS[33]])
def test_a_scan_that_stops_in_either_half_stops_every_check(tmp_path: Path, stopper: str) -> None:
    checked = tmp_path / "checked"

    def scan(share: Sequence[str]) -> tuple[list[str], bool]:
        return list(share), stopper not in share

    def check(share: Sequence[str]) -> list[str]:
        with checked.open("a") as f:  # each process that checks anything says so
            f.write(f"{os.getpid()}\n")
        return list(share)

    halves = scan_then_check_in_halves(ITEMS, scan, check, workers=2)
    assert halves.split
    assert halves.scans == (ITEMS[:20], ITEMS[20:])
    assert halves.checks is None
    assert not checked.exists()
    alone = scan_then_check_in_halves(ITEMS, scan, check, workers=1)
    assert alone.scans == (ITEMS,) and alone.checks is None and not alone.split


def test_a_worker_that_fails_its_scan_leaves_its_share_to_this_process() -> None:
    me = os.getpid()

    def scan(share: Sequence[str]) -> tuple[list[str], bool]:
        if os.getpid() != me:
            raise RuntimeError("the worker fails")
        return list(share), True

    halves = scan_then_check_in_halves(ITEMS, scan, tagged, workers=2)
    assert not halves.split
    assert halves.scans == (ITEMS[:20], ITEMS[20:])
    assert halves.checks == [(item, me) for item in ITEMS]


@pytest.mark.parametrize(
    ("text", "running"),
    [
        ("0.52 1.60 1.71 1/87 29433\n", 1),
        ("2.15 2.21 1.90 3/93 30110\n", 3),
        ("0.00 0.00 0.00 0/10 1\n", None),
        ("0.00 0.00 0.00\n", None),
        ("0.00 0.00 0.00 x/10 1\n", None),
        ("", None),
    ],
)
def test_running_now_reads_the_runnable_count(
    tmp_path: Path, text: str, running: int | None
) -> None:
    loadavg = tmp_path / "loadavg"
    loadavg.write_text(text)
    assert split._running_now(str(loadavg)) == running


def test_running_now_of_a_missing_file_is_unknown(tmp_path: Path) -> None:
    assert split._running_now(str(tmp_path / "absent")) is None


def test_a_core_is_idle_by_what_runs_now_not_the_minute_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1})
    # A busy last minute (the pull's own fetch) does not count once it is over.
    monkeypatch.setattr(os, "getloadavg", lambda: (1.9, 1.9, 1.9))
    monkeypatch.setattr(split, "_running_now", lambda: 1)
    assert split.idle_core()
    monkeypatch.setattr(split, "_running_now", lambda: 2)
    assert not split.idle_core()
    # Without the count (not Linux), the last minute's load decides.
    monkeypatch.setattr(split, "_running_now", lambda: None)
    assert not split.idle_core()
    monkeypatch.setattr(os, "getloadavg", lambda: (0.4, 0.4, 0.4))
    assert split.idle_core()
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0})
    assert not split.idle_core()
