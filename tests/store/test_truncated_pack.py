"""A pack file cut short: libgit2 leaves the whole pack out, with no error, so every ref into it
pointed "at <id>, which is not in the store" and `verify --all` said nothing of the cause. It
now names the pack whose index lists the commit, says it is damaged or cut short, and names the
next step (`git fsck`, docs/store.md's repair); nothing on disk changes. The page's repair of
such a pack runs as written.

Real stores, packed by the real git, cut with truncate.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mindgit.store.repository import (
    CommitUnreadable,
    ExperimentAtNoCommit,
    Store,
    init_store,
    open_store,
)
from tests.conftest import ROOT, Mg, git
from tests.docs_pages.shell import sh
from tests.snapshots import changed, snapshot

PAGE = (ROOT / "docs" / "store.md").read_text()
[BLOCK] = [b for b in re.findall(r"```sh\n(.*?)```", PAGE, re.S) if "peer-mirror" in b]
PAGE_PACK = re.search(r"^pack=(objects/pack/pack-[0-9a-f]{40}\.pack) ", BLOCK, re.M)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of two experiments, every object in one pack (refs packed too)."""
    path = tmp_path_factory.mktemp("truncated-pack") / "s"
    store = init_store(path, "alpha")
    for text in ("first", "second"):
        store.think(text)
    store.fork("ideas")
    store.think("third", experiment="ideas")
    git("--git-dir", str(path), "gc", "-q")
    assert not list(path.glob("objects/[0-9a-f][0-9a-f]/*"))  # no loose object left
    return path


def the_pack(store: Path) -> Path:
    [pack] = (store / "objects" / "pack").glob("*.pack")
    return pack


def cut(pack: Path) -> None:
    """Cut the pack file to half its length (git writes it read-only)."""
    size = pack.stat().st_size
    pack.chmod(0o644)
    with pack.open("r+b") as f:
        f.truncate(size // 2)


def set_aside(store: Path) -> None:
    """The pack and its index moved out of the store: its objects are gone, not damaged."""
    pack = the_pack(store)
    aside = store.parent / "aside"
    aside.mkdir()
    for f in pack.parent.glob(pack.stem + ".*"):
        f.rename(aside / f.name)


def cut_alone(store: Path, oid: str) -> None:
    """Move the loose object ``oid`` into a pack of its own, and cut that pack short."""
    git(
        "--git-dir",
        str(store),
        "pack-objects",
        "-q",
        str(store / "objects" / "pack" / "pack"),
        input=f"{oid}\n".encode(),
    )
    (store / "objects" / oid[:2] / oid[2:]).unlink()
    cut(the_pack(store))


@pytest.fixture
def store(made: Path, tmp_path: Path) -> Path:
    shutil.copytree(made, tmp_path / "s", symlinks=True)
    # Opened once: a copy's first opening points its git at its own trust file (a config write
    # each test's "nothing changed" would otherwise count).
    Store(tmp_path / "s")
    return tmp_path / "s"


def tips(store: Path) -> dict[str, str]:
    out = git("--git-dir", str(store), "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(line.split() for line in out.splitlines())


def test_verify_all_names_the_pack_cut_short_and_the_next_step(store: Path, mg: Mg) -> None:
    refs = tips(store)
    assert {"refs/heads/main", "refs/heads/ideas"} <= set(refs)
    pack = the_pack(store)
    cut(pack)
    shown = f"objects/pack/{pack.name}"
    before = snapshot(store)

    r = mg("--store", str(store), "verify", "--all")
    assert r.code == 1, r
    fails = r.out.splitlines()
    # One line per ref into the pack, each naming the cause and what to do next.
    assert len(fails) == len(refs), fails
    for ref, oid in refs.items():
        [line] = [f for f in fails if f.startswith(f"FAIL {ref}: ")]
        assert line == (
            f"FAIL {ref}: points at {oid}, which cannot be read: {shown}, whose index lists it, "
            "is damaged or cut short (none of its objects can be read); `git fsck` names what "
            "is damaged, and docs/store.md, 'A store damaged on disk', says how to repair it"
        )
    assert "which is not in the store" not in r.out
    assert r.err.endswith(f"0 commits checked, 0 failed, {len(refs)} refs point at no commit\n")

    r = mg("--store", str(store), "verify", "--all", "--json")
    assert r.code == 1
    out = json.loads(r.out)
    assert out["ok"] is False and out["checked"] == 0
    assert {p["ref"] for p in out["refs"]} == set(refs)
    assert all(shown in p["reason"] and "git fsck" in p["reason"] for p in out["refs"])
    assert changed(before, store) == []


def test_a_commit_no_pack_lists_is_said_to_be_missing_or_unreadable(store: Path, mg: Mg) -> None:
    """The pack set aside whole (index too): nothing lists the commits any more."""
    set_aside(store)
    before = snapshot(store)
    r = mg("--store", str(store), "verify", "--all")
    assert r.code == 1, r
    assert sorted(r.out.splitlines()) == [
        f"FAIL {ref}: points at {oid}, which is not in the store: its objects are missing or "
        "cannot be read; `git fsck` names what is missing or damaged, and docs/store.md, "
        "'A store damaged on disk', says how to repair it"
        for ref, oid in sorted(tips(store).items())
    ]
    assert changed(before, store) == []


def test_the_pages_repair_of_a_pack_cut_short_runs_as_written(store: Path, tmp_path: Path) -> None:
    assert PAGE_PACK is not None, BLOCK
    # A peer holding every object: a mirror taken before the damage.
    peer = tmp_path / "peer"
    git("clone", "-q", "--mirror", "--no-local", str(store), str(peer))
    pack = the_pack(store)
    cut(pack)
    r = sh("mindgit verify --all", store)
    assert r.returncode == 1 and f"objects/pack/{pack.name}" in r.stdout

    script = (
        BLOCK.replace(PAGE_PACK.group(1), f"objects/pack/{pack.name}")
        .replace("/tmp/", f"{tmp_path}/")
        .replace("URL", str(peer))
    )
    r = sh(script, store)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^\d+ commits checked, 0 failed$", r.stderr, re.M), r.stderr
    assert (tmp_path / "damaged-pack" / pack.name).is_file()  # set aside, not deleted
    fsck = subprocess.run(["git", "--git-dir", str(store), "fsck"], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr


# verify, log and show of an experiment (not --all) read its head through Store.head: that said
# "points at <id>, which is not in the store" and offered `git update-ref -d` on the ref, which
# deletes the experiment where the repair above restores its commit.
BY_HEAD = [("verify",), ("log",), ("show",), ("verify", "main"), ("log", "main"), ("show", "main")]

HINT = (
    "`git --git-dir {store} fsck` names what is damaged, and docs/store.md, 'A store damaged "
    "on disk', says how to repair it"
)


def damaged_head(store: Path, name: str, oid: str, cause: str) -> str:
    return (
        f"mindgit: error: experiment {name!r} points at {oid}, which cannot be read: {cause} "
        f"(hint: {HINT.format(store=store.resolve())})\n"
    )


def pack_cause(pack: Path) -> str:
    return (
        f"objects/pack/{pack.name}, whose index lists it, is damaged or cut short (none of its "
        "objects can be read)"
    )


@pytest.mark.parametrize("args", BY_HEAD, ids=[" ".join(a) for a in BY_HEAD])
def test_verify_log_show_name_the_pack_cut_short_not_a_ref_to_delete(
    store: Path, mg: Mg, args: tuple[str, ...]
) -> None:
    refs = tips(store)
    pack = the_pack(store)
    cut(pack)
    before = snapshot(store)
    r = mg("--store", str(store), *args)
    assert r.code == 1, r
    name = args[1] if len(args) > 1 else "ideas"  # fork switched to it
    assert r.err == damaged_head(store, name, refs[f"refs/heads/{name}"], pack_cause(pack))
    assert "update-ref" not in r.err and r.out == ""
    assert changed(before, store) == []


def test_the_library_names_the_pack_cut_short_not_a_ref_to_delete(store: Path) -> None:
    refs = tips(store)
    pack = the_pack(store)
    cut(pack)
    before = snapshot(store)
    opened = open_store(store)
    for call in (opened.verify, opened.head, lambda: opened.head("main")):
        with pytest.raises(ExperimentAtNoCommit) as caught:
            call()
        e = caught.value
        assert e.oid == refs[f"refs/heads/{e.name}"]
        assert str(e) == (
            f"experiment {e.name!r} points at {e.oid}, which cannot be read: {pack_cause(pack)}"
        )
        assert e.hint == HINT.format(store=store.resolve())
    assert changed(before, store) == []


@pytest.mark.parametrize("args", BY_HEAD[:3], ids=[" ".join(a) for a in BY_HEAD[:3]])
def test_a_commit_no_pack_lists_keeps_the_update_ref_hint(
    store: Path, mg: Mg, args: tuple[str, ...]
) -> None:
    """The pack set aside whole (index too): the commit is gone from the store, and pointing
    the experiment elsewhere (or deleting it) is what is left to do."""
    oid = tips(store)["refs/heads/ideas"]
    set_aside(store)
    before = snapshot(store)
    r = mg("--store", str(store), *args)
    assert r.code == 1, r
    at = store.resolve()
    assert r.err == (
        f"mindgit: error: experiment 'ideas' points at {oid}, which is not in the store (hint: "
        f"point it at a commit with `git --git-dir {at} update-ref refs/heads/ideas <commit>`, "
        f"or delete it with `git --git-dir {at} update-ref -d refs/heads/ideas`)\n"
    )
    assert changed(before, store) == []


def test_an_index_cut_short_is_no_reason_to_delete_the_ref(store: Path, mg: Mg) -> None:
    """The index itself cut short: whether its pack holds the commit cannot be told."""
    refs = tips(store)
    idx = the_pack(store).with_suffix(".idx")
    cut(idx)
    before = snapshot(store)
    cause = f"objects/pack/{idx.name} cannot be read, and its pack may hold it"
    r = mg("--store", str(store), "log")
    assert r.code == 1, r
    assert r.err == damaged_head(store, "ideas", refs["refs/heads/ideas"], cause)
    r = mg("--store", str(store), "verify", "--all")
    assert r.code == 1, r
    main = refs["refs/heads/main"]
    assert f"FAIL refs/heads/main: points at {main}, which cannot be read: {cause}; " in r.out
    assert changed(before, store) == []


def test_a_file_at_the_commits_loose_path_git_cannot_read_is_named(store: Path, mg: Mg) -> None:
    """The pack set aside, and a directory where the commit's loose file would be: libgit2
    reads no object there, and says nothing of it."""
    oid = tips(store)["refs/heads/ideas"]
    set_aside(store)
    (store / "objects" / oid[:2] / oid[2:]).mkdir(parents=True)
    before = snapshot(store)
    r = mg("--store", str(store), "show")
    assert r.code == 1, r
    cause = (
        f"objects/{oid[:2]}/{oid[2:]}, its loose file, is there but holds no object git can read"
    )
    assert r.err == damaged_head(store, "ideas", oid, cause)
    assert changed(before, store) == []


def test_a_version_1_index_is_read_too(store: Path, mg: Mg) -> None:
    """git wrote version 1 indexes before 1.5.2, and still does when asked."""
    refs = tips(store)
    old = the_pack(store)
    listed = "".join(f"{oid}\n" for oid in refs.values())
    git(
        "--git-dir",
        str(store),
        "pack-objects",
        "-q",
        "--revs",
        "--index-version=1",
        str(store / "objects" / "pack" / "pack"),
        input=listed.encode(),
    )
    for f in old.parent.glob(old.stem + ".*"):
        f.unlink()
    pack = the_pack(store)
    assert not pack.with_suffix(".idx").read_bytes().startswith(b"\xfftOc")  # version 1
    cut(pack)
    r = mg("--store", str(store), "log", "main")
    assert r.code == 1, r
    assert r.err == damaged_head(store, "main", refs["refs/heads/main"], pack_cause(pack))


# A partial repair (the pack set aside, what it held before the cut unpacked) can leave a
# commit that reads whose thoughts directory does not: verify said "(thoughts): is not a
# directory", as of a file filed where a directory belongs.


@pytest.fixture
def thoughts_packed(tmp_path: Path) -> tuple[Path, str, str]:
    """A store of loose objects but for the head's thoughts tree, alone in a pack cut short."""
    path = tmp_path / "loose"
    store = init_store(path, "alpha")
    for text in ("first", "second"):
        store.think(text)
    head = store.head()
    tree = git("--git-dir", str(path), "rev-parse", f"{head}^{{tree}}:thoughts").strip()
    cut_alone(path, tree)
    return path, head, tree


def test_a_thoughts_tree_in_a_pack_cut_short_is_named_unreadable(
    thoughts_packed: tuple[Path, str, str], mg: Mg
) -> None:
    store, head, tree = thoughts_packed
    pack = the_pack(store)
    before = snapshot(store)
    r = mg("--store", str(store), "verify")
    assert r.code == 1, r
    assert r.out == (
        f"FAIL {head[:12]} (thoughts): tree {tree} is missing or cannot be read: "
        f"{pack_cause(pack)}; `git fsck` names what is damaged, and docs/store.md, 'A store "
        "damaged on disk', says how to repair it\n"
    )
    assert "is not a directory" not in r.out
    assert changed(before, store) == []


def test_a_thoughts_tree_missing_after_a_partial_repair_is_named_missing(
    thoughts_packed: tuple[Path, str, str], mg: Mg
) -> None:
    store, head, tree = thoughts_packed
    set_aside(store)
    before = snapshot(store)
    r = mg("--store", str(store), "verify", "--all")
    assert r.code == 1, r
    assert r.out == f"FAIL {head[:12]} (thoughts): tree {tree} is missing or cannot be read\n"
    report = open_store(store).verify(all_refs=True)
    assert [p.reason for p in report.problems] == [f"tree {tree} is missing or cannot be read"]
    assert changed(before, store) == []


# A revision (a full commit id, or `main~1`) whose commit is in a pack cut short was an
# "unknown experiment or revision": Store.resolve took the commit it could not read for a name
# that names nothing, and sent the user looking for a typo.


def unreadable_commit(store: Path, rev: str, oid: str, cause: str) -> str:
    named = f"commit {oid}" if rev == oid else f"{rev!r} reaches commit {oid}, which"
    return f"mindgit: error: {named} cannot be read: {cause} (hint: {HINT.format(store=store)})\n"


@pytest.mark.parametrize("args", [("show",), ("verify",), ("log",), ("log", "-n", "1")])
def test_a_commit_id_in_a_pack_cut_short_is_named_unreadable(
    store: Path, mg: Mg, args: tuple[str, ...]
) -> None:
    main = tips(store)["refs/heads/main"]
    pack = the_pack(store)
    cut(pack)
    before = snapshot(store)
    for rev in (main, "main~1", "main^", "refs/heads/main~1"):
        r = mg("--store", str(store), *args, rev)
        assert r.code == 1, r
        assert r.err == unreadable_commit(store.resolve(), rev, main, pack_cause(pack)), rev
        assert r.out == ""
    # An id no index lists names nothing (short ids: test_short_id_in_a_cut_pack.py).
    for rev in ("0" * 40, "nosuch~1"):
        r = mg("--store", str(store), *args, rev)
        assert r.code == 1, r
        assert r.err.startswith(f"mindgit: error: unknown experiment or revision {rev!r} ")
    assert changed(before, store) == []


@pytest.fixture
def parent_packed(tmp_path: Path) -> tuple[Path, str, str]:
    """A store of loose objects but for the head's parent commit, alone in a pack cut short:
    (the store, the head, the parent)."""
    path = tmp_path / "loose"
    store = init_store(path, "alpha")
    for text in ("first", "second"):
        store.think(text)
    head = store.head()
    parent = git("--git-dir", str(path), "rev-parse", f"{head}~1").strip()
    cut_alone(path, parent)
    return path, head, parent


@pytest.mark.parametrize("args", [("show",), ("verify",), ("log",)])
def test_a_revision_whose_walk_reaches_a_commit_in_a_pack_cut_short(
    parent_packed: tuple[Path, str, str], mg: Mg, args: tuple[str, ...]
) -> None:
    store, head, parent = parent_packed
    pack = the_pack(store)
    before = snapshot(store)
    for rev in (parent, "main~1", "main~2", f"{head}^", f"{head}~1^1"):
        r = mg("--store", str(store), *args, rev)
        assert r.code == 1, r
        assert r.err == unreadable_commit(store.resolve(), rev, parent, pack_cause(pack)), rev
    # No second parent, no tree syntax: those name nothing (or not a walk this follows).
    for rev in ("main^2", "main~1^{tree}"):
        r = mg("--store", str(store), *args, rev)
        assert r.err.startswith(f"mindgit: error: unknown experiment or revision {rev!r} "), r
    assert changed(before, store) == []


def test_a_parent_gone_after_a_partial_repair_is_named_not_unknown(
    parent_packed: tuple[Path, str, str], mg: Mg
) -> None:
    """The pack set aside whole: the parent is in no index, but the head names it."""
    store, _, parent = parent_packed
    set_aside(store)
    before = snapshot(store)
    r = mg("--store", str(store), "show", "main~1")
    assert r.code == 1, r
    at = store.resolve()
    assert r.err == (
        f"mindgit: error: 'main~1' reaches commit {parent}, which is not in the store (the "
        f"history is incomplete) (hint: `git --git-dir {at} fsck` lists what is missing, and "
        "docs/store.md, 'A store damaged on disk', says how to repair it)\n"
    )
    # Typed as an id, it is one this store does not hold: nothing says it ever did.
    r = mg("--store", str(store), "show", parent)
    assert r.err.startswith(f"mindgit: error: unknown experiment or revision '{parent}' "), r
    assert changed(before, store) == []


def test_the_library_raises_commit_unreadable(parent_packed: tuple[Path, str, str]) -> None:
    store, _, parent = parent_packed
    opened = open_store(store)
    with pytest.raises(CommitUnreadable) as caught:
        opened.resolve("main~1")
    assert (caught.value.oid, caught.value.cause) == (parent, pack_cause(the_pack(store)))


def test_log_names_the_pack_of_a_commit_its_walk_cannot_read(
    parent_packed: tuple[Path, str, str], mg: Mg
) -> None:
    """log's walk met the parent as absent: "the history is incomplete: commit <id> is missing
    from this store", where a pack index lists it."""
    store, head, parent = parent_packed
    pack = the_pack(store)
    before = snapshot(store)
    at = store.resolve()
    for args in (("log",), ("log", "--json")):
        r = mg("--store", str(store), *args)
        assert r.code == 1, r
        assert r.err == (
            f"mindgit: error: the store is damaged: object {parent} cannot be read "
            f"({pack_cause(pack)}) (hint: {HINT.format(store=at)})\n"
        )
    # The commits before it still list.
    r = mg("--store", str(store), "log", "-n", "1")
    assert r.code == 0 and r.out.startswith(f"{head[:12]} ")
    assert changed(before, store) == []


def test_verify_with_a_trust_file_names_a_commit_in_a_pack_cut_short(
    store: Path, mg: Mg, tmp_path: Path
) -> None:
    """`verify --trust FILE` (any git repository, a CI checkout) resolved revisions itself and
    called such a commit an unknown revision; it names it as a store does."""
    trust = tmp_path / "allowed_signers"
    trust.write_text(mg("--store", str(store), "trust", "export").out)
    main = tips(store)["refs/heads/main"]
    pack = the_pack(store)
    cut(pack)
    before = snapshot(store)
    for rev, named in ((main, main), ("main~1", "main~1"), (main[:10], main)):
        r = mg("--store", str(store), "verify", "--trust", str(trust), rev)
        assert r.code == 1, r
        assert r.err == unreadable_commit(store.resolve(), named, main, pack_cause(pack)), rev
    r = mg("--store", str(store), "verify", "--trust", str(trust), "0" * 40)
    assert r.code == 1, r
    assert r.err.startswith(f"mindgit: error: unknown experiment or revision {'0' * 40!r} ")
    assert changed(before, store) == []
