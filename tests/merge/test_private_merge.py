"""A private thought shared on one side is the same thought, not a new one, to a merge.

``mindgit share`` replaces an envelope by another holding the same message; ``mindgit forget``
removes it. Merged as a set of CIDs, a forget on one side and a share on the other kept the
shared envelope: the forgotten thought came back, in a state this node signs. These build the
histories with the real commands (library and CLI) and merge them with ``mindgit merge`` and
with stock ``git merge`` through the driver.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from mindgit.errors import MindgitError
from mindgit.ipld.cid import CID
from mindgit.merge import merge
from mindgit.merge.core import FORGOTTEN, SHARED_ON_BOTH_SIDES
from mindgit.merge.envelopes import ThoughtNotFound
from mindgit.merge.gitdriver import merge_files
from mindgit.store import layout
from mindgit.store.objects import as_commit
from mindgit.store.private import reveal, share, think_private
from mindgit.store.repository import Store
from mindgit.store.sealed import decode_envelope
from mindgit.store.state import State
from tests.conftest import Mg, git
from tests.merge.conftest import x
from tests.merge.test_gitdriver import clone, git_merge, manifest_cid, set_at, tree_of
from tests.private.conftest import Nodes
from tests.private.conftest import nodes as private_nodes

SECRET = "the key is under the third stone"
nodes = private_nodes  # the fixture: one store per node name, every node trusting the others


def commit_message(store: Store, commit: str) -> str:
    found = as_commit(store.repo[commit])
    assert found is not None
    return found.message


def recipients(store: Store, cid: CID, rev: str | None = None) -> set[str]:
    snap = store.snapshot(rev)
    data = layout.read_thought(store.repo, snap.tree, cid)
    return {r.key.did for r in decode_envelope(data).recipients}


def forked(nodes: Nodes) -> tuple[Store, Store, Store, CID]:
    """alpha's ``main`` holds a private thought, and ``other`` forks from there."""
    alpha, beta, gamma = nodes("alpha", "beta", "gamma")
    _, c1 = think_private(alpha, SECRET)
    alpha.think("a public note")
    alpha.fork("other", switch=False)
    return alpha, beta, gamma, c1


def test_forgotten_here_and_shared_there_stays_forgotten(nodes: Nodes) -> None:
    alpha, _beta, _gamma, c1 = forked(nodes)
    alpha.forget(c1)
    _, c2 = share(alpha, c1, "beta", experiment="other")
    alpha.think("news from other", experiment="other")

    out = merge(alpha, "other")

    thoughts = alpha.state().thoughts
    assert c1 not in thoughts and c2 not in thoughts
    assert len(thoughts) == 2  # the public note and the news: only the secret is gone
    (d,) = out.thought_decisions
    assert (d.base, d.ours, d.theirs) == ((c1,), (), (c2,))
    assert (d.winner, d.reason) == ("ours", FORGOTTEN)
    assert out.commit is not None
    message = commit_message(alpha, out.commit)
    assert f"Private thought {c1} stays forgotten: ours forgot it, theirs shared it" in message
    assert SECRET not in message


def test_shared_here_and_forgotten_there_stays_forgotten(nodes: Nodes) -> None:
    alpha, _beta, _gamma, c1 = forked(nodes)
    _, c2 = share(alpha, c1, "beta")
    alpha.forget(c1, experiment="other")
    alpha.think("news from other", experiment="other")

    out = merge(alpha, "other")

    assert c2 not in alpha.state().thoughts and c1 not in alpha.state().thoughts
    assert out.thoughts_removed == (c2,)
    (d,) = out.thought_decisions
    assert (d.winner, d.reason, d.ours, d.theirs) == ("theirs", FORGOTTEN, (c2,), ())


def test_shared_on_one_side_only_takes_the_share(nodes: Nodes) -> None:
    alpha, beta, _gamma, c1 = forked(nodes)
    _, c2 = share(alpha, c1, "beta", experiment="other")
    alpha.think("news from main")

    out = merge(alpha, "other")

    assert c2 in alpha.state().thoughts and c1 not in alpha.state().thoughts
    assert out.thought_decisions == ()
    assert beta.public_key.did in recipients(alpha, c2)
    assert reveal(alpha, c2)["text"] == SECRET


def test_shared_differently_on_both_sides_keeps_one_envelope(nodes: Nodes) -> None:
    alpha, beta, gamma, c1 = forked(nodes)
    _, ours = share(alpha, c1, "beta")
    _, theirs = share(alpha, c1, "gamma", experiment="other")

    out = merge(alpha, "other")

    thoughts = alpha.state().thoughts
    assert ours in thoughts and theirs not in thoughts and c1 not in thoughts
    (d,) = out.thought_decisions
    assert (d.winner, d.reason) == ("ours", SHARED_ON_BOTH_SIDES)
    assert d.dropped == (gamma.public_key.did,)
    assert out.commit is not None
    message = commit_message(alpha, out.commit)
    assert f"no longer shared with {gamma.public_key.did}" in message
    assert beta.public_key.did in recipients(alpha, ours)


def test_the_side_shared_with_everyone_the_other_was_is_kept(nodes: Nodes) -> None:
    alpha, beta, gamma, c1 = forked(nodes)
    _, ours = share(alpha, c1, "beta")
    _, once = share(alpha, c1, "beta", experiment="other")
    _, twice = share(alpha, once, "gamma", experiment="other")

    out = merge(alpha, "other")

    thoughts = alpha.state().thoughts
    assert twice in thoughts and ours not in thoughts
    (d,) = out.thought_decisions
    assert (d.winner, d.reason, d.dropped) == ("theirs", SHARED_ON_BOTH_SIDES, ())
    assert {beta.public_key.did, gamma.public_key.did} <= recipients(alpha, twice)


def test_two_private_thoughts_of_one_text_stay_two(nodes: Nodes) -> None:
    """The same text sealed twice is two thoughts (fresh key and nonce): a forget of one and a
    share of the other are not about one thought."""
    alpha, _beta, _gamma, c1 = forked(nodes)
    _, again = think_private(alpha, SECRET, experiment="other")
    alpha.forget(c1, experiment="other")
    _, shared = share(alpha, c1, "beta")

    merge(alpha, "other")

    thoughts = alpha.state().thoughts
    assert again in thoughts and shared not in thoughts and c1 not in thoughts


def test_cli_forget_share_merge_json(nodes: Nodes, mg: Mg) -> None:
    alpha, _beta, _gamma, c1 = forked(nodes)
    where = ("--store", str(alpha.path))
    assert mg(*where, "forget", str(c1)).code == 0
    r = mg(*where, "switch", "other")
    assert r.code == 0, r.err
    r = mg(*where, "share", str(c1), "--with", "beta")
    assert r.code == 0, r.err
    c2 = next(iter(alpha.state("other").thoughts - alpha.state("main").thoughts))
    assert mg(*where, "switch", "main").code == 0
    r = mg(*where, "merge", "other", "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["thought_decisions"] == [
        {
            "base": [str(c1)],
            "ours": [],
            "theirs": [str(c2)],
            "winner": "ours",
            "reason": FORGOTTEN,
            "dropped": [],
        }
    ]
    assert c2 not in alpha.state().thoughts
    r = mg(*where, "verify")
    assert r.code == 0, r.out + r.err


def test_cli_merge_says_what_it_decided_about_a_private_thought(nodes: Nodes, mg: Mg) -> None:
    alpha, _beta, _gamma, c1 = forked(nodes)
    alpha.forget(c1)
    _, c2 = share(alpha, c1, "beta", experiment="other")
    r = mg("--store", str(alpha.path), "merge", "other")
    assert r.code == 0, r.err
    assert (
        f"Private thought {c1} stays forgotten: ours forgot it, theirs shared it (as {c2})."
        in r.out.splitlines()
    )


def test_a_lost_envelope_in_the_base_stops_the_merge(nodes: Nodes, mg: Mg) -> None:
    # The base's envelope of a thought ours forgot was lost from the store: not read, the share
    # theirs made of it was a new thought, and the forgotten thought came back, shared, with
    # no word said (the driver, which reads strictly, refused the same merge).
    alpha, _beta, _gamma, c1 = forked(nodes)
    alpha.forget(c1)
    _, c2 = share(alpha, c1, "beta", experiment="other")
    line = git("--git-dir", str(alpha.path), "ls-tree", "other~1", f"thoughts/{c1}")
    oid = line.split()[2]
    loose = alpha.path / "objects" / oid[:2] / oid[2:]
    assert loose.is_file()
    loose.unlink()
    head = alpha.head("main")
    for extra in ([], ["--dry-run"]):
        r = mg("--store", str(alpha.path), "merge", "other", *extra)
        assert r.code == 1 and len(r.err.splitlines()) == 1
        assert f"thought {c1}, which the merge base holds, cannot be read" in r.err
        assert f"`git --git-dir {alpha.path} fsck` names what is damaged" in r.err
    assert alpha.head("main") == head and c2 not in alpha.state().thoughts


def test_git_merge_keeps_a_forgotten_thought_forgotten(nodes: Nodes, tmp_path: Path) -> None:
    alpha, _beta, _gamma, c1 = forked(nodes)
    alpha.forget(c1)
    _, c2 = share(alpha, c1, "beta", experiment="other")
    alpha.think("news from other", experiment="other")
    work = clone(alpha, tmp_path / "work")

    proc = git_merge(work, "origin/other")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    out = merge(alpha, "other")

    assert out.commit is not None
    assert manifest_cid(work, "HEAD") == out.manifest
    # The driver says what it decided; the post-merge hook took the shared envelope git's tree
    # merge kept out of thoughts/, and says so.
    said = proc.stderr + proc.stdout
    assert f"Private thought {c1} stays forgotten" in said
    assert "thoughts/ (1 unlinked removed, 0 restored) tidied after the merge" in said
    assert not (work / "thoughts" / str(c2)).exists()
    assert str(c2) not in git("-C", str(work), "ls-tree", "--name-only", "HEAD:thoughts")
    assert tree_of(work, "HEAD") == tree_of(alpha.path, out.commit, bare=True)
    assert git("-C", str(work), "status", "--porcelain") == ""


def test_a_merge_committed_after_a_conflict_keeps_a_forgotten_thought_forgotten(
    nodes: Nodes, tmp_path: Path
) -> None:
    # git runs no post-merge hook for a merge concluded by `git commit` after a conflict: the
    # envelope the other side shared of the thought this side forgot stayed in thoughts/,
    # readable by its recipients. git-setup's post-commit hook tidies that commit too.
    alpha, _beta, _gamma, c1 = forked(nodes)
    alpha.set_genes([x("x0", 1.0)])
    alpha.forget(c1)
    _, c2 = share(alpha, c1, "beta", experiment="other")
    alpha.set_genes([x("x0", 2.0)], experiment="other")
    work = clone(alpha, tmp_path / "work")
    assert (work / ".git" / "hooks" / "post-commit").exists()

    proc = git_merge(work, "origin/other")
    assert proc.returncode == 1 and "both sides changed 1 pattern(s) differently" in proc.stderr
    assert (work / "thoughts" / str(c2)).exists()
    git("-C", str(work), "checkout", "--ours", "manifest.json")
    git("-C", str(work), "add", "manifest.json")
    done = subprocess.run(
        [
            "git",
            "-c",
            "user.name=Ada",
            "-c",
            "user.email=ada@example.invalid",
            "commit",
            "-q",
            "--no-edit",
        ],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "thoughts/ (1 unlinked removed, 0 restored) tidied" in done.stderr
    assert str(c2) not in git("-C", str(work), "ls-tree", "--name-only", "HEAD:thoughts")
    assert not (work / "thoughts" / str(c2)).exists()
    assert git("-C", str(work), "rev-list", "--parents", "-n", "1", "HEAD").count(" ") == 2
    assert git("-C", str(work), "status", "--porcelain") == ""
    # An ordinary commit after it is left as it is.
    head = git("-C", str(work), "rev-parse", "HEAD").strip()
    git(
        "-C",
        str(work),
        "-c",
        "user.name=Ada",
        "-c",
        "user.email=ada@example.invalid",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "plain",
    )
    assert git("-C", str(work), "rev-parse", "HEAD~1").strip() == head


def test_git_merge_of_shares_on_both_sides_matches_mindgit(nodes: Nodes, tmp_path: Path) -> None:
    alpha, _beta, _gamma, c1 = forked(nodes)
    _, ours = share(alpha, c1, "beta")
    _, theirs = share(alpha, c1, "gamma", experiment="other")
    work = clone(alpha, tmp_path / "work")

    proc = git_merge(work, "origin/other")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    out = merge(alpha, "other")

    assert out.commit is not None and manifest_cid(work, "HEAD") == out.manifest
    assert tree_of(work, "HEAD") == tree_of(alpha.path, out.commit, bare=True)
    assert not (work / "thoughts" / str(theirs)).exists()
    assert (work / "thoughts" / str(ours)).exists()


def test_the_driver_refuses_thoughts_it_cannot_find(nodes: Nodes, tmp_path: Path) -> None:
    """Handed manifests whose thoughts are in no commit being merged, the driver cannot tell a
    share from a new thought: it fails (git records a conflict) and leaves ours as it was."""
    alpha, _beta, _gamma, c1 = forked(nodes)
    _, c2 = share(alpha, c1, "beta", experiment="other")
    repo = tmp_path / "empty"
    git("init", "-q", str(repo))
    base = alpha.state("main")
    files = {
        "O": base,
        "A": base.with_thoughts(base.thoughts - {c1}),
        "B": alpha.state("other"),
    }
    for name, state in files.items():
        (tmp_path / name).write_bytes(state.manifest().data)
    before = (tmp_path / "A").read_bytes()
    with pytest.raises(ThoughtNotFound) as e:
        merge_files(tmp_path / "O", tmp_path / "A", tmp_path / "B", repo_dir=repo)
    assert str(c1) in str(e.value) or str(c2) in str(e.value)
    assert (tmp_path / "A").read_bytes() == before


def test_the_driver_reads_no_repository_when_thoughts_agree(tmp_path: Path) -> None:
    state = State()
    for name in ("O", "A", "B"):
        (tmp_path / name).write_bytes(state.manifest().data)
    result = merge_files(tmp_path / "O", tmp_path / "A", tmp_path / "B", repo_dir=tmp_path)
    assert result.thought_decisions == ()


def test_a_cherry_pick_of_a_share_onto_a_forget_is_a_conflict(nodes: Nodes, tmp_path: Path) -> None:
    """git names no commit to a merge driver during a cherry-pick (or a rebase): the driver
    cannot read the envelopes, so it stops with a conflict rather than guess."""
    alpha, _beta, _gamma, c1 = forked(nodes)
    alpha.forget(c1)
    share(alpha, c1, "beta", experiment="other")
    work = clone(alpha, tmp_path / "work")
    head = git("-C", str(work), "rev-parse", "HEAD")
    user = ("-c", "user.name=Ada", "-c", "user.email=a@example.invalid")
    proc = subprocess.run(
        ["git", *user, "cherry-pick", "origin/other"], cwd=work, capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert "cannot tell whether it is a private thought shared on one side" in proc.stderr
    assert "CONFLICT (content): Merge conflict in manifest.json" in proc.stdout
    git("-C", str(work), "cherry-pick", "--abort")
    assert git("-C", str(work), "rev-parse", "HEAD") == head


def test_a_criss_cross_of_shares_keeps_one_envelope_under_both(
    nodes: Nodes, tmp_path: Path
) -> None:
    """Each side shared the thought its own way and merged the other's share: the merge bases
    disagree, and the virtual base made of them is merged by the same rule, by mindgit and by
    git (whose tree merge drops the kept envelope: the post-merge hook restores it)."""
    alpha, _beta, _gamma, c1 = forked(nodes)
    share(alpha, c1, "beta")
    share(alpha, c1, "gamma", experiment="other")
    # Bases a second apart: git takes the older first (by commit time), as mindgit does.
    now = int(time.time())
    b = set_at(alpha, "other", x("x1", 1.0), now - 20)
    a = set_at(alpha, "main", x("x0", 1.0), now - 10)
    merge(alpha, b, into="main")
    merge(alpha, a, into="other")
    alpha.think("more on main")
    alpha.think("more on other", experiment="other")
    work = clone(alpha, tmp_path / "work")

    proc = git_merge(work, "origin/other")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    out = merge(alpha, "other")

    assert len(out.bases) == 2 and out.commit is not None
    held = [c for c in alpha.state().thoughts if reveal_text(alpha, c) == SECRET]
    assert len(held) == 1  # the set rule kept both envelopes: one thought twice
    assert manifest_cid(work, "HEAD") == out.manifest
    assert tree_of(work, "HEAD") == tree_of(alpha.path, out.commit, bare=True)


def reveal_text(store: Store, cid: CID) -> str | None:
    try:
        text = reveal(store, cid)["text"]
    except MindgitError:
        return None  # a note, not a private thought
    assert isinstance(text, str)
    return text


def test_unrelated_histories_holding_one_thought_keep_one_envelope(nodes: Nodes) -> None:
    """A peer's history that holds a thought shared from one of ours (no common commit)."""
    alpha, beta, _gamma, c1 = forked(nodes)
    _, c2 = share(alpha, c1, "beta", experiment="other")
    data = alpha.thought(c2, "other")

    def only_the_share(state: State) -> tuple[State, dict[CID, bytes]]:
        return State().with_thoughts(frozenset({c2})), {c2: data}

    beta.update(only_the_share, "a peer's state")
    git("--git-dir", str(alpha.path), "fetch", "-q", str(beta.path), "main:refs/heads/peer")

    out = merge(alpha, "peer", allow_unrelated=True)

    assert c2 in alpha.state().thoughts and c1 not in alpha.state().thoughts
    (d,) = out.thought_decisions
    assert (d.base, d.ours, d.theirs, d.winner) == ((), (c1,), (c2,), "theirs")
    assert out.commit is not None
    assert f"Private thought {c2} is held as another envelope on each side: theirs' envelope" in (
        commit_message(alpha, out.commit)
    )
