"""A store whose objects are damaged on disk: `verify` names each object it cannot read as a
problem of the commits that hold it (and checks the others), and every other command that reads
one fails with one line, exit 1, naming the object and pointing at `git fsck`.

Real stores, real corruption of the real object files; libgit2 hashes every object it reads.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import pygit2
import pytest

from mindgit.errors import DamagedStore, unreadable_object
from mindgit.store.repository import Store, init_store, open_store
from mindgit.store.verify import Report, verify_commits
from tests.conftest import ROOT, Mg, git
from tests.snapshots import changed, snapshot


def three_thoughts(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A store of three thought commits, made once for a module's tests to copy."""
    path = tmp_path_factory.mktemp(name) / "s"
    store = init_store(path, "alpha")
    for text in ("first", "second", "third"):
        store.think(text)
    return path


def copy_of(made: Path, tmp_path: Path) -> Store:
    shutil.copytree(made, tmp_path / "s", symlinks=True)
    return open_store(tmp_path / "s")


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return three_thoughts(tmp_path_factory, "damaged-objects")


@pytest.fixture
def store(made: Path, tmp_path: Path) -> Store:
    return copy_of(made, tmp_path)


def history(store: Store) -> list[str]:
    """The commits of the current experiment, root first."""
    out = git("--git-dir", str(store.path), "rev-list", "--reverse", "HEAD")
    return out.split()


def thought_blob(store: Store, commit: str, text: str) -> tuple[str, str]:
    """The git id and the CID of the thought ``text`` in ``commit``'s tree."""
    tree = store.repo[commit].peel(pygit2.Commit).tree
    thoughts = store.repo[tree["thoughts"].id]
    assert isinstance(thoughts, pygit2.Tree)
    for entry in thoughts:
        blob = store.repo[entry.id]
        assert isinstance(blob, pygit2.Blob)
        if f'"{text}"'.encode() in blob.data:
            return str(entry.id), str(entry.name)
    raise AssertionError(f"no thought {text!r} in {commit}")


def overwrite(store: Store, oid: str, data: bytes) -> None:
    """Replace the loose object file of ``oid`` with ``data`` (git writes them read-only)."""
    path = store.path / "objects" / oid[:2] / oid[2:]
    os.chmod(path, 0o644)
    path.write_bytes(data)


def mismatch(store: Store, oid: str) -> None:
    """``oid``'s file holds a well-formed blob whose bytes hash to another id."""
    other = b"not what was stored"
    overwrite(store, oid, zlib.compress(b"blob %d\0" % len(other) + other))


def fsck_fails(store: Store) -> str:
    proc = subprocess.run(
        ["git", "--git-dir", str(store.path), "fsck", "--strict", "--no-progress"],
        capture_output=True,
        check=False,
    )
    assert proc.returncode != 0, "git fsck finds the store sound"
    return proc.stderr.decode()


def problems(report: Report) -> list[tuple[str, str | None, str]]:
    return [(p.commit, p.object, p.reason) for p in report.problems]


def test_verify_names_a_thought_that_no_longer_hashes_to_its_id(store: Store) -> None:
    commits = history(store)
    blob, cid = thought_blob(store, commits[-1], "second")
    mismatch(store, blob)
    fsck_fails(store)
    report = verify_commits(store.repo, store.trust, [store.head()], workers=1)
    # Every commit is still checked; the two that hold the thought fail, the others pass.
    assert [r.commit for r in report.results] == commits
    assert [r.ok for r in report.results] == [True, True, False, False]
    for commit, obj, reason in problems(report):
        assert commit in commits[2:]
        assert obj == f"thought {cid}"
        assert reason.startswith(f"object {blob} cannot be read: object hash mismatch")
        assert "\n" not in reason


def test_two_processes_give_the_one_process_report(store: Store) -> None:
    commits = history(store)
    mismatch(store, thought_blob(store, commits[-1], "first")[0])
    # A fork copies only the calling thread: with another one running, no second process.
    assert threading.active_count() == 1
    one = verify_commits(store.repo, store.trust, [store.head()], workers=1)
    two = verify_commits(store.repo, store.trust, [store.head()], workers=2)
    assert one.results == two.results
    assert [r.ok for r in one.results] == [True, False, False, False]


def test_verify_names_a_commit_that_cannot_be_inflated(store: Store) -> None:
    commits = history(store)
    overwrite(store, commits[1], b"this is not zlib")
    fsck_fails(store)
    report = verify_commits(store.repo, store.trust, [store.head()], workers=1)
    # The root is behind the damaged commit: nothing names it any more.
    assert [r.commit for r in report.results] == commits[1:]
    assert [r.ok for r in report.results] == [False, True, True]
    assert problems(report) == [
        (commits[1], None, f"object {commits[1]} cannot be read: failed to inflate loose object")
    ]


def test_verify_all_checks_the_other_experiments_past_a_damaged_tip(store: Store, mg: Mg) -> None:
    commits = history(store)
    store.fork("other", start=commits[2], switch=False)
    overwrite(store, commits[-1], b"this is not zlib")
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "verify", "--all", "--json")
    assert r.code == 1, r.err
    out = json.loads(r.out)
    checked = {c["commit"]: c for c in out["commits"]}
    assert set(checked) == set(commits)
    assert [c["commit"] for c in out["commits"] if not c["ok"]] == [commits[-1]]
    [problem] = checked[commits[-1]]["problems"]
    assert problem["reason"].startswith(f"object {commits[-1]} cannot be read: failed to inflate")
    assert changed(before, store.path) == []


def test_verify_cli_fails_with_the_object_named(store: Store, mg: Mg) -> None:
    commits = history(store)
    blob, cid = thought_blob(store, commits[-1], "third")
    mismatch(store, blob)
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "verify")
    assert r.code == 1, r.err
    assert r.out.splitlines() == [
        f"FAIL {commits[-1][:12]} (thought {cid}): object {blob} cannot be read: "
        f"object hash mismatch - expected {blob} but got " + r.out.rsplit("but got ", 1)[1].strip()
    ]
    assert "4 commits checked, 1 failed" in r.err
    assert "internal error" not in r.err
    r = mg("--store", str(store.path), "verify", "--json")
    assert r.code == 1
    out = json.loads(r.out)
    assert out["ok"] is False and out["checked"] == 4
    [bad] = [c for c in out["commits"] if not c["ok"]]
    assert bad["commit"] == commits[-1]
    [problem] = bad["problems"]
    assert problem["object"] == f"thought {cid}"
    assert problem["reason"].startswith(f"object {blob} cannot be read: object hash mismatch")
    assert changed(before, store.path) == []


def manifest_blob(store: Store, commit: str) -> str:
    tree = store.repo[commit].peel(pygit2.Commit).tree
    return str(tree["manifest.json"].id)


@pytest.mark.parametrize("damage", ["mismatch", "garbage"])
@pytest.mark.parametrize(
    "command", [["show"], ["show", "--json"], ["diff", "HEAD~1", "HEAD"], ["experiments"]]
)
def test_readers_fail_with_one_line(store: Store, mg: Mg, damage: str, command: list[str]) -> None:
    blob = manifest_blob(store, history(store)[-1])
    if damage == "mismatch":
        mismatch(store, blob)
        words = f"object hash mismatch - expected {blob}"
    else:
        overwrite(store, blob, b"this is not zlib")
        words = "failed to inflate loose object"
    before = snapshot(store.path)
    r = mg("--store", str(store.path), *command)
    assert r.code == 1, r.err
    [line] = r.err.splitlines()
    assert line.startswith(
        f"mindgit: error: the store is damaged: object {blob} cannot be read ({words}"
    ), line
    assert f"(hint: run `git --git-dir {store.path} fsck`" in line
    if "--json" in command:
        assert json.loads(r.out)["type"] == "DamagedStore"
    assert changed(before, store.path) == []


def test_log_past_a_damaged_commit_fails_with_one_line(store: Store, mg: Mg) -> None:
    commits = history(store)
    mismatch(store, commits[1])
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "log")
    assert r.code == 1, r.err
    [line] = r.err.splitlines()
    assert line.startswith(
        f"mindgit: error: the store is damaged: object {commits[1]} cannot be read "
        f"(object hash mismatch - expected {commits[1]} but got "
    ), line
    assert changed(before, store.path) == []


def test_a_reader_in_the_store_directory_names_it_in_the_hint(
    store: Store, mg: Mg, monkeypatch: pytest.MonkeyPatch
) -> None:
    mismatch(store, manifest_blob(store, history(store)[-1]))
    monkeypatch.chdir(store.path)
    r = mg("show")
    assert r.code == 1
    assert f"git --git-dir {store.path} fsck" in r.err


def test_damaged_pack_is_named_by_verify(store: Store, mg: Mg) -> None:
    commits = history(store)
    blob, cid = thought_blob(store, commits[-1], "third")
    git("--git-dir", str(store.path), "repack", "-adq")
    [pack] = (store.path / "objects" / "pack").glob("*.pack")
    index = pack.with_suffix(".idx").read_bytes()
    listing = git("show-index", input=index)
    offset = next(int(line.split()[0]) for line in listing.splitlines() if blob in line)
    os.chmod(pack, 0o644)
    data = bytearray(pack.read_bytes())
    # Past the object's one-byte type-and-size header, inside its deflated bytes.
    for at in range(offset + 4, offset + 12):
        data[at] ^= 0xFF
    pack.write_bytes(bytes(data))
    fsck_fails(store)
    store = open_store(store.path)
    report = verify_commits(store.repo, store.trust, [store.head()], workers=1)
    assert [r.ok for r in report.results] == [True, True, True, False]
    [(commit, obj, reason)] = problems(report)
    assert (commit, obj) == (commits[-1], f"thought {cid}")
    assert reason.startswith(f"object {blob} cannot be read: ")
    r = mg("--store", str(store.path), "verify")
    assert r.code == 1
    assert f"object {blob} cannot be read: " in r.out


@pytest.mark.parametrize(
    "message",
    [
        "object not found - no match for id (5542a15c6389dc587396753de096ac528b1aacb5)",
        "5542a15c6389dc587396753de096ac528b1aacb5: object not found",
        "failed to parse revision specifier - Invalid pattern 'x^^{'",
        "reference 'refs/heads/main' not found",
        "failed to resolve path '/nowhere': No such file or directory",
    ],
)
def test_other_git_errors_are_not_damage(message: str) -> None:
    assert unreadable_object(message) is None


def test_a_walk_names_the_commit_it_could_not_read(store: Store) -> None:
    commits = history(store)
    mismatch(store, commits[1])
    with pytest.raises(pygit2.GitError) as caught:
        list(store.repo.walk(store.repo.head.target))
    found = unreadable_object(str(caught.value))
    assert found is not None and found[0] == commits[1]
    error = DamagedStore(*found, store=str(store.path))
    assert str(error).startswith(f"the store is damaged: object {commits[1]} cannot be read (")


def test_the_docs_example_runs_as_written(tmp_path: Path) -> None:
    doc = (ROOT / "docs" / "store.md").read_text()
    [block] = [b for b in re.findall(r"```sh\n(.*?)```", doc, re.S) if "/tmp/minds/hurt" in b]
    script = block.replace("/tmp/minds/", f"{tmp_path}/")
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    lines = script.strip().splitlines()
    # Every line but the last four (which fail on purpose) succeeds.
    setup = "set -e\n" + "\n".join(lines[:-4])
    for line in lines[-4:]:
        proc = subprocess.run(
            ["bash", "-c", f"{setup}\n{line}"], capture_output=True, text=True, env=env
        )
        # mindgit's failure is exit 1; git fsck's status says what it found (3 here).
        assert proc.returncode == 1 or line.startswith("git "), (line, proc.stdout, proc.stderr)
        assert proc.returncode != 0, (line, proc.stdout, proc.stderr)
        if line.startswith("mindgit verify"):
            assert "cannot be read: object hash mismatch" in proc.stdout
        elif line.startswith("mindgit show"):
            assert "mindgit: error: the store is damaged: object " in proc.stderr
        elif line.startswith("mindgit log"):
            [head] = [x for x in proc.stdout.splitlines() if x.endswith("think: a thought")]
            assert head.split()[3] == "damaged", proc.stdout
            # Listed first, then the damage as the command's last word.
            last = proc.stderr.splitlines()[-1]
            assert last.startswith("mindgit: error: the store is damaged: object "), last
        shutil.rmtree(tmp_path / "hurt")


def test_a_damaged_head_commit_is_named_not_taken_for_an_unknown_name(store: Store, mg: Mg) -> None:
    head = history(store)[-1]
    mismatch(store, head)
    before = snapshot(store.path)
    for argv in (["show"], ["verify", "HEAD"], ["show", "main"]):
        r = mg("--store", str(store.path), *argv)
        assert r.code == 1, (argv, r.err)
        [line] = r.err.splitlines()
        assert f"the store is damaged: object {head} cannot be read" in line, (argv, line)
    with pytest.raises(DamagedStore):
        store.resolve("main")
    assert changed(before, store.path) == []
