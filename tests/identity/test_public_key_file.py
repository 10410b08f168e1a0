"""A node key path naming a public key (`init --key id.pub`) says so, whatever its mode: it was
refused with "run: chmod 600" on the .pub file, which would not have helped."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mindgit.identity.keys import KeyFilePublic, NodeKey
from tests.conftest import Mg


@pytest.mark.parametrize("mode", [0o644, 0o600])
def test_a_public_key_file_is_named_as_one(tmp_path: Path, mg: Mg, mode: int) -> None:
    key = tmp_path / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    public = tmp_path / "id.pub"
    public.chmod(mode)
    with pytest.raises(KeyFilePublic):
        NodeKey.load(public)
    r = mg("init", str(tmp_path / "store"), "--name", "n", "--key", str(public))
    assert r.code == 1 and "is a public key" in r.err and "chmod" not in r.err
    assert not (tmp_path / "store").exists()
    # Its private key beside it is what was meant.
    assert mg("init", str(tmp_path / "store"), "--name", "n", "--key", str(key)).code == 0
