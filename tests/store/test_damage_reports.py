"""Every reader of an object damaged on disk says so in the one wording, with exit 1: `show` of a
state whose thought cannot be read, `log` (and `experiments`) past a commit whose state holds one,
and a state whose tree pygit2 fails to read through a commit (its message names no object).

Real stores, real corruption of the real object files (loose and packed), as in
test_damaged_objects.py, whose helpers these reuse.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pygit2
import pytest

from mindgit.errors import DamagedStore
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID
from mindgit.store.repository import Store, open_store
from tests.conftest import Mg, git
from tests.snapshots import changed, snapshot
from tests.store.test_damaged_objects import (
    copy_of,
    history,
    mismatch,
    overwrite,
    thought_blob,
    three_thoughts,
)

GARBLED = b"this is not zlib"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return three_thoughts(tmp_path_factory, "damage-reports")


@pytest.fixture
def store(made: Path, tmp_path: Path) -> Store:
    return copy_of(made, tmp_path)


def hint(store: Store) -> str:
    return f" (hint: run `git --git-dir {store.path} fsck` to list the damaged objects)"


def damage_in_pack(store: Store, oid: str) -> Store:
    """Pack every object, then flip bytes inside ``oid``'s deflated data; the store reopened."""
    git("--git-dir", str(store.path), "repack", "-adq")
    [pack] = (store.path / "objects" / "pack").glob("*.pack")
    listing = git("show-index", input=pack.with_suffix(".idx").read_bytes())
    offset = next(int(line.split()[0]) for line in listing.splitlines() if oid in line)
    os.chmod(pack, 0o644)
    data = bytearray(pack.read_bytes())
    # Past the object's type-and-size header, inside its deflated bytes.
    for at in range(offset + 4, offset + 12):
        data[at] ^= 0xFF
    pack.write_bytes(bytes(data))
    return open_store(store.path)


def damage(store: Store, oid: str, how: str) -> Store:
    if how == "mismatch":
        mismatch(store, oid)
    elif how == "garbled":
        overwrite(store, oid, GARBLED)
    else:
        store = damage_in_pack(store, oid)
    return store


def one_line(err: str, store: Store, oid: str) -> str:
    """The single stderr line, checked to be the damage line naming ``oid`` with the hint."""
    [line] = err.splitlines()
    assert line.startswith(
        f"mindgit: error: the store is damaged: object {oid} cannot be read ("
    ), line
    assert line.endswith(hint(store)), line
    return line


# -- 1. a thought that cannot be read ----------------------------------------------------------


@pytest.mark.parametrize("how", ["mismatch", "garbled", "packed"])
def test_show_of_a_damaged_thought_is_the_damage(store: Store, mg: Mg, how: str) -> None:
    blob, cid = thought_blob(store, history(store)[-1], "second")
    store = damage(store, blob, how)
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "show")
    assert r.code == 1, r.err
    assert r.out == ""
    line = one_line(r.err, store, blob)
    if how == "mismatch":
        assert f"(object hash mismatch - expected {blob} but got " in line
    elif how == "garbled":
        assert line == (
            f"mindgit: error: the store is damaged: object {blob} cannot be read "
            f"(failed to inflate loose object){hint(store)}"
        )
    r = mg("--store", str(store.path), "show", "--json")
    assert r.code == 1
    one_line(r.err, store, blob)
    assert json.loads(r.out)["type"] == "DamagedStore"
    # From Python too: the damage, naming the blob, not a missing state.
    with pytest.raises(DamagedStore) as caught:
        store.thought(CID.parse(cid))
    assert caught.value.oid == blob
    assert changed(before, store.path) == []


def test_a_missing_thought_is_still_missing(store: Store, mg: Mg) -> None:
    blob, cid = thought_blob(store, history(store)[-1], "second")
    (store.path / "objects" / blob[:2] / blob[2:]).unlink()
    r = mg("--store", str(store.path), "show")
    assert r.code == 1
    [line] = r.err.splitlines()
    assert line == (
        f"mindgit: error: thought {cid}: object {blob} is missing (run `git fsck` on the store)"
    )


# -- 2. log (and experiments) past a state that holds a damaged object -------------------------


@pytest.mark.parametrize("how", ["mismatch", "garbled", "packed"])
def test_log_lists_every_commit_names_the_damage_and_fails(store: Store, mg: Mg, how: str) -> None:
    commits = history(store)
    blob, _ = thought_blob(store, commits[-1], "second")
    store = damage(store, blob, how)
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "log")
    assert r.code == 1, r.err
    lines = r.out.splitlines()
    listed = [line.split()[0] for line in lines if not line.startswith("    ")]
    assert listed == [c[:12] for c in reversed(commits)]
    status = {line.split()[0]: line.split()[3] for line in lines if not line.startswith("    ")}
    assert [status[c[:12]] for c in reversed(commits)] == ["damaged", "damaged", "good", "good"]
    problems = [line for line in lines if line.startswith("    ! ")]
    assert len(problems) == 2
    assert all(p.startswith(f"    ! object {blob} cannot be read: ") for p in problems)
    one_line(r.err, store, blob)
    assert changed(before, store.path) == []


def test_log_json_is_one_error_document_with_the_commits(store: Store, mg: Mg) -> None:
    commits = history(store)
    blob, _ = thought_blob(store, commits[-1], "second")
    mismatch(store, blob)
    r = mg("--store", str(store.path), "log", "--json")
    assert r.code == 1
    line = one_line(r.err, store, blob)
    doc = json.loads(r.out)
    assert doc["type"] == "DamagedStore"
    assert f"mindgit: error: {doc['error']} (hint: {doc['hint']})" == line
    assert [c["commit"] for c in doc["commits"]] == list(reversed(commits))
    assert [c["signature"] for c in doc["commits"]] == ["damaged", "damaged", "good", "good"]
    assert [d["object"] for d in doc["damaged"]] == [blob]


def test_log_names_each_damaged_object_once(store: Store, mg: Mg) -> None:
    commits = history(store)
    third, _ = thought_blob(store, commits[-1], "third")
    manifest = str(store.repo[commits[1]].peel(pygit2.Commit).tree["manifest.json"].id)
    overwrite(store, third, GARBLED)
    mismatch(store, manifest)
    r = mg("--store", str(store.path), "log")
    assert r.code == 1
    status = [line.split()[3] for line in r.out.splitlines() if not line.startswith("    ")]
    assert status == ["damaged", "good", "damaged", "good"]
    # In the order the commits are listed (newest first), each once.
    named = [line.split(" object ")[1].split()[0] for line in r.err.splitlines()]
    assert named == [third, manifest]


def test_a_commit_that_is_only_invalid_is_no_damage(store: Store, mg: Mg) -> None:
    # An unsigned commit on top: log says so and succeeds, as before.
    head = history(store)[-1]
    tree = git("--git-dir", str(store.path), "rev-parse", f"{head}^{{tree}}").strip()
    who = {
        f"GIT_{role}_{what}": "x" for role in ("AUTHOR", "COMMITTER") for what in ("NAME", "EMAIL")
    }
    env = {**os.environ, **who}
    unsigned = subprocess.run(
        ["git", "--git-dir", str(store.path), "commit-tree", tree, "-p", head, "-m", "unsigned"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.strip()
    git("--git-dir", str(store.path), "update-ref", "refs/heads/main", unsigned)
    r = mg("--store", str(store.path), "log")
    assert r.code == 0, r.err
    assert r.out.splitlines()[0].split()[3] == "unsigned"
    assert r.err == ""


def test_experiments_lists_all_then_fails_on_the_damage(store: Store, mg: Mg) -> None:
    commits = history(store)
    store.fork("other", start=commits[1], switch=False)
    blob, _ = thought_blob(store, commits[-1], "third")
    mismatch(store, blob)
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "experiments", "--json")
    assert r.code == 1, r.err
    one_line(r.err, store, blob)
    doc = json.loads(r.out)
    assert doc["type"] == "DamagedStore"
    rows = {row["name"]: row for row in doc["experiments"]}
    assert (rows["main"]["signature"], rows["other"]["signature"]) == ("damaged", "good")
    r = mg("--store", str(store.path), "experiments")
    assert r.code == 1
    one_line(r.err, store, blob)
    assert "other" in r.out and "main" in r.out
    assert changed(before, store.path) == []


def test_show_fails_after_the_state_on_damage_only_verify_reads(store: Store, mg: Mg) -> None:
    # show reads no data block; the check of the commit it shows does.
    data = dagjson.encode({"note": "kept"})
    cid = CID.of(data)
    store.update(lambda s: (s.with_data({"notes": cid}), {cid: data}), "data: notes")
    tree = store.snapshot().tree
    blocks = store.repo[tree["blocks"].id]
    assert isinstance(blocks, pygit2.Tree)
    blob = str(blocks[str(cid)].id)
    mismatch(store, blob)
    r = mg("--store", str(store.path), "show")
    assert r.code == 1, r.err
    assert "signature  damaged: alpha" in r.out
    assert "data       notes" in r.out
    lines = r.err.splitlines()
    assert lines[0].startswith(
        f"mindgit: warning: this state does not verify: object {blob} cannot be read"
    )
    one_line("\n".join(lines[1:]), store, blob)


# -- 3. a tree pygit2 reads through its commit ------------------------------------------------


def root_tree(store: Store, commit: str) -> str:
    return str(store.repo[commit].peel(pygit2.Commit).tree_id)


@pytest.mark.parametrize("how", ["garbled", "packed"])
@pytest.mark.parametrize(
    "command", [["show"], ["diff", "HEAD~1", "HEAD"], ["experiments"], ["think", "more"]]
)
def test_a_damaged_state_tree_is_named(store: Store, mg: Mg, how: str, command: list[str]) -> None:
    tree = root_tree(store, history(store)[-1])
    store = damage(store, tree, how)
    before = snapshot(store.path)
    r = mg("--store", str(store.path), *command)
    assert r.code == 1, r.err
    one_line(r.err, store, tree)
    assert changed(before, store.path) == []


def test_snapshot_names_the_tree_it_could_not_read(store: Store) -> None:
    tree = root_tree(store, history(store)[-1])
    overwrite(store, tree, GARBLED)
    with pytest.raises(DamagedStore) as caught:
        store.snapshot()
    assert caught.value.oid == tree
    assert str(caught.value) == (
        f"the store is damaged: object {tree} cannot be read (failed to inflate loose object)"
    )


@pytest.mark.parametrize("history_too", [False, True])
def test_export_names_the_tree_it_could_not_read(
    store: Store, mg: Mg, tmp_path: Path, history_too: bool
) -> None:
    tree = root_tree(store, history(store)[-1])
    store = damage(store, tree, "garbled")
    before = snapshot(store.path)
    car = tmp_path / "out.car"
    r = mg("--store", str(store.path), "export", "--car", str(car), *(["--history"] * history_too))
    assert r.code == 1, r.err
    one_line(r.err, store, tree)
    assert changed(before, store.path) == []


def test_merge_names_the_tree_it_could_not_read(store: Store, mg: Mg) -> None:
    store.fork("other", start=history(store)[0], switch=False)
    store.think("elsewhere", experiment="other")
    tree = root_tree(store, str(store.head("other")))
    store = damage(store, tree, "garbled")
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "merge", "other")
    assert r.code == 1, r.err
    one_line(r.err, store, tree)
    assert changed(before, store.path) == []
