"""A ref a pull kept apart names the command that resolves it (docs/sync.md): push said "pull
first to merge" and pull "kept ours" round and round; sync said the peer failed when only one
ref was not pushed."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import FIXTURES, Mg, git

RASTRIGIN = FIXTURES / "fitness" / "rastrigin.wat"


def ok(mg: Mg, *args: str) -> str:
    r = mg(*args)
    assert r.code == 0, r.out + r.err
    return r.out + r.err


def two_nodes(mg: Mg, tmp_path: Path) -> tuple[str, str]:
    a, b = str(tmp_path / "alpha"), str(tmp_path / "beta")
    adid = mg("init", a, "--name", "alpha").out.strip()
    bdid = mg("init", b, "--name", "beta").out.strip()
    ok(mg, "--store", a, "trust", "add", bdid, "--name", "beta")
    ok(mg, "--store", b, "trust", "add", adid, "--name", "alpha")
    ok(mg, "--store", a, "remote", "add", "beta", b, "--node", "beta")
    ok(mg, "--store", b, "remote", "add", "alpha", a, "--node", "alpha")
    return a, b


def diverged(mg: Mg, tmp_path: Path) -> tuple[str, str]:
    """alpha and beta share `dreams`, then each sets gene x differently on it."""
    a, b = two_nodes(mg, tmp_path)
    ok(mg, "--store", a, "fitness", "add", str(RASTRIGIN))
    ok(mg, "--store", a, "fork", "dreams")
    ok(mg, "--store", a, "genome", "set", "x=1", "--min", "-5", "--max", "5")
    ok(mg, "--store", a, "push", "beta", "dreams")
    ok(mg, "--store", b, "genome", "set", "-e", "dreams", "x=2")
    ok(mg, "--store", a, "genome", "set", "-e", "dreams", "x=3")
    return a, b


def hand_merge(a: str) -> str:
    """The merge a kept-apart ref names, with the --store the test typed (as the CLI adds it)."""
    return f"`mindgit --store {a} merge refs/peers/beta/heads/dreams --into dreams --fitness NAME`"


def test_a_conflict_no_fitness_decides_names_both_ways_out(mg: Mg, tmp_path: Path) -> None:
    a, _ = diverged(mg, tmp_path)
    out = ok(mg, "--store", a, "pull", "beta")
    line = re.search(r"^conflict\trefs/heads/dreams\t.*$", out, re.M)
    assert line is not None, out
    assert "no fitness decides: kept ours; theirs is refs/peers/beta/heads/dreams" in line[0]
    assert (
        f"pull again with --fitness NAME (or after `mindgit --store {a} config set fitness NAME`)"
        in line[0]
    )
    assert f"or run {hand_merge(a)}, then `mindgit --store {a} push beta dreams`" in line[0]


def test_push_after_a_pull_kept_it_apart_names_the_merge_not_pull(mg: Mg, tmp_path: Path) -> None:
    a, b = diverged(mg, tmp_path)
    ok(mg, "--store", a, "pull", "beta")  # conflict: kept apart
    r = mg("--store", a, "push", "beta", "dreams")
    assert r.code == 1
    assert "pull first" not in r.out + r.err
    want = f"the last pull kept theirs apart as refs/peers/beta/heads/dreams: run {hand_merge(a)}"
    assert want in r.out and want in r.err, r.out + r.err
    # With a module configured, it decides: no --fitness NAME to add.
    ok(mg, "--store", a, "config", "set", "fitness", "rastrigin")
    r = mg("--store", a, "push", "beta", "dreams")
    assert f"--into dreams`, then `mindgit --store {a} push beta dreams`" in r.out, r.out
    # The command it names, run as named, resolves it.
    ok(mg, "--store", a, "merge", "refs/peers/beta/heads/dreams", "--into", "dreams")
    ok(mg, "--store", a, "push", "beta", "dreams")
    heads = {git("--git-dir", d, "rev-parse", "refs/heads/dreams") for d in (a, b)}
    assert len(heads) == 1


def test_unrelated_experiment_names_allow_unrelated(mg: Mg, tmp_path: Path) -> None:
    a, b = two_nodes(mg, tmp_path)
    ok(mg, "--store", a, "think", "alpha on main")
    ok(mg, "--store", b, "think", "beta on main")
    out = ok(mg, "--store", a, "pull", "beta")
    step = (
        f"run `mindgit --store {a} merge refs/peers/beta/heads/main --into main --allow-unrelated "
        f"--fitness NAME`, then `mindgit --store {a} push beta main`"
    )
    assert re.search(r"^unrelated\trefs/heads/main\t.*" + re.escape(step), out, re.M), out
    r = mg("--store", a, "push", "beta")
    assert r.code == 1 and step in r.out, r.out
