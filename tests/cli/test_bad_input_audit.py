"""Bad input to every local command: one error line on stderr, a non-zero exit, and not one byte
changed under the store (or anywhere else the command was pointed at).

Each case is a command line that must be refused. ``@`` words in it are filled in from a fresh
node (``@store``), a second node (``@beta``), and files of good and broken content next to them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mindgit.adapters.car_export import export as export_car
from mindgit.store.genome import parse_assignment
from mindgit.store.repository import init_store
from tests.conftest import FIXTURES, Mg, git
from tests.snapshots import changes, snapshot

AF = FIXTURES / "agent-files" / "memgpt_agent.af"
MINDGIT = str(Path(sys.executable).with_name("mindgit"))


def assert_one_error_line(code: int, err: str) -> None:
    assert code in (1, 2), f"exit {code}: {err}"
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("mindgit: error: ") and "internal error" not in err, err


def fill(args: tuple[str, ...], words: dict[str, str]) -> list[str]:
    """``args`` with each ``@word`` replaced by its value."""
    out = []
    for arg in args:
        for word, value in words.items():
            arg = arg.replace(word, value)
        out.append(arg)
    return out


@dataclass(frozen=True)
class Node:
    root: Path
    store: Path
    words: dict[str, str]


@pytest.fixture
def node(tmp_path: Path) -> Node:
    """A store with history on two experiments, a second node, and input files to misuse."""
    store = init_store(tmp_path / "alpha", "alpha")
    store.think("hello", ["greeting"])
    store.set_genes([parse_assignment("x0=0.5", None, min=-5, max=5)])
    store.fork("dreamer", switch=False)
    store.think("a dream", experiment="dreamer")
    beta = init_store(tmp_path / "beta", "beta")
    files = tmp_path / "files"
    files.mkdir()
    (files / "plain").write_text("x")
    (files / "empty").write_bytes(b"")
    (files / "garbage").write_bytes(b"\xff\xfe\x00garbage" * 10)
    (files / "list.af").write_text("[]")
    (files / "deep.af").write_text("[" * 100_000 + "]" * 100_000)
    with open(files / "good.car", "wb") as out:
        export_car(store, None, out)
    car = (files / "good.car").read_bytes()
    (files / "half.car").write_bytes(car[: len(car) // 2])
    (files / "flipped.car").write_bytes(car[:-10] + bytes([car[-10] ^ 1]) + car[-9:])
    words = {
        "@store": str(store.path),
        "@beta": str(beta.path),
        "@did": beta.public_key.did,
        "@ssh": beta.public_key.openssh,
        "@files": str(files),
        "@root": str(tmp_path),
        "@af": str(AF),
    }
    return Node(tmp_path, store.path, words)


CASES: list[tuple[str, ...]] = [
    # init
    ("init", "@store", "--name", "alpha"),
    ("init", "@root/new", "--name", ""),
    ("init", "@root/new", "--name", "a\nb"),
    ("init", "@root/new", "--name", "x" * 65),
    ("init", "@files/plain/sub", "--name", "x"),
    ("init", "@root/new", "--name", "x", "--key", "@files/plain"),
    ("init", "@root/new", "--name", "x", "--key", "@files/none"),
    ("init", "@store/refs/heads/x", "--name", "x"),
    ("init", "@store/objects/sub", "--name", "x"),
    # a store that is not there, or not a store
    ("--store", "@root/nowhere", "show"),
    ("--store", "@files/plain", "think", "x"),
    ("--store", "@store/objects", "log"),
    # think, forget
    ("think", ""),
    ("think", "x", "--tag", ""),
    ("think", "x", "--tag", " padded "),
    ("think", "\udcff"),
    ("think", "x", "-e", "nosuch"),
    ("think", "x", "-e", ""),
    ("think", "x", "--to", "beta"),
    ("think", "x", "--private", "--to", "nosuch"),
    ("forget", "bafynotacid"),
    ("forget", ""),
    ("forget", "bafyreigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"),
    # genome
    ("genome", "set", "x0"),
    ("genome", "set", "=1"),
    ("genome", "set", "a\nb=1"),
    ("genome", "set", "a\x01b=1"),
    ("genome", "set", "x0=abc"),
    ("genome", "set", "x0=nan"),
    ("genome", "set", "x0=1e999"),
    ("genome", "set", "x0=9"),
    ("genome", "set", "y=1", "--min", "5", "--max", "1"),
    ("genome", "set", "y=1", "--scale", "-1"),
    ("genome", "set", "big=99999999999999999999999999"),
    ("genome", "set", "t=\udcff"),
    ("genome", "set", "m=a", "--choices", "a,a"),
    ("genome", "set", "y=1", "y=2"),
    ("genome", "set", "y=1", "y=abc"),
    ("genome", "set", "x0=1", " x0=2"),
    ("genome", "unset", "nosuch"),
    ("genome", "show", "nosuch"),
    # show, log, diff
    ("show", "nosuch"),
    ("show", ""),
    ("show", "main\n"),
    ("show", "0" * 40),
    ("show", "main", "-e", "main"),
    ("log", "nosuch"),
    ("diff", "main", "nosuch"),
    # fork, switch
    ("fork", "main"),
    ("fork", ""),
    ("fork", "a b"),
    ("fork", "a\nb"),
    ("fork", "HEAD"),
    ("fork", "x..y"),
    ("fork", "x.lock"),
    ("fork", "\udcff"),
    ("fork", "new", "--from", "nosuch"),
    ("fork", "new", "--from", "main", "-e", "main"),
    ("switch", "nosuch"),
    ("switch", ""),
    ("switch", "../x"),
    # config
    ("config", "get", "nosuch"),
    ("config", "set", "nosuch", "1"),
    ("config", "set", "fuel", "lots"),
    ("config", "set", "fuel", ""),
    ("config", "set", "fitness", "a\nb"),
    ("config", "set", "minimize", "maybe"),
    ("config", "set", "fitness", "\udcff"),
    # trust, keys, share
    ("trust", "add", "garbage", "--name", "x"),
    ("trust", "add", "", "--name", "x"),
    ("trust", "add", "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ", "--name", "x"),
    ("trust", "add", "@did", "--name", ""),
    ("trust", "add", "@did", "--name", "a\nb"),
    ("trust", "add", "@did", "--name", "alpha"),
    ("trust", "add", "@ssh comment\n@ssh", "--name", "beta"),
    ("trust", "add", "@ssh\nssh-ed25519 AAAA evil", "--name", "beta"),
    ("trust", "remove", "alpha"),
    ("trust", "remove", "nosuch"),
    ("keys", "apply", "nosuch"),
    ("keys", "apply", "main"),
    ("share", "bafynot", "--with", "alpha"),
    ("share", "bafyreigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", "--with", "nosuch"),
    # verify
    ("verify", "nosuch"),
    ("verify", "--since", "nosuch"),
    ("verify", "-e", "main", "--all"),
    ("verify", "--recompute", "x"),
    ("verify", "--trust", "@files/none"),
    ("verify", "--trust", "@files/plain"),
    # CAR export, import, cat
    ("export", "nosuch", "--car", "@root/out.car"),
    ("export", "--car", "@root/nodir/out.car"),
    ("export", "--car", "@root"),
    ("export", "--car", "-", "--json"),
    ("export", "--car", ""),
    ("export", "--car", "@store/HEAD"),
    ("export", "--car", "@store/refs/heads/x.car"),
    ("import", "@files/none", "--as", "x"),
    ("import", "@files", "--as", "x"),
    ("import", "@files/empty", "--as", "x"),
    ("import", "@files/garbage", "--as", "x"),
    ("import", "@files/half.car", "--as", "x"),
    ("import", "@files/flipped.car", "--as", "x"),
    ("import", "@files/good.car", "--as", ""),
    ("import", "@files/good.car", "--as", "HEAD"),
    ("import", "@files/good.car", "--as", "a b"),
    ("cat", "bafynot"),
    ("cat", "bafyreigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"),
    ("cat", "x", "--raw", "--json"),
    # agent files
    ("import-af", "@files/none"),
    ("import-af", "@files/empty"),
    ("import-af", "@files/garbage"),
    ("import-af", "@files/list.af"),
    ("import-af", "@files/deep.af"),
    ("import-af", "@af", "--as", "main"),
    ("import-af", "@af", "--as", ""),
    ("import-af", "@af", "--as", "a\nb"),
    ("export-af", "nosuch", "-o", "@root/out.af"),
    ("export-af", "main", "-o", "@root/out.af"),
    ("export-af", "main", "-o", ""),
    ("af-info", "main"),
    ("block", "set", "human", "v"),
    ("block", "restore", "human", "--from", "nosuch"),
    # hooks, merge, git-setup, demo
    ("hooks", "install", "--trust", "@files/plain"),
    ("hooks", "install", "--server", "@root/nosrv"),
    ("hooks", "install", "--server", "@beta", "--max-object-bytes", "lots"),
    ("hooks", "install", "--server", "@beta", "--trust", "@files/plain"),
    ("merge", "nosuch"),
    ("merge", ""),
    ("merge", "main"),
    ("merge", "dreamer", "--into", "nosuch"),
    ("merge", "dreamer", "--fitness", "nosuch"),
    ("merge", "dreamer", "--fitness", "@files/plain"),
    ("merge-driver",),
    ("merge-driver", "@files/none", "@files/none", "@files/none"),
    ("merge-driver", "@files/plain", "@files/plain", "@files/plain"),
    ("git-setup", "@root"),
    ("git-setup", "@store"),
    ("git-setup", "@store", "--node", "garbage"),
    ("demo", "--keep", "@store"),
    ("demo", "--generations", "0"),
]


@pytest.mark.parametrize(
    "args", CASES, ids=[" ".join(c).encode("unicode_escape").decode()[:60] for c in CASES]
)
def test_bad_input_is_refused_and_changes_nothing(
    node: Node, mg: Mg, args: tuple[str, ...]
) -> None:
    before = snapshot(node.root)
    argv = fill(args, node.words)
    if argv[0] != "--store":
        argv = ["--store", str(node.store), *argv]
    r = mg(*argv)
    assert_one_error_line(r.code, r.err)
    assert "Traceback" not in r.out + r.err
    assert changes(before, snapshot(node.root)) == []


def run_bytes(*args: str | bytes, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """The installed ``mindgit`` with arguments as raw bytes, as a shell passes them."""
    return subprocess.run([MINDGIT, *args], capture_output=True, cwd=cwd, check=False)


@pytest.mark.parametrize(
    "args",
    [
        ("config", "set", "fitness", b"\xff\xfe"),
        ("think", b"caf\xe9"),
        ("genome", "set", b"t=\xff"),
        ("fork", b"\xff"),
        ("trust", "add", b"\xff", "--name", "x"),
    ],
    ids=["config-set", "think", "genome-set", "fork", "trust-add"],
)
def test_arguments_that_are_not_utf8(node: Node, args: tuple[str | bytes, ...]) -> None:
    before = snapshot(node.root)
    r = run_bytes("--store", str(node.store), *args)
    assert_one_error_line(r.returncode, r.stderr.decode("utf-8", "replace"))
    assert changes(before, snapshot(node.root)) == []


@pytest.mark.parametrize(
    "args",
    [
        ("fork", "a..b"),
        ("fork", "HEAD"),
        ("switch", "a..b"),
        ("switch", ""),
        ("log", "-e", "a..b"),
        ("think", "x", "-e", "bad name"),
        ("genome", "set", "x=1", "-e", "-x"),
        ("forget", "bafynot"),
        ("git-setup", "@store", "--node", "did:key:zNope"),
        ("init", "@root/fresh", "--name", ""),
        ("init", "@root/fresh", "--name", "a/b"),
        ("think", ""),
        ("think", "hi", "--tag", " x"),
        ("think", "", "--private"),
        ("genome", "set", "x"),
        ("genome", "set", "bad name=1"),
        ("genome", "set", "x=9", "--min", "0", "--max", "1"),
        ("genome", "set", "m=z", "--choices", "a,b"),
    ],
)
def test_a_value_that_cannot_be_right_on_the_command_line_exits_2(
    node: Node, mg: Mg, args: tuple[str, ...]
) -> None:
    # Each exited 1, as a failed operation does; the README's rule is 2 for a wrong command line.
    before = snapshot(node.root)
    r = mg("--store", str(node.store), *fill(args, node.words))
    assert_one_error_line(r.code, r.err)
    assert r.code == 2, r.err
    assert changes(before, snapshot(node.root)) == []


@pytest.mark.parametrize("private", [False, True])
def test_a_thought_typed_in_bytes_that_are_not_utf8_exits_2(node: Node, private: bool) -> None:
    before = snapshot(node.root)
    r = run_bytes("--store", str(node.store), "think", b"secr\xe9t", *(["--private"] * private))
    err = r.stderr.decode("utf-8", "replace")
    assert_one_error_line(r.returncode, err)
    assert r.returncode == 2 and "secr" not in err
    assert changes(before, snapshot(node.root)) == []


def test_block_set_refuses_a_value_that_is_not_utf8(node: Node, mg: Mg) -> None:
    # The library keeps a lone surrogate from an agent file; from the command line it is bytes
    # in another encoding, and used to be stored as the JSON escape text "\udcff".
    store = ["--store", str(node.store)]
    assert mg(*store, "import-af", str(AF), "--as", "agent").code == 0
    before = snapshot(node.root)
    r = run_bytes(*store, "block", "set", "human", b"caf\xe9", "-e", "agent")
    assert r.returncode == 2 and b"not UTF-8" in r.stderr, r.stderr
    assert_one_error_line(r.returncode, r.stderr.decode("utf-8", "replace"))
    assert changes(before, snapshot(node.root)) == []
    assert mg(*store, "block", "set", "human", "café", "-e", "agent").code == 0


def test_an_agent_file_is_not_written_over_the_store(
    node: Node, mg: Mg, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `export-af -o STORE/config` wrote the agent file over the store's git config: exit 0, and
    # every later command failed on a config that no longer parsed.
    store = ["--store", str(node.store)]
    assert mg(*store, "import-af", str(AF), "--as", "agent").code == 0
    before = snapshot(node.root)
    for output in (node.store / "config", node.store / "mindgit" / "agent.af"):
        r = mg(*store, "export-af", "agent", "-o", str(output))
        assert_one_error_line(r.code, r.err)
        assert "inside the store" in r.err
    monkeypatch.chdir(node.store)  # the store found from the working directory, a relative -o
    r = mg("export-af", "agent", "-o", "agent.af")
    assert r.code == 2 and "inside the store" in r.err
    assert changes(before, snapshot(node.root)) == []
    assert mg(*store, "export-af", "agent", "-o", str(node.root / "agent.af")).code == 0


def test_git_setup_with_an_unknown_remote_leaves_the_clone_as_it_was(node: Node, mg: Mg) -> None:
    # It registered the merge driver (.git/config, .git/info/attributes) and only then found
    # that the remote to fetch from did not exist.
    clone = node.root / "clone"
    git("clone", "--quiet", str(node.store), str(clone))
    before = snapshot(clone)
    r = mg("git-setup", str(clone), "--remote", "nosuch")
    assert_one_error_line(r.code, r.err)
    assert "no remote 'nosuch'" in r.err
    assert changes(before, snapshot(clone)) == []
    assert mg("git-setup", str(clone), "--remote", "nosuch", "--no-fetch").code == 0
    assert changes(before, snapshot(clone)) != []


def test_a_config_file_git_cannot_parse_is_an_error_not_a_bug(node: Node, mg: Mg) -> None:
    with open(node.store / "config", "a") as config:
        config.write("[broken\n")
    before = snapshot(node.root)
    for args in (["id"], ["show"], ["think", "x"], ["config", "get", "fuel"], ["verify"]):
        r = mg("--store", str(node.store), *args)
        assert_one_error_line(r.code, r.err)
        assert "cannot open the store" in r.err and "config" in r.err
    assert changes(before, snapshot(node.root)) == []


def test_config_set_while_another_writer_holds_the_config(node: Node, mg: Mg) -> None:
    (node.store / "config.lock").write_bytes(b"")
    before = snapshot(node.root)
    r = mg("--store", str(node.store), "config", "set", "fuel", "5")
    assert_one_error_line(r.code, r.err)
    assert "config.lock" in r.err and "nothing was changed" in r.err
    assert changes(before, snapshot(node.root)) == []


def test_a_trusted_key_is_one_line(node: Node, mg: Mg) -> None:
    # The comment of an OpenSSH line took everything after the key: a paste of two keys trusted
    # the first one alone, silently.
    two = f"{node.words['@ssh']} first\n{node.words['@ssh']} second"
    r = mg("--store", str(node.store), "trust", "add", two, "--name", "beta")
    assert r.code == 2 and "one key on one line" in r.err
    line = node.words["@ssh"] + " a comment\n"  # the trailing newline of `cat key.pub`
    assert mg("--store", str(node.store), "trust", "add", line, "--name", "beta").code == 0


def test_genome_set_names_a_gene_once(node: Node, mg: Mg) -> None:
    r = mg("--store", str(node.store), "genome", "set", "y=1", "y=abc")
    assert r.code == 2 and "'y' is given twice" in r.err
    assert mg("--store", str(node.store), "genome", "set", "y=1", "z=abc").code == 0


def as_nobody() -> list[str] | None:
    """A prefix that runs a command without the right to write what it does not own."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    # A checkout in a private directory (mktemp -d is 0700) is out of that user's reach.
    probe = subprocess.run([*prefix, MINDGIT, "--version"], capture_output=True, check=False)
    return prefix if probe.returncode == 0 else None


WRITERS = [
    ("think", "x"),
    ("think", "x", "--private"),
    ("genome", "set", "q=1"),
    ("genome", "unset", "x0"),
    ("forget", "@thought"),
    ("fork", "new"),
    ("switch", "dreamer"),
    ("config", "set", "fuel", "5"),
    ("trust", "add", "@did", "--name", "beta"),
    ("keys", "rotate"),
    ("import", "@files/good.car", "--as", "imported"),
    ("import-af", "@af"),
    ("hooks", "install"),
]


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory another user can reach (pytest's own temporary directories are private)."""
    path = Path(tempfile.mkdtemp(prefix="mindgit-read-only-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_every_writer_on_a_read_only_store(shared_dir: Path) -> None:
    prefix = as_nobody()
    if prefix is None:
        pytest.skip(
            "running as root, and no other user can run this checkout's mindgit (no setpriv, "
            "or a private directory): nothing can make the store read-only"
        )
    store = init_store(shared_dir / "alpha", "alpha")
    _, thought = store.think("hello")
    store.fork("dreamer", switch=False)
    beta = init_store(shared_dir / "beta", "beta")
    files = shared_dir / "files"
    files.mkdir()
    with open(files / "good.car", "wb") as out:
        export_car(store, None, out)
    (files / "good.car").chmod(0o644)
    home = shared_dir / "home"
    home.mkdir()
    if prefix:
        # The store's owner, without root's right to write anywhere.
        for path in (home, store.path, *store.path.rglob("*")):
            os.chown(path, 65534, 65534, follow_symlinks=False)
    for path in (store.path, *store.path.rglob("*")):
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & ~0o222)
    words = {
        "@did": beta.public_key.did,
        "@files": str(files),
        "@af": str(AF),
        "@thought": str(thought),
    }
    before = snapshot(store.path)
    env = {**os.environ, "HOME": str(home)}
    for args in WRITERS:
        argv = [*prefix, MINDGIT, "--store", str(store.path), *fill(args, words)]
        r = subprocess.run(argv, capture_output=True, env=env, check=False)
        err = r.stderr.decode()
        assert_one_error_line(r.returncode, err)
        assert "ermission denied" in err, (args, err)
        assert "HEAD\n" not in err, "the store must be readable: only writing is refused"
        assert changes(before, snapshot(store.path)) == [], args


@pytest.mark.parametrize(
    ("args", "kind"),
    [
        (("trust", "add", "bogus", "--name", "x"), "MalformedKey"),
        (("forget", "bafynot"), "InvalidCID"),
        (("fork", "a..b"), "RefError"),
        (("genome", "set", "novalue"), "GenomeError"),
        (("think", ""), "SchemaError"),
    ],
)
def test_a_usage_error_keeps_its_own_type_in_json(
    node: Node, mg: Mg, args: tuple[str, ...], kind: str
) -> None:
    # Re-raised as usage errors (exit 2), they all said "type": "UsageError" in --json.
    r = mg("--store", str(node.store), *args, "--json")
    assert r.code == 2, r.err
    assert json.loads(r.out)["type"] == kind


def test_think_from_a_closed_standard_input_is_one_line(node: Node) -> None:
    # `mindgit think - <&-` was an internal error (exit 3): sys.stdin is None then. Its input
    # failed, not its command line: exit 1 (tests/cli/test_stdin_closed_or_empty.py).
    before = snapshot(node.root)
    r = subprocess.run(
        [MINDGIT, "--store", str(node.store), "think", "-"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        preexec_fn=lambda: os.close(0),
        check=False,
    )
    err = r.stderr.decode()
    assert_one_error_line(r.returncode, err)
    assert r.returncode == 1 and "cannot read stdin: it is closed" in err
    assert changes(before, snapshot(node.root)) == []
