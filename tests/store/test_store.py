from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pygit2
import pytest

from mindgit.ipld import dagjson
from mindgit.store.genome import Gene
from mindgit.store.repository import (
    ExperimentExists,
    NotAStore,
    NothingChanged,
    Store,
    StoreExists,
    StoreLocation,
    UnknownRef,
    init_store,
    open_store,
)
from tests.conftest import Mg, fsck, git


def test_init_makes_a_bare_signed_store(store: Store) -> None:
    assert store.repo.is_bare
    assert store.current == "main"
    key = store.path / "mindgit" / "node.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert store.public_key.did.startswith("did:key:z6Mk")
    assert [n.name for n in store.trust.nodes()] == ["alpha"]
    fsck(store.path)
    out = git("--git-dir", str(store.path), "log", "--format=%s %G?", "main")
    assert out.strip() == "init: alpha G"


def test_think_and_genome_commit_signed_states(store: Store) -> None:
    _c1, cid = store.think("the garden is quiet at dawn", ["observation"])
    store.set_genes([Gene.make("curiosity", "float", 0.7), Gene.make("patience", "int", 3)])
    snap = store.snapshot()
    assert snap.state.thoughts == {cid}
    assert snap.state.genome["curiosity"].value == 0.7
    assert dagjson.decode(store.thought(cid)) == {
        "tags": ["observation"],
        "text": "the garden is quiet at dawn",
        "type": "note",
    }
    # the blob is named by the CID of its bytes, and the manifest links it
    tree = git("--git-dir", str(store.path), "ls-tree", "-r", "--name-only", "main")
    assert tree.split() == ["manifest.json", f"thoughts/{cid}"]
    fsck(store.path)
    verified = subprocess.run(
        ["git", "--git-dir", str(store.path), "verify-commit", "main"], capture_output=True
    )
    assert verified.returncode == 0, verified.stderr
    assert b'Good "git" signature' in verified.stderr


def test_identical_thoughts_are_stored_once(store: Store) -> None:
    _, a = store.think("same", ["t"])
    with pytest.raises(NothingChanged):
        store.think("same", ["t"])
    assert len(store.state().thoughts) == 1
    store.fork("other")
    store.forget(a)
    _, b = store.think("same", ["t"])
    assert a == b
    blob_main = store.snapshot("main").tree[f"thoughts/{a}"].id
    blob_other = store.snapshot("other").tree[f"thoughts/{b}"].id
    assert blob_main == blob_other


def test_state_tree_has_no_clock_or_node_id(tmp_path: Path) -> None:
    a = init_store(tmp_path / "a", "a")
    b = init_store(tmp_path / "b", "b")
    for s in (a, b):
        s.think("hello")
        s.set_genes([Gene.make("x", "float", 0.5)])
    assert a.snapshot().tree.id == b.snapshot().tree.id
    assert a.snapshot().commit != b.snapshot().commit


def test_fork_switch_and_experiments(store: Store) -> None:
    store.think("one")
    store.fork("dreamer")
    assert store.current == "dreamer"
    store.think("two")
    store.switch("main")
    assert store.current == "main"
    assert store.experiments() == ["dreamer", "main"]
    assert len(store.state("dreamer").thoughts) == 2
    assert len(store.state().thoughts) == 1
    with pytest.raises(ExperimentExists):
        store.fork("dreamer")
    with pytest.raises(UnknownRef):
        store.switch("nope")
    assert store.resolve("dreamer~1") == store.head("main")


@pytest.mark.parametrize("name", ["", "-x", "a..b", "a b", "x.lock", "a//b", "../../evil"])
def test_bad_experiment_names(store: Store, name: str) -> None:
    from mindgit.errors import MindgitError

    before = sorted(store.repo.references)
    with pytest.raises(MindgitError):
        store.fork(name)
    assert sorted(store.repo.references) == before


def test_open_finds_store_from_env_and_parents(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(store.path / "refs" / "heads")
    assert open_store().path == store.path
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NotAStore):
        open_store()
    monkeypatch.setenv("MINDGIT_STORE", str(store.path))
    assert open_store().path == store.path
    with pytest.raises(NotAStore):
        open_store(tmp_path / "nothing")


def test_init_refuses_non_empty_target(tmp_path: Path) -> None:
    target = tmp_path / "full"
    target.mkdir()
    (target / "file").write_text("keep me")
    with pytest.raises(StoreExists):
        init_store(target, "x")
    assert [p.name for p in target.iterdir()] == ["file"]


def test_init_at_a_file_says_it_is_not_a_directory(tmp_path: Path, mg: Mg) -> None:
    """A file where the store should go was "already exists and is not empty" (empty it?)."""
    target = tmp_path / "file"
    target.write_text("keep me")
    with pytest.raises(StoreLocation, match="it is not a directory"):
        init_store(target, "x")
    r = mg("init", str(target), "--name", "x")
    assert r.code == 1
    assert r.err == (
        f"mindgit: error: cannot create a store at {target}: it is not a directory; "
        "nothing was changed\n"
    )
    assert target.read_text() == "keep me"
    r = mg("init", "/dev/null", "--name", "x")
    assert (r.code, "it is not a directory" in r.err) == (1, True), r


def test_init_with_existing_key(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    a = init_store(tmp_path / "a", "a", key_file=key)
    b = init_store(tmp_path / "b", "b", key_file=key)
    assert a.public_key == b.public_key
    pub = (tmp_path / "id_ed25519.pub").read_text().split()[1]
    assert a.public_key.openssh.split()[1] == pub
    assert not (a.path / "mindgit" / "node.key").exists()


def test_world_readable_key_is_refused_and_nothing_changes(store: Store) -> None:
    from mindgit.errors import MindgitError

    key = store.path / "mindgit" / "node.key"
    os.chmod(key, 0o644)
    head = store.head()
    fresh = Store(store.path)
    with pytest.raises(MindgitError, match="other users") as err:
        fresh.think("x")
    assert "chmod 600" in str(err.value.hint)
    assert fresh.head() == head


def test_concurrent_writers_lose_nothing(store: Store) -> None:
    script = (
        "import sys; from mindgit.store.repository import Store\n"
        "s = Store(sys.argv[1])\n"
        "for i in range(15): s.think(f'{sys.argv[2]} {i}')\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(store.path), w], stderr=subprocess.PIPE, text=True
        )
        for w in ("p", "q", "r")
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert len(store.state().thoughts) == 45
    fsck(store.path)


def test_cas_refuses_a_moved_ref(store: Store) -> None:
    from mindgit.store.refs import RefMoved, update_ref

    head = store.head()
    c, _ = store.think("moved")
    with pytest.raises(RefMoved):
        update_ref(store.repo, "refs/heads/main", head, head, message="x", committer="t <t>")
    assert store.head() == c.id


def test_git_update_ref_lock_is_respected(store: Store) -> None:
    from mindgit.store.refs import RefLocked, update_ref

    lock = store.path / "refs" / "heads" / "main.lock"
    lock.write_text("")
    head = store.head()
    with pytest.raises(RefLocked):
        update_ref(
            store.repo, "refs/heads/main", head, head, message="x", committer="t <t>", wait=0.2
        )
    assert lock.exists()  # someone else's lock is never removed


@pytest.mark.parametrize("name", ["foo.", "HEAD", "a.lock", "x@{1}", "sp ace", "tab\tx", "ctl\x01"])
def test_names_git_refuses_are_refused(store: Store, name: str) -> None:
    from mindgit.errors import MindgitError

    with pytest.raises(MindgitError):
        store.fork(name)
    fsck(store.path)


def test_names_that_clash_with_existing_refs(store: Store) -> None:
    from mindgit.store.refs import RefError

    store.fork("grp/a", switch=False)
    with pytest.raises(RefError, match="clashes"):
        store.fork("grp", switch=False)
    with pytest.raises(RefError, match="clashes"):
        store.fork("main/x", switch=False)
    assert store.experiments() == ["grp/a", "main"]


def test_non_commit_revisions_are_a_clear_error(store: Store) -> None:
    from mindgit.store.repository import NotACommit

    with pytest.raises(NotACommit, match="tree"):
        store.resolve("main^{tree}")
    with pytest.raises(NotACommit, match="blob"):
        store.resolve("main:manifest.json")


def test_a_writer_that_cannot_lock_writes_no_object(store: Store) -> None:
    from mindgit.store.refs import RefLocked, locked_ref

    objects = sorted(p.name for p in (store.path / "objects").rglob("*"))
    store.lock_wait = 0.1
    with locked_ref(store.repo, "refs/heads/main"), pytest.raises(RefLocked):
        store.think("blocked")
    assert sorted(p.name for p in (store.path / "objects").rglob("*")) == objects
    assert not (store.path / "refs" / "heads" / "main.lock").exists()


def test_trailers_are_read_from_the_last_paragraph_only(store: Store) -> None:
    from mindgit.store.verify import trailer

    c = store.set_genes([Gene.make("note", "str", "hi\nMindgit-Run: fakerun\n\nMindgit-X: y")])
    message = store.repo[c.id].peel(pygit2.Commit).message
    assert message.splitlines()[0].startswith("genome: set note=hi Mindgit-Run: fakerun")
    assert trailer(message, "Mindgit-Run") is None
    assert trailer(message, "Mindgit-State") == str(c.manifest)
    assert trailer("subject\n\nMindgit-Run: a\nMindgit-Run: b\n", "Mindgit-Run") == "b"
    assert trailer("Mindgit-Run: a", "Mindgit-Run") is None
