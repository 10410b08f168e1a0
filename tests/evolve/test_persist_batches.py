"""The writer process gathers generations into one write (one pack, one ref move): what is
queued at once, more that arrives within its wait, never past the end of its input; a forked
run writes fewer packs than generations, with the same generations as an inline one; and the
manifests it is sent through shared memory read back as sent, in room never given twice."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.evolve import persist
from mindgit.evolve.persist import (
    WRITE_BATCH,
    Named,
    PersistFailed,
    SharedManifests,
    _Drain,
    _frame,
    named_frame,
    named_of,
    take_message,
)
from mindgit.evolve.run import start_run
from mindgit.sandbox import FitnessFailure
from mindgit.store.generation import RunParams
from mindgit.store.repository import Store
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.evolve.test_run import fingerprint

# Longer than any test may take: a gather that waited for it would fail the run by its timeout.
FOREVER = 600.0


@pytest.fixture
def pipe() -> Iterator[tuple[_Drain, int]]:
    r, w = os.pipe()
    drain = _Drain(r)
    try:
        yield drain, w
    finally:
        for fd in (r, w):
            with contextlib.suppress(OSError):  # a test closed it already
                os.close(fd)


def send(fd: int, *numbers: int) -> None:
    for n in numbers:
        for part in _frame(("job", n), [b"x" * n]):
            os.write(fd, part)


def numbers(messages: list[tuple[object, bytes]]) -> list[int]:
    out = []
    for obj, raw in messages:
        assert isinstance(obj, tuple)
        assert raw == b"x" * obj[1]
        out.append(obj[1])
    return out


def test_a_batch_waits_for_its_count_and_takes_all_that_is_there(
    pipe: tuple[_Drain, int],
) -> None:
    drain, w = pipe
    send(w, *range(WRITE_BATCH + 3))
    first = numbers(drain.gather(WRITE_BATCH, FOREVER))
    assert len(first) >= WRITE_BATCH
    got = first
    while len(got) < WRITE_BATCH + 3:
        got += numbers(drain.gather(1, 0.0))
    assert got == list(range(WRITE_BATCH + 3))


def test_the_end_of_the_input_ends_the_wait(pipe: tuple[_Drain, int]) -> None:
    drain, w = pipe
    send(w, 1, 2, 3)
    os.close(w)
    got: list[int] = []
    while True:
        batch = drain.gather(WRITE_BATCH, FOREVER)
        if not batch:
            break
        got += numbers(batch)
    assert got == [1, 2, 3]


def test_a_lone_generation_waits_only_its_wait(pipe: tuple[_Drain, int]) -> None:
    drain, w = pipe
    send(w, 5)
    assert numbers(drain.gather(WRITE_BATCH, 0.01)) == [5]


def test_generations_arriving_within_the_wait_join_the_batch(pipe: tuple[_Drain, int]) -> None:
    drain, w = pipe
    sender = threading.Thread(target=send, args=(w, *range(WRITE_BATCH)))
    sender.start()
    try:
        got = numbers(drain.gather(WRITE_BATCH, FOREVER))
    finally:
        sender.join()
    assert got == list(range(WRITE_BATCH))


def packs(store: Store) -> int:
    return len(list((Path(store.repo.path) / "objects" / "pack").glob("*.pack")))


def test_a_forked_run_writes_batches_and_the_same_generations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = RunParams(population=16, generations=40, seed=5)
    forked = new_store(tmp_path / "forked", float_genes(6))
    before = packs(forked)
    # No deadline (the forked writer inherits it): every write but the last (ended by the end
    # of the input) holds WRITE_BATCH generations, or more when the writer has fallen behind.
    monkeypatch.setattr(persist, "WRITE_WAIT", FOREVER)
    r = start_run(forked, str(RASTRIGIN), params)
    assert packs(forked) - before <= -(-params.generations // WRITE_BATCH)
    monkeypatch.setenv("MINDGIT_EVOLVE_FORK", "0")
    inline = new_store(tmp_path / "inline", float_genes(6))
    r_inline = start_run(inline, str(RASTRIGIN), params)
    assert fingerprint(forked, r.run_id) == fingerprint(inline, r_inline.run_id)


def test_a_writer_behind_gets_the_cids_spelt_and_writes_the_same_generations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = RunParams(population=16, generations=12, seed=9)
    helped = new_store(tmp_path / "helped", float_genes(6))
    # Every generation counts as behind: the breeding process spells every CID.
    monkeypatch.setattr(persist, "HELP_BACKLOG", -(10**9))
    r = start_run(helped, str(RASTRIGIN), params)
    monkeypatch.setenv("MINDGIT_EVOLVE_FORK", "0")
    inline = new_store(tmp_path / "inline", float_genes(6))
    r_inline = start_run(inline, str(RASTRIGIN), params)
    assert fingerprint(helped, r.run_id) == fingerprint(inline, r_inline.run_id)


def a_named(generation: int, data: list[bytes], texts: list[str] | None = None) -> Named:
    n = len(data)
    oids = [bytes([k]) * 20 for k in range(n)]
    results: list[float | FitnessFailure] = [float(k) for k in range(n)]
    return generation, [(k,) for k in range(n)], results, list(range(n)), (data, oids, texts)


def sent(named: Named, shared: SharedManifests | None) -> tuple[object, bytes]:
    buf = bytearray(b"".join(named_frame(named, shared)))
    message = take_message(buf)
    assert message is not None and not buf
    return message


def test_manifests_in_shared_memory_are_read_back_as_sent() -> None:
    shared = SharedManifests(1 << 16)
    named = a_named(3, [b"first", b"", b"the third manifest"])
    message = sent(named, shared)
    assert message[1] == b""  # only where they are went through the pipe
    assert named_of(message, shared.memory) == named
    with pytest.raises(PersistFailed):
        named_of(message)


def test_manifests_that_do_not_fit_go_through_the_pipe() -> None:
    shared = SharedManifests(100)
    named = a_named(0, [b"x" * 60, b"y" * 60], ["the first's CID", "the second's"])
    message = sent(named, shared)
    assert message[1] == b"x" * 60 + b"y" * 60
    assert named_of(message) == named


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 70), st.integers(0, 3)), max_size=60))
def test_shared_room_is_never_given_twice_while_held(steps: list[tuple[int, int]]) -> None:
    size = 100
    shared = SharedManifests(size)
    held: dict[int, tuple[int, int]] = {}
    written = -1
    for generation, (n, writes) in enumerate(steps):
        # The writer has written some of the generations in flight.
        written = min(written + writes, generation - 1)
        shared.release(written)
        held = {g: r for g, r in held.items() if g > written}
        at = shared.place(generation, n)
        if at is None:
            continue
        assert at >= 0 and at + n <= size
        for start, end in held.values():
            assert at + n <= start or end <= at
        held[generation] = (at, at + n)
    shared.memory.close()
