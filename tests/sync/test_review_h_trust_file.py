"""`mindgit hooks install --server PATH --trust FILE` with a FILE that is not a plain small file.

Bugs: the file was read whole before anything checked it, so `--trust /dev/zero` (or a huge
file given by mistake) took memory until the process failed, "internal error: MemoryError",
exit 3; and it was then parsed again from its path, so a pipe (`--trust <(mindgit trust
export)`, `/dev/stdin`) was refused as "not a regular file" with the store's own hint to "put
that file back in its place". It is read once, at most MAX_TRUST_BYTES, and parsed from what
was read.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from mindgit.store.repository import Store
from mindgit.sync.hooks import MAX_TRUST_BYTES
from tests.conftest import Mg, git


def _server(tmp_path: Path) -> tuple[Path, list[str]]:
    server = tmp_path / "shared.git"
    git("init", "-q", "--bare", str(server))
    return server, sorted(str(p) for p in server.rglob("*"))


def test_an_endless_trust_file_is_refused_in_one_line(store: Store, mg: Mg, tmp_path: Path) -> None:
    server, before = _server(tmp_path)
    r = mg("hooks", "install", "--server", str(server), "--trust", "/dev/zero")
    assert r.code == 1, r
    assert "internal error" not in r.err
    assert len(r.err.strip().splitlines()) == 1
    assert f"cannot read trust file /dev/zero: it is over {MAX_TRUST_BYTES >> 20} MiB" in r.err
    assert sorted(str(p) for p in server.rglob("*")) == before


def test_a_trust_file_over_the_bound_is_refused(store: Store, mg: Mg, tmp_path: Path) -> None:
    server, before = _server(tmp_path)
    line = store.trust.export()
    big = tmp_path / "allowed_signers"
    big.write_text(line * (MAX_TRUST_BYTES // len(line) + 1))
    r = mg("hooks", "install", "--server", str(server), "--trust", str(big))
    assert r.code == 1, r
    assert "is over" in r.err
    assert sorted(str(p) for p in server.rglob("*")) == before


def test_a_trust_file_read_from_a_pipe(store: Store, mg: Mg, tmp_path: Path) -> None:
    server, _ = _server(tmp_path)
    text = store.trust.export()
    read_end, write_end = os.pipe()

    def feed() -> None:
        os.write(write_end, text.encode())
        os.close(write_end)

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        r = mg("hooks", "install", "--server", str(server), "--trust", f"/dev/fd/{read_end}")
    finally:
        writer.join()
        os.close(read_end)
    assert r.code == 0, r
    assert "trusting 1 node(s)" in r.err
    assert (server / "mindgit" / "allowed_signers").read_text() == text


def test_a_corrupt_or_non_utf8_trust_file_is_named_as_given(
    store: Store, mg: Mg, tmp_path: Path
) -> None:
    server, before = _server(tmp_path)
    bad = tmp_path / "bad_signers"
    bad.write_text(store.trust.export() + "garbage line\n")
    r = mg("hooks", "install", "--server", str(server), "--trust", str(bad))
    assert r.code == 1, r
    assert f"{bad}:2: " in r.err, r.err
    bad.write_bytes(b"\xff\n")
    r = mg("hooks", "install", "--server", str(server), "--trust", str(bad))
    assert r.code == 1, r
    assert "UTF-8" in r.err and "permissions" not in r.err, r.err
    assert sorted(str(p) for p in server.rglob("*")) == before
