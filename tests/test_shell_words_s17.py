"""The commands the library's hints and messages give to copy quote their words with
errors.shell_word: a path holding a newline (or a byte that is not UTF-8) is one line there,
and bash, running the command as printed, reaches that path (shlex.quote kept the newline:
the command was two lines, the first naming another path)."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from mindgit.errors import DamagedStore, MindgitError, shell_word
from mindgit.evolve.fitness import file_module_name
from mindgit.identity.keys import KeyFileEncrypted, KeyFileInsecure, KeyFileMissing, NodeKey
from mindgit.store.config import BadConfigValue
from mindgit.store.damage import fsck_hint
from mindgit.store.deletion import DeleteFailed, delete_experiment
from mindgit.store.history import HistoryIncomplete
from mindgit.store.repository import (
    CommitUnreadable,
    ExperimentAtNoCommit,
    NoNodeName,
    StoreUnreadable,
    init_store,
)
from mindgit.sync.hooks import ServerIsAStore
from tests.conftest import Mg, git

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")

NEWLINE = "/srv/a\nb/store"  # shlex.quote: "'/srv/a" on one line, "b/store'" on the next
NOT_UTF8 = os.fsdecode(b"/srv/a\xffb/store")  # os.fsdecode's way with a byte that is not UTF-8
OID = "0" * 40


def words(command: str, program: str) -> list[bytes]:
    """The words bash makes of ``command`` (which runs ``program``) after ``program``."""
    shim = f"{program}() {{ printf '%s\\0' \"$@\"; }}; "
    command = re.sub(r"<(\w+)>", r"\1", command)  # a placeholder: <commit> is no redirection
    out = subprocess.run(["bash", "-c", shim + command], capture_output=True, check=True)
    return out.stdout.split(b"\0")[:-1]


def commands(hint: str, program: str) -> list[str]:
    """Each command in backquotes (or after 'run: ' / 'with: ') that runs ``program``."""
    found = re.findall(rf"`({program} [^`]*)`", hint)
    found += [m for m in re.findall(rf"(?:run|with): ({program} .*)$", hint)]
    assert found, hint
    return found


def hints(path: str) -> list[tuple[str, str]]:
    """(hint, program) for each error the library builds a command for, naming ``path``."""
    p = Path(path)
    made: list[MindgitError] = [
        DamagedStore(OID, "bad zlib", store=path),
        HistoryIncomplete(path, OID),
        CommitUnreadable(p, "main", OID, None),
        CommitUnreadable(p, "main", OID, "its pack is cut short"),
        ExperimentAtNoCommit(p, "main", OID, "a tree"),
        NoNodeName(p, "no node name"),
        StoreUnreadable(p, "repository path is not owned by current user"),
        BadConfigValue("mindgit.fuel", "x", "is not a number", file=p / "included"),
    ]
    out = [(e.hint or "", "git") for e in made]
    out.append((fsck_hint(p), "git"))
    out += [
        (KeyFileMissing(p).hint or "", "ssh-keygen"),
        (KeyFileInsecure(p, 0o644).hint or "", "chmod"),
        (KeyFileEncrypted(p, "aes256-ctr").hint or "", "ssh-keygen"),
    ]
    return out


@pytest.mark.parametrize("path", [NEWLINE, NOT_UTF8], ids=["newline", "not-utf8"])
def test_each_command_is_one_line_and_names_the_path(path: str) -> None:
    for hint, program in hints(path):
        assert hint.isprintable(), hint
        for command in commands(hint, program):
            named = [w for w in words(command, program) if os.fsencode(path) in w]
            assert named, (command, words(command, program))


def test_the_fitness_add_hint_names_the_file() -> None:
    with pytest.raises(MindgitError) as info:
        file_module_name(Path("/srv/a\nb/bad name!.py"), evolving=True)
    hint = info.value.hint or ""
    assert hint.isprintable(), hint
    (command,) = commands(hint, "mindgit")
    assert words(command, "mindgit")[:3] == [b"fitness", b"add", b"/srv/a\nb/bad name!.py"]


def test_the_symbolic_ref_hint_runs_as_printed(tmp_path: Path) -> None:
    store = init_store(tmp_path / "a\nb", "alpha")
    git("--git-dir", str(store.path), "symbolic-ref", "refs/heads/link", "refs/heads/main")
    with pytest.raises(DeleteFailed) as info:
        delete_experiment(store, "link")
    hint = info.value.hint or ""
    assert hint.isprintable(), hint
    (command,) = commands(hint, "git")
    subprocess.run(["bash", "-c", command], check=True, capture_output=True)
    assert "refs/heads/link" not in store.repo.references
    assert "refs/heads/main" in store.repo.references


def test_the_chmod_hint_runs_as_printed_on_a_path_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / os.fsdecode(b"key\xff\nx")
    NodeKey.generate().save(path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileInsecure) as info:
        NodeKey.load(path)
    hint = info.value.hint or ""
    assert hint.isprintable(), hint
    (command,) = commands(hint, "chmod")
    subprocess.run(["bash", "-c", command], check=True, capture_output=True)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    NodeKey.load(path)


@pytest.mark.parametrize("text", ["a\x85b", "a\u2028b", "\x7f", os.fsdecode(b"\xc3\x28")])
def test_shell_word_reads_back_in_any_locale(text: str) -> None:
    # $'\u2028' is the character in a UTF-8 locale only (in C, bash keeps "\u2028" as typed),
    # and $'\x85' is the byte 0x85, not U+0085's two bytes.
    word = shell_word(text)
    assert word.isprintable()
    for locale in ("C", "C.UTF-8"):
        env = {**os.environ, "LC_ALL": locale}
        out = subprocess.run(
            ["bash", "-c", f"printf %s {word}"], capture_output=True, check=True, env=env
        )
        assert out.stdout == os.fsencode(text), (locale, word)


# --- Paths in library messages, shown as themselves or quoted (errors.shown_path) -------------


def test_init_over_a_store_whose_path_holds_a_newline(mg: Mg, tmp_path: Path) -> None:
    path = tmp_path / "a\nb"
    init_store(path, "n")
    r = mg("init", str(path), "--name", "n")
    assert r.code == 1, r.err
    assert f"error: {str(path)!r} already exists and is not empty" in r.err, r.err


def test_init_with_a_blank_key_path(mg: Mg, tmp_path: Path) -> None:
    r = mg("init", str(tmp_path / "x"), "--name", "n", "--key", " ")
    assert r.code == 1, r.err
    assert "error: no node key at ' ' (hint: " in r.err, r.err
    assert not (tmp_path / "x").exists()


def test_hooks_install_on_a_blank_server_path(
    mg: Mg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    r = mg("hooks", "install", "--server", " ")
    assert r.code == 1, r.err
    assert "error: ' ' is not a git repository (hint: " in r.err, r.err
    assert list(tmp_path.iterdir()) == []


def test_a_key_path_with_a_newline_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "k\ney"
    NodeKey.generate().save(path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileInsecure) as info:
        NodeKey.load(path)
    assert f"node key {str(path)!r} is accessible by other users" in str(info.value)


def test_the_server_is_a_store_hint_names_it_as_one_word(tmp_path: Path) -> None:
    hint = ServerIsAStore(tmp_path / "a\nb").hint or ""
    assert hint.isprintable(), hint
    (command,) = commands(hint, "mindgit")
    assert words(command, "mindgit")[:2] == [b"--store", os.fsencode(tmp_path / "a\nb")]
