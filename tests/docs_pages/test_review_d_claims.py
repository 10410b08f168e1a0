"""Claims of docs/identity.md, docs/sync.md and docs/ipfs.md that a reader can check in a minute,
run as the page writes them (review D): each was stale before the page was mended."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ROOT, git
from tests.docs_pages.shell import sh

IDENTITY = (ROOT / "docs" / "identity.md").read_text()
SYNC = (ROOT / "docs" / "sync.md").read_text()
IPFS = (ROOT / "docs" / "ipfs.md").read_text()


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_identity_the_command_named_for_an_unknown_recipient_exits_1(tmp_path: Path) -> None:
    # The page named `think --to nobody`, which is a usage error (exit 2: --to needs --private).
    [command] = re.findall(
        r"A well-formed name that no trusted node has is the command's own error \(`([^`]+)`: exit 1\)",
        one_line(IDENTITY),
    )
    r = sh(
        f"mindgit init s --name s >/dev/null\nmindgit --store s {command.replace('TEXT', 'hi')}",
        tmp_path,
    )
    assert r.returncode == 1, r.stderr
    assert "no trusted node named 'nobody'" in r.stderr
    assert git("--git-dir", str(tmp_path / "s"), "rev-list", "--count", "main").strip() == "1"


def test_sync_the_peer_name_rule_is_the_one_remote_add_applies(tmp_path: Path) -> None:
    [rule] = re.findall(r"a name is 1 to 64 (.*?);", one_line(SYNC))
    # The page said "not starting with `.` or `-`": '_a' is refused too, and so is '..' inside.
    assert "starting with a letter or a digit" in rule
    assert "no `..`" in rule
    assert "not ending with `.` or `.lock`" in rule
    r = sh("mindgit init s --name s >/dev/null", tmp_path)
    assert r.returncode == 0, r.stderr
    for name in ["_a", "-a", ".a", "a..b", "a.", "a.lock", "a" * 65]:
        r = sh(f"mindgit --store s remote add -- '{name}' /nowhere", tmp_path)
        assert r.returncode == 2, (name, r.stderr)
        assert "invalid peer name" in r.stderr
    r = sh("mindgit --store s remote add a_b.c-1 /nowhere", tmp_path)
    assert r.returncode == 0, r.stderr
    r = sh(f"mindgit --store s remote add {'b' * 64} /nowhere", tmp_path)
    assert r.returncode == 0, r.stderr


def test_ipfs_an_empty_standard_input_is_refused_as_the_page_quotes(tmp_path: Path) -> None:
    # The page said an empty standard input is refused "as unreadable input", as a closed one is.
    [quoted] = re.findall(
        r"an empty one \(or an empty FILE\) as a CAR with no header \(`([^`]+)`", one_line(IPFS)
    )
    r = sh("mindgit init s --name s >/dev/null", tmp_path)
    assert r.returncode == 0, r.stderr
    before = git("--git-dir", str(tmp_path / "s"), "for-each-ref")
    (tmp_path / "empty.car").write_bytes(b"")
    for command in [
        "mindgit --store s import - --as c < /dev/null",
        "mindgit --store s import empty.car --as c",
    ]:
        r = sh(command, tmp_path)
        assert r.returncode == 1, r.stderr
        assert quoted in r.stderr
    r = sh("mindgit --store s import - --as c <&-", tmp_path)
    assert r.returncode == 1
    assert "cannot read stdin: it is closed" in r.stderr
    assert git("--git-dir", str(tmp_path / "s"), "for-each-ref") == before
