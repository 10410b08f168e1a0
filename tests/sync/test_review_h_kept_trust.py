"""`mindgit hooks install --server PATH` without `--trust`, keeping a trust file that is bad.

Bugs: a kept trust file was not read until the end. One that did not parse failed the install
(exit 1) after the hook and the policy had been written; one that trusts no key was installed,
"trusting 0 node(s)", exit 0, to refuse every push, where the same file given with --trust is
refused. Both are now refused before anything is written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.store.repository import Store
from tests.conftest import Mg, git


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("garbage\n", "allowed_signers:1: "),
        ("", "allowed_signers trusts no key"),
        ("# every node removed\n", "allowed_signers trusts no key"),
    ],
)
@pytest.mark.parametrize("flags", [(), ("--allow-rewind",), ("--update-hook",)])
def test_a_bad_kept_trust_file_is_refused_before_anything_is_written(
    store: Store, mg: Mg, tmp_path: Path, content: str, said: str, flags: tuple[str, ...]
) -> None:
    server = tmp_path / "shared.git"
    git("init", "-q", "--bare", str(server))
    (server / "mindgit").mkdir()
    (server / "mindgit" / "allowed_signers").write_text(content)
    config = (server / "config").read_bytes()
    listing = sorted(str(p) for p in server.rglob("*"))

    r = mg("--store", str(store.path), "hooks", "install", "--server", str(server), *flags)
    assert r.code == 1, r
    assert said in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1
    assert sorted(str(p) for p in server.rglob("*")) == listing
    assert (server / "config").read_bytes() == config

    # Given a good file, the install mends it.
    good = tmp_path / "allowed_signers"
    good.write_text(store.trust.export())
    r = mg("hooks", "install", "--server", str(server), "--trust", str(good), *flags)
    assert r.code == 0, r
    assert "trusting 1 node(s)" in r.err
