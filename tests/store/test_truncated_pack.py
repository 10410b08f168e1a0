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

from mindgit.store.repository import init_store
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


@pytest.fixture
def store(made: Path, tmp_path: Path) -> Path:
    shutil.copytree(made, tmp_path / "s", symlinks=True)
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
    pack = the_pack(store)
    aside = store.parent / "aside"
    aside.mkdir()
    for f in pack.parent.glob(pack.stem + ".*"):
        f.rename(aside / f.name)
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
