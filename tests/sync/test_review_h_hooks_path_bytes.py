"""A `core.hooksPath` that is not UTF-8 (git takes it as the bytes it is).

Bug: `mindgit hooks install` (and `--server`) read it as text: "internal error:
UnicodeDecodeError", exit 3. The hook now goes where git looks for it, and git runs it there.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from mindgit.store.repository import Store
from tests.conftest import Mg, git
from tests.sync import forge
from tests.sync.test_hooks_server import refs

NAME = b"h\xffx"


def set_hooks_path(repo: Path) -> None:
    subprocess.run(
        [b"git", b"--git-dir", os.fsencode(repo), b"config", b"core.hooksPath", NAME], check=True
    )


def test_a_hooks_path_that_is_not_utf8(store: Store, mg: Mg, tmp_path: Path) -> None:
    server = tmp_path / "shared.git"
    git("init", "-q", "--bare", str(server))
    set_hooks_path(server)
    set_hooks_path(store.path)
    trust = tmp_path / "allowed_signers"
    trust.write_text(store.trust.export())

    r = mg(
        "--store",
        str(store.path),
        "hooks",
        "install",
        "--server",
        str(server),
        "--trust",
        str(trust),
    )
    assert r.code == 0, r
    assert (server / os.fsdecode(NAME) / "pre-receive").is_file()
    r = mg("--store", str(store.path), "hooks", "install")
    assert r.code == 0, r
    assert (store.path / os.fsdecode(NAME) / "pre-push").is_file()

    # git runs the server's hook from there.
    bad = forge.unsigned(store, "main")
    forge.point(store, "main", bad)
    before = refs(server)
    proc = subprocess.run(
        ["git", "--git-dir", str(store.path), "push", "--no-verify", str(server), "main"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0
    assert f"mindgit: refused: {bad}: unsigned commit" in proc.stderr, proc.stderr
    assert refs(server) == before
