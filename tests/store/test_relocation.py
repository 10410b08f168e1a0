"""A store moved (`mv`) or copied (`cp -r`): git's gpg.ssh.allowedSignersFile, which init writes
as an absolute path, follows the store when mindgit opens it (mindgit/store/relocation.py).

Before: in a moved store `git verify-commit` found no trust file; in a copy it trusted the
ORIGINAL store's trust file (which may change later) without a word.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mindgit.store.relocation import SETTING
from mindgit.store.repository import Store, init_store
from mindgit.sync.hooks import install_hook
from tests.conftest import Mg, git, read_only_mount_works
from tests.snapshots import changes, snapshot

NOTICE = "mindgit: store moved or copied: git's gpg.ssh.allowedSignersFile now names"
WARNING = "mindgit: warning: store moved or copied"


def made(tmp_path: Path, name: str = "first") -> Path:
    init_store(tmp_path / name, "alice")
    return tmp_path / name


def setting(store: Path) -> str:
    return git("--git-dir", str(store), "config", "--get", SETTING).strip()


def own(store: Path) -> str:
    return str(store.resolve() / "mindgit" / "allowed_signers")


def verify_commit(store: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "--git-dir", str(store), "verify-commit", "HEAD"], capture_output=True, text=True
    )


def test_a_moved_store_points_git_at_its_own_trust_file(tmp_path: Path, mg: Mg) -> None:
    first = made(tmp_path)
    assert verify_commit(first).returncode == 0
    moved = tmp_path / "moved"
    subprocess.run(["mv", str(first), str(moved)], check=True)
    # Before: git looks for the trust file where the store was.
    assert setting(moved) == own(first)
    assert verify_commit(moved).returncode != 0
    r = mg("--store", str(moved), "log")
    assert r.code == 0, r.err
    assert r.err.count(NOTICE) == 1 and own(moved) in r.err and own(first) in r.err, r.err
    assert len(r.err.splitlines()) == 1, r.err
    assert setting(moved) == own(moved)
    assert verify_commit(moved).returncode == 0
    # Said once: the next command finds the setting right.
    r = mg("--store", str(moved), "log")
    assert r.code == 0 and r.err == "", r.err
    assert mg("--store", str(moved), "verify").code == 0


def test_a_copy_stops_trusting_the_original_stores_trust_file(tmp_path: Path, mg: Mg) -> None:
    first = made(tmp_path)
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(first), str(copy)], check=True)
    original_config = (first / "config").read_bytes()
    # Before: the copy's git trusts whatever the original's trust file says.
    signers = first / "mindgit" / "allowed_signers"
    kept = signers.read_bytes()
    signers.write_bytes(b"")
    assert verify_commit(copy).returncode != 0
    signers.write_bytes(kept)
    r = mg("--store", str(copy), "verify")
    assert r.code == 0 and r.err.count(NOTICE) == 1, r.err
    assert setting(copy) == own(copy)
    signers.write_bytes(b"")  # the original's trust changes: the copy's git does not follow
    assert verify_commit(copy).returncode == 0
    # The original is untouched.
    assert (first / "config").read_bytes() == original_config


def test_opening_from_python_repairs_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = made(tmp_path)
    moved = tmp_path / "moved"
    shutil.move(first, moved)
    capsys.readouterr()
    Store(moved)
    assert NOTICE in capsys.readouterr().err
    assert setting(moved) == own(moved)
    Store(moved)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "chosen",
    [
        "{tmp}/elsewhere/signers",  # a file of another name
        "{tmp}/shared/mindgit/allowed_signers",  # a trust file kept in a folder that is no store
        "mindgit/allowed_signers",  # relative: git's reading, the user's doing
    ],
)
def test_a_path_the_user_chose_is_kept(tmp_path: Path, mg: Mg, chosen: str) -> None:
    first = made(tmp_path)
    value = chosen.format(tmp=tmp_path)
    for name in ("elsewhere/signers", "shared/mindgit/allowed_signers"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes((first / "mindgit" / "allowed_signers").read_bytes())
    git("--git-dir", str(first), "config", SETTING, value)
    moved = tmp_path / "moved"
    subprocess.run(["mv", str(first), str(moved)], check=True)
    before = (moved / "config").read_bytes()
    r = mg("--store", str(moved), "log")
    assert r.code == 0 and r.err == "", r.err
    assert (moved / "config").read_bytes() == before


def test_an_unset_setting_stays_unset(tmp_path: Path, mg: Mg) -> None:
    first = made(tmp_path)
    git("--git-dir", str(first), "config", "--unset", SETTING)
    moved = tmp_path / "moved"
    shutil.move(first, moved)
    r = mg("--store", str(moved), "log")
    assert r.code == 0 and r.err == "", r.err
    assert git("--git-dir", str(moved), "config", "--get", SETTING, check=False) == ""


def test_a_store_without_its_trust_file_is_left_alone(tmp_path: Path, mg: Mg) -> None:
    # Nothing better to name: verify's own warning says what is wrong.
    first = made(tmp_path)
    moved = tmp_path / "moved"
    shutil.move(first, moved)
    (moved / "mindgit" / "allowed_signers").unlink()
    mg("--store", str(moved), "log")
    assert setting(moved) == own(first)


def test_a_locked_config_is_warned_about_and_repaired_later(tmp_path: Path, mg: Mg) -> None:
    first = made(tmp_path)
    moved = tmp_path / "moved"
    shutil.move(first, moved)
    lock = moved / "config.lock"
    lock.write_text("")  # another git is writing the config
    r = mg("--store", str(moved), "log")
    assert r.code == 0, r.err
    assert WARNING in r.err and "cannot be changed" in r.err, r.err
    assert setting(moved) == own(first)
    lock.unlink()
    r = mg("--store", str(moved), "log")
    assert r.code == 0 and NOTICE in r.err, r.err
    assert setting(moved) == own(moved)


@pytest.mark.skipif(not read_only_mount_works(), reason="no read-only bind mount here")
def test_a_read_only_moved_store_still_reads_with_a_warning(tmp_path: Path) -> None:
    first = made(tmp_path)
    moved = tmp_path / "moved"
    subprocess.run(["mv", str(first), str(moved)], check=True)
    before = snapshot(moved)
    mindgit = f"{sys.executable} -m mindgit --store {moved}"
    script = (
        f"mount --bind -o ro {moved} {moved} && {mindgit} log && {mindgit} verify"
        f" && git --git-dir {moved} verify-commit HEAD"
    )
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True)
    # log and verify work, each warning once; git's verify-commit still looks in the old place.
    assert "init: alice" in proc.stdout, proc.stderr
    assert "1 commit checked, 0 failed" in proc.stderr, proc.stderr
    assert proc.stderr.count(WARNING) == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert proc.returncode != 0  # the last step, git's verify-commit
    assert changes(before, snapshot(moved)) == []
    assert setting(moved) == own(first)


def test_the_pre_push_hook_works_in_a_moved_store(tmp_path: Path) -> None:
    first = made(tmp_path)
    install_hook(Store(first).repo, "pre-push", sys.executable)
    moved = tmp_path / "moved"
    subprocess.run(["mv", str(first), str(moved)], check=True)
    remote = tmp_path / "remote.git"
    git("init", "-q", "--bare", str(remote))
    proc = subprocess.run(
        ["git", "--git-dir", str(moved), "push", str(remote), "main"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert NOTICE in proc.stderr
    assert setting(moved) == own(moved)
    assert verify_commit(moved).returncode == 0


def test_an_init_refused_over_a_moved_store_changes_nothing(tmp_path: Path, mg: Mg) -> None:
    # Its hint opens the store to say what it is: that opening writes nothing.
    first = made(tmp_path)
    moved = tmp_path / "moved"
    shutil.move(first, moved)
    before = snapshot(moved)
    r = mg("init", str(moved), "--name", "alice")
    assert r.code == 1 and "it is a store already" in r.err, r.err
    assert NOTICE not in r.err and len(r.err.strip().splitlines()) == 1, r.err
    assert changes(before, snapshot(moved)) == []
