"""Second adversarial audit of sync, push, pull, peers and the hooks: settings set by hand with
`git config` to odd values, symbolic refs, read-only and full stores, interrupted and
concurrent pulls, refused pushes. Each test pins a behaviour checked or a bug found (named in its
docstring); stores are real, and so are git, its daemon and the hooks."""

from __future__ import annotations

import json
import os
import resource
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mindgit.store.repository import Store
from tests.conftest import Mg, git, read_only_mount_works
from tests.snapshots import changed, snapshot
from tests.sync.conftest import Nodes
from tests.sync.test_hooks_server import push as git_push
from tests.sync.test_hooks_server import refs


def at(nodes: Nodes, name: str) -> tuple[str, str]:
    return "--store", str(nodes[name].path)


def terminal_safe(text: str) -> bool:
    return all(c.isprintable() or c in "\n\t" for c in text)


def one_line_error(code: int, err: str, expected: int) -> None:
    assert code == expected, f"exit {code}: {err}"
    assert err.count("\n") == 1 and err.startswith("mindgit: "), err
    assert "Traceback" not in err and "internal error" not in err, err
    assert terminal_safe(err), err


def set_raw(path: Path, key: str, value: bytes) -> None:
    """``git config KEY VALUE`` with bytes as a shell passes them (not necessarily UTF-8)."""
    subprocess.run(
        [b"git", b"--git-dir", os.fsencode(path), b"config", key.encode(), value], check=True
    )


# -- settings set by hand on the pulling node ---------------------------------------------------


ODD = [
    b"",
    b" ",
    b"1e3",
    b"0x10",
    b"-0",
    b"0",
    b"1.5",
    b"+5",
    b"\xff",
    b"\xd9\xa1\xd9\xa2",
    b"9" * 40,
]


@pytest.mark.parametrize("value", ODD, ids=repr)
def test_an_odd_maxfetch_or_synctimeout_is_one_line_exit_1_and_changes_nothing(
    pair: Nodes, mg: Mg, value: bytes
) -> None:
    """Bug: a maxfetch or synctimeout that is not UTF-8 was an internal error, exit 3
    (UnicodeDecodeError reading the config). Bug: a bad maxfetch was recorded as the peer's
    last error (the store changed, and `peers` blamed the peer for this store's config)."""
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("ideas")
    for key in ("mindgit.maxfetch", "mindgit.synctimeout"):
        if key == "mindgit.maxfetch" and value == b"9" * 40:
            continue  # a size with no upper bound: it is a valid maxfetch
        set_raw(alpha.path, key, value)
        before = snapshot(alpha.path)
        for command in ("pull", "sync"):
            res = mg(*at(pair, "alpha"), command, "beta")
            one_line_error(res.code, res.err, 1)
            assert f"config {key} = " in res.err, res.err
            assert changed(before, alpha.path) == [], command
        res = mg(*at(pair, "alpha"), "peers", "--json")
        assert res.code == 0 and json.loads(res.out)[0]["last_error"] is None
        git("--git-dir", str(alpha.path), "config", "--unset", key)


# -- settings set by hand on a hooked server ----------------------------------------------------


@pytest.mark.parametrize(
    "value", [b"2", b"0x10", b"yes", b"on", b"1", b"", b" true", b"\xff"], ids=repr
)
def test_a_server_allow_setting_that_is_not_true_or_false_refuses_every_push(
    server: Path, store: Store, value: bytes
) -> None:
    """Bug: the hook read allowRewind and allowDelete as git reads a boolean, so a 2, a 0x10 or
    a yes (which `config set` refuses) let a rewind or a deletion through; a value that is not
    UTF-8 was an internal error. Now each is bad data in the server's config: every push is
    refused, saying which key to fix, and the server's refs stay as they were."""
    for key in ("mindgit.allowRewind", "mindgit.allowDelete"):
        set_raw(server, key, value)
        before = refs(server)
        for refspec in ("+main~1:refs/heads/main", ":refs/heads/main"):
            proc = git_push(store, str(server), refspec)
            assert proc.returncode != 0, (key, refspec, proc.stderr)
            said = [ln for ln in proc.stderr.splitlines() if ln.startswith("remote: mindgit")]
            assert len(said) == 1 and f"config {key} = " in said[0], proc.stderr
            assert "internal error" not in proc.stderr and terminal_safe(proc.stderr)
        assert refs(server) == before
        git("--git-dir", str(server), "config", "--unset", key)


def test_a_server_max_object_bytes_that_is_not_utf8_refuses_the_push_in_one_line(
    server: Path, store: Store
) -> None:
    """Bug: mindgit.maxObjectBytes with a byte that is not UTF-8 was an internal error
    (UnicodeDecodeError) relayed to the pusher."""
    set_raw(server, "mindgit.maxObjectBytes", b"16\xffM")
    store.think("one more")
    before = refs(server)
    proc = git_push(store, str(server), "main")
    assert proc.returncode != 0
    said = [ln for ln in proc.stderr.splitlines() if ln.startswith("remote: mindgit")]
    assert len(said) == 1 and "mindgit.maxObjectBytes" in said[0] and "not UTF-8" in said[0]
    assert "internal error" not in proc.stderr and terminal_safe(proc.stderr)
    assert refs(server) == before


def test_true_and_false_written_by_hooks_install_still_read(server: Path, store: Store) -> None:
    git("--git-dir", str(server), "config", "mindgit.allowRewind", "true")
    git("--git-dir", str(server), "config", "mindgit.allowDelete", "false")
    assert git_push(store, str(server), "+main~1:refs/heads/main").returncode == 0
    assert git_push(store, str(server), ":refs/heads/main").returncode != 0


# -- symbolic refs -------------------------------------------------------------------------------


def test_a_peers_symbolic_ref_arrives_as_a_plain_experiment(pair: Nodes, mg: Mg) -> None:
    # git resolves a symbolic ref when it lists refs: the peer's link is an experiment here.
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("ideas")
    beta.think("one", experiment="ideas")
    git("--git-dir", str(beta.path), "symbolic-ref", "refs/heads/x", "refs/heads/ideas")
    res = mg(*at(pair, "alpha"), "pull", "beta", "--json")
    assert res.code == 0, res.err
    assert alpha.head("x") == alpha.head("ideas") == beta.head("ideas")
    assert not (alpha.path / "refs/heads/x").read_text().startswith("ref:")


def test_a_local_symbolic_experiment_is_kept_and_the_rest_of_the_pull_goes_on(
    pair: Nodes, mg: Mg
) -> None:
    """Bug: an experiment that is a symbolic ref here (refs/heads/ideas -> refs/heads/x) stopped
    the pull halfway with "nothing was changed": refs sorted before it had moved, none was
    marked seen, the peer was blamed in `peers`, and every later pull stopped there again."""
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("aaa")
    beta.fork("ideas")
    beta.fork("x")
    assert mg(*at(pair, "alpha"), "pull", "beta").code == 0
    for name in ("aaa", "ideas", "x"):
        beta.think(f"more on {name}", experiment=name)
    old = alpha.head("ideas")
    git("--git-dir", str(alpha.path), "update-ref", "refs/heads/old", old)
    git("--git-dir", str(alpha.path), "update-ref", "-d", "refs/heads/ideas")
    git("--git-dir", str(alpha.path), "symbolic-ref", "refs/heads/ideas", "refs/heads/old")
    res = mg(*at(pair, "alpha"), "pull", "beta", "--json")
    assert res.code == 0, res.err
    status = {r["ref"]: r for r in json.loads(res.out)["refs"]}
    assert status["refs/heads/ideas"]["status"] == "conflict"
    assert "symbolic ref here (to refs/heads/old)" in status["refs/heads/ideas"]["detail"]
    assert status["refs/heads/aaa"]["status"] == status["refs/heads/x"]["status"] == "fast-forward"
    # The link is kept, its target not moved through it; the peer's head waits under its name.
    assert (alpha.path / "refs/heads/ideas").read_text() == "ref: refs/heads/old\n"
    assert alpha.head("old") == old
    seen = git("--git-dir", str(alpha.path), "rev-parse", "refs/peers/beta/heads/ideas").strip()
    assert seen == beta.head("ideas")
    res = mg(*at(pair, "alpha"), "peers", "--json")
    peer = json.loads(res.out)[0]
    assert peer["last_error"] is None
    assert {s["ref"]: s["commit"] for s in peer["seen"]}["refs/heads/x"] == beta.head("x")
    res = mg(*at(pair, "alpha"), "pull", "beta")
    assert res.code == 0 and terminal_safe(res.out + res.err)
    assert "symbolic ref here" in res.err


# -- a store that cannot be written ---------------------------------------------------------------


def _file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_full_disk_is_this_stores_problem_not_the_peers(pair: Nodes, mg: Mg) -> None:
    """Bug: a pull whose pack could not be written here (a full disk; here a file size limit,
    which kills git's index-pack with SIGXFSZ) said "pull from beta failed: index-pack died of
    signal 25" and hinted to check that the peer is up."""
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("ideas")
    for _ in range(4):
        beta.think(os.urandom(3000).hex(), experiment="ideas")
    before = snapshot(alpha.path / "objects"), snapshot(alpha.path / "refs")
    proc = subprocess.run(
        [sys.executable, "-m", "mindgit", "--store", str(alpha.path), "pull", "beta"],
        capture_output=True,
        text=True,
        preexec_fn=_file_size_limit(4000),
    )
    one_line_error(proc.returncode, proc.stderr, 1)
    assert "this store could not write what beta sent" in proc.stderr, proc.stderr
    assert "peer is up" not in proc.stderr
    assert changed(before[0], alpha.path / "objects") == []
    assert changed(before[1], alpha.path / "refs") == []
    res = mg(*at(pair, "alpha"), "peers", "--json")
    assert "this store could not write" in json.loads(res.out)[0]["last_error"]["message"]
    # With room again, the same pull goes through.
    assert mg(*at(pair, "alpha"), "pull", "beta").code == 0
    assert alpha.head("ideas") == beta.head("ideas")


@pytest.mark.skipif(
    not read_only_mount_works(),
    reason="needs root and unshare to mount the store read-only (root ignores file modes)",
)
def test_pull_sync_push_into_a_read_only_store_are_one_line_and_change_nothing(
    pair: Nodes, mg: Mg
) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("ideas")
    assert mg(*at(pair, "alpha"), "pull", "beta").code == 0
    beta.think("more", experiment="ideas")
    before = snapshot(alpha.path)
    where = shlex.quote(str(alpha.path))
    mindgit = shlex.join([sys.executable, "-m", "mindgit", "--store", str(alpha.path)])
    work = pair.base
    script = f"mount --bind -o ro {where} {where} && " + " ".join(
        f"{{ {mindgit} {cmd} beta 2> {cmd}.err; echo $? > {cmd}.rc; }};"
        for cmd in ("pull", "sync", "push")
    )
    subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=work, check=True)
    for cmd in ("pull", "sync", "push"):
        err = (work / f"{cmd}.err").read_text()
        one_line_error(int((work / f"{cmd}.rc").read_text()), err, 1)
        assert "Read-only file system" in err, (cmd, err)
    assert changed(before, alpha.path) == []
    res = mg(*at(pair, "alpha"), "peers", "--json")
    assert res.code == 0 and json.loads(res.out)[0]["last_error"] is None


# -- a peer whose server refuses the push --------------------------------------------------------

HOSTILE = "\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\u009b2J\u202etxt"


def _refusing_server(base: Path, said: str) -> Path:
    """A bare repository whose pre-receive hook refuses every push, saying ``said``."""
    server = base / "refusing.git"
    git("init", "--quiet", "--bare", str(server))
    hook = server / "hooks" / "pre-receive"
    hook.write_bytes(b"#!/bin/sh\nprintf '%s\\n' '" + said.encode() + b"' >&2\nexit 1\n")
    hook.chmod(0o755)
    return server


def test_sync_with_a_server_whose_hook_refuses_says_why_and_peers_shows_it(
    nodes: Nodes, mg: Mg
) -> None:
    """Bug: `sync` printed only git's "pre-receive hook declined", never the hook's reason
    (`push` prints it); and after the refusal `peers` showed no error for the peer, as if the
    push had gone through."""
    nodes.make("alpha")
    server = _refusing_server(nodes.base, "mindgit: refused: untrusted key " + HOSTILE)
    assert mg(*at(nodes, "alpha"), "remote", "add", "srv", f"file://{server}").code == 0
    res = mg(*at(nodes, "alpha"), "sync", "srv")
    assert res.code == 1
    assert "srv: remote: mindgit: refused: untrusted key" in res.err, res.err
    assert terminal_safe(res.out + res.err), repr(res.err)
    assert git("--git-dir", str(server), "for-each-ref") == ""
    res = mg(*at(nodes, "alpha"), "peers", "--json")
    error = json.loads(res.out)[0]["last_error"]
    assert (
        error["operation"] == "push" and "refs/heads/main not pushed (rejected" in error["message"]
    )
    assert "untrusted key" in error["message"]
    res = mg(*at(nodes, "alpha"), "peers")
    assert res.code == 0 and "untrusted key" in res.out and terminal_safe(res.out + res.err)


# -- remote add --node ---------------------------------------------------------------------------


@pytest.mark.parametrize("node", ["", " ", "ssh key", "a\tb", os.fsdecode(b"\xff")], ids=repr)
def test_remote_add_node_that_is_no_name_does_not_hint_an_impossible_trust_add(
    nodes: Nodes, mg: Mg, node: str
) -> None:
    """Bug: the hint was `mindgit trust add <did:key> --name ` + the text as typed (empty,
    with spaces or bytes that are not UTF-8), a command that could only fail."""
    alpha = nodes.make("alpha")
    before = snapshot(alpha.path)
    res = mg(*at(nodes, "alpha"), "remote", "add", "beta", "/srv/beta", "--node", node)
    one_line_error(res.code, res.err, 2)
    assert "trust add" not in res.err and "1 to 64 characters" in res.err
    assert changed(before, alpha.path) == []


def test_remote_add_node_takes_the_openssh_line_its_error_hint_offers(nodes: Nodes, mg: Mg) -> None:
    """Bug: --node took a did:key or a name; a malformed did:key's hint offered "an OpenSSH
    line (ssh-ed25519 AAAA...)", which was then looked up as a trusted node's name."""
    nodes.make("alpha")
    beta = nodes.make("beta")
    res = mg(
        *at(nodes, "alpha"),
        "remote",
        "add",
        "beta",
        "/srv/beta",
        "--node",
        beta.public_key.openssh,
        "--json",
    )
    assert res.code == 0, res.err
    assert json.loads(res.out)["node"] == beta.public_key.did
    res = mg(*at(nodes, "alpha"), "remote", "add", "b2", "/srv/b", "--node", "ssh-ed25519 AAAA")
    one_line_error(res.code, res.err, 2)
    assert "not an ed25519 public key" in res.err


# -- a peer's remote set by hand -----------------------------------------------------------------


@pytest.mark.parametrize("key", ["remote.beta.url", "remote.beta.mindgitNode"])
def test_a_peer_setting_that_is_not_utf8_is_one_line_exit_1(pair: Nodes, mg: Mg, key: str) -> None:
    """Bug: a remote's URL or expected node set by hand to bytes that are not UTF-8 was an
    internal error (UnicodeDecodeError, exit 3) in every sync command."""
    alpha = pair["alpha"]
    set_raw(alpha.path, key, b"/srv/\xff")
    before = snapshot(alpha.path)
    for args in (("peers",), ("peers", "--json"), ("remote", "list"), ("pull", "beta"), ("sync",)):
        res = mg(*at(pair, "alpha"), *args)
        one_line_error(res.code, res.err, 1)
        # A node's key setting that is no key may be a secret pasted there: its length alone.
        shown = "6 bytes (not shown: it may be a private key)" if "Node" in key else "b'/srv/\\xff'"
        assert f"config {key} = {shown} is not UTF-8 text" in res.err, res.err
    assert changed(before, alpha.path) == []


def test_a_remote_named_with_bytes_that_are_not_utf8_is_left_out(pair: Nodes, mg: Mg) -> None:
    """Bug: `git config remote.<bytes>.url ...` made every sync command an internal error
    (pygit2 decodes each config name it lists); such a name is no peer's name."""
    alpha = pair["alpha"]
    subprocess.run(
        [b"git", b"--git-dir", os.fsencode(alpha.path), b"config", b"remote.x\xff.url", b"/srv"],
        check=True,
    )
    res = mg(*at(pair, "alpha"), "peers", "--json")
    assert res.code == 0, res.err
    assert [p["name"] for p in json.loads(res.out)] == ["beta"]
    res = mg(*at(pair, "alpha"), "remote", "list")
    assert res.code == 0 and "beta" in res.out and terminal_safe(res.out)
    assert mg(*at(pair, "alpha"), "pull", "beta").code == 0


# -- hooks install --server over a config set by hand ---------------------------------------------


def _bare(base: Path, store: Store) -> tuple[Path, Path]:
    server = base / "gated.git"
    git("init", "--quiet", "--bare", str(server))
    trust = base / "allowed_signers"
    trust.write_text(store.trust.export())
    return server, trust


def test_hooks_install_with_a_bad_policy_value_installs_nothing(
    store: Store, tmp_path: Path, mg: Mg
) -> None:
    """Bug: a bad value already in the server's config (here allowDelete = 2) failed the install
    only after the trust file and the hook were written: exit 1, and half installed."""
    server, trust = _bare(tmp_path, store)
    set_raw(server, "mindgit.allowDelete", b"2")
    before = snapshot(server)
    res = mg("hooks", "install", "--server", str(server), "--trust", str(trust))
    one_line_error(res.code, res.err, 1)
    assert "config mindgit.allowDelete = '2' must be true or false" in res.err
    assert changed(before, server) == []


def test_hooks_install_flag_mends_the_bad_value_it_replaces(
    store: Store, tmp_path: Path, mg: Mg
) -> None:
    """Bug: `hooks install --server S --allow-rewind` read the current mindgit.allowRewind first
    and failed on the very value the flag was given to replace."""
    server, trust = _bare(tmp_path, store)
    set_raw(server, "mindgit.allowRewind", b"yes")
    set_raw(server, "mindgit.maxObjectBytes", b"0x10")
    res = mg(
        "hooks",
        "install",
        "--server",
        str(server),
        "--trust",
        str(trust),
        "--allow-rewind",
        "--max-object-bytes",
        "16M",
        "--json",
    )
    assert res.code == 0, res.err
    done = json.loads(res.out)
    assert done["allow_rewind"] is True and done["allow_delete"] is False
    assert done["max_object_bytes"] == 16 << 20
    assert git("--git-dir", str(server), "config", "mindgit.allowRewind").strip() == "true"
    # A bad value it keeps is still refused, naming it, with nothing written.
    set_raw(server, "mindgit.allowDelete", b"on")
    before = snapshot(server)
    res = mg("hooks", "install", "--server", str(server), "--allow-rewind", "--force")
    one_line_error(res.code, res.err, 1)
    assert "mindgit.allowDelete" in res.err and changed(before, server) == []


def test_a_stores_pre_push_reads_only_its_size_limit(store: Store, tmp_path: Path, mg: Mg) -> None:
    """A server-only switch set wrongly in a store (allowRewind = yes) does not stop pushes
    through the store's pre-push hook; a bad size limit, which it applies, does."""
    assert mg("--store", str(store.path), "hooks", "install").code == 0
    remote = tmp_path / "remote.git"
    git("init", "--quiet", "--bare", str(remote))
    store.think("a thought")
    set_raw(store.path, "mindgit.allowRewind", b"yes")
    proc = git_push(store, str(remote), "main")
    assert proc.returncode == 0, proc.stderr
    set_raw(store.path, "mindgit.maxObjectBytes", b"1e3")
    store.think("another")
    proc = git_push(store, str(remote), "main")
    assert proc.returncode != 0 and "config mindgit.maxObjectBytes = '1e3'" in proc.stderr
    assert "internal error" not in proc.stderr
