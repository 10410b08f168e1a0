"""What a server's hook says of a bad policy setting reaches the pusher ("remote: ...").

Bug: its hint named where the server keeps the repository (`git --git-dir /srv/minds.git config
mindgit.allowRewind VALUE`), which the hook's words otherwise never do (the trust file is
`mindgit/allowed_signers` to them). It now says `<repository>`; `hooks install`, which the
admin runs, still names the path.
"""

from __future__ import annotations

from pathlib import Path

from mindgit.store.repository import Store
from tests.conftest import Mg, git
from tests.sync.test_hooks_server import push, refs


def test_a_bad_setting_is_told_without_the_servers_path(server: Path, store: Store, mg: Mg) -> None:
    git("--git-dir", str(server), "config", "mindgit.allowRewind", "yes")
    store.think("one more")
    before = refs(server)
    proc = push(store, str(server), "main")
    assert proc.returncode != 0
    said = [ln for ln in proc.stderr.splitlines() if ln.startswith("remote: mindgit:")]
    assert len(said) == 1, proc.stderr
    assert "mindgit.allowRewind = 'yes' must be true or false" in said[0]
    assert "`git --git-dir <repository> config mindgit.allowRewind VALUE`" in said[0], said[0]
    assert str(server) not in said[0] and str(server.parent) not in said[0]
    assert refs(server) == before

    r = mg("--store", str(store.path), "hooks", "install", "--server", str(server))
    assert r.code == 1 and f"--git-dir {server}" in r.err, r.err
