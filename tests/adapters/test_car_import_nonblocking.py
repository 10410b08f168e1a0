"""The library's import_car over a non-blocking pipe: its first bytes (kept to say what a file
that is no CAR looks like) were sliced from read()'s None, a TypeError, where CarReader itself
waits for the writer (the CLI was not affected: it reads through BlockingReads)."""

from __future__ import annotations

import io
import os
import threading
import time

from mindgit.adapters.car_export import export
from mindgit.adapters.car_import import import_car
from mindgit.store.repository import Store, init_store


def _trickle(fd: int, data: bytes) -> None:
    with os.fdopen(fd, "wb", buffering=0) as writer:
        for at in range(0, len(data), 97):
            time.sleep(0.001)
            writer.write(data[at : at + 97])


def test_import_car_waits_on_a_non_blocking_pipe(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store.think("carried over a slow pipe", tags=["t"])
    out = io.BytesIO()
    export(store, "main", out)
    target = init_store(tmp_path / "beta", "beta")
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    with os.fdopen(read_end, "rb") as stream:
        assert stream.read(1) is None  # nothing written yet: the case at hand
        writer = threading.Thread(target=_trickle, args=(write_end, out.getvalue()))
        writer.start()
        try:
            import_car(target, stream, experiment="slow")
        finally:
            writer.join()
    assert "slow" in target.experiments()
    assert target.state("slow").thoughts == store.state("main").thoughts
