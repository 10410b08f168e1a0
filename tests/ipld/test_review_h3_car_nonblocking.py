"""CarReader over a stream that is not plainly blocking binary: a non-blocking pipe's read()
returns None while its writer has not caught up, which CarReader took for the end of the CAR
("empty stream: no CAR header", or the blocks cut short without a word); only the CLI waited.
A stream with nothing to wait on, or one that gives text, was a bare TypeError or a wrong
'bad CAR' error. Now the reader waits (poll) on the descriptor, or says what the stream is."""

from __future__ import annotations

import io
import os
import threading
import time

import pytest

from mindgit.ipld.car import (
    BlockingReads,
    CarError,
    CarReader,
    CarStreamUnusable,
    write_car,
)
from mindgit.ipld.cid import CID


def _car(count: int = 20) -> tuple[bytes, list[tuple[CID, bytes]]]:
    blocks = [(CID.of(data), data) for data in (f'"block {i}"'.encode() for i in range(count))]
    out = io.BytesIO()
    write_car(out, [blocks[0][0]], blocks)
    return out.getvalue(), blocks


def _trickle(fd: int, data: bytes, piece: int) -> None:
    with os.fdopen(fd, "wb", buffering=0) as writer:
        for at in range(0, len(data), piece):
            time.sleep(0.002)
            writer.write(data[at : at + piece])


@pytest.mark.parametrize("piece", [1, 7, 64, 1 << 20])
def test_a_non_blocking_pipe_is_waited_for(piece: int) -> None:
    car, blocks = _car()
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    with os.fdopen(read_end, "rb") as stream:
        assert stream.read(1) is None  # nothing written yet: the case at hand
        writer = threading.Thread(target=_trickle, args=(write_end, car, piece))
        writer.start()
        try:
            reader = CarReader(stream)
            assert reader.roots == (blocks[0][0],)
            assert list(reader) == blocks
        finally:
            writer.join()


class _NoneForNow:
    """A caller's own stream that answers None (nothing yet) and has no descriptor."""

    def read(self, size: int = -1) -> bytes | None:
        return None


def test_a_none_with_nothing_to_wait_on_is_said() -> None:
    with pytest.raises(CarStreamUnusable) as info:
        CarReader(_NoneForNow())  # type: ignore[arg-type]
    assert isinstance(info.value, CarError)
    assert "non-blocking" in str(info.value) and "no file descriptor" in str(info.value)
    assert "bad CAR file" not in str(info.value)


def test_a_text_stream_is_said() -> None:
    car, _ = _car(1)
    with pytest.raises(CarStreamUnusable, match=r"text \(str\), not bytes") as info:
        CarReader(io.StringIO(car.decode("latin-1")))  # type: ignore[arg-type]
    assert "'rb'" in (info.value.hint or "")


def test_blocking_reads_passes_bytes_and_the_end_through() -> None:
    reads = BlockingReads(io.BytesIO(b"abc"))
    assert reads.read(2) == b"ab"
    assert reads.read(5) == b"c"
    assert reads.read(1) == b""
