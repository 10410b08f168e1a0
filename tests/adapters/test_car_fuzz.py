"""Fuzzing import with mutated and random CARs: no crash and no hang, only a MindgitError, and a
refused CAR leaves the store exactly as it was."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mindgit.adapters.car_import import import_car
from mindgit.errors import MindgitError
from mindgit.store.repository import Store
from mindgit.store.verify import verify_commits
from tests.adapters.test_car_builders import export_bytes, rich_store, store_fingerprint

FUZZ = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def cars(store: Store) -> dict[str, bytes]:
    rich_store(store)
    return {
        "plain": export_bytes(store, "dreamer"),
        "history": export_bytes(store, "dreamer", history=True),
    }


@st.composite
def mutated(draw: st.DrawFn, car: bytes) -> bytes:
    data = bytearray(car)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "duplicate", "set"]))
        if kind == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "set" and data:
            data[at] = draw(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFF]))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=12))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        else:
            size = draw(st.integers(1, 200))
            data[at:at] = data[at : at + size]
    return bytes(data)


def import_or_refuse(target: Store, car: bytes) -> None:
    before = store_fingerprint(target)
    try:
        summary = import_car(target, io.BytesIO(car), experiment="fuzz")
    except MindgitError as error:
        assert str(error)
        assert store_fingerprint(target) == before
        return
    # A mutation can still be a valid CAR (say, a root moved to an older state): then the
    # import must be a sound one.
    report = verify_commits(target.repo, target.trust, [summary.commit])
    assert report.ok, report.problems


@FUZZ
@given(data=st.data(), which=st.sampled_from(["plain", "history"]))
def test_mutated_exports_never_crash_the_import(
    cars: dict[str, bytes], store: Store, data: st.DataObject, which: str
) -> None:
    import_or_refuse(store, data.draw(mutated(cars[which])))


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_never_crash_the_import(store: Store, car: bytes) -> None:
    import_or_refuse(store, car)
