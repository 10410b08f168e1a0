"""`mindgit export` of a state holding an entry that is not a regular file: refused as `show`
refuses that state, with nothing written; `import` writes only regular entries.

Export copied a symlink's or an executable's blob into the CAR as the thought, block or manifest,
and reported a gitlink's absent commit as a missing object (pointing at `git fsck`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pygit2
import pytest

from mindgit.store import layout
from mindgit.store.repository import Store, init_store
from mindgit.store.state import Block
from tests.adapters.test_car_cat_modes import ABSENT, ODD_MODES, commit_odd_entry
from tests.conftest import Mg, fsck
from tests.snapshots import changed, snapshot


@pytest.fixture
def cli(store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("MINDGIT_STORE", str(store.path))
    return store


def refused(mg: Mg, store: Store, out_dir: Path, wording: str, *extra: str) -> None:
    """Export, to a file and to stdout, with and without --history: each refused in
    ``wording`` (exit 1), no CAR (nor a temporary file) left, the store untouched."""
    before = snapshot(store.path)
    car = out_dir / "state.car"
    for history in ((), ("--history",)):
        r = mg("export", *extra, "--car", str(car), *history)
        assert (r.code, r.out, r.err) == (1, "", f"mindgit: error: {wording}\n")
        assert os.listdir(out_dir) == []
        r = mg("export", *extra, "--car", "-", *history)
        assert (r.code, r.out, r.err) == (1, "", f"mindgit: error: {wording}\n")
    # As show says it of the same state.
    assert mg("show", *extra).err == f"mindgit: error: {wording}\n"
    assert not changed(before, store.path)


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


@pytest.mark.parametrize("kind", sorted(ODD_MODES))
def test_export_refuses_a_thought_that_is_not_a_regular_file(
    cli: Store, mg: Mg, out_dir: Path, kind: str
) -> None:
    _, cid = cli.think("the garden is quiet")
    oid = ABSENT if kind == "gitlink" else None
    tree = commit_odd_entry(cli, f"{layout.THOUGHTS}/{cid}", ODD_MODES[kind], oid)
    refused(mg, cli, out_dir, f"thought {cid} in tree {tree} is not a regular file")


def test_export_refuses_a_gitlink_that_names_the_thoughts_blob(
    cli: Store, mg: Mg, out_dir: Path
) -> None:
    _, cid = cli.think("the garden is quiet")
    thoughts = cli.repo[cli.repo[cli.head()].peel(pygit2.Tree)[layout.THOUGHTS].id]
    assert isinstance(thoughts, pygit2.Tree)
    blob = thoughts[str(cid)].id
    tree = commit_odd_entry(cli, f"{layout.THOUGHTS}/{cid}", pygit2.enums.FileMode.COMMIT, blob)
    refused(mg, cli, out_dir, f"thought {cid} in tree {tree} is not a regular file")


@pytest.mark.parametrize("kind", sorted(ODD_MODES))
def test_export_refuses_a_block_that_is_not_a_regular_file(
    cli: Store, mg: Mg, out_dir: Path, kind: str
) -> None:
    block = Block.encode({"persona": "a gardener"})
    cli.update(
        lambda s: (s.with_memories({"persona": block.cid}), {block.cid: block.data}),
        "memory: persona",
    )
    oid = ABSENT if kind == "gitlink" else None
    tree = commit_odd_entry(cli, f"{layout.BLOCKS}/{block.cid}", ODD_MODES[kind], oid)
    refused(mg, cli, out_dir, f"block {block.cid} in tree {tree} is not a regular file")


@pytest.mark.parametrize("kind", sorted(ODD_MODES))
def test_export_refuses_a_manifest_that_is_not_a_regular_file(
    cli: Store, mg: Mg, out_dir: Path, kind: str
) -> None:
    cli.think("the garden is quiet")
    oid = ABSENT if kind == "gitlink" else None
    tree = commit_odd_entry(cli, layout.MANIFEST, ODD_MODES[kind], oid)
    refused(mg, cli, out_dir, f"{layout.MANIFEST} in tree {tree} is not a regular file")


def test_a_state_holding_it_as_a_regular_file_is_exported(
    cli: Store, mg: Mg, out_dir: Path
) -> None:
    _, cid = cli.think("the garden is quiet")
    data = cli.thought(cid)
    assert mg("fork", "kept").code == 0
    assert mg("switch", "main").code == 0
    tree = commit_odd_entry(cli, f"{layout.THOUGHTS}/{cid}", pygit2.enums.FileMode.LINK)
    refused(mg, cli, out_dir, f"thought {cid} in tree {tree} is not a regular file")
    # Experiment kept holds the same thought as a regular file: its state is exported whole.
    for history in ((), ("--history",)):
        car = out_dir / "kept.car"
        r = mg("export", "kept", "--car", str(car), *history)
        assert r.code == 0, r.err
        copy = f"copy{len(history)}"
        assert mg("import", str(car), "--as", copy).code == 0
        r = mg("show", copy, "--json")
        assert r.code == 0 and str(cid) in r.out
        r = mg("cat", "--raw", str(cid))
        assert r.code == 0 and r.out.encode() == data
        car.unlink()


def _child(store: Store, tree: pygit2.Oid, parent: str, message: str) -> str:
    """A commit of ``tree``'s state on ``parent``, made main's head."""
    repo = store.repo
    manifest = layout.read_state(repo, repo[tree].peel(pygit2.Tree))[1]
    commit = store.write_commit(tree, [parent], message, manifest.cid)
    repo.references["refs/heads/main"].set_target(commit)
    return commit


@pytest.mark.parametrize("odd_first", [True, False], ids=["in the parent", "in the child"])
def test_history_export_refuses_any_state_show_refuses(
    cli: Store, mg: Mg, out_dir: Path, odd_first: bool
) -> None:
    """The thought is a regular file in one state and a symlink in the other: the history is
    refused whichever comes first (the block goes out once: the second state, not read for it,
    went unchecked)."""
    _, cid = cli.think("the garden is quiet")
    repo = cli.repo
    regular = repo[cli.head()].peel(pygit2.Tree).id
    if odd_first:
        odd = commit_odd_entry(cli, f"{layout.THOUGHTS}/{cid}", pygit2.enums.FileMode.LINK)
        _child(cli, regular, cli.head(), "think: the same state, as a regular file")
    else:
        base = cli.head()
        odd = commit_odd_entry(cli, f"{layout.THOUGHTS}/{cid}", pygit2.enums.FileMode.LINK)
        odd_tree = repo[cli.head()].peel(pygit2.Tree).id
        repo.references["refs/heads/main"].set_target(base)
        _child(cli, odd_tree, base, "think: the same state, as a symlink")
    wording = f"thought {cid} in tree {odd} is not a regular file"
    r = mg("export", "--history", "--car", str(out_dir / "h.car"))
    assert (r.code, r.out, r.err) == (1, "", f"mindgit: error: {wording}\n")
    assert os.listdir(out_dir) == []
    r = mg("export", "--car", str(out_dir / "plain.car"))
    if odd_first:
        # The head's own state is whole: a plain export is fine.
        assert r.code == 0, r.err
    else:
        assert r.err == f"mindgit: error: {wording}\n"


def _modes(store: Store, commit: str) -> set[int]:
    """The mode of every entry of ``commit``'s state tree and its subtrees' entries."""
    repo = store.repo
    tree = repo[commit].peel(pygit2.Tree)
    modes: set[int] = {tree[layout.MANIFEST].filemode}
    for dirname in (layout.THOUGHTS, layout.BLOCKS):
        if dirname in tree:
            modes.update(e.filemode for e in repo[tree[dirname].id].peel(pygit2.Tree))
    return modes


@pytest.mark.parametrize("kind", sorted(ODD_MODES))
def test_import_on_a_manifest_that_is_not_a_regular_file_makes_a_state(
    cli: Store, mg: Mg, out_dir: Path, kind: str
) -> None:
    """The head's manifest names the imported state's bytes but `show` cannot read it: the
    import is a commit on top, not "nothing changed" (a gitlink was a missing object)."""
    cli.think("the garden is quiet")
    car = out_dir / "state.car"
    assert mg("export", "--car", str(car)).code == 0
    oid = ABSENT if kind == "gitlink" else None
    commit_odd_entry(cli, layout.MANIFEST, ODD_MODES[kind], oid)
    assert mg("show").code == 1
    r = mg("import", str(car), "--as", "main", "--json")
    assert r.code == 0, r.err
    assert '"changed": true' in r.out
    assert mg("show").code == 0
    assert _modes(cli, cli.head()) == {layout.BLOB}


@pytest.mark.parametrize("history", [(), ("--history",)], ids=["plain", "history"])
def test_import_writes_the_blob_a_gitlink_in_the_head_names(
    cli: Store, mg: Mg, out_dir: Path, history: tuple[str, ...]
) -> None:
    """A gitlink in the head naming the block's blob id, absent: import counted it as a blob
    the store holds and left it out, so its regular entry named a missing object."""
    _, cid = cli.think("the garden is quiet")
    data = cli.thought(cid)
    car = out_dir / "state.car"
    assert mg("export", "--car", str(car), *history).code == 0
    # Another store of the same node: the gitlink's target, the blob's id, is not in it.
    other_path = out_dir.parent / "other"
    other = init_store(other_path, "other")
    other.think("a first thought")
    blob = pygit2.hash(data)
    assert blob not in other.repo
    commit_odd_entry(other, f"{layout.THOUGHTS}/{cid}", pygit2.enums.FileMode.COMMIT, blob)
    r = mg("--store", str(other.path), "import", str(car), "--as", "main")
    assert r.code == 0, r.err
    assert blob in other.repo
    assert mg("--store", str(other.path), "show").code == 0
    assert _modes(other, other.head()) == {layout.BLOB}
    fsck(other.path)
