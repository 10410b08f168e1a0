"""A retired key signs only the history its rotation named: a thief holding the old key file
cannot add commits that verify, however they are dated; the history before the rotation, and
the rotation itself, still verify."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pygit2
import pytest

from mindgit.identity.trust import TrustFileCorrupt, TrustStore
from mindgit.store.refs import read_ref
from mindgit.store.repository import Store, init_store
from mindgit.store.rotations import ANNOUNCE_REF, apply_rotations, rotate_key, rotation_heads
from mindgit.store.verify import verify_commits
from mindgit.sync.gate import check_update
from tests.conftest import git
from tests.private.conftest import Nodes, fetch

RETIRED = "a retired key, outside the history its rotation named"


def _thief(tmp_path: Path, victim: Store, key_file: Path, when: int | None = None) -> str:
    """A commit on top of the victim's main, signed with its retired key; fetched into it."""
    thief = init_store(tmp_path / "thief", victim.name, key_file=key_file)
    fetch(thief, victim, "+refs/heads/main:refs/heads/victim")
    base = read_ref(thief.repo, "refs/heads/victim")
    assert base is not None
    commit = thief.write_commit(
        str(thief.repo.revparse_single(base).peel(pygit2.Tree).id), [base], "evil", when=when
    )
    git("--git-dir", str(thief.path), "update-ref", "refs/heads/evil", commit)
    fetch(victim, thief, "+refs/heads/evil:refs/heads/evil")
    return commit


def test_a_stolen_retired_key_cannot_sign_new_history(tmp_path: Path, nodes: Nodes) -> None:
    (alpha,) = nodes("alpha")
    alpha.think("before the rotation")
    before = alpha.head()
    r = rotate_key(alpha)
    alpha.think("after the rotation")

    # Everything the old key signed before, and its announcement, still verifies.
    assert verify_commits(alpha.repo, alpha.trust, [alpha.head(), r.commit]).ok

    # Dated before the rotation or not, a commit the old key signs now is refused.
    for when in (None, alpha.repo.revparse_single(before).peel(pygit2.Commit).commit_time - 3600):
        evil = _thief(tmp_path / str(when), alpha, r.retired_key, when)
        report = verify_commits(alpha.repo, alpha.trust, [evil])
        assert not report.ok
        bad = [p for p in report.problems if p.commit == evil]
        assert len(bad) == 1 and RETIRED in bad[0].reason
        assert "alpha.retired-1" in bad[0].reason
        assert all(p.commit == evil for p in report.problems)


def test_a_peer_that_applied_the_rotation_refuses_the_stolen_key(
    tmp_path: Path, nodes: Nodes
) -> None:
    alpha, beta = nodes("alpha", "beta")
    alpha.think("shared history")
    before = alpha.head()
    r = rotate_key(alpha)
    fetch(beta, alpha, f"+{ANNOUNCE_REF}:refs/keys/peers/alpha")
    fetch(beta, alpha, "+refs/heads/main:refs/heads/alpha-main")
    apply_rotations(beta, ["refs/keys/peers/alpha"])
    assert beta.trust.get("alpha.retired-1").heads == (before,)
    history = read_ref(beta.repo, "refs/heads/alpha-main")
    assert history is not None
    assert verify_commits(beta.repo, beta.trust, [history]).ok

    evil = _thief(tmp_path, alpha, r.retired_key)
    fetch(beta, alpha, "refs/heads/evil")  # objects only, as a push or pull brings them
    report = verify_commits(beta.repo, beta.trust, [evil])
    assert [p.commit for p in report.problems] == [evil]
    # The server-side gate (pre-receive hook, pull) refuses it the same way.
    problems = check_update(beta.repo, beta.trust, "refs/heads/evil", None, evil)
    assert any(RETIRED in p.reason for p in problems), problems


def test_the_heads_are_the_tips_not_below_another(nodes: Nodes) -> None:
    (alpha,) = nodes("alpha")
    alpha.think("one")
    alpha.fork("side")
    alpha.think("two", experiment="side")
    # main is below side (side was forked from it), so only side names that history.
    assert rotation_heads(alpha.repo) == (alpha.head("side"),)
    side = alpha.head("side")
    alpha.think("three", experiment="main")
    assert rotation_heads(alpha.repo) == tuple(sorted({alpha.head("main"), side}))


def test_a_head_missing_here_covers_nothing_until_it_arrives(nodes: Nodes) -> None:
    alpha, beta = nodes("alpha", "beta")
    alpha.think("old")
    old = alpha.head()
    alpha.think("newer")
    r = rotate_key(alpha)
    # beta holds the older commit only; the head the rotation names is not here yet.
    git("--git-dir", str(alpha.path), "update-ref", "refs/heads/old", old)
    fetch(beta, alpha, "+refs/heads/old:refs/heads/alpha-old")
    fetch(beta, alpha, f"+{ANNOUNCE_REF}:refs/keys/peers/alpha")
    apply_rotations(beta, ["refs/keys/peers/alpha"])
    assert not verify_commits(beta.repo, beta.trust, [old]).ok
    fetch(beta, alpha, "+refs/heads/main:refs/heads/alpha-main")
    head = read_ref(beta.repo, "refs/heads/alpha-main")
    assert head is not None
    assert verify_commits(beta.repo, beta.trust, [head]).ok
    assert verify_commits(beta.repo, beta.trust, [old, r.commit]).ok


def test_the_bound_rides_in_the_trust_file_and_git_still_reads_it(nodes: Nodes) -> None:
    (alpha,) = nodes("alpha")
    alpha.think("signed by the first key")
    first = alpha.head()
    r = rotate_key(alpha)
    line = next(x for x in alpha.trust.export().splitlines() if "alpha.retired-1" in x)
    assert line.endswith(f"alpha.retired-1 heads={first}")
    allowed = alpha.path / "exported"
    allowed.write_text(alpha.trust.export())
    out = subprocess.run(
        [
            *("git", "--git-dir", str(alpha.path), "-c", "gpg.format=ssh"),
            *("-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit", first),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0 and 'Good "git" signature' in out.stderr
    # A server holding the export enforces the same bound.
    assert TrustStore(allowed).get("alpha.retired-1").heads == (first,)
    assert r.old == TrustStore(allowed).get("alpha.retired-1").key


@pytest.mark.parametrize(
    ("suffix", "reason"),
    [
        ("heads=HEAD", "not a hex commit id"),
        ("heads=" + "f" * 40 + "," + "0" * 40, "sorted and distinct"),
        ("heads=" + "0" * 40 + " heads=" + "0" * 40, "more than one"),
    ],
)
def test_a_malformed_bound_is_a_corrupt_trust_file(
    tmp_path: Path, nodes: Nodes, suffix: str, reason: str
) -> None:
    (alpha,) = nodes("alpha")
    line = alpha.trust.export().splitlines()[0]
    path = tmp_path / "allowed"
    path.write_text(line.replace(" alpha", " alpha.retired-1 " + suffix) + "\n")
    with pytest.raises(TrustFileCorrupt, match=reason):
        TrustStore(path).nodes()


def _newcomer(tmp_path: Path, alpha: Store) -> Store:
    """A node that met alpha only after its rotations: it trusts alpha's current key alone."""
    gamma = init_store(tmp_path / "gamma", "gamma")
    gamma.trust.add(alpha.public_key, "alpha")
    fetch(gamma, alpha, f"+{ANNOUNCE_REF}:refs/keys/peers/alpha")
    fetch(gamma, alpha, "+refs/heads/main:refs/heads/alpha-main")
    return gamma


def test_a_newcomer_learns_the_earlier_keys_from_the_trusted_one(
    tmp_path: Path, nodes: Nodes
) -> None:
    (alpha,) = nodes("alpha")
    alpha.think("under the first key")
    first_heads = rotation_heads(alpha.repo)
    first = rotate_key(alpha)
    alpha.think("under the second key")
    second = rotate_key(alpha)
    alpha.think("under the third key")
    gamma = _newcomer(tmp_path, alpha)
    history = read_ref(gamma.repo, "refs/heads/alpha-main")
    assert history is not None
    assert not verify_commits(gamma.repo, gamma.trust, [history]).ok

    outcomes = apply_rotations(gamma, ["refs/keys/peers/alpha"])
    assert [(o.commit, o.status) for o in outcomes] == [
        (first.commit, "earlier"),
        (second.commit, "earlier"),
    ]
    by_key = {n.key: n for n in gamma.trust.nodes()}
    assert by_key[first.old].heads == first_heads
    assert first.commit in (by_key[second.old].heads or ())
    assert gamma.trust.get("alpha").key == alpha.public_key
    assert verify_commits(gamma.repo, gamma.trust, [history]).ok
    # Applying again changes nothing; the earlier keys still sign nothing new.
    before = gamma.trust.export()
    assert {o.status for o in apply_rotations(gamma, ["refs/keys/peers/alpha"])} == {"already"}
    assert gamma.trust.export() == before
    evil = _thief(tmp_path / "t", alpha, first.retired_key)
    fetch(gamma, alpha, "refs/heads/evil")
    assert [p.commit for p in verify_commits(gamma.repo, gamma.trust, [evil]).problems] == [evil]


def test_a_key_removed_on_purpose_is_not_brought_back(tmp_path: Path, nodes: Nodes) -> None:
    (alpha,) = nodes("alpha")
    alpha.think("under the first key")
    first = rotate_key(alpha)
    gamma = _newcomer(tmp_path, alpha)
    apply_rotations(gamma, ["refs/keys/peers/alpha"])
    gamma.untrust("alpha.retired-1")
    assert gamma.trust.is_removed(first.old)
    assert [o.status for o in apply_rotations(gamma, ["refs/keys/peers/alpha"])] == ["already"]
    assert gamma.trust.find(first.old) is None
    # Only an explicit add trusts it again (and clears the mark).
    gamma.trust.add(first.old, "alpha-old")
    assert not gamma.trust.is_removed(first.old)
    assert "# mindgit removed" not in gamma.trust.export()


def test_a_stolen_retired_key_cannot_vouch_for_a_key_of_its_own(
    tmp_path: Path, nodes: Nodes
) -> None:
    """A thief holding alpha's retired key proves a rotation from a key of his to it: the
    trusted record's heads do not reach that forged announcement, so nothing is trusted."""
    from mindgit.identity.keys import NodeKey
    from mindgit.identity.rotation import RotationRecord, prove
    from mindgit.store.retired import RECORD_FILE
    from mindgit.store.rotations import PROOF_FILE

    (alpha,) = nodes("alpha")
    alpha.think("under the first key")
    first = rotate_key(alpha)
    stolen = NodeKey.load(first.retired_key)
    thief = init_store(tmp_path / "thief", "alpha")
    record = RotationRecord(thief.public_key, stolen.public, "alpha", ())
    tb = thief.repo.TreeBuilder()
    tb.insert(RECORD_FILE, thief.repo.create_blob(record.to_bytes()), 0o100644)
    tb.insert(PROOF_FILE, thief.repo.create_blob(prove(record, stolen).encode()), 0o100644)
    forged = thief.write_commit(tb.write(), [], "keys: rotate alpha")
    git("--git-dir", str(thief.path), "update-ref", "refs/keys/forged", forged)
    gamma = _newcomer(tmp_path, alpha)
    fetch(gamma, thief, "+refs/keys/forged:refs/keys/peers/forged")
    outcomes = apply_rotations(gamma, ["refs/keys/peers/alpha", "refs/keys/peers/forged"])
    assert {o.commit: o.status for o in outcomes}[first.commit] == "earlier"
    assert gamma.trust.find(thief.public_key) is None


def test_a_rotation_peers_would_refuse_as_too_large_is_not_made(
    nodes: Nodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every ref tip is a head the record names; past what a peer reads in one announcement
    the rotation is refused before anything changes (the limit lowered so a few tips pass it)."""
    from mindgit.store import rotations

    (alpha,) = nodes("alpha")
    for name in ("a", "b", "c"):
        alpha.fork(name, start=alpha.head("main"))
        alpha.think(f"on {name}", experiment=name)
    monkeypatch.setattr(rotations, "MAX_ANNOUNCEMENT_BYTES", 300)
    before = (alpha.trust.export(), sorted(p.name for p in (alpha.path / "mindgit").iterdir()))
    with pytest.raises(rotations.RotationTooLarge, match="would name 3 ref tips"):
        rotate_key(alpha)
    after = (alpha.trust.export(), sorted(p.name for p in (alpha.path / "mindgit").iterdir()))
    assert after == before and read_ref(alpha.repo, ANNOUNCE_REF) is None
    monkeypatch.undo()
    assert rotate_key(alpha).old != alpha.public_key
