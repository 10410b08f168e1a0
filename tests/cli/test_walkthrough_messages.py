"""Messages a new user met in a walkthrough, each saying what to run or what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Mg
from tests.snapshots import changed, snapshot


def two_stores(mg: Mg, tmp_path: Path) -> tuple[str, str, str]:
    a, b = str(tmp_path / "alpha"), str(tmp_path / "beta")
    assert mg("init", a, "--name", "alpha").code == 0
    bdid = mg("init", b, "--name", "beta").out.strip()
    return a, b, bdid


def test_trust_hints_name_the_commands(mg: Mg, tmp_path: Path) -> None:
    a, _, bdid = two_stores(mg, tmp_path)
    assert mg("--store", a, "trust", "add", bdid, "--name", "beta").code == 0
    before = snapshot(Path(a))
    r = mg("--store", a, "trust", "add", bdid, "--name", "b2")
    assert r.code == 1
    assert r.err.endswith(
        f"(hint: to rename it, run `mindgit --store {a} trust remove beta`, then add it again)\n"
    ), r.err
    other = mg("init", str(tmp_path / "gamma"), "--name", "gamma").out.strip()
    r = mg("--store", a, "trust", "add", other, "--name", "beta")
    assert r.code == 1
    assert r.err.endswith(
        f"(hint: choose another name, or run `mindgit --store {a} trust remove beta` first)\n"
    ), r.err
    r = mg("--store", a, "trust", "remove", "nosuch")
    assert r.code == 1
    assert r.err.endswith(
        f"(hint: `mindgit --store {a} trust list` shows the trusted nodes' names and ids)\n"
    )
    assert changed(before, Path(a)) == []


def test_a_did_key_cut_short_is_named_by_its_length(mg: Mg, tmp_path: Path) -> None:
    a, _, bdid = two_stores(mg, tmp_path)
    before = snapshot(Path(a))
    for cut in (bdid[:-1], bdid[:-2], bdid[:30]):
        r = mg("--store", a, "trust", "add", cut, "--name", "x")
        assert r.code == 2
        assert f"(it is {len(cut)} characters long; an ed25519 did:key is 56)" in r.err, r.err
        assert "multicodec" not in r.err
    r = mg("--store", a, "trust", "add", bdid + "1", "--name", "x")
    assert r.code == 2 and "it is 57 characters long; an ed25519 did:key is 56 at most" in r.err
    assert changed(before, Path(a)) == []


def test_a_key_file_of_another_type_is_named_without_a_wrong_article(
    mg: Mg, tmp_path: Path
) -> None:
    import subprocess

    key = tmp_path / "rsa"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "rsa", "-b", "1024", "-N", "", "-f", str(key)], check=True
    )
    r = mg("init", str(tmp_path / "s"), "--name", "s", "--key", str(key))
    assert r.code != 0
    assert f"node key {key} is a key of type ssh-rsa; mindgit node keys are ed25519" in r.err
    assert not (tmp_path / "s").exists()


def test_gene_kinds_take_their_article(mg: Mg, tmp_path: Path) -> None:
    a, _, _ = two_stores(mg, tmp_path)
    assert mg("--store", a, "genome", "set", "n=2", "f=1.5", "v=[1,2]").code == 0
    before = snapshot(Path(a))
    for value, said in [
        ("n=2.5", "gene 'n': is an int gene; '2.5' is not an int"),
        ("f=abc", "gene 'f': is a float gene; 'abc' is not a float"),
        ("v=x", "gene 'v': is a floats gene; 'x' is not a list of floats"),
    ]:
        r = mg("--store", a, "genome", "set", value)
        assert r.code != 0 and said in r.err, r.err
    assert changed(before, Path(a)) == []


def test_a_store_path_that_does_not_exist_is_said_to_be_missing(
    mg: Mg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere"
    r = mg("--store", str(missing), "show")
    assert r.code == 1
    # It said "is not a mindgit store" and to point at one with --store, which was given.
    assert r.err == (
        f"mindgit: error: {missing} does not exist (hint: give the path of a store, or create "
        "one with `mindgit init PATH`)\n"
    )
    assert not missing.exists()
    r = mg("--store", str(tmp_path), "show")
    assert r.code == 1 and r.err.startswith(f"mindgit: error: {tmp_path} is not a mindgit store")
    assert "--store" not in r.err
    monkeypatch.setenv("MINDGIT_STORE", str(missing))
    r = mg("show")
    assert r.code == 1
    assert r.err == (
        f"mindgit: error: MINDGIT_STORE names {missing}, which does not exist (hint: set "
        "MINDGIT_STORE to a store's path (or unset it), or give --store)\n"
    )
    r = mg("show", "--json")
    assert r.code == 1 and '"type": "NotAStore"' in r.out
    monkeypatch.delenv("MINDGIT_STORE")
    monkeypatch.chdir(tmp_path)
    r = mg("show")
    assert r.code == 1 and "is not a mindgit store, nor is any directory above it" in r.err
    assert "point at one with --store or MINDGIT_STORE" in r.err
