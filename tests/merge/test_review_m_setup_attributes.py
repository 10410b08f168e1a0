"""Review M: git-setup and a clone's ``info/attributes`` that is not UTF-8, or not a file, and a
clone's config that another git holds locked.

git reads the attributes file as bytes (a pattern or a value may be Latin-1); git-setup read it
as UTF-8 and failed with an internal error (exit 3), as it did on a ``config.lock``, after adding
its attributes line. A file it cannot read or write is one line, exit 1, with nothing registered.
"""

from __future__ import annotations

from pathlib import Path

from mindgit.merge.gitdriver import ATTRIBUTE_LINE
from mindgit.store.repository import Store
from tests.conftest import Mg, git


def test_a_latin1_attributes_file_is_kept_and_added_to(
    store: Store, tmp_path: Path, mg: Mg
) -> None:
    work = tmp_path / "work"
    git("clone", "-q", str(store.path), str(work))
    attributes = work / ".git" / "info" / "attributes"
    mine = b"*.txt diff=caf\xe9"  # no newline at the end
    attributes.write_bytes(mine)

    for _ in range(2):  # and again: nothing more
        result = mg("git-setup", str(work), "--no-fetch")
        assert result.code == 0, result.err
        assert attributes.read_bytes() == mine + b"\n" + ATTRIBUTE_LINE.encode() + b"\n"


def test_an_attributes_path_that_is_no_file_registers_nothing(
    store: Store, tmp_path: Path, mg: Mg
) -> None:
    work = tmp_path / "work"
    git("clone", "-q", str(store.path), str(work))
    (work / ".git" / "info" / "attributes").mkdir(parents=True)

    result = mg("git-setup", str(work), "--no-fetch")

    assert result.code == 1
    assert len(result.err.strip().splitlines()) == 1
    assert "info/attributes" in result.err and "the merge driver was not registered" in result.err
    config = git("-C", str(work), "config", "--list")
    assert "merge.mindgit" not in config


def test_a_locked_config_registers_nothing_and_says_which_lock(
    store: Store, tmp_path: Path, mg: Mg
) -> None:
    work = tmp_path / "work"
    git("clone", "-q", str(store.path), str(work))
    lock = work / ".git" / "config.lock"
    lock.touch()
    attributes = work / ".git" / "info" / "attributes"
    before = attributes.read_bytes() if attributes.exists() else None

    result = mg("git-setup", str(work), "--no-fetch")

    assert result.code == 1
    assert len(result.err.strip().splitlines()) == 1
    assert str(lock) in result.err and "the merge driver was not registered" in result.err
    assert (attributes.read_bytes() if attributes.exists() else None) == before
    lock.unlink()
    assert "merge.mindgit" not in git("-C", str(work), "config", "--list")
    assert mg("git-setup", str(work), "--no-fetch").code == 0
    assert "merge.mindgit.driver" in git("-C", str(work), "config", "--list")
