"""The per-ref ``update`` hook follows key rotations too, one ref at a time: it sees the chains
the server holds and the one ref it judges, never the rest of the push. A rotated node's first
push by plain git lands its chain (refs/keys sorts after refs/heads, so git sends it later) and
refuses its new-key work; the next push lands the work (docs/hooks.md says so). `mindgit push`
sends a chain that moved in a push of its own, first: one push lands both."""

from __future__ import annotations

from pathlib import Path

from mindgit.store.repository import Store
from mindgit.store.rotations import rotate_key
from tests.sync.test_hooks_gate import populated
from tests.sync.test_hooks_rotation import EVERYTHING
from tests.sync.test_hooks_server import make_server, push, refs, refused_lines


def test_the_first_push_after_a_rotation_through_the_update_hook(
    srv_dir: Path, store: Store
) -> None:
    server = make_server(srv_dir, store.trust.export(), hooks=("update",))
    populated(store)
    assert push(store, str(server), "main").returncode == 0
    before = store.head()
    rotate_key(store)
    store.think("after the rotation, by the new key")
    proc = push(store, str(server), *EVERYTHING)
    assert proc.returncode != 0
    assert refused_lines(proc) == [
        f"mindgit: refused: {store.head()}: signed by untrusted key {store.public_key.did} "
        f"({store.public_key.fingerprint})"
    ]
    held = refs(server)
    assert held["refs/heads/main"] == before
    assert held["refs/keys/announce"] == str(store.repo.references["refs/keys/announce"].target)
    proc = push(store, str(server), *EVERYTHING)
    assert proc.returncode == 0, proc.stderr
    assert refs(server)["refs/heads/main"] == store.head()


def test_mindgit_push_after_a_rotation_through_the_update_hook(srv_dir: Path, store: Store) -> None:
    from mindgit.sync.peers import add_peer
    from mindgit.sync.push import push as mindgit_push

    server = make_server(srv_dir, store.trust.export(), hooks=("update",))
    populated(store)
    add_peer(store, "shared", f"file://{server}")
    assert not mindgit_push(store, "shared").failed
    rotate_key(store)
    store.think("after the rotation, by the new key")
    report = mindgit_push(store, "shared")
    assert not report.failed, report
    assert refs(server)["refs/heads/main"] == store.head()
    # Nothing moved on the chain since: the next push is one push.
    store.think("more")
    assert not mindgit_push(store, "shared").failed


def test_the_update_hook_refuses_a_thief_s_fork_and_a_chain_s_deletion(
    srv_dir: Path, store: Store
) -> None:
    """The update hook judges each chain ref as pre-receive does: a thief's rotation of
    alpha's retired key beside the held chain, and the held chain deleted on a server that
    allows deletions, are refused; the work of the same push is judged with the chain held."""
    from mindgit.identity.keys import NodeKey
    from mindgit.sync.hooks import ServerPolicy
    from tests.sync.forge import announce
    from tests.sync.test_hooks_review import signed_on
    from tests.sync.test_hooks_rotation import chain_ref
    from tests.sync.test_hooks_rotation_attacks import rotated_and_pushed

    server = make_server(
        srv_dir, store.trust.export(), hooks=("update",), policy=ServerPolicy(allow_delete=True)
    )
    populated(store)
    assert push(store, str(server), "main").returncode == 0
    old = rotated_and_pushed(store, server)
    before = refs(server)
    thief = NodeKey.generate()
    store.repo.references.create("refs/attack/chain", announce(store, old, thief, []))
    proc = push(store, str(server), "refs/attack/chain:refs/keys/announce")
    assert proc.returncode != 0
    assert any("diverges from key chain" in line for line in refused_lines(proc)), proc.stderr
    late = signed_on(store, store.head(), "by the retired key", old)
    store.repo.references.create("refs/attack/late", late)
    proc = push(store, str(server), f":{chain_ref(old)}", "+refs/attack/late:refs/heads/main")
    assert proc.returncode != 0
    lines = refused_lines(proc)
    assert any("would drop key rotation" in line for line in lines), lines
    assert any("a retired key, outside the history" in line for line in lines), lines
    assert refs(server) == before
