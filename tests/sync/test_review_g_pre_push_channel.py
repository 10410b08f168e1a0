"""Review G: a push is PrePushRefused only when this store's own pre-push hook said so through
the channel `mindgit push` gave it; a peer's "mindgit: ..." lines on git's stderr (an ssh
peer's remote command writes there unprefixed) are the peer's failure, not the hook's."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Result
from tests.sync.conftest import Nodes

Mg = Callable[..., Result]


def fake_ssh(tmp_path: Path) -> Path:
    # A peer that answers a listing as a real one (so that the push gets as far as sending),
    # then has its receive-pack speak as a mindgit hook would, and fail.
    script = tmp_path / "fake-ssh"
    script.write_text(
        "#!/bin/sh\n"
        "for last; do :; done\n"
        'case "$last" in\n'
        "  *receive-pack*)\n"
        '    echo "mindgit: refused: 0123 blob: signed by untrusted key x" >&2\n'
        '    echo "mindgit: refused: ... and 7 more problem(s)" >&2\n'
        "    exit 1;;\n"
        "esac\n"
        'exec sh -c "$last"\n'
    )
    script.chmod(0o755)
    return script


def test_a_peer_speaking_as_mindgit_over_ssh_is_not_the_stores_hook(
    pair: Nodes, mg: Mg, tmp_path: Path
) -> None:
    alpha = pair["alpha"]
    store = ("--store", str(alpha.path))
    assert mg(*store, "hooks", "install").code == 0
    ssh = fake_ssh(tmp_path)
    server = tmp_path / "evil.git"
    subprocess.run(
        ["git", "init", "-q", "--bare", "--initial-branch=main", str(server)], check=True
    )
    git = ["git", "--git-dir", str(alpha.path), "config"]
    subprocess.run([*git, "core.sshCommand", str(ssh)], check=True)
    url = f"ssh://peer.example{server}"
    assert mg(*store, "remote", "add", "evil", url).code == 0
    res = mg(*store, "push", "evil", "--json")
    assert res.code == 1
    err = json.loads(res.out)
    assert err["type"] != "PrePushRefused", err  # was PrePushRefused, hint: remove the hook
    assert "pre-push hook" not in err["error"], err
    assert "mindgit hooks install" not in (err["hint"] or ""), err
    assert err["type"] in ("PeerUnreachable", "TransportError"), err
    assert err["error"].startswith("push to evil"), err


def test_a_plain_git_push_runs_the_hook_as_before(pair: Nodes, mg: Mg, tmp_path: Path) -> None:
    alpha = pair["alpha"]
    store = ("--store", str(alpha.path))
    assert mg(*store, "hooks", "install").code == 0
    subprocess.run(
        ["git", "--git-dir", str(alpha.path), "config", "mindgit.maxObjectBytes", "1e3"], check=True
    )
    server = tmp_path / "shared.git"
    subprocess.run(
        ["git", "init", "-q", "--bare", "--initial-branch=main", str(server)], check=True
    )
    done = subprocess.run(
        ["git", "--git-dir", str(alpha.path), "push", str(server), "main"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "mindgit: error: config mindgit.maxObjectBytes = '1e3'" in done.stderr
