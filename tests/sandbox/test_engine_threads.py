"""One engine per stack limit, however many threads ask for it first."""

from __future__ import annotations

import threading

from mindgit.sandbox import engine as engines


def test_threads_asking_at_once_share_one_engine() -> None:
    stack = 448 << 10  # a limit no other test uses, so its engine is made here
    barrier = threading.Barrier(8)
    got: list[object] = []

    def ask() -> None:
        barrier.wait()
        got.append(engines.engine(stack))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8 and all(e is got[0] for e in got)
