"""A short id (`mindgit show 1a2b3c4`) of a commit in a pack cut short was an "unknown
experiment or revision", where its full id and `main~1` named the damaged pack: libgit2 looks a
short id up only among the objects it can read, and leaves such a pack out whole. The pack
indexes are searched for the prefix too; a prefix they list once names the commit and its pack,
with `git fsck` and docs/store.md's repair as the hint. Nothing on disk changes.

Real stores, packed by the real git, cut with truncate.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from mindgit.store.damage import listed_by_prefix
from mindgit.store.repository import CommitUnreadable, Store, init_store, open_store
from tests.conftest import Mg, git
from tests.snapshots import changed, snapshot
from tests.store.test_truncated_pack import (
    cut,
    pack_cause,
    set_aside,
    the_pack,
    tips,
    unreadable_commit,
)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of two commits, every object in one pack."""
    path = tmp_path_factory.mktemp("short-id") / "s"
    store = init_store(path, "alpha")
    for text in ("first", "second"):
        store.think(text)
    git("--git-dir", str(path), "gc", "-q")
    return path


@pytest.fixture
def store(made: Path, tmp_path: Path) -> Path:
    shutil.copytree(made, tmp_path / "s", symlinks=True)
    # Opened once: a copy's first opening points its git at its own trust file (a config write
    # each test's "nothing changed" would otherwise count).
    Store(tmp_path / "s")
    return tmp_path / "s"


@pytest.mark.parametrize("args", [("show",), ("verify",), ("log",)])
def test_a_short_id_in_a_pack_cut_short_is_named_unreadable(
    store: Path, mg: Mg, args: tuple[str, ...]
) -> None:
    main = tips(store)["refs/heads/main"]
    pack = the_pack(store)
    cut(pack)
    before = snapshot(store)
    at = store.resolve()
    for rev in (main[:4], main[:7], main[:12], main[:12].upper(), main[:39]):
        r = mg("--store", str(store), *args, rev)
        assert r.code == 1, r
        assert r.err == unreadable_commit(at, main, main, pack_cause(pack)), rev
        assert r.out == ""
    # Its steps are followed as a full id's are.
    r = mg("--store", str(store), *args, f"{main[:7]}~1")
    assert r.err == unreadable_commit(at, f"{main[:7]}~1", main, pack_cause(pack)), r
    # Under 4 digits is no short id to git; a prefix no index lists names nothing.
    absent = next(p for p in ("0000000", "fffffff") if not main.startswith(p))
    for rev in (main[:3], absent):
        r = mg("--store", str(store), *args, rev)
        assert r.code == 1, r
        assert r.err.startswith(f"mindgit: error: unknown experiment or revision {rev!r} "), r
    assert changed(before, store) == []


def test_the_library_raises_commit_unreadable_for_a_short_id(store: Path) -> None:
    main = tips(store)["refs/heads/main"]
    pack = the_pack(store)
    cut(pack)
    with pytest.raises(CommitUnreadable) as caught:
        open_store(store).resolve(main[:8])
    assert (caught.value.oid, caught.value.cause) == (main, pack_cause(pack))
    assert str(caught.value).startswith(f"commit {main} cannot be read: ")


def test_a_short_id_of_a_pack_set_aside_names_nothing(store: Path, mg: Mg) -> None:
    """No index lists it any more: as for a full id, nothing says the store ever held it."""
    main = tips(store)["refs/heads/main"]
    set_aside(store)
    r = mg("--store", str(store), "show", main[:12])
    assert r.code == 1, r
    assert r.err.startswith(f"mindgit: error: unknown experiment or revision {main[:12]!r} ")


@pytest.mark.parametrize("version", [2, 1])
def test_listed_by_prefix_agrees_with_git(made: Path, tmp_path: Path, version: int) -> None:
    """Every prefix of every length git takes, and some no id has, against git's own
    reading of the index (`git show-index`)."""
    idx = the_pack(made).with_suffix(".idx")
    if version == 1:
        out = tmp_path / "v1"
        git("init", "-q", "--bare", str(out))
        listed = git("--git-dir", str(made), "rev-list", "--objects", "--all")
        git(
            "--git-dir",
            str(made),
            "pack-objects",
            "-q",
            "--index-version=1",
            str(out / "objects" / "pack" / "pack"),
            input="".join(line.split()[0] + "\n" for line in listed.splitlines()).encode(),
        )
        made, idx = out, the_pack(out).with_suffix(".idx")
    assert idx.read_bytes().startswith(b"\xfftOc") == (version == 2)
    with idx.open("rb") as f:
        ids = sorted(line.split()[1] for line in git("show-index", input=f.read()).splitlines())
    assert len(ids) > 10
    rng = random.Random(7)
    prefixes = {i[:n] for i in ids for n in (2, 3, 4, 7, 40)}
    prefixes |= {"".join(rng.choice("0123456789abcdef") for _ in range(n)) for n in range(2, 9)}
    for prefix in sorted(prefixes):
        want = [i for i in ids if i.startswith(prefix)]
        assert listed_by_prefix(made, prefix) == want, prefix
