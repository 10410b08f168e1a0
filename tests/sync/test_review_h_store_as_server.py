"""`mindgit hooks install --server STORE --trust FILE` on a node's own store (peers push to it).

Bug: a gated repository keeps its trust file at `mindgit/allowed_signers`, which is where a
store keeps its own: the install replaced the store's trust with FILE, exit 0, without a word,
and the node stopped trusting whom it had trusted (itself included). `--trust` is now refused
on a store unless FILE says what the store already trusts; nothing is written.
"""

from __future__ import annotations

from pathlib import Path

from mindgit.store.repository import init_store
from tests.conftest import Mg


def test_trust_of_a_store_is_not_replaced(mg: Mg, tmp_path: Path) -> None:
    alpha = init_store(tmp_path / "alpha", "alpha")
    beta = init_store(tmp_path / "beta", "beta")
    other = tmp_path / "allowed_signers"
    other.write_text(alpha.trust.export())
    own = beta.path / "mindgit" / "allowed_signers"
    before = own.read_bytes()

    r = mg("hooks", "install", "--server", str(beta.path), "--trust", str(other))
    assert r.code == 1, r
    assert "is a mindgit store" in r.err and "nothing was changed" in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1
    assert own.read_bytes() == before
    assert not (beta.path / "hooks" / "pre-receive").exists()

    # The store's own trust, given or not, is what the hook reads: the install goes on.
    same = tmp_path / "beta_signers"
    same.write_bytes(before)
    for args in (("--trust", str(same)), ()):
        r = mg("hooks", "install", "--server", str(beta.path), *args)
        assert r.code == 0, r
    assert own.read_bytes() == before
    assert (beta.path / "hooks" / "pre-receive").is_file()
