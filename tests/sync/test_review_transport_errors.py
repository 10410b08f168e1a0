"""What pull, push and peers say when a peer's URL leads nowhere: git's reason, not its closing
boilerplate.

Bug: git ends every failure to reach a repository with "fatal: Could not read from remote
repository. / Please make sure you have the correct access rights / and the repository
exists.", and the error kept git's last two lines only: ssh's "Connection refused", "'...' does
not appear to be a git repository" and "invalid gitfile format" said before them were lost, so
every such peer read alike. And push's errors said "list <peer>", a step nobody asked for."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import Mg, Result
from tests.sync.conftest import Nodes
from tests.sync.daemons import closed_port

_BOILERPLATE = "Please make sure you have the correct access rights"


def _error(r: Result, operation: str, peer: str) -> str:
    err = r.err
    assert r.code == 1, r
    assert err.count("\n") == 1, err
    assert err.startswith(f"mindgit: error: {operation} {peer}: cannot reach "), err
    assert _BOILERPLATE not in err, err
    return err


def _peers_error(mg: Mg, store: str, peer: str) -> str:
    r = mg("--store", store, "peers")
    [line] = [ln for ln in r.out.splitlines() if ln.startswith(peer + "\t")]
    assert _BOILERPLATE not in line, line
    return line


def test_a_path_that_is_no_repository_says_so(nodes: Nodes, mg: Mg) -> None:
    alpha = nodes.make("alpha")
    a = str(alpha.path)
    (nodes.base / "afile").write_text("not a repository\n")
    assert mg("--store", a, "remote", "add", "missing", str(nodes.base / "nothing")).code == 0
    assert mg("--store", a, "remote", "add", "afile", str(nodes.base / "afile")).code == 0
    for op, cmd in (("pull from", "pull"), ("push to", "push")):
        err = _error(mg("--store", a, cmd, "missing"), op, "missing")
        assert "does not appear to be a git repository" in err, err
        err = _error(mg("--store", a, cmd, "afile"), op, "afile")
        assert "afile" in err.split("cannot reach ", 1)[1].split(":", 1)[1], err
    assert "does not appear to be a git repository" in _peers_error(mg, a, "missing")


@pytest.mark.skipif(shutil.which("ssh") is None, reason="no ssh client")
def test_an_ssh_peer_that_refuses_says_why(nodes: Nodes, mg: Mg) -> None:
    alpha = nodes.make("alpha")
    a = str(alpha.path)
    url = f"ssh://127.0.0.1:{closed_port()}/srv/beta"
    assert mg("--store", a, "remote", "add", "beta", url).code == 0
    for op, cmd in (("pull from", "pull"), ("push to", "push")):
        err = _error(mg("--store", a, cmd, "beta", "--timeout", "20"), op, "beta")
        assert "Connection refused" in err, err
    assert "Connection refused" in _peers_error(mg, a, "beta")
