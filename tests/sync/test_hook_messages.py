"""What a gated server's hook tells a pusher about its own trust file: what is wrong, and the
file's place in the repository, never where on the server the repository lives."""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.store.repository import Store
from tests.sync.test_hooks_server import push, refs


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "no trust file at mindgit/allowed_signers; every push is refused"),
        ("garbage line here\n", "mindgit/allowed_signers:1: unknown option"),
        ("# nobody yet\n", "mindgit/allowed_signers trusts no key"),
    ],
)
def test_trust_file_problems_are_told_without_the_server_s_path(
    server: Path, store: Store, content: str | None, said: str
) -> None:
    trust = server / "mindgit" / "allowed_signers"
    if content is None:
        trust.unlink()
    else:
        trust.write_text(content)
    before = refs(server)
    store.think("anything")
    proc = push(store, str(server), "main")
    assert proc.returncode != 0
    assert said in proc.stderr
    # The pusher's own command line names the server's path; nothing the hook said does.
    told = [line for line in proc.stderr.splitlines() if line.startswith("remote: ")]
    assert told and not any(str(server.parent) in line for line in told), told
    assert refs(server) == before
