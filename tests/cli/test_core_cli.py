from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Mg, fsck


@pytest.fixture
def alpha(tmp_path: Path, mg: Mg, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "alpha"
    r = mg("init", str(path), "--name", "alpha")
    assert r.code == 0, r.err
    assert r.out.startswith("did:key:z6Mk")
    monkeypatch.chdir(path)
    return path


def test_the_issue_walkthrough(alpha: Path, mg: Mg, tmp_path: Path) -> None:
    ident = json.loads(mg("id", "--json").out)
    assert ident["did"].startswith("did:key:") and ident["fingerprint"].startswith("SHA256:")
    assert mg("think", "the garden is quiet at dawn", "--tag", "observation").code == 0
    assert mg("genome", "set", "curiosity=0.7", "patience=3", "mode=explore").code == 0
    show = json.loads(mg("show", "--json").out)
    assert show["genome"]["curiosity"] == {"type": "float", "value": 0.7}
    assert show["thoughts"][0]["text"] == "the garden is quiet at dawn"
    assert show["signature"] == "good" and show["trusted_as"] == "alpha"
    log = json.loads(mg("log", "--json").out)
    assert [e["signature"] for e in log] == ["good", "good", "good"]
    assert mg("fork", "dreamer").code == 0
    assert mg("think", "dreams of flight", "-e", "dreamer").code == 0
    assert mg("switch", "main").code == 0
    exps = json.loads(mg("experiments", "--json").out)
    assert [(e["name"], e["current"], e["thoughts"]) for e in exps] == [
        ("dreamer", False, 2),
        ("main", True, 1),
    ]
    d = json.loads(mg("diff", "main", "dreamer", "--json").out)
    assert [t["text"] for t in d["thoughts_added"]] == ["dreams of flight"]
    assert mg("genome", "set", "curiosity=0.9", "-e", "dreamer").code == 0
    d = json.loads(mg("diff", "main", "dreamer", "--json").out)
    assert d["genes"][0]["name"] == "curiosity"
    text = mg("diff", "main", "dreamer").out
    assert "~ gene curiosity: 0.7 -> 0.9" in text
    assert mg("verify", "--all").code == 0
    fsck(alpha)


def test_store_option_and_env(tmp_path: Path, mg: Mg, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s"
    mg("init", str(path), "--name", "s")
    monkeypatch.chdir(tmp_path)
    assert mg("--store", str(path), "think", "via flag").code == 0
    monkeypatch.setenv("MINDGIT_STORE", str(path))
    assert mg("think", "via env").code == 0
    assert len(json.loads(mg("show", "--json").out)["thoughts"]) == 2


def test_trust_add_list_export(alpha: Path, mg: Mg, tmp_path: Path) -> None:
    beta = tmp_path / "beta"
    did = mg("init", str(beta), "--name", "beta").out.strip()
    assert mg("trust", "add", did, "--name", "beta").code == 0
    names = [n["name"] for n in json.loads(mg("trust", "list", "--json").out)]
    assert names == ["alpha", "beta"] or sorted(names) == ["alpha", "beta"]
    exported = mg("trust", "export").out
    assert exported.count("ssh-ed25519") == 2
    ssh_line = json.loads(mg("--store", str(beta), "id", "--json").out)["openssh"]
    # the same key by its OpenSSH line is the same node
    assert mg("trust", "add", ssh_line, "--name", "beta").code == 0


def test_stock_git_verifies_with_exported_trust(alpha: Path, mg: Mg, tmp_path: Path) -> None:
    mg("think", "signed")
    signers = tmp_path / "signers"
    signers.write_text(mg("trust", "export").out)
    proc = subprocess.run(
        [
            "git",
            "--git-dir",
            str(alpha),
            "-c",
            "gpg.format=ssh",
            "-c",
            f"gpg.ssh.allowedSignersFile={signers}",
            "verify-commit",
            "HEAD",
        ],
        capture_output=True,
    )
    assert proc.returncode == 0 and b'Good "git" signature' in proc.stderr


def point_main_at_an_unsigned_commit(store: Path) -> str:
    """A commit made by plain git (unsigned) on top of main; returns its id."""
    git_dir = ["git", "--git-dir", str(store)]
    oid = subprocess.run(
        [*git_dir, "commit-tree", "-m", "unsigned", "-p", "main", "main^{tree}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    subprocess.run([*git_dir, "update-ref", "refs/heads/main", oid], check=True)
    return oid


def snapshot_dir(path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("genome", "set", "patience=abc"), 1, "gene 'patience'"),
        (("genome", "set", "novalue"), 2, "name=value"),
        (("genome", "set", "x=1", "--min", "5", "--max", "1"), 2, "above max"),
        (("show", "nope"), 1, "unknown experiment"),
        (("switch", "nope"), 1, "unknown experiment"),
        (("think", "x", "-e", "nope"), 1, "unknown experiment"),
        (("diff", "main", "nope"), 1, "unknown experiment"),
        (("fork", "main"), 1, "already exists"),
        (("fork", "bad..name"), 2, "invalid"),
        (("think", "   "), 2, "non-empty"),
        (("trust", "add", "ssh-ed25519 AAAAnot-a-key", "--name", "x"), 2, ""),
        (("trust", "add", "did:key:zNotAKey", "--name", "x"), 2, ""),
        (("trust", "remove", "nobody"), 1, ""),
        (("forget", "not-a-cid"), 2, ""),
        (("log", "-n", "0"), 2, ""),
        (("nosuchcommand",), 2, ""),
    ],
)
def test_bad_input_one_line_error_nothing_changed(
    alpha: Path, mg: Mg, args: tuple[str, ...], code: int, needle: str
) -> None:
    mg("genome", "set", "patience=3")
    before = snapshot_dir(alpha)
    r = mg(*args)
    assert r.code == code, (r.out, r.err)
    assert r.err.strip(), "an error message is expected"
    if code == 1:
        assert len(r.err.strip().splitlines()) == 1, r.err
        assert r.err.startswith("mindgit: error: ")
        assert needle in r.err
    assert "Traceback" not in r.err
    assert snapshot_dir(alpha) == before


def test_not_a_store(tmp_path: Path, mg: Mg, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    r = mg("show")
    assert r.code == 1 and "is not a mindgit store" in r.err


@pytest.mark.parametrize("damage", ["missing", "world", "corrupt"])
def test_key_file_problems(alpha: Path, mg: Mg, damage: str) -> None:
    key = alpha / "mindgit" / "node.key"
    if damage == "missing":
        key.unlink()
    elif damage == "world":
        key.chmod(0o644)
    else:
        key.write_text(
            "-----BEGIN OPENSSH PRIVATE KEY-----\ngarbage\n-----END OPENSSH PRIVATE KEY-----\n"
        )
    before = snapshot_dir(alpha)
    r = mg("think", "x")
    assert r.code == 1 and "node.key" in r.err, r.err
    assert snapshot_dir(alpha) == before


def test_verify_fails_on_tampering_with_exit_1(alpha: Path, mg: Mg) -> None:
    mg("think", "x")
    oid = point_main_at_an_unsigned_commit(alpha)
    r = mg("verify")
    assert r.code == 1 and f"FAIL {oid[:12]}: unsigned commit" in r.out
    r = mg("verify", "--json")
    data = json.loads(r.out)
    assert data["ok"] is False and r.code == 1


def test_entry_point_runs_as_a_process(alpha: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mindgit", "id"], capture_output=True, text=True, cwd=alpha
    )
    assert proc.returncode == 0, proc.stderr
    assert "did:key:" in proc.stdout


def test_show_and_diff_memories(alpha: Path, mg: Mg) -> None:
    from mindgit.store.repository import open_store
    from mindgit.store.state import Block

    store = open_store(alpha)
    a = Block.encode({"label": "human", "value": "First name: Ada\nLikes: tea"})
    store.commit_state(store.state().with_memories({"human": a.cid}), {a.cid: a.data}, "mem")
    b = Block.encode({"label": "human", "value": "First name: Grace\nLikes: tea"})
    store.commit_state(store.state().with_memories({"human": b.cid}), {b.cid: b.data}, "edit")
    shown = json.loads(mg("show", "--json").out)
    assert shown["memories"]["human"]["value"].startswith("First name: Grace")
    out = mg("diff", "main~1", "main").out
    assert "~ memory human" in out and "-First name: Ada" in out and "+First name: Grace" in out


def test_review_fixes_from_the_cli(alpha: Path, mg: Mg, tmp_path: Path) -> None:
    mg("genome", "set", "x=0.5", "--min", "-1", "--max", "1")
    before = snapshot_dir(alpha)
    # a revision and -e together is a usage error
    assert mg("show", "main", "-e", "main").code == 2
    # a non-commit revision is one line, exit 1
    r = mg("show", "main^{tree}")
    assert r.code == 1 and "not a commit" in r.err
    # own key cannot be untrusted
    r = mg("trust", "remove", "alpha")
    assert r.code == 1 and "own key" in r.err
    # unknown or malformed settings
    assert mg("config", "set", "core.bare", "false").code == 2
    assert mg("config", "set", "fuel", "--", "-5").code == 2
    assert mg("config", "set", "fuel", "lots").code == 2
    assert mg("config", "set", "name", "").code == 2
    assert mg("config", "set", "maxfetch", "lots").code == 2
    assert mg("config", "get", "nosuch").code == 2
    # a pasted private key is never echoed back
    r = mg("trust", "add", "-----BEGIN OPENSSH PRIVATE KEY-----secret", "--name", "x")
    assert r.code == 2 and "secret" not in r.err and "private key" in r.err
    assert snapshot_dir(alpha) == before
    assert mg("config", "set", "fuel", "1000000").code == 0
    assert json.loads(mg("config", "get", "fuel", "--json").out)["value"] == "1000000"
    assert mg("config", "set", "maxfetch", "2G").code == 0
    assert json.loads(mg("config", "get", "mindgit.maxfetch", "--json").out)["value"] == "2G"
    assert json.loads(mg("genome", "show", "--json").out)["x"]["max"] == 1
    assert json.loads(mg("switch", "main", "--json").out)["current"] == "main"
    assert mg("fork", "b", "-e", "main", "--no-switch").code == 0
    assert mg("verify", "-e", "b").code == 0


def test_init_under_a_file_and_store_that_is_a_file(tmp_path: Path, mg: Mg) -> None:
    (tmp_path / "afile").write_text("x")
    r = mg("init", str(tmp_path / "afile" / "sub"), "--name", "n")
    assert r.code == 1 and "is a file" in r.err
    r = mg("--store", str(tmp_path / "afile"), "show")
    assert r.code == 1 and len(r.err.strip().splitlines()) == 1


def test_show_warns_when_the_state_does_not_verify(alpha: Path, mg: Mg) -> None:
    mg("think", "x")
    point_main_at_an_unsigned_commit(alpha)
    r = mg("show")
    assert "signature  unsigned: -" in r.out and "warning: this state does not verify" in r.err
