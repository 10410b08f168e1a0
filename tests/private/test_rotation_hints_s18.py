"""`keys apply` refusing a peer's key rotation names the key to trust by hand, in a command
that carries the typed --store.

The hint said `mindgit trust add <OLD did>` for every refusal, outside backquotes: for a rotation
to a key removed from trust on purpose, or one signed by a key already retired, the old key is
trusted already (trusting it again changed nothing) and the refused one is the new key; and the
command, bare, ran on another store.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pygit2

from mindgit.identity.rotation import RotationRecord, prove
from mindgit.store.repository import Store, init_store
from mindgit.store.retired import RECORD_FILE
from mindgit.store.rotations import ANNOUNCE_REF, PROOF_FILE, rotate_key
from tests.conftest import Mg
from tests.private.conftest import Nodes, fetch
from tests.snapshots import changed, snapshot

BINDIR = str(Path(sys.executable).parent)
PEER_REF = "refs/keys/peers/alpha"


def refused(mg: Mg, store: Store, commit: str, reason: str, did: str, hint: str) -> str:
    """`keys apply` of PEER_REF in ``store`` fails, changing nothing, with ``reason`` and a
    hint to trust ``did`` on that store; the hint's command is returned."""
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "keys", "apply", PEER_REF)
    assert r.code == 1
    command = f"mindgit --store {shlex.quote(str(store.path))} trust add {did} --name <name>"
    assert r.err == (
        f"mindgit: error: refused key rotation {commit[:12]}: {reason}; nothing was changed "
        f"(hint: {hint}`{command}`)\n"
    )
    assert not changed(before, store.path)
    return command


def run(command: str, cwd: Path) -> None:
    """``command`` as a user would paste it, from a directory outside every store."""
    ran = subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env={**os.environ, "PATH": f"{BINDIR}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr


def applied(mg: Mg, store: Store) -> str:
    r = mg("--store", str(store.path), "keys", "apply", PEER_REF, "--json")
    assert r.code == 0, r.err
    status = re.search(r'"status": "(\w+)"', r.out)
    assert status is not None, r.out
    return status.group(1)


def test_a_rotation_by_an_untrusted_key_names_that_key(
    nodes: Nodes, tmp_path: Path, mg: Mg
) -> None:
    beta, alpha = nodes("beta", "alpha", trust=False)
    old = alpha.public_key
    rotate_key(alpha)
    fetch(beta, alpha, f"{ANNOUNCE_REF}:{PEER_REF}")
    commit = str(beta.repo.revparse_single(PEER_REF).id)
    command = refused(
        mg,
        beta,
        commit,
        f"signed by {old.did}, which this node does not trust",
        old.did,
        "if you know this node, trust its key first: ",
    )
    run(command.replace("<name>", "alpha"), tmp_path)
    assert applied(mg, beta) == "applied"


def test_a_rotation_to_a_key_removed_on_purpose_names_the_new_key(
    nodes: Nodes, tmp_path: Path, mg: Mg
) -> None:
    alpha, beta, mallory = nodes("alpha", "beta", "mallory")
    beta.untrust("mallory")
    # alpha's trusted key announces mallory's key as its successor (mallory signs the proof).
    record = RotationRecord(alpha.public_key, mallory.public_key, "alpha", ())
    tb = alpha.repo.TreeBuilder()
    tb.insert(RECORD_FILE, alpha.repo.create_blob(record.to_bytes()), 0o100644)
    tb.insert(PROOF_FILE, alpha.repo.create_blob(prove(record, mallory.key).encode()), 0o100644)
    commit = alpha.write_commit(tb.write(), [], "keys: rotate alpha")
    alpha.repo.references.create(ANNOUNCE_REF, pygit2.Oid(hex=commit))
    fetch(beta, alpha, f"{ANNOUNCE_REF}:{PEER_REF}")
    command = refused(
        mg,
        beta,
        commit,
        f"rotates to {mallory.public_key.did}, a key removed from trust on purpose",
        mallory.public_key.did,
        "trust the key it rotates to only if you know it is this node's: ",
    )
    # Trusting the key the hint names (by hand) lets the rotation through: alpha's key retires.
    run(command.replace("<name>", "alpha2"), tmp_path)
    assert applied(mg, beta) == "applied"
    assert beta.trust.get("alpha2").did == mallory.public_key.did
    assert beta.trust.get(alpha.public_key.did).name == "alpha2.retired-1"


def test_a_rotation_signed_by_a_retired_key_names_the_new_key(
    nodes: Nodes, tmp_path: Path, mg: Mg
) -> None:
    alpha, beta = nodes("alpha", "beta")
    r = rotate_key(alpha)
    fetch(beta, alpha, f"{ANNOUNCE_REF}:{PEER_REF}")
    assert applied(mg, beta) == "applied"
    # Whoever holds the retired key announces a key of their own.
    mallory = init_store(tmp_path / "mallory", "alpha", key_file=r.retired_key)
    rotate_key(mallory)
    git_fetch = f"+{ANNOUNCE_REF}:{PEER_REF}"
    fetch(beta, mallory, git_fetch)
    commit = str(beta.repo.revparse_single(PEER_REF).id)
    new = rotations_new_key(beta, commit)
    assert new != r.new.did and new != r.old.did
    command = refused(
        mg,
        beta,
        commit,
        f"signed by {r.old.did}, a key already retired as alpha.retired-1",
        new,
        "trust the key it rotates to only if you know it is this node's: ",
    )
    run(command.replace("<name>", "other"), tmp_path)
    assert applied(mg, beta) == "already"
    assert beta.trust.get("other").did == new


def rotations_new_key(store: Store, commit: str) -> str:
    tree = store.repo[commit].peel(pygit2.Tree)
    blob = store.repo[tree[RECORD_FILE].id].peel(pygit2.Blob)
    return RotationRecord.parse(blob.data).new.did
