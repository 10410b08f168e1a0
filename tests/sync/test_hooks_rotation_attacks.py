"""Attacks on a gated server that follows key rotations: a key chain the server holds only grows.

A chain bounds every key it retires. A push that took a chain away (a deletion, a rewind, or a
diverged version of it beside the held one) would hand a retired key, or a thief's key, the
node's name for that very push and every later one; the server's policy on rewinds and
deletions is about experiments and runs, never about who is trusted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from mindgit.identity.keys import NodeKey
from mindgit.store.repository import Store, init_store
from mindgit.store.rotations import rotate_key
from mindgit.sync.hooks import ServerPolicy, install_server
from mindgit.sync.outcomes import PullRejected
from mindgit.sync.peers import add_peer
from mindgit.sync.pull import pull
from mindgit.sync.push import push as mindgit_push
from tests.conftest import Mg, git
from tests.sync import forge
from tests.sync.test_hooks_gate import populated
from tests.sync.test_hooks_review import signed_on
from tests.sync.test_hooks_rotation import chain_ref
from tests.sync.test_hooks_server import make_server, push, refs, refused_lines


def refused(store: Store, server: Path, *pushed: tuple[str, str | None]) -> list[str]:
    """Push each (ref, commit) pair (None deletes the ref) at once, forced: it must be refused
    whole with the server unchanged; the hook's lines."""
    before = refs(server)
    specs = []
    for i, (ref, commit) in enumerate(pushed):
        if commit is None:
            specs.append(f":{ref}")
            continue
        store.repo.references.create(f"refs/attack/{i}", commit, force=True)
        specs.append(f"+refs/attack/{i}:{ref}")
    proc = push(store, str(server), *specs)
    assert proc.returncode != 0, proc.stderr
    assert refs(server) == before
    return refused_lines(proc)


def rotated_and_pushed(store: Store, server: Path) -> NodeKey:
    """alpha rotates and pushes it with mindgit (the chain filed by its root); its old key."""
    old = store.key
    rotate_key(store)
    store.think("after the rotation, by the new key")
    add_peer(store, "shared", f"file://{server}")
    mindgit_push(store, "shared")
    assert refs(server)[chain_ref(old)] == str(store.repo.references["refs/keys/announce"].target)
    return old


def test_a_thief_s_chain_beside_the_held_one_is_refused(server: Path, store: Store) -> None:
    """A thief holding alpha's retired key announces its own rotation of it, pushed as
    refs/keys/announce beside the refs/keys/<root> the server holds. Read first (by its name),
    it was followed and the real one dropped as the diverged one: the thief's key signed as
    alpha, and the thief's chain stayed on the server for every later push."""
    old = rotated_and_pushed(store, server)
    thief = NodeKey.generate()
    chain = forge.announce(store, old, thief, [])
    work = signed_on(store, store.head(), "by the thief, as alpha", thief)
    # Neither fork is followed: the thief's key is a stranger's.
    lines = refused(store, server, ("refs/keys/announce", chain), ("refs/heads/main", work))
    assert lines == [
        f"mindgit: refused: {work}: signed by untrusted key {thief.public.did} "
        f"({thief.public.fingerprint})"
    ]
    # The chain alone is refused too: it would stay for every later push.
    lines = refused(store, server, ("refs/keys/announce", chain))
    assert lines == [
        f"mindgit: refused: {chain}: refs/keys/announce diverges from key chain "
        f"{chain_ref(old)}: both rotate {old.public.did}, {chain[:12]} to another key"
    ]


def test_deleting_a_chain_is_refused_even_where_deletions_are_allowed(
    srv_dir: Path, store: Store
) -> None:
    """On a server that allows deletions, whoever holds alpha's retired key deleted the chain
    and, in the same push, signed as alpha with the key its rotation had bounded."""
    server = make_server(srv_dir, store.trust.export(), policy=ServerPolicy(allow_delete=True))
    populated(store)
    assert push(store, str(server), "main").returncode == 0
    old = rotated_and_pushed(store, server)
    late = signed_on(store, store.head(), "by the retired key", old)
    lines = refused(store, server, (chain_ref(old), None), ("refs/heads/main", late))
    assert any("would drop" in line for line in lines), lines
    lines = refused(store, server, (chain_ref(old), None))
    assert any("would drop" in line for line in lines), lines


def test_rewinding_a_chain_is_refused_even_where_rewinds_are_allowed(
    srv_dir: Path, store: Store
) -> None:
    """alpha rotated twice (its second key leaked, say). On a server that allows rewinds, the
    chain set back by one rotation made the leaked key alpha's current key again; replaced by
    a thief's own rotation of the first key, it gave alpha's name to the thief."""
    server = make_server(srv_dir, store.trust.export(), policy=ServerPolicy(allow_rewind=True))
    populated(store)
    assert push(store, str(server), "main").returncode == 0
    first = store.key
    rotate_key(store)
    leaked = store.key
    once = str(store.repo.references["refs/keys/announce"].target)
    rotate_key(store)
    store.think("after both rotations")
    add_peer(store, "shared", f"file://{server}")
    mindgit_push(store, "shared")
    ref = chain_ref(first)
    late = signed_on(store, store.head(), "by the leaked key", leaked)
    lines = refused(store, server, (ref, once), ("refs/heads/main", late))
    assert any("would drop" in line for line in lines), lines
    thief = NodeKey.generate()
    chain = forge.announce(store, first, thief, [])
    work = signed_on(store, store.head(), "by the thief", thief)
    lines = refused(store, server, (ref, chain), ("refs/heads/main", work))
    assert any("would drop" in line for line in lines), lines


def test_moving_the_announce_copy_to_the_root_named_ref_is_accepted(
    server: Path, store: Store
) -> None:
    """Plain git pushed the chain as refs/keys/announce; mindgit push files it by its root.
    Deleting the announce copy once the root-named ref holds the same chain drops nothing."""
    old = store.key
    rotate_key(store)
    tip = str(store.repo.references["refs/keys/announce"].target)
    assert push(store, str(server), "refs/keys/*:refs/keys/*").returncode == 0
    store.repo.references.create("refs/attack/chain", tip)
    proc = push(store, str(server), f"refs/attack/chain:{chain_ref(old)}")
    assert proc.returncode == 0, proc.stderr
    install_server(server, policy=ServerPolicy(allow_delete=True), python=sys.executable)
    proc = push(store, str(server), ":refs/keys/announce")
    assert proc.returncode == 0, proc.stderr
    assert "refs/keys/announce" not in refs(server)


def test_a_leaked_retired_key_s_own_chain_is_refused(server: Path, store: Store) -> None:
    """alpha rotated twice; a thief holding the key between pushes a chain rooted at it
    (refs/keys/<that key>, a name no chain the server holds has), rotating it to the thief's
    key. Both chains rotate that key: which one was followed hung on the order they were read."""
    rotate_key(store)
    leaked = store.key
    rotate_key(store)
    store.think("after both rotations")
    add_peer(store, "shared", f"file://{server}")
    mindgit_push(store, "shared")
    thief = NodeKey.generate()
    chain = forge.announce(store, leaked, thief, [])
    work = signed_on(store, store.head(), "by the thief", thief)
    lines = refused(store, server, (chain_ref(leaked), chain), ("refs/heads/main", work))
    assert any(f"signed by untrusted key {thief.public.did}" in line for line in lines), lines
    # Alone, it forks the chain the server holds: neither is followed, and alpha's first key,
    # the one the trust file names, never signed it.
    lines = refused(store, server, (chain_ref(leaked), chain))
    assert lines == [
        f"mindgit: refused: {chain}: signed by untrusted key {leaked.public.did} "
        f"({leaked.public.fingerprint})"
    ]


def test_verify_with_a_trust_file_fails_on_a_forked_chain(
    server: Path, store: Store, tmp_path: Path, mg: Mg
) -> None:
    """A checkout of a store no hook gates (a GitHub repository CI verifies): a thief holding
    alpha's retired key pushed its own rotation of it as refs/keys/announce beside the real
    refs/keys/<root>. verify --trust followed the one read first (by ref name), the thief's, and
    passed the thief's work as alpha's."""
    (tmp_path / "allowed_signers").write_text(store.trust.export())
    before = store.head()
    old = rotated_and_pushed(store, server)
    checkout = tmp_path / "checkout"
    git("clone", "-q", str(server), str(checkout))
    git("-C", str(checkout), "fetch", "-q", "origin", "+refs/keys/*:refs/keys/*")
    thief = NodeKey.generate()
    chain = forge.announce(store, old, thief, [], (before,))
    work = signed_on(store, before, "by the thief, as alpha", thief)
    store.repo.references.create("refs/attack/chain", chain)
    store.repo.references.create("refs/attack/work", work)
    git(
        "-C",
        str(checkout),
        "fetch",
        "-q",
        str(store.path),
        "refs/attack/chain:refs/keys/announce",
        "refs/attack/work:refs/remotes/x/thief",
    )
    at = "--store", str(checkout)
    trust = str(tmp_path / "allowed_signers")
    fork = (
        f"FAIL refs/keys/announce: forks key chain {chain_ref(old)}: both rotate "
        f"{old.public.did}, {chain[:12]} to another key; neither is followed"
    )
    refused = mg(*at, "verify", "--trust", trust, "x/thief")
    assert refused.code == 1, refused.out + refused.err
    assert fork in refused.out.splitlines(), refused.out
    assert f"signed by untrusted key {thief.public.did}" in refused.out
    # alpha's own work fails too, on the fork alone: which chain is alpha's cannot be told.
    own = mg(*at, "verify", "--trust", trust, "--json", "origin/main")
    assert own.code == 1
    report = json.loads(own.out)
    real = str(store.repo.references["refs/keys/announce"].target)
    assert report["refs"] == [
        {
            "ref": "refs/keys/announce",
            "reason": f"forks key chain {chain_ref(old)}: both rotate {old.public.did}, "
            f"{chain[:12]} to another key; neither is followed",
        },
        {
            "ref": chain_ref(old),
            "reason": f"forks key chain refs/keys/announce: both rotate {old.public.did}, "
            f"{real[:12]} to another key; neither is followed",
        },
    ]


def test_a_fork_put_on_the_server_past_the_hook_refuses_every_push(
    server: Path, store: Store
) -> None:
    """A thief's rotation of alpha's retired key put beside the real chain past the hook
    (there before it was installed, say): the one read first, the thief's, was followed."""
    old = rotated_and_pushed(store, server)
    thief = NodeKey.generate()
    chain = forge.announce(store, old, thief, [])
    store.repo.references.create("refs/attack/chain", chain)
    git(
        "--git-dir",
        str(server),
        "fetch",
        "-q",
        str(store.path),
        "refs/attack/chain:refs/keys/announce",
    )
    work = signed_on(store, store.head(), "by the thief, as alpha", thief)
    fork = (
        f"mindgit: refused: {chain}: this repository holds key chains refs/keys/announce and "
        f"{chain_ref(old)}, both rotating {old.public.did} (a fork); the admin must delete "
        "the one that is not the node's (git update-ref -d)"
    )
    assert refused(store, server, ("refs/heads/main", work)) == [fork]
    store.think("alpha's own work")
    assert refused(store, server, ("refs/heads/main", store.head())) == [fork]
    git("--git-dir", str(server), "update-ref", "-d", "refs/keys/announce")
    proc = push(store, str(server), "main")
    assert proc.returncode == 0, proc.stderr


def test_a_pull_refuses_a_fork_rooted_at_a_retired_key(store: Store, tmp_path: Path) -> None:
    """A repository no hook gates offers alpha's real chain (rooted at its first key) and a
    thief's chain rooted at alpha's second key, which leaked. Each is one chain per root, so
    neither was a problem; planned together, which rotation of the leaked key won was a matter
    of the order they were walked in."""
    first = store.key
    before = store.head()
    rotate_key(store)
    leaked = store.key
    rotate_key(store)
    thief = NodeKey.generate()
    chain = forge.announce(store, leaked, thief, [], (before,))
    work = signed_on(store, before, "by the thief, as alpha", thief)
    plain = tmp_path / "plain.git"
    git("init", "-q", "--bare", str(plain))
    real = str(store.repo.references["refs/keys/announce"].target)
    for ref, commit in (
        (chain_ref(first), real),
        (chain_ref(leaked), chain),
        ("refs/heads/main", work),
    ):
        git("--git-dir", str(store.path), "push", "-q", str(plain), f"+{commit}:{ref}")
    beta = init_store(tmp_path / "beta", "beta")
    beta.trust.add(first.public, "alpha")
    add_peer(beta, "plain", f"file://{plain}")
    with pytest.raises(PullRejected) as e:
        pull(beta, "plain")
    reasons = [p.reason for p in e.value.problems]
    one, other = sorted((chain_ref(first), chain_ref(leaked)))
    assert (
        f"key chains {one} and {other} both rotate {leaked.public.did} (a fork): "
        "which one is the node's cannot be told"
    ) in reasons, reasons
    assert beta.trust.find(thief.public) is None
