"""verify --trust reads its file once, at most 16 MiB, as hooks install --trust does: a pipe
(`--trust <(mindgit trust export)`, as a CI job writes it) and /dev/zero were both "no such
file" (found by review H)."""

from __future__ import annotations

import os
from pathlib import Path

from mindgit.store.repository import Store
from tests.conftest import Mg


def test_a_trust_file_given_as_a_pipe_is_read(store: Store, mg: Mg) -> None:
    store.think("checked")
    read, write = os.pipe()
    try:
        os.write(write, store.trust.path.read_bytes())
        os.close(write)
        r = mg("--store", str(store.path), "verify", "--all", "--trust", f"/dev/fd/{read}")
    finally:
        os.close(read)
    assert r.code == 0, r.err
    assert "0 failed" in r.err


def test_an_endless_trust_file_is_refused_for_its_size(store: Store, mg: Mg) -> None:
    r = mg("--store", str(store.path), "verify", "--trust", "/dev/zero")
    assert r.code == 1, r.err
    assert "cannot read trust file /dev/zero: it is over 16 MiB" in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_a_bad_line_is_named_in_the_given_file(store: Store, mg: Mg, tmp_path: Path) -> None:
    given = tmp_path / "signers"
    given.write_text("not a line of an allowed-signers file\n")
    r = mg("--store", str(store.path), "verify", "--trust", str(given))
    assert r.code == 1, r.err
    assert f"{given}:1:" in r.err
