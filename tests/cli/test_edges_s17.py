"""Command-line edges (review pass 17, H1): a --store the command passed over, empty
arguments, paths that would print a line of their own, reflog indexes git cannot count to."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from mindgit.store.repository import init_store, open_store
from tests.conftest import ROOT, Mg, git

# --- 1. --store given to the commands that open no store -----------------------------------


def test_init_takes_store_as_path(mg: Mg, tmp_path: Path) -> None:
    r = mg("--store", str(tmp_path / "s"), "init", "--name", "n")
    assert r.code == 0, r.err
    assert open_store(tmp_path / "s").name == "n"


def test_init_same_store_and_path(mg: Mg, tmp_path: Path) -> None:
    r = mg("--store", str(tmp_path / "s"), "init", str(tmp_path / "s") + "/", "--name", "n")
    assert r.code == 0, r.err
    assert open_store(tmp_path / "s").name == "n"


def test_init_same_store_and_path_through_a_link(mg: Mg, tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    r = mg(
        "--store", str(tmp_path / "link" / "s"), "init", str(tmp_path / "real" / "s"), "--name", "n"
    )
    assert r.code == 0, r.err
    assert open_store(tmp_path / "real" / "s").name == "n"


def test_init_refuses_store_and_another_path(mg: Mg, tmp_path: Path) -> None:
    r = mg("--store", str(tmp_path / "x"), "init", str(tmp_path / "y"), "--name", "n")
    assert r.code == 2, r.err
    assert "--store" in r.err and "PATH" in r.err and "nothing was created" in r.err
    assert list(tmp_path.iterdir()) == []


def test_init_without_path_or_store(mg: Mg, tmp_path: Path) -> None:
    r = mg("init", "--name", "n")
    assert r.code == 2 and "PATH is missing" in r.err, r.err


def test_init_reads_no_store_variable(
    mg: Mg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MINDGIT_STORE", str(tmp_path / "elsewhere"))
    r = mg("init", str(tmp_path / "s"), "--name", "n")
    assert r.code == 0, r.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


def _clone(tmp_path: Path) -> Path:
    init_store(tmp_path / "origin", "origin")
    git("clone", "-q", str(tmp_path / "origin"), str(tmp_path / "work"))
    return tmp_path / "work"


def test_git_setup_takes_the_node_from_store(mg: Mg, tmp_path: Path) -> None:
    work = _clone(tmp_path)
    mine = init_store(tmp_path / "mine", "mine")
    r = mg("--store", str(mine.path), "git-setup", str(work), "--no-fetch", "--json")
    assert r.code == 0, r.err
    assert f'"node": "{mine.public_key.did}"' in r.out


def test_git_setup_refuses_store_and_another_node(mg: Mg, tmp_path: Path) -> None:
    work = _clone(tmp_path)
    mine = init_store(tmp_path / "mine", "mine")
    other = open_store(tmp_path / "origin").public_key.did
    before = (work / ".git" / "config").read_bytes()
    r = mg("--store", str(mine.path), "git-setup", str(work), "--no-fetch", "--node", other)
    assert r.code == 2 and "--node and --store" in r.err, r.err
    assert (work / ".git" / "config").read_bytes() == before
    r = mg("--store", str(tmp_path / "none"), "git-setup", str(work), "--no-fetch")
    assert r.code == 1 and "does not exist" in r.err, r.err
    r = mg("--store", str(work), "git-setup", str(work), "--no-fetch")
    assert r.code == 1 and "is not a mindgit store" in r.err, r.err
    assert "git-setup reads --store as this node's store" in r.err
    assert (work / ".git" / "config").read_bytes() == before


def test_demo_refuses_store(mg: Mg, tmp_path: Path) -> None:
    r = mg("--store", str(tmp_path), "demo", "--generations", "1")
    assert r.code == 2 and "--store does not apply to demo" in r.err, r.err
    assert list(tmp_path.iterdir()) == []


# --- 3. a path that would print a line of its own --------------------------------------------


def test_init_path_with_newline_is_one_line(mg: Mg, tmp_path: Path) -> None:
    path = tmp_path / "a\nmindgit: forged"
    r = mg("init", str(path), "--name", "n")
    assert r.code == 0, r.err
    assert "\nmindgit: forged" not in r.err
    assert "initialised store '" in r.err and "\\nmindgit: forged' for node n" in r.err


# --- 2. an empty argument is a usage error naming it ------------------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["lineage", ""], "STATE_CID|COMMIT|RUN is empty"),
        (["fitness", "add", ""], "PATH is empty"),
        (["af-info", ""], "REV is empty"),
        (["export-af", "", "-o", "out.af"], "REV is empty"),
        (["block", "set", "", "v"], "LABEL is empty"),
        (["block", "restore", "", "--from", "main"], "LABEL is empty"),
        (["block", "restore", "x", "--from", ""], "--from is empty"),
        (["git-setup", ""], "PATH is empty"),
        (["git-setup", "--remote", ""], "--remote is empty"),
        (["verify", "--trust", ""], "--trust is empty"),
    ],
)
def test_empty_argument_is_a_usage_error(
    mg: Mg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], named: str
) -> None:
    store = init_store(tmp_path / "s", "s")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MINDGIT_STORE", str(store.path))
    refs = git("--git-dir", str(store.path), "for-each-ref")
    r = mg(*args)
    assert r.code == 2, r.err
    assert f"error: {named}" in r.err, r.err
    assert git("--git-dir", str(store.path), "for-each-ref") == refs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


def test_blank_trust_file_is_quoted(mg: Mg, tmp_path: Path) -> None:
    init_store(tmp_path / "s", "s")
    r = mg("--store", str(tmp_path / "s"), "verify", "--trust", " ")
    assert r.code == 2 and "--trust ' ': no such file" in r.err, r.err


# --- 4. a reflog count libgit2 cannot hold ------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["show", "main@{2147483648}"],
        ["show", "main@{4294967297}"],
        ["show", "main@{99999999999999999999}"],
        ["log", "main@{ +99999999999}"],
        ["show", "@{-2147483648}"],
        ["diff", "main", "main@{9999999999}~1"],
        ["verify", "--since", "main@{2147483648}"],
        ["merge", "main@{2147483648}"],
        ["lineage", "main@{2147483648}"],
        ["fork", "x", "--from", "main@{2147483648}"],
    ],
)
def test_reflog_count_too_large(
    mg: Mg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    store = init_store(tmp_path / "s", "s")
    store.think("one")
    store.think("two")
    monkeypatch.setenv("MINDGIT_STORE", str(store.path))
    refs = git("--git-dir", str(store.path), "for-each-ref")
    r = mg(*args)
    assert r.code == 2, (r.out, r.err)
    assert "count" in r.err and "is too large (at most 2147483647)" in r.err, r.err
    assert r.out == ""
    assert git("--git-dir", str(store.path), "for-each-ref") == refs


def test_reflog_counts_libgit2_holds(mg: Mg, tmp_path: Path) -> None:
    store = init_store(tmp_path / "s", "s")
    first = store.think("one")[0].id
    store.think("two")
    r = mg("--store", str(store.path), "log", "--json", "main@{0001}")
    assert r.code == 0, r.err
    assert first in r.out
    r = mg("--store", str(store.path), "show", "main@{99}")
    assert r.code == 1 and "unknown" in r.err, r.err


# --- 5. diagnostics that quote a path or another's words are one line each ---------------------

FORGED = "\nmindgit: error: forged"


def _no_forged_line(err: str) -> None:
    assert not any(line.startswith("mindgit: error: forged") for line in err.splitlines()), err


def test_warn_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from mindgit.cli.output import warn

    warn(f"a ref{FORGED}")
    err = capsys.readouterr().err
    assert err == "mindgit: warning: a ref mindgit: error: forged\n"


def test_missing_trust_file_warning_quotes_its_path(mg: Mg, tmp_path: Path) -> None:
    store = init_store(tmp_path / f"s{FORGED}", "s")
    store.trust.path.unlink()
    r = mg("--store", str(store.path), "log")
    assert r.code == 0, r.err
    _no_forged_line(r.err)
    assert "\\nmindgit: error: forged/mindgit/allowed_signers' does not exist" in r.err


def test_hooks_install_quotes_its_paths(mg: Mg, tmp_path: Path) -> None:
    store = init_store(tmp_path / "s", "s")
    server = tmp_path / f"srv{FORGED}"
    git("init", "-q", "--bare", str(server))
    trust = tmp_path / "allowed"
    trust.write_text(store.trust.export())
    r = mg("hooks", "install", "--server", str(server), "--trust", str(trust))
    assert r.code == 0, r.err
    _no_forged_line(r.err)
    assert "installed '" in r.err and "forged/hooks/pre-receive'" in r.err


def test_merge_driver_quotes_git_path(mg: Mg, tmp_path: Path) -> None:
    from mindgit.store.genome import Gene
    from mindgit.store.state import State

    def x(name: str, value: float) -> Gene:
        return Gene.make(name, "float", value, min=-5.12, max=5.12)

    base = State().with_genome(State().genome.with_genes(x("x0", 0.0), x("x1", 0.0)))
    sides = {
        "O": base,
        "A": base.with_genome(base.genome.with_genes(x("x0", 1.0))),
        "B": base.with_genome(base.genome.with_genes(x("x1", 2.0))),
    }
    for name, state in sides.items():
        (tmp_path / name).write_bytes(state.manifest().data)
    where = f"dir{FORGED}/manifest.json"
    files = [str(tmp_path / n) for n in "OAB"]
    r = mg("merge-driver", *files, where)
    assert r.code == 0, r.err
    _no_forged_line(r.err)
    assert "mindgit: 'dir\\nmindgit: error: forged/manifest.json' merged: state" in r.err


@pytest.mark.parametrize(
    "text", ["a b", "a\nb", "it's\n\\x", "\x1b[31m", "a\u202eb\u2028", "x\U0001f600\n", "-n"]
)
def test_shell_word_reads_back_in_bash(text: str) -> None:
    import shutil
    import subprocess

    from mindgit.cli.output import shell_word

    if shutil.which("bash") is None:
        pytest.skip("no bash")
    word = shell_word(text)
    assert word.isprintable()
    out = subprocess.run(["bash", "-c", f"printf %s {word}"], capture_output=True, check=True)
    assert out.stdout.decode() == text


def test_delete_experiment_names_the_store_on_one_line(mg: Mg, tmp_path: Path) -> None:
    import subprocess

    store = init_store(tmp_path / f"s{FORGED}", "s")
    store.fork("dreamer", switch=False)
    head = store.head("dreamer")
    r = mg("--store", str(store.path), "experiments", "--delete", "dreamer")
    assert r.code == 0, r.err
    _no_forged_line(r.err)
    line = next(x for x in r.err.splitlines() if "to bring it back" in x)
    command = line.split("to bring it back: ", 1)[1]
    assert "$'" in command and f"--from {head}" in command
    # The command as printed makes the experiment again in that store.
    mindgit = f"{shlex.quote(sys.executable)} -m mindgit "
    proc = subprocess.run(
        ["bash", "-c", command.replace("mindgit ", mindgit, 1)], capture_output=True, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    assert open_store(store.path).head("dreamer") == head


def test_import_af_names_a_blank_path_once(mg: Mg, tmp_path: Path) -> None:
    init_store(tmp_path / "s", "s")
    r = mg("--store", str(tmp_path / "s"), "import-af", " ")
    assert r.code == 1, r.err
    assert "error: ' ': cannot read it (No such file or directory); nothing was imported" in r.err
