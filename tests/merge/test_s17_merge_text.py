"""What a merge writes of a typed revision, and what git-setup's look at a local store changes.

- A revision typed with control codes (a regex search: ``dreamer^{/a|<ESC>]0;x<BEL>}``) went
  raw into the signed merge commit's message, which `git log` hands to every terminal that
  shows it, and into the "thoughts: ... added from" line on stdout.
- git-setup reads the key of a store on this machine that a clone's remote names: opening it
  repaired the trust path of a store that had been moved or copied, a write into another store
  from a command run in a clone.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mindgit.merge.gitdriver import local_store
from mindgit.store.repository import Store
from tests.conftest import Mg, git

ESCAPES = "\x1b]0;pwn\x07"


def test_control_codes_of_a_typed_revision_reach_neither_stdout_nor_the_message(
    store: Store, mg: Mg
) -> None:
    s = str(store.path)
    assert mg("--store", s, "fork", "dreamer").code == 0
    assert mg("--store", s, "think", "another dream").code == 0
    assert mg("--store", s, "switch", "main").code == 0
    assert mg("--store", s, "think", "main thought").code == 0
    r = mg("--store", s, "merge", f"dreamer^{{/another|{ESCAPES}}}")
    assert r.code == 0, r.err
    assert "thoughts: 1 added from dreamer^{/another|?]0;pwn?}" in r.out
    assert "\x1b" not in r.out + r.err and "\x07" not in r.out + r.err
    message = git("--git-dir", s, "log", "-1", "--format=%B")
    assert message.startswith("merge dreamer^{/another|?]0;pwn?} into main\n")
    assert "\x1b" not in message and "\x07" not in message


def test_reading_a_copied_stores_key_writes_nothing_into_it(store: Store, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(store.path, copy)
    config = (copy / "config").read_bytes()
    assert str(store.path) in config.decode()  # the copy's trust path still names the original
    found = local_store(str(copy), tmp_path)
    key = found.public_key if found is not None else None
    assert key is not None and key.did == store.public_key.did
    assert (copy / "config").read_bytes() == config


def test_git_setup_names_a_blank_path_quoted(mg: Mg, tmp_path: Path) -> None:
    r = mg("git-setup", str(tmp_path / " x"))
    assert r.code == 1
    assert f"{tmp_path}/ x is not inside a git repository" in r.err
    r = mg("git-setup", " ")
    assert r.code == 1
    assert "mindgit: error: ' ' is not inside a git repository" in r.err
