"""`mindgit hooks install --server PATH` without `--trust` keeps the trust file the server has,
for a repository made with `git init` (a work tree, the git dir in `.git`) as for a bare one.

Bug: the CLI looked for the server's trust file under PATH itself, where a work tree's never is
(the hook reads `.git/mindgit/allowed_signers`): every install into such a repository that was
not given `--trust` (to change a policy switch, say) replaced the server's trust with the trust
of the store it ran in, widening whom the server accepts pushes from, without a word."""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.sync.hooks import has_server_trust
from tests.conftest import Mg, git
from tests.sync.conftest import Nodes


@pytest.mark.parametrize("bare", [False, True])
def test_install_without_trust_keeps_the_servers_trust_file(
    pair: Nodes, mg: Mg, tmp_path: Path, bare: bool
) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    a = ("--store", str(alpha.path))
    server = tmp_path / "shared"
    git("init", "-q", *(["--bare"] if bare else []), str(server))
    gitdir = server if bare else server / ".git"
    only_beta = tmp_path / "only_beta"
    only_beta.write_text(
        "".join(ln + "\n" for ln in alpha.trust.export().splitlines() if ln.endswith(" beta"))
    )
    assert beta.public_key.did in only_beta.read_text()

    r = mg(*a, "hooks", "install", "--server", str(server), "--trust", str(only_beta))
    assert r.code == 0, r
    trust = gitdir / "mindgit" / "allowed_signers"
    before = trust.read_bytes()
    assert has_server_trust(server)

    # alpha trusts itself and beta; the server was told to trust beta alone, and keeps to it.
    r = mg(*a, "hooks", "install", "--server", str(server), "--allow-rewind")
    assert r.code == 0, r
    assert "trusting 1 node(s)" in r.err, r.err
    assert trust.read_bytes() == before
    assert alpha.public_key.did not in trust.read_text()


def test_a_work_tree_with_no_trust_gets_the_stores(pair: Nodes, mg: Mg, tmp_path: Path) -> None:
    alpha = pair["alpha"]
    server = tmp_path / "shared"
    git("init", "-q", str(server))
    assert not has_server_trust(server)
    r = mg("--store", str(alpha.path), "hooks", "install", "--server", str(server))
    assert r.code == 0, r
    assert (server / ".git" / "mindgit" / "allowed_signers").read_text() == alpha.trust.export()
    assert not has_server_trust(tmp_path / "nothing-here")


@pytest.mark.parametrize("flag", [(), ("--allow-rewind",), ("--max-object-bytes", "1M")])
def test_a_sha256_server_is_named_so_with_a_policy_flag_too(
    pair: Nodes, mg: Mg, tmp_path: Path, flag: tuple[str, ...]
) -> None:
    """Bug: with a policy flag, a SHA-256 repository was 'not a git repository'."""
    server = tmp_path / "sha256.git"
    git("init", "-q", "--bare", "--object-format=sha256", str(server))
    r = mg("--store", str(pair["alpha"].path), "hooks", "install", "--server", str(server), *flag)
    assert r.code == 1, r
    assert "SHA-256 object ids" in r.err, r.err
    assert not (server / "hooks" / "pre-receive").exists()
