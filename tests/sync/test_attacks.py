"""Each attack a peer can mount is refused by pull as a whole, with this store left exactly as it was."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from mindgit.identity.keys import NodeKey
from mindgit.store.repository import Store
from mindgit.sync.outcomes import PeerNotTrusted, PullRejected
from mindgit.sync.pull import pull
from mindgit.sync.transport import ObjectsRefused
from tests.conftest import fsck
from tests.sync import forge
from tests.sync.conftest import Nodes


def fingerprint(store: Store) -> tuple[dict[str, str], bytes, frozenset[str]]:
    """Every ref, the trust file and every object (as git lists them on disk, with git's
    temporary files): what must not change when an update is refused."""
    refs = {r: str(store.repo.references[r].resolve().target) for r in store.repo.references}
    return refs, store.trust.path.read_bytes(), stored_objects(store.path)


def stored_objects(gitdir: Path) -> frozenset[str]:
    """The objects in a store's object directory (a fresh git, so no in-process alternate),
    and any temporary file git left there."""
    listed = subprocess.run(
        ["git", f"--git-dir={gitdir}", "cat-file", "--batch-all-objects", "--batch-check"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    temporary = [str(p) for p in (gitdir / "objects").rglob("tmp_*")]
    return frozenset(listed + temporary)


@pytest.fixture
def shared(pair: Nodes) -> Nodes:
    """beta has an experiment 'work' that alpha has pulled once, plus a second one, 'other'."""
    beta = pair["beta"]
    beta.fork("work")
    beta.think("a first thought", experiment="work")
    beta.fork("other", start="main", switch=False)
    beta.think("another line of thought", experiment="other")
    pull(pair["alpha"], "beta")
    return pair


def refused(
    nodes: Nodes, attack: Callable[[Store], str], error: type[Exception] = PullRejected
) -> Exception:
    alpha, beta = nodes["alpha"], nodes["beta"]
    # A good change on another experiment rides along: it must be refused with the bad one.
    beta.think("an innocent thought", experiment="other")
    forge.point(beta, "work", attack(beta))
    before = fingerprint(alpha)
    with pytest.raises(error) as info:
        pull(alpha, "beta")
    assert fingerprint(alpha) == before
    assert not [r for r in alpha.repo.references if r.startswith("refs/quarantine/")]
    fsck(alpha.path)
    return info.value


def test_unsigned_commit(shared: Nodes) -> None:
    err = refused(shared, lambda b: forge.unsigned(b, "work"))
    assert isinstance(err, PullRejected)
    assert [p.reason for p in err.problems] == ["unsigned commit"]


def test_signature_by_an_unknown_key(shared: Nodes) -> None:
    stranger = NodeKey.generate()
    err = refused(shared, lambda b: forge.signed_by(b, "work", stranger), PeerNotTrusted)
    assert isinstance(err, PeerNotTrusted)
    assert err.signers == (stranger.public.did,)
    assert f"mindgit trust add {stranger.public.did} --name beta" in (err.hint or "")


def test_valid_signature_over_altered_content(shared: Nodes) -> None:
    err = refused(shared, lambda b: forge.altered(b, "work"))
    assert isinstance(err, PullRejected)
    assert [p.reason.split(":")[0] for p in err.problems] == ["bad signature"]


def test_blob_whose_bytes_do_not_match_its_cid(shared: Nodes) -> None:
    err = refused(shared, lambda b: forge.bad_cid(b, "work", b.key))
    assert isinstance(err, PullRejected)
    assert any("hash to" in p.reason for p in err.problems)


def test_non_canonical_manifest(shared: Nodes) -> None:
    err = refused(shared, lambda b: forge.non_canonical_manifest(b, "work", b.key))
    assert isinstance(err, PullRejected)
    assert any("manifest" in (p.object or "") for p in err.problems)


def test_rewind_to_an_older_head(shared: Nodes) -> None:
    alpha, beta = shared["alpha"], shared["beta"]
    old = beta.head("work")
    beta.think("a second thought", experiment="work")
    pull(alpha, "beta")
    err = refused(shared, lambda b: old)
    assert isinstance(err, PullRejected)
    assert any("rewinds refs/heads/work" in p.reason for p in err.problems)
    # Allowed explicitly, the older head is recorded and ours (ahead) is kept.
    report = pull(alpha, "beta", allow_rewind=True)
    work = next(r for r in report.refs if r.ref == "refs/heads/work")
    assert work.status == "ahead" and work.theirs == old
    assert alpha.head("work") != old


@pytest.mark.parametrize("name", [b"..", b".git", b".GIT", b"a/b"])
def test_tree_entry_names_git_refuses(shared: Nodes, name: bytes) -> None:
    # git's own object check, which pull turns on for every fetch, refuses these first.
    err = refused(shared, lambda b: forge.hostile_name(b, "work", b.key, name), ObjectsRefused)
    assert isinstance(err, ObjectsRefused)
    reason = {
        b"..": "hasDotdot",
        b".git": "hasDotgit",
        b".GIT": "hasDotgit",
        b"a/b": "fullPathname",
    }
    assert reason[name] in err.detail


def test_object_far_over_the_size_limit(shared: Nodes) -> None:
    err = refused(shared, lambda b: forge.huge_thought(b, "work", b.key))
    assert isinstance(err, PullRejected)
    assert any("over the" in p.reason and "limit" in p.reason for p in err.problems)


def test_trusted_key_later_removed_from_trust(shared: Nodes) -> None:
    alpha, beta = shared["alpha"], shared["beta"]
    alpha.trust.remove("beta")
    err = refused(shared, lambda b: b.think("after the trust ended", experiment="work")[0].id)
    assert isinstance(err, PeerNotTrusted)
    assert err.signers == (beta.public_key.did,)
