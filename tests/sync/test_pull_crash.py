"""A pull killed (SIGKILL-like: os._exit, no cleanup) at any step after verification leaves
the store fsck-clean, its refs each as they were or as accepted, and the next pull finishes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mindgit.store.repository import open_store
from mindgit.store.rotations import rotate_key
from mindgit.sync.pull import pull
from tests.conftest import fsck
from tests.sync.conftest import Nodes

# Dies at the n-th step of the pull's changes: a pack file moved into the store (git keeps a
# checked fetch as a pack: index-pack runs whenever fsckObjects is on), the rotations applied,
# a ref updated.
_CHILD = """
import os, sys
from mindgit.store.repository import open_store
from mindgit.sync import pull as pull_module, quarantine

limit, steps = int(sys.argv[2]), [0]

def step(real):
    def wrapped(*args, **kwargs):
        if steps[0] == limit:
            os._exit(9)
        steps[0] += 1
        return real(*args, **kwargs)
    return wrapped

quarantine._move = step(quarantine._move)
pull_module.update_ref = step(pull_module.update_ref)
pull_module.apply_rotations = step(pull_module.apply_rotations)
pull_module.pull(open_store(sys.argv[1]), "alpha")
"""


def _synced(store_path: Path) -> dict[str, str]:
    out = subprocess.run(
        ["git", f"--git-dir={store_path}", "for-each-ref", "--format=%(refname) %(objectname)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    refs = dict(zip(out[::2], out[1::2], strict=True))
    return {
        r: o for r, o in refs.items() if r.startswith(("refs/heads/", "refs/runs/", "refs/keys/"))
    }


def test_a_pull_killed_at_any_step_leaves_a_clean_store(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    pull(beta, "alpha")
    rotate_key(alpha)
    alpha.fork("lab")
    for i in range(3):
        alpha.think(f"thought {i}")
        alpha.think(f"lab thought {i}", experiment="lab")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    before = _synced(beta.path)
    wanted = {**before, **_synced(alpha.path)}
    pristine = beta.path.parent / "beta-before"
    shutil.copytree(beta.path, pristine, symlinks=True)
    for limit in range(200):
        # Each run starts from the store as it was, so that it dies at exactly its step.
        shutil.rmtree(beta.path)
        shutil.copytree(pristine, beta.path, symlinks=True)
        child = subprocess.run(
            [sys.executable, "-c", _CHILD, str(beta.path), str(limit)],
            env=env,
            capture_output=True,
            text=True,
        )
        fsck(beta.path)
        now = _synced(beta.path)
        for ref, oid in now.items():
            assert oid in (before.get(ref), wanted.get(ref), alpha.resolve("refs/keys/announce"))
        if child.returncode == 0:
            break
        assert child.returncode == 9, child.stderr
    else:
        pytest.fail("the pull never finished")
    assert limit > 5  # it was killed while moving objects and updating refs
    # And a pull killed at the last step, run again, finishes.
    shutil.rmtree(beta.path)
    shutil.copytree(pristine, beta.path, symlinks=True)
    killed = subprocess.run(
        [sys.executable, "-c", _CHILD, str(beta.path), str(limit - 1)], env=env, capture_output=True
    )
    assert killed.returncode == 9
    beta = open_store(beta.path)
    report = pull(beta, "alpha")
    assert beta.head("lab") == alpha.head("lab")
    assert [o.status for o in report.rotations] in ([], ["already"])
    fsck(beta.path)


def test_a_killed_pulls_scratch_directory_is_emptied_by_the_next(pair: Nodes) -> None:
    """A pull killed while verifying leaves its scratch copy of the trust file behind; the next
    pull from that peer (holding the same peer lock) clears it instead of adding another."""
    alpha, beta = pair["alpha"], pair["beta"]
    alpha.think("something to pull")
    peers = beta.path / "mindgit" / "peers"
    stale = peers / ".scratch-alpha"
    stale.mkdir(parents=True)
    (stale / "allowed_signers").write_text("left by a killed pull\n")
    pull(beta, "alpha")
    assert not stale.exists()
    assert not [p for p in peers.iterdir() if p.name.startswith(".scratch-")]
