"""git-setup's driver and hooks start mindgit as `python -P -m mindgit`: git runs them in the
clone's work tree, which came first on sys.path for -m, and with mindgit installed editable (the
README's install) a merged branch holding a mindgit/ folder had its code run by the post-merge
hook, and by every driver run once checked out."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from mindgit.merge.gitdriver import git_setup
from mindgit.store.repository import Store
from tests.conftest import git

COMMITTER = ["-c", "user.name=x", "-c", "user.email=x@example.com"]


def test_a_merged_branchs_mindgit_folder_is_not_run(store: Store, tmp_path: Path) -> None:
    store.think("x")
    clone = tmp_path / "clone"
    git("clone", "-q", str(store.path), str(clone))
    result = git_setup(clone)
    assert " -P -m mindgit " in result.driver
    assert result.hook is not None and " -P -m mindgit " in result.hook.read_text()
    ran = tmp_path / "ran"
    git("-C", str(clone), "checkout", "-q", "-b", "evil")
    (clone / "mindgit").mkdir()
    (clone / "mindgit" / "errors.py").write_text(
        f"import pathlib\npathlib.Path({str(ran)!r}).touch()\n"
    )
    git("-C", str(clone), "add", "mindgit")
    git("-C", str(clone), *COMMITTER, "commit", "-q", "--no-verify", "-m", "evil")
    git("-C", str(clone), "checkout", "-q", "main")
    git("-C", str(clone), *COMMITTER, "merge", "-q", "--no-edit", "evil")
    assert (clone / "mindgit" / "errors.py").exists()  # checked out: the hook ran beside it
    assert not ran.exists()


def test_a_driver_set_up_the_old_way_says_to_set_up_again(store: Store, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git("clone", "-q", str(store.path), str(clone))
    git_setup(clone, command=f"{shlex.quote(sys.executable)} -m mindgit")  # as before -P
    old = subprocess.run(
        [sys.executable, "-m", "mindgit", "merge-driver", "--tidy"],
        cwd=clone,
        capture_output=True,
        text=True,
    )
    assert old.returncode == 0, old.stderr
    assert "run `mindgit git-setup` again" in old.stderr and "-P" not in old.stderr
    git_setup(clone)
    new = subprocess.run(
        [sys.executable, "-P", "-m", "mindgit", "merge-driver", "--tidy"],
        cwd=clone,
        capture_output=True,
        text=True,
    )
    assert new.returncode == 0 and "git-setup" not in new.stderr, new.stderr
