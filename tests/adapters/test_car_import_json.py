"""An agent file (or any JSON) given to `mindgit import` is said to be JSON, with `import-af` named.

Read as a CAR, its first character is taken for the header's length and the text after it for
the header: the error was "header is not DAG-CBOR: needs 6660296222284341607 more bytes, 25
left" with the hint "the file is corrupt, truncated, or not a CARv1 file".
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mindgit.adapters.car_import import import_car
from mindgit.ipld.car import CarBlockTooLarge, CarError, CarHeaderError, CarTruncated
from mindgit.store.repository import Store, init_store
from tests.adapters.test_agentfile_builders import AGENT_FILES, fingerprint
from tests.conftest import Mg

HINT = "a Letta agent file (.af) is imported with `mindgit import-af FILE`"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return init_store(tmp_path / "s", "s")


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ((AGENT_FILES / "memgpt_agent.af").read_bytes(), CarHeaderError),  # double-encoded
        ((AGENT_FILES / "evie.af").read_bytes(), CarHeaderError),
        (b'\xef\xbb\xbf{"agents": []}', CarBlockTooLarge),  # a byte-order mark first
        (b"  \n[1, 2]", CarTruncated),
    ],
)
def test_json_given_for_a_car_is_said_to_be_json(
    store: Store, data: bytes, kind: type[CarError]
) -> None:
    before = fingerprint(store)
    with pytest.raises(kind) as caught:
        import_car(store, io.BytesIO(data), experiment="x")
    assert caught.value.hint is not None and HINT in caught.value.hint
    assert str(caught.value).startswith("bad CAR file at byte ")
    assert fingerprint(store) == before


def test_other_bytes_keep_the_cars_own_hint(store: Store) -> None:
    with pytest.raises(CarTruncated) as caught:
        import_car(store, io.BytesIO(b"hello"), experiment="x")
    assert caught.value.hint is not None and "import-af" not in caught.value.hint


def test_the_command_line_names_import_af(store: Store, mg: Mg) -> None:
    before = fingerprint(store)
    path = AGENT_FILES / "memgpt_agent.af"
    r = mg("--store", str(store.path), "import", str(path), "--as", "x")
    assert r.code == 1 and r.out == "" and r.err.count("\n") == 1
    # The hint's command names the --store typed.
    typed = (
        f"a Letta agent file (.af) is imported with `mindgit --store {store.path} import-af FILE`"
    )
    assert "this is JSON, not a CAR" in r.err and typed in r.err
    assert fingerprint(store) == before


def test_a_car_given_to_import_af_is_said_to_be_a_car(store: Store, tmp_path: Path) -> None:
    # The other way round: "not JSON (not UTF-8 at byte 1)", hint "is this really a .af file?".
    from mindgit.adapters.agentfile import import_af
    from mindgit.adapters.agentfile_json import NotJson
    from mindgit.adapters.car_export import export

    import_af(store, AGENT_FILES / "memgpt_agent.af", name="m")
    car = tmp_path / "m.car"
    with car.open("wb") as out:
        export(store, "m", out, history=True)
    before = fingerprint(store)
    with pytest.raises(NotJson) as caught:
        import_af(store, car, name="x")
    assert caught.value.hint is not None and "`mindgit import FILE --as NAME`" in caught.value.hint
    assert fingerprint(store) == before
    with pytest.raises(NotJson) as other:
        import_af(store, io.BytesIO(b"\xff{}"), name="x")
    assert other.value.hint == "is this really a .af file?"
