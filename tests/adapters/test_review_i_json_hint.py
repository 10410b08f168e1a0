"""Review I: JSON with a byte-order mark and a blank before it, given to `mindgit import`, is
said to be JSON too: the header's length (a varint) had read only the mark and the blank, so
what was looked at held no '{' and the hint for agent files was not given."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mindgit.adapters.car_import import import_car
from mindgit.ipld.car import CarError
from mindgit.store.repository import Store, init_store
from tests.adapters.test_agentfile_builders import fingerprint

HINT = "this is JSON, not a CAR; a Letta agent file (.af) is imported with `mindgit import-af"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return init_store(tmp_path / "s", "s")


@pytest.mark.parametrize(
    "data",
    [b'\xef\xbb\xbf\n{"agents": []}', b"\xef\xbb\xbf [1, 2]", b'\xef\xbb\xbf\r\n"text"'],
)
def test_json_after_a_mark_and_a_blank_is_said_to_be_json(store: Store, data: bytes) -> None:
    before = fingerprint(store)
    with pytest.raises(CarError) as caught:
        import_car(store, io.BytesIO(data), experiment="x")
    assert caught.value.hint is not None and HINT in caught.value.hint
    assert fingerprint(store) == before


def test_a_binary_file_keeps_the_cars_own_hint(store: Store) -> None:
    with pytest.raises(CarError) as caught:
        import_car(store, io.BytesIO(b"\xef\xbb\xbf\n\x00\x01binary"), experiment="x")
    assert caught.value.hint is not None and "import-af" not in caught.value.hint
