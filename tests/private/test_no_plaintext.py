"""The plaintext of a private thought is nowhere on disk: not in loose objects, packs, refs,
logs or config of the writer, of a recipient, or of a peer it was pushed to.

A public thought written alongside is the control: the same search must find it, so a search
that could not see anything would fail here rather than pass.
"""

from __future__ import annotations

import contextlib
import subprocess
import zlib
from pathlib import Path

from mindgit.store.private import reveal, share, think_private
from mindgit.store.repository import Store
from mindgit.store.rotations import rotate_key
from tests.conftest import fsck, git
from tests.private.conftest import Nodes, fetch

SECRET = "the key is under the third stone 7f3a9c"
SECRET_TAG = "tag-only-for-beta-51d2"
CANARY = "a public canary thought 0b8e44"


def disk_texts(root: Path) -> list[bytes]:
    """Every file under ``root``, raw, plus the inflated content of every zlib stream file."""
    found: list[bytes] = []
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        found.append(data)
        with contextlib.suppress(zlib.error):
            found.append(zlib.decompress(data))
    return found


def all_objects(git_dir: Path) -> bytes:
    """The content of every object git can read in the repository, loose or packed."""
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), "cat-file", "--batch-all-objects", "--batch"],
        capture_output=True,
        check=True,
    ).stdout


def assert_hidden(git_dir: Path, needles: list[bytes], canary: bytes) -> None:
    texts = disk_texts(git_dir)
    objects = all_objects(git_dir)
    assert any(canary in t for t in texts), "the search did not see the public control thought"
    assert canary in objects
    for needle in needles:
        assert not any(needle in t for t in texts), f"{needle!r} found on disk in {git_dir}"
        assert needle not in objects, f"{needle!r} found in an object of {git_dir}"


def packs(git_dir: Path) -> list[Path]:
    return sorted((git_dir / "objects" / "pack").glob("*.idx"))


def test_plaintext_never_reaches_any_store_or_peer(nodes: Nodes, tmp_path: Path) -> None:
    alpha, beta, _delta = nodes("alpha", "beta", "delta")
    needles = [SECRET.encode(), SECRET_TAG.encode(), b"third stone"]
    canary = CANARY.encode()

    _, cid = think_private(alpha, SECRET, [SECRET_TAG], ["beta"])
    alpha.think(CANARY)
    _, shared = share(alpha, cid, "delta")
    rotate_key(alpha)
    assert reveal(alpha, shared)["text"] == SECRET  # readable, through a retired key now

    # Loose objects, refs, reflogs, config and key files of the writer.
    assert not packs(alpha.path)
    assert_hidden(alpha.path, needles, canary)

    # Packed: after gc every object is in a pack; read the packs back through git.
    git("--git-dir", str(alpha.path), "gc", "--quiet", "--prune=now")
    assert packs(alpha.path)
    for idx in packs(alpha.path):
        listing = git("--git-dir", str(alpha.path), "verify-pack", "-v", str(idx))
        assert "ok" in listing.splitlines()[-1]
    assert_hidden(alpha.path, needles, canary)
    fsck(alpha.path)

    # A bare peer that received a push (branches and the key announcement).
    peer = tmp_path / "peer.git"
    git("init", "--quiet", "--bare", str(peer))
    git("--git-dir", str(alpha.path), "push", "--quiet", str(peer), "main", "refs/keys/announce")
    assert_hidden(peer, needles, canary)

    # A recipient that fetched and read it still stores only the envelope.
    fetch(beta, alpha, "main:refs/remotes/alpha/main")
    assert reveal(beta, cid, "refs/remotes/alpha/main~2")["text"] == SECRET
    assert_hidden(beta.path, needles, canary)


def test_the_search_finds_a_public_thought_in_every_form(nodes: Nodes) -> None:
    # The helpers above are what makes the privacy test meaningful: show they can see text.
    (alpha,) = nodes("alpha")
    alpha.think(SECRET)
    assert any(SECRET.encode() in t for t in disk_texts(alpha.path))
    git("--git-dir", str(alpha.path), "gc", "--quiet", "--prune=now")
    assert not list((alpha.path / "objects").glob("[0-9a-f][0-9a-f]/*"))
    assert SECRET.encode() in all_objects(alpha.path)


def _store_files(store: Store) -> set[str]:
    return {str(p.relative_to(store.path)) for p in store.path.rglob("*") if p.is_file()}


def test_no_temporary_files_are_left(nodes: Nodes) -> None:
    alpha, _beta = nodes("alpha", "beta")
    before = _store_files(alpha)
    think_private(alpha, SECRET, (), ["beta"])
    after = _store_files(alpha)
    assert not [f for f in after - before if f.endswith(".tmp") or "/." in f]
