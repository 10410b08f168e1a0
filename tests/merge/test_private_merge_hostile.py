"""A peer trusted to sign but not to be honest, against the rule that envelopes of one sealed
message are one private thought (``mindgit.merge.envelopes``): its commits are built here as
such a peer would, with the store's own writers bypassed, then fetched and merged for real."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pygit2
import pytest

from mindgit.errors import MindgitError
from mindgit.identity.keys import NodeKey
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID
from mindgit.merge import merge, plan_merge
from mindgit.merge.core import FORGOTTEN, SHARED_ON_BOTH_SIDES, three_way
from mindgit.merge.engine import InvalidThought
from mindgit.merge.envelopes import EnvelopeReader
from mindgit.store import layout
from mindgit.store.private import share
from mindgit.store.refs import update_ref
from mindgit.store.repository import HEADS, Store
from mindgit.store.state import MAX_THOUGHT_BYTES, Block, State
from tests.conftest import Mg, git
from tests.merge.conftest import block as memory
from tests.merge.conftest import set_memories
from tests.merge.test_gitdriver import clone, git_merge, tree_of
from tests.merge.test_private_merge import forked
from tests.private.conftest import Nodes
from tests.private.conftest import nodes as private_nodes

nodes = private_nodes


def commit_tree(store: Store, experiment: str, tree: pygit2.Oid, manifest: CID) -> str:
    """A signed commit of ``tree`` on ``experiment``, which no check has seen."""
    head = store.head(experiment)
    commit = store.write_commit(tree, [head], "a peer's commit", manifest)
    update_ref(store.repo, HEADS + experiment, commit, head, message="peer", committer="p <p@p>")
    return commit


def plant(
    store: Store, experiment: str, name: str, data: bytes, dirname: str = layout.THOUGHTS
) -> str:
    """A commit on ``experiment`` whose ``dirname`` also holds ``data`` under ``name`` (in place
    of what it held there), its manifest unchanged."""
    snap = store.snapshot(store.head(experiment))
    repo = store.repo
    sub = repo[snap.tree[dirname].id]
    assert isinstance(sub, pygit2.Tree)
    files = repo.TreeBuilder(sub)
    files.insert(name, repo.create_blob(data), pygit2.GIT_FILEMODE_BLOB)
    root = repo.TreeBuilder(snap.tree)
    root.insert(dirname, files.write(), pygit2.GIT_FILEMODE_TREE)
    return commit_tree(store, experiment, root.write(), snap.manifest.cid)


def replace_thought(store: Store, experiment: str, old: CID, block: Block) -> str:
    """A commit on ``experiment`` holding ``block`` instead of ``old``, unchecked."""
    snap = store.snapshot(store.head(experiment))
    state = snap.state.with_thoughts((snap.state.thoughts - {old}) | {block.cid})
    tree, manifest = layout.write_state(store.repo, state, {block.cid: block.data}, snap.tree)
    return commit_tree(store, experiment, tree, manifest.cid)


def envelope(store: Store, cid: CID, rev: str | None = None) -> Any:
    return dagjson.decode(store.thought(cid, rev))


def with_recipients(store: Store, cid: CID, rev: str, recipients: list[Any]) -> Block:
    """The envelope ``cid`` (as ``rev`` holds it) with other recipients: the same message."""
    node = envelope(store, cid, rev)
    node["recipients"] = sorted(recipients, key=lambda r: str(r["key"]))
    return Block.encode(node)


def test_junk_under_a_forgotten_thoughts_name_does_not_bring_it_back(nodes: Nodes) -> None:
    """theirs shared the thought ours forgot, and holds junk under the thought's own name,
    unlinked: read as the thought, the junk hid the base's envelope, the share was a new
    thought, and the forgotten thought came back, readable by its recipients."""
    alpha, _beta, _gamma, c1 = forked(nodes)
    alpha.forget(c1)
    _, c2 = share(alpha, c1, "beta", experiment="other")
    plant(alpha, "other", str(c1), b"junk")

    out = merge(alpha, "other")

    assert c1 not in alpha.state().thoughts and c2 not in alpha.state().thoughts
    (d,) = out.thought_decisions
    assert (d.base, d.ours, d.theirs, d.winner, d.reason) == ((c1,), (), (c2,), "ours", FORGOTTEN)


def test_junk_of_a_thoughts_size_under_its_name_does_not_hide_it(nodes: Nodes) -> None:
    """The same, with junk over the size of any thought: not read, and not taken as the thought."""
    alpha, _beta, _gamma, c1 = forked(nodes)
    alpha.forget(c1, experiment="other")
    _, ours = share(alpha, c1, "gamma")
    plant(alpha, "other", str(c1), b" " * (MAX_THOUGHT_BYTES + 1))

    out = merge(alpha, "other")

    assert ours not in alpha.state().thoughts
    (d,) = out.thought_decisions
    assert (d.winner, d.reason) == ("theirs", FORGOTTEN)


def test_a_recipient_that_is_no_did_key_stays_on_one_line(nodes: Nodes, mg: Mg) -> None:
    """The merge reads recipients without parsing their keys: a peer's 'did:key:' followed by
    newlines, a trailer and a terminal escape went into the signed message and onto the
    terminal as written."""
    alpha, _beta, _gamma, c1 = forked(nodes)
    node = envelope(alpha, c1)
    evil = "did:key:z\n\nMindgit-State: bafyevil\n\x1b[31m"
    block = with_recipients(
        alpha, c1, "other", [*node["recipients"], {"key": evil, "wrapped": b""}]
    )
    share(alpha, c1, "beta")
    replace_thought(alpha, "other", c1, block)

    r = mg("--store", str(alpha.path), "merge", "other")

    assert r.code == 0, r.err
    assert "\x1b" not in r.out and "bafyevil\n" not in r.out
    (line,) = [s for s in r.out.splitlines() if s.startswith("Private thought")]
    assert "no longer shared with 'did:key:z\\n\\nMindgit-State: bafyevil" in line
    message = git("--git-dir", str(alpha.path), "log", "-1", "--format=%B", "main")
    assert "\x1b" not in message
    assert [s for s in message.splitlines() if s.startswith("Mindgit-State:")] == [
        f"Mindgit-State: {alpha.snapshot().manifest.cid}"
    ]


def test_an_envelope_of_many_megabytes_is_not_signed(nodes: Nodes, mg: Mg) -> None:
    """A peer's envelope of the thought with 100,000 recipients (20 MB): read, it took seconds
    and a 6 MB merge message; unread, it was a thought of its own, taken from theirs into the
    state this node signed. It is refused, and nothing changes."""
    alpha, _beta, _gamma, c1 = forked(nodes)
    node = envelope(alpha, c1)
    did = str(node["recipients"][0]["key"])
    many = [{"key": f"{did[:-6]}{i:06d}", "wrapped": b"w" * 80} for i in range(100_000)]
    block = with_recipients(alpha, c1, "other", many)
    assert len(block.data) > 16 << 20
    share(alpha, c1, "beta")
    replace_thought(alpha, "other", c1, block)
    head = alpha.head("main")

    for dry in (("--dry-run",), ()):
        r = mg("--store", str(alpha.path), "merge", "other", *dry)

        assert r.code == 1
        assert len(r.err.splitlines()) == 1 and len(r.err) < 1000
        assert f"thought {block.cid}, which the merge takes from" in r.err
        assert "is not a valid thought" in r.err
        assert alpha.head("main") == head


def test_a_copy_of_the_message_with_a_key_that_is_not_one_is_not_signed(nodes: Nodes) -> None:
    """theirs claims every recipient ours has and one more that is no key: by recipients it
    wins, but its envelope fails verify, so the merge refuses to sign it."""
    alpha, _beta, _gamma, c1 = forked(nodes)
    _, ours = share(alpha, c1, "beta")
    node = envelope(alpha, ours)
    junk = {"key": "did:key:z6MkJunkJunkJunk", "wrapped": b"\0" * 80}
    block = with_recipients(alpha, c1, "other", [*node["recipients"], junk])
    replace_thought(alpha, "other", c1, block)
    head = alpha.head("main")

    ours_state, theirs_state = alpha.state("main"), alpha.state("other")
    reader = EnvelopeReader(alpha.repo)
    for rev in ("main", "other", "main~1"):
        reader.add(alpha.snapshot(rev).tree)
    base = alpha.state("main~1")
    (d,) = three_way(
        base, ours_state, theirs_state, reader.for_merge(base, ours_state, theirs_state)
    ).thought_decisions
    assert (d.winner, d.reason) == ("theirs", SHARED_ON_BOTH_SIDES)
    with pytest.raises(InvalidThought, match="is not a valid thought"):
        merge(alpha, "other")  # it signed an envelope that verify refuses
    assert alpha.head("main") == head


def test_a_merge_of_shares_passes_verify_and_fsck_and_is_deterministic(
    nodes: Nodes, mg: Mg, tmp_path: Path
) -> None:
    alpha, _beta, _gamma, c1 = forked(nodes)
    _, ours = share(alpha, c1, "beta")
    share(alpha, c1, "gamma", experiment="other")
    alpha.think("another secret on other", experiment="other")
    first = plan_merge(alpha, "other")
    again = plan_merge(alpha, "other")
    assert (first.message, first.state) == (again.message, again.state)

    out = merge(alpha, "other")

    assert out.commit is not None and ours in alpha.state().thoughts
    r = mg("--store", str(alpha.path), "verify")
    assert r.code == 0, r.out + r.err
    fsck = subprocess.run(
        ["git", "--git-dir", str(alpha.path), "fsck", "--strict"], capture_output=True, text=True
    )
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr


def test_thousands_of_recipients_lost_are_counted_not_listed(nodes: Nodes, mg: Mg) -> None:
    """theirs' envelope names 2,000 recipients ours' does not: each was a did in the message
    and on the terminal (a line of 120 KB); the first few are, and how many more."""
    alpha, _beta, _gamma, c1 = forked(nodes)
    node = envelope(alpha, c1)
    others = [{"key": NodeKey.generate().public.did, "wrapped": b"w" * 80} for _ in range(2000)]
    block = with_recipients(alpha, c1, "other", [*node["recipients"], *others])
    share(alpha, c1, "beta")
    replace_thought(alpha, "other", c1, block)

    r = mg("--store", str(alpha.path), "merge", "other", "--json")
    assert r.code == 0, r.err
    (d,) = json.loads(r.out)["thought_decisions"]
    assert (d["winner"], len(d["dropped"])) == ("ours", 2000)  # --json has them all
    message = git("--git-dir", str(alpha.path), "log", "-1", "--format=%B", "main")
    (line,) = [s for s in message.splitlines() if s.startswith("Private thought")]
    assert line.endswith(" and 1992 more.") and len(line) < 1000
    assert line.count("did:key:") == 8


@pytest.mark.parametrize("dirname", [layout.THOUGHTS, layout.BLOCKS])
def test_git_merge_keeps_ours_bytes_where_theirs_swapped_them(
    nodes: Nodes, tmp_path: Path, dirname: str
) -> None:
    """theirs holds junk under the name of a thought (or memory block) both sides link, its
    manifest unchanged: git's tree merge took theirs' file (only theirs changed it) into the
    merge commit, bytes that are not what the name says, where `mindgit merge` keeps ours'. The
    post-merge hook puts ours' back."""
    (alpha,) = nodes("alpha")
    _, note = alpha.think("a public note")
    set_memories(alpha, {"human": memory("likes tea")})
    alpha.fork("other", switch=False)
    name = str(note) if dirname == layout.THOUGHTS else str(memory("likes tea").cid)
    plant(alpha, "other", name, b"junk", dirname)
    alpha.think("more on main")
    work = clone(alpha, tmp_path / "work")

    proc = git_merge(work, "origin/other")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    out = merge(alpha, "other")

    assert out.commit is not None
    assert f"{dirname}/ (0 unlinked removed, 1 restored) tidied" in proc.stderr + proc.stdout
    assert (work / dirname / name).read_bytes() != b"junk"
    assert tree_of(work, "HEAD") == tree_of(alpha.path, out.commit, bare=True)
    assert git("-C", str(work), "status", "--porcelain") == ""


def test_git_merge_of_a_new_thought_that_is_junk_is_a_conflict(
    nodes: Nodes, tmp_path: Path
) -> None:
    """theirs links a new thought whose file is junk: `mindgit merge` refuses to sign it, and
    the driver, which found no bytes that are that thought, stops with a conflict (it took the
    junk for a thought of its own, and git's tree merge took the junk)."""
    alpha, _beta, _gamma, _c1 = forked(nodes)
    alpha.think("more on main")
    snap = alpha.snapshot(alpha.head("other"))
    junk = Block(CID.of(b'{"text":"what the name says"}'), b"junk")
    state = snap.state.with_thoughts(snap.state.thoughts | {junk.cid})
    tree, manifest = layout.write_state(alpha.repo, state, {junk.cid: junk.data}, snap.tree)
    commit_tree(alpha, "other", tree, manifest.cid)
    work = clone(alpha, tmp_path / "work")
    head = git("-C", str(work), "rev-parse", "HEAD")

    proc = git_merge(work, "origin/other")

    assert proc.returncode != 0
    assert f"thought {junk.cid} is in none of the commits being merged" in proc.stderr
    assert "CONFLICT (content): Merge conflict in manifest.json" in proc.stdout
    git("-C", str(work), "merge", "--abort")
    assert git("-C", str(work), "rev-parse", "HEAD") == head
    with pytest.raises(MindgitError, match="does not match its CID"):
        merge(alpha, "other")


def test_a_memory_block_verify_refuses_is_not_signed(nodes: Nodes, mg: Mg) -> None:
    """theirs links a memory whose block hashes to its name but is not canonical DAG-JSON: the
    merge signed it, and the merge commit failed the node's own verify."""
    (alpha,) = nodes("alpha")
    alpha.think("a public note")
    alpha.fork("other", switch=False)
    alpha.think("more on main")
    spaced = Block(CID.of(b'{"value": 1}'), b'{"value": 1}')
    snap = alpha.snapshot(alpha.head("other"))
    state = snap.state.with_memories({"human": spaced.cid})
    tree, manifest = layout.write_state(alpha.repo, state, {spaced.cid: spaced.data}, snap.tree)
    commit_tree(alpha, "other", tree, manifest.cid)
    head = alpha.head("main")

    r = mg("--store", str(alpha.path), "merge", "other")

    assert r.code == 1
    assert f"block {spaced.cid}, which the merge takes from" in r.err
    assert "is not a valid block (not canonical DAG-JSON" in r.err
    assert alpha.head("main") == head


def test_two_envelopes_of_one_message_on_one_side_are_one_thought(nodes: Nodes) -> None:
    """theirs holds the thought twice (the envelope and a share of it, side by side): forgotten
    by ours, both stay out; shared by ours too, one side's envelopes are kept whole."""
    alpha, _beta, gamma, c1 = forked(nodes)
    original = alpha.thought(c1)
    _, c2 = share(alpha, c1, "beta", experiment="other")

    def both(state: State) -> tuple[State, dict[CID, bytes]]:
        return state.with_thoughts(state.thoughts | {c1}), {c1: original}

    alpha.update(both, "hold both envelopes", experiment="other")
    alpha.fork("forgot", switch=False)  # from main, which still holds c1
    alpha.forget(c1, experiment="forgot")
    _, ours = share(alpha, c1, "gamma")

    out = merge(alpha, "other")

    (d,) = out.thought_decisions
    assert (d.ours, d.theirs, d.winner, d.reason) == (
        (ours,),
        tuple(sorted((c1, c2), key=str)),
        "ours",
        SHARED_ON_BOTH_SIDES,
    )
    assert {c1, c2, ours} & alpha.state().thoughts == {ours}
    assert gamma.public_key.did not in d.dropped

    out = merge(alpha, "other", into="forgot")
    (d,) = out.thought_decisions
    assert (d.winner, d.reason) == ("ours", FORGOTTEN)
    assert not {c1, c2} & alpha.state("forgot").thoughts
