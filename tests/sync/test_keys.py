"""Key rotations travel with sync: accepted from trusted keys, relayed, never forged."""

from __future__ import annotations

import pygit2
import pytest

from mindgit.identity.keys import NodeKey
from mindgit.identity.rotation import RotationRecord, prove
from mindgit.store import layout
from mindgit.store.repository import init_store
from mindgit.store.retired import RECORD_FILE
from mindgit.store.rotations import ANNOUNCE_REF, PROOF_FILE, rotate_key
from mindgit.sync.outcomes import PullRejected
from mindgit.sync.peers import add_peer
from mindgit.sync.pull import pull
from mindgit.sync.push import push
from mindgit.sync.refspace import key_chain_ref
from tests.sync import forge
from tests.sync.conftest import Nodes


def names(store: object) -> dict[str, str]:
    from mindgit.store.repository import Store

    assert isinstance(store, Store)
    return {n.name: n.did for n in store.trust.nodes()}


def test_a_pulled_rotation_is_applied_and_new_key_commits_accepted(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    old = alpha.public_key
    rotation = rotate_key(alpha)
    alpha.fork("after")
    alpha.think("signed with the new key")
    report = pull(beta, "alpha")
    assert [(o.status, o.name) for o in report.rotations] == [("applied", "alpha")]
    assert names(beta)["alpha"] == rotation.new.did
    assert names(beta)["alpha.retired-1"] == old.did
    assert beta.head("after") == alpha.head("after")
    chain = key_chain_ref(old.did)
    assert beta.resolve(chain) == alpha.resolve(ANNOUNCE_REF)
    new_chain = next(r for r in report.refs if r.ref == chain)
    assert new_chain.status == "new"
    # Pulled again: nothing more to apply.
    assert pull(beta, "alpha").rotations == ()


def test_rotations_are_relayed_by_a_peer_that_trusts_them(nodes: Nodes) -> None:
    for name in ("alpha", "beta", "gamma"):
        nodes.make(name)
    nodes.trust_all()
    nodes.link("beta", "alpha")
    nodes.link("gamma", "beta")
    alpha, beta, gamma = nodes["alpha"], nodes["beta"], nodes["gamma"]
    rotation = rotate_key(alpha)
    alpha.fork("after")
    alpha.think("signed with the new key")
    pull(beta, "alpha")
    report = pull(gamma, "beta")  # gamma never talks to alpha
    assert [o.status for o in report.rotations] == ["applied"]
    assert names(gamma)["alpha"] == rotation.new.did
    assert gamma.head("after") == alpha.head("after")


def test_a_pushed_chain_is_applied_at_the_next_pull(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    pull(alpha, "beta")
    rotation = rotate_key(alpha)
    alpha.fork("after")
    alpha.think("signed with the new key")
    assert push(alpha, "beta").ok
    assert names(beta)["alpha"] != rotation.new.did  # a push changes no trust
    report = pull(beta, "alpha")
    assert [o.status for o in report.rotations] == ["applied"]
    assert names(beta)["alpha"] == rotation.new.did


def test_chains_of_untrusted_nodes_are_skipped_not_fatal(nodes: Nodes) -> None:
    for name in ("beta", "gamma", "delta"):
        nodes.make(name)
    beta, gamma, delta = nodes["beta"], nodes["gamma"], nodes["delta"]
    beta.trust.add(gamma.public_key, "gamma")
    gamma.trust.add(delta.public_key, "delta")
    nodes.link("gamma", "delta")
    nodes.link("beta", "gamma")
    root = delta.public_key.did
    rotate_key(delta)
    pull(gamma, "delta")
    assert gamma.resolve(key_chain_ref(root))
    report = pull(beta, "gamma")
    skipped = next(r for r in report.refs if r.ref == key_chain_ref(root))
    assert skipped.status == "skipped" and "does not trust" in (skipped.detail or "")
    assert key_chain_ref(root) not in beta.repo.references
    assert report.rotations == ()
    # Nor is the refused chain kept under the peer's seen marks, where nothing would prune it.
    assert not [r for r in beta.repo.references if r.startswith("refs/peers/gamma/keys/")]


def _a_thief_s_rotation_is_refused(pair: Nodes) -> None:
    """Someone holding a copy of alpha's current key announces a new key for it; alpha pulls."""
    alpha = pair["alpha"]
    thief = init_store(pair.base / "thief", "alpha", key_file=alpha.key_path)
    assert thief.public_key == alpha.public_key
    rotate_key(thief)
    add_peer(alpha, "thief", f"file://{thief.path}")
    before = names(alpha)
    with pytest.raises(PullRejected) as info:
        pull(alpha, "thief")
    assert "own key that it never made" in str(info.value)
    assert names(alpha) == before


def test_a_rotation_of_our_own_key_made_elsewhere_is_refused(pair: Nodes) -> None:
    _a_thief_s_rotation_is_refused(pair)


def test_a_second_rotation_of_a_retired_key_is_never_believed(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    old_key = alpha.key
    rotation = rotate_key(alpha)
    pull(beta, "alpha")
    # Whoever kept alpha's old key announces another successor for it.
    other = NodeKey.generate()
    record = RotationRecord(old_key.public, other.public, "alpha", ())
    tb = alpha.repo.TreeBuilder()
    tb.insert(RECORD_FILE, alpha.repo.create_blob(record.to_bytes()), layout.BLOB)
    tb.insert(PROOF_FILE, alpha.repo.create_blob(prove(record, other).encode()), layout.BLOB)
    forged = forge.commit_tree(alpha.repo, tb.write(), [], "keys: rotate alpha", old_key)
    alpha.repo.references.create(ANNOUNCE_REF, pygit2.Oid(hex=forged), force=True)
    with pytest.raises(PullRejected) as info:
        pull(beta, "alpha")
    assert any("rewinds refs/keys/" in p.reason for p in info.value.problems)
    report = pull(beta, "alpha", allow_rewind=True)
    chain = next(r for r in report.refs if r.ref == key_chain_ref(old_key.public.did))
    assert chain.status == "conflict"
    assert report.rotations == ()
    assert names(beta)["alpha"] == rotation.new.did
    assert other.public.did not in names(beta).values()


def test_a_stolen_retired_key_is_bounded_in_the_very_pull_that_retires_it(pair: Nodes) -> None:
    """A mirror offers alpha's rotation together with a commit signed by alpha's old key after
    it: beta verifies with the old key already bounded, so the pull is refused whole."""
    from tests.conftest import git

    alpha, beta = pair["alpha"], pair["beta"]
    alpha.think("before the rotation")
    rotation = rotate_key(alpha)
    thief = init_store(pair.base / "thief", "alpha", key_file=rotation.retired_key)
    for spec in (f"+{ANNOUNCE_REF}:{ANNOUNCE_REF}", "+refs/heads/main:refs/heads/main"):
        git("--git-dir", str(thief.path), "fetch", "-q", str(alpha.path), spec)
    base = thief.resolve("refs/heads/main")
    evil = thief.write_commit(str(thief.repo[base].peel(pygit2.Tree).id), [base], "evil", when=1)
    git("--git-dir", str(thief.path), "update-ref", "refs/heads/evil", evil)
    pair.link("beta", "thief", f"file://{thief.path}")
    before = beta.trust.export()
    with pytest.raises(PullRejected) as info:
        pull(beta, "thief")
    assert "a retired key, outside the history its rotation named" in str(info.value.problems)
    assert beta.trust.export() == before
    assert "refs/heads/evil" not in beta.repo.references


def test_a_newcomer_pulls_history_signed_before_a_rotation(nodes: Nodes) -> None:
    alpha, gamma = nodes.make("alpha"), nodes.make("gamma")
    alpha.think("signed with the first key")
    rotation = rotate_key(alpha)
    alpha.think("signed with the second key")
    gamma.trust.add(alpha.public_key, "alpha")  # met alpha after it rotated
    nodes.link("gamma", "alpha")
    report = pull(gamma, "alpha")
    assert [(o.status, o.name) for o in report.rotations] == [("earlier", "alpha.retired-1")]
    retired = gamma.trust.get("alpha.retired-1")
    assert retired.key == rotation.old and retired.heads is not None
    # Unrelated to gamma's own main, alpha's is kept as the peer's ref: accepted, verified.
    assert gamma.resolve("refs/peers/alpha/heads/main") == alpha.head("main")
    assert gamma.verify(["refs/peers/alpha/heads/main"]).ok


def test_a_rotation_of_our_current_key_after_a_rotation_is_refused(pair: Nodes) -> None:
    alpha = pair["alpha"]
    rotate_key(alpha)  # alpha's chain is rooted at its first key; its current key is the second
    # The thief's chain is rooted at that current key, not at alpha's root.
    _a_thief_s_rotation_is_refused(pair)


def test_an_oversized_announcement_commit_is_refused_before_it_is_read(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    old_key = alpha.key
    rotation = rotate_key(alpha)
    tree = alpha.repo[rotation.commit].peel(pygit2.Commit).tree_id
    # The same announcement, signed by its old key, with a message no announcement needs: key
    # chains are read before the gate sizes objects, so they are sized here first.
    padded = forge.commit_tree(alpha.repo, tree, [], "keys: rotate\n\n" + "x" * (1 << 20), old_key)
    alpha.repo.references.create(ANNOUNCE_REF, pygit2.Oid(hex=padded), force=True)
    with pytest.raises(PullRejected) as info:
        pull(beta, "alpha")
    assert any("bytes, over" in p.reason for p in info.value.problems)
    # Not kept: read from disk (this process's repository may still cache what it read).
    assert pygit2.Oid(hex=padded) not in pygit2.Repository(beta.repo.path).odb


def test_a_chain_fetched_by_hand_as_privacy_md_says_does_not_break_sync(nodes: Nodes) -> None:
    import subprocess

    from mindgit.store.rotations import apply_rotations

    for name in ("alpha", "beta", "gamma"):
        nodes.make(name)
    nodes.trust_all()
    nodes.link("gamma", "beta")
    nodes.link("beta", "gamma")
    alpha, beta, gamma = nodes["alpha"], nodes["beta"], nodes["gamma"]
    rotate_key(alpha)
    # docs/privacy.md, without sync: fetch the announcement by hand and apply it.
    fetch = ["git", f"--git-dir={beta.path}", "fetch", "-q", str(alpha.path), ANNOUNCE_REF]
    subprocess.run(fetch, check=True)
    assert [o.status for o in apply_rotations(beta, ["FETCH_HEAD"])] == ["applied"]
    beta.think("after")
    pull(gamma, "beta")
    assert gamma.head("main") != alpha.head("main")
    # A ref named by hand under refs/keys/ (as these docs once said) is not pushed: a peer
    # would refuse the whole push or pull for it.
    subprocess.run([*fetch[:-1], f"{ANNOUNCE_REF}:refs/keys/peers/alpha"], check=True)
    report = push(beta, "gamma")
    assert all(r.ref != "refs/keys/peers/alpha" for r in report.refs)
    assert "refs/keys/peers/alpha" not in gamma.repo.references


def test_a_peer_head_seen_before_a_key_was_untrusted_is_checked_again(pair: Nodes) -> None:
    from tests.sync.forge import thought_tree

    alpha, beta = pair["alpha"], pair["beta"]
    mallory = pair.make("mallory")
    alpha.trust.add(mallory.public_key, "mallory")
    beta.trust.add(mallory.public_key, "mallory")
    beta.fork("x")
    beta.think("beta's x")
    alpha.fork("x")
    signed_by_mallory = forge.commit_tree(
        alpha.repo,
        thought_tree(alpha, "m", alpha.head("x")),
        [alpha.head("x")],
        "think",
        mallory.key,
    )
    alpha.repo.references.create("refs/heads/x", pygit2.Oid(hex=signed_by_mallory), force=True)
    first = pull(beta, "alpha")  # unrelated histories: beta keeps its x, notes alpha's as seen
    assert next(o for o in first.refs if o.ref == "refs/heads/x").status == "unrelated"
    beta.untrust("mallory")
    # alpha joins beta's x to its own with a merge it signs: a fast-forward for beta, whose
    # history holds mallory's commit, which beta never accepted and no longer trusts.
    pull(alpha, "beta")
    merge = forge.commit_tree(
        alpha.repo,
        thought_tree(alpha, "join", signed_by_mallory),
        [signed_by_mallory, beta.head("x")],
        "merge",
        alpha.key,
    )
    alpha.repo.references.create("refs/heads/x", pygit2.Oid(hex=merge), force=True)
    with pytest.raises(PullRejected) as info:
        pull(beta, "alpha")
    assert any(p.commit == signed_by_mallory for p in info.value.problems)
    assert beta.head("x") != merge


def test_key_chains_offered_in_one_pull_are_read_up_to_a_total(nodes: Nodes) -> None:
    import subprocess

    from mindgit.sync.keychains import MAX_ANNOUNCEMENTS, chain_problems

    reader = nodes.make("reader")
    offered = {}
    for name in ("a", "b", "c"):
        node = nodes.make(name)
        ref = key_chain_ref(node.public_key.did)
        rotate_key(node)
        rotate_key(node)
        fetch = ["git", f"--git-dir={reader.path}", "fetch", "-q", str(node.path)]
        subprocess.run([*fetch, f"{ANNOUNCE_REF}:{ref}"], check=True)
        offered[ref] = node.resolve(ANNOUNCE_REF)
    chains, problems = chain_problems(reader, offered)
    assert len(chains) == 3 and problems == [] and MAX_ANNOUNCEMENTS >= 6
    # Five announcements in all: the third chain is not read past the one left.
    chains, problems = chain_problems(reader, offered, max_announcements=5)
    assert len(chains) == 2
    assert [p.reason.split(": ", 1)[1] for p in problems] == [
        "the key chains offered hold over 5 announcements in all"
    ]
    chains, problems = chain_problems(reader, offered, max_announcements=4)
    assert len(chains) == 2 and len(problems) == 1
