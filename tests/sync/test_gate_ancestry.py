"""The gate's ancestry check (no rewind) on a commit libgit2 cannot parse whole: a refusal that
names it, never an internal error."""

from __future__ import annotations

from pathlib import Path

import pygit2

from mindgit.store.repository import Store
from mindgit.sync.gate import check_update
from tests.sync.test_gate_dos import refused


def bad_author(store: Store) -> str:
    """A commit on the head whose author line git stores but libgit2 will not parse."""
    head = store.head()
    tree = str(store.repo[head].peel(pygit2.Tree).id)
    body = b"tree %s\nparent %s\nauthor nobody\ncommitter a <a@b> 5 +0000\n\nt\n" % (
        tree.encode(),
        head.encode(),
    )
    return str(store.repo.odb.write(pygit2.enums.ObjectType.COMMIT, body))


def test_a_commit_libgit2_cannot_parse_is_refused_by_name(server: Path, store: Store) -> None:
    # The ancestry check raised libgit2's parse error: the hook said "internal error"
    # (exit 3) where it should name the commit it refused.
    head = store.head()
    bad = bad_author(store)
    problems = check_update(store.repo, store.trust, "refs/heads/main", head, bad)
    assert problems and all(p.commit == bad for p in problems), problems
    assert "cannot check ancestry" in problems[0].reason, problems
    assert "malformed e-mail" in problems[0].reason, problems
    lines = refused(store, server, f"{bad}:refs/heads/main")
    assert any(
        line.startswith(f"mindgit: refused: {bad}: history cannot be read") for line in lines
    )
