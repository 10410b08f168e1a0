"""Builders for hostile commits: what an attacker can put in a store it controls.

Each builder writes objects straight into a repository (pygit2, or ``git hash-object
--literally`` where libgit2 would refuse) and returns the new commit id; the caller points a ref
at it. Part B's pre-receive hook tests can use the same builders.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pygit2

from mindgit.identity.gitsig import split_gpgsig
from mindgit.identity.keys import NodeKey
from mindgit.identity.sshsig import sign
from mindgit.ipld.cid import CID
from mindgit.store import layout
from mindgit.store.repository import HEADS, Store
from mindgit.store.state import make_thought

FAR_OVER_LIMIT = 48 << 20  # the gate allows 32 MiB objects


def commit_tree(
    repo: pygit2.Repository,
    tree: pygit2.Oid | str,
    parents: list[str],
    message: str,
    key: NodeKey | None,
    *,
    when: int = 1_700_000_000,
) -> str:
    """A commit of ``tree``, signed by ``key`` (SSHSIG in gpgsig, as mindgit signs) or unsigned."""
    who = pygit2.Signature("mallory", "mallory@invalid", when, 0)
    tree_id = tree if isinstance(tree, pygit2.Oid) else pygit2.Oid(hex=tree)
    content: str = repo.create_commit_string(  # type: ignore[assignment]
        who, who, message, tree_id, [pygit2.Oid(hex=p) for p in parents]
    )
    if key is None:
        return str(repo.odb.write(pygit2.enums.ObjectType.COMMIT, content.encode()))
    return str(repo.create_commit_with_signature(content, sign(key, content.encode()), "gpgsig"))


def thought_tree(store: Store, text: str, base: str | None = None) -> pygit2.Oid:
    """A valid state tree: the head's state (or ``base``'s) plus one new thought."""
    snap = store.snapshot(base)
    block = make_thought(text, ())
    state = snap.state.with_thoughts(snap.state.thoughts | {block.cid})
    tree, _ = layout.write_state(store.repo, state, {block.cid: block.data}, snap.tree)
    return tree


def unsigned(store: Store, experiment: str) -> str:
    """A valid state change committed without any signature."""
    head = store.head(experiment)
    return commit_tree(store.repo, thought_tree(store, "unsigned", head), [head], "think", None)


def signed_by(store: Store, experiment: str, key: NodeKey) -> str:
    """A valid state change signed by ``key``."""
    head = store.head(experiment)
    tree = thought_tree(store, f"signed by {key.public.did[-8:]}", head)
    return commit_tree(store.repo, tree, [head], "think", key)


def altered(store: Store, experiment: str) -> str:
    """A commit signed by this node on the experiment's head, its tree then swapped for
    another one with the signature kept."""
    repo = store.repo
    head = store.head(experiment)
    signed = commit_tree(repo, thought_tree(store, "as signed", head), [head], "think", store.key)
    payload, armored = split_gpgsig(repo.read(signed)[1])
    assert armored is not None
    other = thought_tree(store, "slipped in after signing", head)
    lines = payload.decode().split("\n")
    assert lines[0].startswith("tree ")
    lines[0] = f"tree {other}"
    signature = armored if isinstance(armored, str) else armored.decode()
    return str(repo.create_commit_with_signature("\n".join(lines), signature, "gpgsig"))


def _raw_tree(repo_path: Path, entries: list[tuple[bytes, bytes, str]]) -> str:
    """A tree written byte for byte (mode, name, hex id), bypassing every name check."""
    data = b"".join(mode + b" " + name + b"\0" + bytes.fromhex(oid) for mode, name, oid in entries)
    out = subprocess.run(
        [
            "git",
            f"--git-dir={repo_path}",
            "hash-object",
            "-t",
            "tree",
            "--literally",
            "-w",
            "--stdin",
        ],
        input=data,
        capture_output=True,
        check=True,
    )
    return out.stdout.decode().strip()


def bad_cid(store: Store, experiment: str, key: NodeKey) -> str:
    """A signed state whose thought file holds bytes that do not hash to its name."""
    repo = store.repo
    head = store.head(experiment)
    snap = store.snapshot(head)
    real = make_thought("what the manifest names", ())
    state = snap.state.with_thoughts(snap.state.thoughts | {real.cid})
    swapped = make_thought("something else entirely", ())
    tree, _ = layout.write_state(repo, state, {real.cid: swapped.data}, snap.tree)
    return commit_tree(repo, tree, [head], "think", key)


def non_canonical_manifest(store: Store, experiment: str, key: NodeKey) -> str:
    """A signed state whose manifest is valid JSON but not canonical DAG-JSON (spaces)."""
    repo = store.repo
    head = store.head(experiment)
    snap = store.snapshot(head)
    data = snap.manifest.data.replace(b":", b": ", 1)
    assert data != snap.manifest.data
    tb = repo.TreeBuilder(snap.tree)
    tb.insert(layout.MANIFEST, repo.create_blob(data), layout.BLOB)
    return commit_tree(repo, tb.write(), [head], "think", key)


def hostile_name(store: Store, experiment: str, key: NodeKey, name: bytes) -> str:
    """A signed commit whose thoughts tree has an entry called ``name`` (``..``, ``.git``, ``a/b``)."""
    repo = store.repo
    head = store.head(experiment)
    snap = store.snapshot(head)
    blob = str(repo.create_blob(b'{"text":"x","type":"note"}'))
    thoughts = _raw_tree(Path(repo.path), [(b"100644", name, blob)])
    root = _raw_tree(
        Path(repo.path),
        [
            (b"100644", layout.MANIFEST.encode(), str(snap.tree[layout.MANIFEST].id)),
            (b"40000", layout.THOUGHTS.encode(), thoughts),
        ],
    )
    return commit_tree(repo, root, [head], "think", key)


def huge_thought(store: Store, experiment: str, key: NodeKey, size: int = FAR_OVER_LIMIT) -> str:
    """A signed state linking a thought far over the object size limit."""
    repo = store.repo
    head = store.head(experiment)
    snap = store.snapshot(head)
    data = b'{"text":"' + b"a" * size + b'","type":"note"}'
    cid = CID.of(data)
    state = snap.state.with_thoughts(snap.state.thoughts | {cid})
    tree, _ = layout.write_state(repo, state, {cid: data}, snap.tree)
    return commit_tree(repo, tree, [head], "think", key)


def point(store: Store, experiment: str, commit: str) -> None:
    """Move (or force) the experiment's ref to ``commit``, as a hostile peer may."""
    store.repo.references.create(HEADS + experiment, pygit2.Oid(hex=commit), force=True)


def announce(
    store: Store,
    old: NodeKey,
    new: NodeKey,
    parents: list[str],
    heads: tuple[str, ...] = (),
    *,
    signer: NodeKey | None = None,
) -> str:
    """A well-formed announcement rotating ``old`` to ``new`` (naming ``heads``), its proof by
    ``new``, its commit signed by ``signer`` (default ``old``, as the real ones are: what anyone
    holding ``old``'s key file can make)."""
    from mindgit.identity.rotation import RotationRecord, prove
    from mindgit.store.retired import RECORD_FILE
    from mindgit.store.rotations import PROOF_FILE

    record = RotationRecord(old.public, new.public, store.name, heads)
    repo = store.repo
    tb = repo.TreeBuilder()
    tb.insert(RECORD_FILE, repo.create_blob(record.to_bytes()), layout.BLOB)
    tb.insert(PROOF_FILE, repo.create_blob(prove(record, new).encode()), layout.BLOB)
    return commit_tree(repo, tb.write(), parents, f"keys: rotate {store.name}", signer or old)
