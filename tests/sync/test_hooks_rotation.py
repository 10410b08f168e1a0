"""A gated server follows a trusted node's key rotations, as a pull does.

Before, its trust file had to be exported again from a node that had pulled the rotation: the
node's first push after rotating (its chain and its new-key work, together) was refused whole.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mindgit.identity.keys import NodeKey
from mindgit.store.repository import Store, init_store, open_store
from mindgit.store.rotations import rotate_key
from mindgit.sync.hooks import install_server
from mindgit.sync.peers import add_peer
from mindgit.sync.pull import pull
from mindgit.sync.push import push as mindgit_push
from tests.conftest import ROOT, Mg, fsck, git
from tests.sync import forge
from tests.sync.test_hooks_review import signed_on
from tests.sync.test_hooks_server import attack, push, refs, refused_lines

EVERYTHING = ("refs/heads/*:refs/heads/*", "refs/keys/*:refs/keys/*")


def chain_ref(key: NodeKey) -> str:
    return "refs/keys/" + key.public.did.removeprefix("did:key:")


def test_the_first_push_after_a_rotation_is_accepted(server: Path, store: Store) -> None:
    rotate_key(store)
    store.think("after the rotation, by the new key")
    proc = push(store, str(server), *EVERYTHING)
    assert proc.returncode == 0, proc.stderr
    held = refs(server)
    assert held["refs/heads/main"] == store.head()
    # Plain git pushes the chain as the node holds it (mindgit push files it by its root).
    assert held["refs/keys/announce"] == str(store.repo.references["refs/keys/announce"].target)
    # Nothing was written to the trust file: the chain the server now holds is the record.
    assert store.public_key.did not in (server / "mindgit" / "allowed_signers").read_text()
    fsck(server)


def test_mindgit_push_after_a_rotation(server: Path, store: Store) -> None:
    old = store.key
    rotate_key(store)
    store.think("after the rotation")
    add_peer(store, "shared", f"file://{server}")
    mindgit_push(store, "shared")
    held = refs(server)
    assert held["refs/heads/main"] == store.head()
    assert held[chain_ref(old)] == str(store.repo.references["refs/keys/announce"].target)


def test_the_chain_first_then_the_work(server: Path, store: Store) -> None:
    """Each push reads the chains the server holds again: a rotation pushed alone counts for
    every later push."""
    rotate_key(store)
    store.think("after the rotation")
    proc = push(store, str(server), "main")
    assert refused_lines(proc) == [
        f"mindgit: refused: {store.head()}: signed by untrusted key {store.public_key.did} "
        f"({store.public_key.fingerprint})"
    ]
    assert push(store, str(server), "refs/keys/*:refs/keys/*").returncode == 0
    proc = push(store, str(server), "main")
    assert proc.returncode == 0, proc.stderr


def test_the_old_key_is_bounded_once_the_server_holds_the_rotation(
    server: Path, store: Store
) -> None:
    old = store.key
    within = store.head()
    rotate_key(store)
    assert push(store, str(server), *EVERYTHING).returncode == 0
    # Signed with the old key after the rotation (a stolen key file, say): the trust file
    # still names that key as alpha's, but its holder retired it.
    late = signed_on(store, within, "after the rotation", old)
    (line,) = attack(store, server, late)
    assert line.startswith(f"mindgit: refused: {late}: signed by alpha.retired-1, a retired key")


def test_a_node_removed_from_trust_takes_its_rotation_with_it(
    server: Path, store: Store, tmp_path: Path
) -> None:
    rotate_key(store)
    store.think("after the rotation")
    assert push(store, str(server), *EVERYTHING).returncode == 0
    other = init_store(tmp_path / "beta", "beta")
    # The admin trusts beta alone now: alpha's chain names a key nobody trusts.
    install_server(server, trust_text=other.trust.export(), python=sys.executable)
    store.think("more, by the new key")
    (line,) = attack(store, server, store.head())
    assert line == (
        f"mindgit: refused: {store.head()}: signed by untrusted key {store.public_key.did} "
        f"({store.public_key.fingerprint})"
    )


def test_a_stranger_s_rotation_is_not_followed(server: Path, store: Store, tmp_path: Path) -> None:
    stranger = init_store(tmp_path / "stranger", "stranger")
    stranger.think("its own work")
    rotate_key(stranger)
    stranger.think("after its rotation")
    before = refs(server)
    proc = push(stranger, str(server), "+refs/heads/main:refs/heads/strange", "refs/keys/*")
    assert proc.returncode != 0
    lines = refused_lines(proc)
    assert lines and all("untrusted key" in line for line in lines), lines
    assert refs(server) == before


def test_a_forged_rotation_of_a_trusted_key_is_refused_whole(
    server: Path, store: Store, tmp_path: Path
) -> None:
    """beta, trusted too, announces a rotation of alpha's key to a key of its own: planning
    follows the chain for the checks, but the announcement is not signed by the key it
    retires, so the push (and the work signed by the thief's key with it) is refused."""
    beta = init_store(tmp_path / "beta", "beta")
    trust = store.trust.export() + beta.trust.export()
    install_server(server, trust_text=trust, python=sys.executable)
    thief = NodeKey.generate()
    forged = forge.announce(store, store.key, thief, [], signer=beta.key)
    repo = store.repo
    work = signed_on(store, store.head(), "by the thief", thief)
    forge.point(store, "main", work)
    repo.references.create(chain_ref(store.key), forged, force=True)
    before = refs(server)
    proc = push(store, str(server), *EVERYTHING)
    assert proc.returncode != 0
    assert (
        f"mindgit: refused: {forged} rotation.json: the rotation is signed by "
        f"{beta.public_key.did}, not by its old key"
    ) in refused_lines(proc)
    assert refs(server) == before


def test_a_node_pulling_from_the_server_follows_the_rotation_too(
    server: Path, store: Store, tmp_path: Path
) -> None:
    old = store.key
    rotate_key(store)
    store.think("after the rotation")
    assert push(store, str(server), *EVERYTHING).returncode == 0
    beta = init_store(tmp_path / "beta", "beta")
    beta.trust.add(old.public, "alpha")
    add_peer(beta, "shared", f"file://{server}")
    report = pull(beta, "shared", allow_rewind=True)
    assert [r.status for r in report.rotations] == ["applied"]
    assert beta.trust.find(store.public_key) is not None


def test_the_docs_rotation_block_runs_as_written(server: Path, store: Store) -> None:
    text = (ROOT / "docs" / "hooks.md").read_text()
    block = text.split("### Changing who is trusted\n", 1)[1].split("```bash\n", 1)[1]
    block = block.split("```", 1)[0]
    assert "mindgit keys rotate" in block and "mindgit push shared" in block
    add_peer(store, "shared", f"file://{server}")
    before = refs(server)["refs/heads/main"]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(
        ["bash", "-e", "-c", block], cwd=store.path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    head = git("--git-dir", str(store.path), "rev-parse", "refs/heads/main").strip()
    assert refs(server)["refs/heads/main"] == head != before
    # The block rotated the key: the store holds another one than it was opened with.
    assert open_store(store.path).public_key != store.public_key


def test_a_chain_no_gate_checked_is_not_followed(server: Path, store: Store) -> None:
    """A chain put on the server past its hook (there before the hook was installed, say),
    announced by a thief under alpha's name and signed by the thief: followed, it would hand
    alpha's name to the thief's key."""
    thief = NodeKey.generate()
    forged = forge.announce(store, store.key, thief, [], signer=thief)
    store.repo.references.create("refs/forged", forged)
    git(
        "--git-dir",
        str(server),
        "fetch",
        "-q",
        str(store.path),
        f"refs/forged:{chain_ref(store.key)}",
    )
    work = signed_on(store, store.head(), "by the thief", thief)
    (line,) = attack(store, server, work)
    assert line == (
        f"mindgit: refused: {work}: signed by untrusted key {thief.public.did} "
        f"({thief.public.fingerprint})"
    )


def test_verify_with_a_trust_file_follows_the_chains_a_checkout_holds(
    server: Path, store: Store, tmp_path: Path, mg: Mg
) -> None:
    """A CI checkout of the server, verified with the trust file the server was set up with
    (alpha's old key): the chain it fetched lets alpha's new-key work verify, as on the
    server; a forged chain in it does not."""
    (tmp_path / "allowed_signers").write_text(store.trust.export())
    rotate_key(store)
    store.think("after the rotation")
    assert push(store, str(server), *EVERYTHING).returncode == 0
    checkout = tmp_path / "checkout"
    git("clone", "-q", str(server), str(checkout))
    trust = str(tmp_path / "allowed_signers")
    at = "--store", str(checkout)
    without = mg(*at, "verify", "--trust", trust, "origin/main")
    assert without.code == 1 and "untrusted key" in without.out, without.out + without.err
    git("-C", str(checkout), "fetch", "-q", "origin", "+refs/keys/*:refs/keys/*")
    assert mg(*at, "verify", "--trust", trust, "origin/main").code == 0
    # A chain no key it retires signed, brought in with a thief's work: not followed.
    thief = NodeKey.generate()
    forged = forge.announce(store, store.key, thief, [], signer=thief)
    work = signed_on(store, store.head(), "by the thief", thief)
    store.repo.references.create("refs/forged", forged)
    store.repo.references.create("refs/heads/thief", work)
    git(
        "-C",
        str(checkout),
        "fetch",
        "-q",
        str(store.path),
        f"refs/forged:{chain_ref(store.key)}",
        "refs/heads/thief:refs/remotes/x/thief",
    )
    refused = mg(*at, "verify", "--trust", trust, "x/thief")
    assert refused.code == 1 and f"signed by untrusted key {thief.public.did}" in refused.out
