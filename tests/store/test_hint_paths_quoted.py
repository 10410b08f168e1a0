"""A hint that gives a git command to run names the store shell-quoted: copied as shown, the
command reaches the store even when its path holds a space or a quote (it became two words,
another command, or an unfinished quote)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from mindgit.cli.commands.core import SettingSetTwice
from mindgit.errors import DamagedStore, MindgitError
from mindgit.store.damage import fsck_hint
from mindgit.store.deletion import DeleteFailed, delete_experiment
from mindgit.store.history import HistoryIncomplete
from mindgit.store.repository import CommitUnreadable, ExperimentAtNoCommit, init_store
from tests.conftest import git

AWKWARD = "/srv/my stores/o'brien"
OID = "0" * 40


def git_dirs(hint: str) -> list[str]:
    """The --git-dir argument of every `git --git-dir ...` command the hint shows."""
    commands = re.findall(r"`(git --git-dir [^`]*)`", hint)
    assert commands, hint
    return [shlex.split(command)[2] for command in commands]


@pytest.mark.parametrize(
    "error",
    [
        DamagedStore(OID, "bad zlib", store=AWKWARD),
        SettingSetTwice(Path(AWKWARD), "mindgit.fuel", 2),
        HistoryIncomplete(AWKWARD, OID),
        CommitUnreadable(Path(AWKWARD), "main", OID, None),
        CommitUnreadable(Path(AWKWARD), "main", OID, "its pack is cut short"),
        ExperimentAtNoCommit(Path(AWKWARD), "main", OID, "a tree"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_each_hint_names_the_store_as_one_word(error: MindgitError) -> None:
    assert error.hint is not None
    assert git_dirs(error.hint) == [AWKWARD] * len(git_dirs(error.hint))


def test_fsck_hint_quotes_the_store() -> None:
    assert git_dirs(fsck_hint(Path(AWKWARD))) == [AWKWARD]


def test_the_symbolic_ref_hint_runs_as_shown(tmp_path: Path) -> None:
    store = init_store(tmp_path / "my store's", "alpha")
    git("--git-dir", str(store.path), "symbolic-ref", "refs/heads/link", "refs/heads/main")
    with pytest.raises(DeleteFailed) as info:
        delete_experiment(store, "link")
    assert info.value.hint is not None
    (command,) = re.findall(r"`(git --git-dir [^`]*)`", info.value.hint)
    git(*shlex.split(command)[1:])
    assert "refs/heads/link" not in store.repo.references
    assert "refs/heads/main" in store.repo.references
