"""Adversarial review of node sync: remote names and URLs, push, pull, sync and peers under
hostile input, interruptions and races. Each test pins a behaviour the audit checked or a bug it
found (named in the test's docstring)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.store.refs import check_ref_name
from mindgit.store.repository import Store
from mindgit.sync import pull as pull_module
from mindgit.sync import refspace
from mindgit.sync.outcomes import PullRejected
from mindgit.sync.peers import (
    InvalidPeerName,
    InvalidURL,
    PeerError,
    PeerState,
    add_peer,
    get_peer,
    list_peers,
    read_state,
    remove_peer,
    write_state,
)
from mindgit.sync.pull import pull
from mindgit.sync.push import push
from mindgit.sync.quarantine import Quarantine
from mindgit.sync.transport import TransportError
from tests.conftest import Mg, fsck, git
from tests.sync.conftest import Nodes
from tests.sync.test_attacks import fingerprint

ROOT = Path(__file__).resolve().parents[2]
# What a hostile peer would like a terminal to run: OSC 52 writes the clipboard, OSC 0 the
# title, CSI moves the cursor, and U+009B is CSI again as one (UTF-8) character.
HOSTILE = "\x1b]52;c;cm0gLXJmIH4=\x07\x1b]0;owned\x07\x1b[2J\x1b[31mred\u009b2J\u202etxt.exe\x08"


def at(nodes: Nodes, name: str) -> tuple[str, str]:
    return "--store", str(nodes[name].path)


def terminal_safe(text: str) -> bool:
    return all(c.isprintable() or c in "\n\t" for c in text)


# -- remote add / remove -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["beta.", "a.", "x" * 65, "a\x1bb", "a\tb", "..", "a/../b", "HEAD/x", "b\u00e9ta"]
)
def test_names_remote_add_refuses(store: Store, name: str) -> None:
    """Bug: a name ending in '.' was added, then every pull from it failed after moving refs
    ('invalid ref name refs/peers/beta./heads/...')."""
    with pytest.raises(InvalidPeerName):
        add_peer(store, name, "/x")
    assert list_peers(store) == []


@settings(max_examples=200, deadline=None)
@given(
    name=st.text(st.characters(codec="ascii"), min_size=1, max_size=70)
    | st.from_regex(r"[A-Za-z0-9_.-]{1,66}", fullmatch=True)
)
def test_every_name_remote_add_takes_makes_valid_refs(name: str) -> None:
    """Whatever name is accepted, its last-seen marks and quarantine refs are valid ref names
    (a name that passed but made invalid refs is the bug above)."""
    from mindgit.sync.peers import check_peer_name

    try:
        check_peer_name(name)
    except InvalidPeerName:
        return
    for ref in ("refs/heads/x", "refs/runs/0123456789ab", "refs/keys/announce"):
        check_ref_name(refspace.seen_ref(name, ref))
        check_ref_name(refspace.quarantine_ref(name, ref))


def test_a_dotted_peer_name_pulls_and_pushes(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("ideas")
    add_peer(alpha, "beta.home", str(beta.path))
    report = pull(alpha, "beta.home")
    assert {r.ref: r.status for r in report.refs}["refs/heads/ideas"] == "new"
    alpha.think("more", experiment="ideas")
    assert push(alpha, "beta.home", ["ideas"]).ok
    assert beta.head("ideas") == alpha.head("ideas")


@pytest.mark.parametrize(
    "url",
    [
        "/tmp/a\x1b]0;x\x07b",
        "/tmp/a\tb",
        "/tmp/a\x7fb",
        "/tmp/a\u009bb",
        "git://host/x\x00",
        "ext::sh -c id",
        "fd::0",
        "/tmp/\udcff",
    ],
)
def test_urls_remote_add_refuses(store: Store, url: str) -> None:
    with pytest.raises(InvalidURL):
        add_peer(store, "beta", url)
    assert list_peers(store) == []


def test_a_url_that_is_not_utf8_is_a_usage_error(nodes: Nodes, mg: Mg) -> None:
    """Bug: a URL with a byte that is not UTF-8 (as a shell passes it) ended in an internal
    error, exit 3 (UnicodeEncodeError writing the config)."""
    alpha = nodes.make("alpha")
    url = os.fsdecode(b"/tmp/peer-\xff")
    res = mg(*at(nodes, "alpha"), "remote", "add", "beta", url)
    assert res.code == 2, res.err
    assert "invalid peer URL" in res.err and "Traceback" not in res.err
    assert list_peers(alpha) == []


def test_a_relative_path_names_the_same_peer_from_any_directory(
    pair: Nodes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bug: a relative path was stored as given, so git read it against the directory each later
    pull ran in: the same peer was 'unreachable' (or another repository) from elsewhere."""
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("ideas")
    monkeypatch.chdir(pair.base)
    peer = add_peer(alpha, "near", "beta")
    assert Path(peer.url) == beta.path and get_peer(alpha, "near").url == peer.url
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    pull(alpha, "near")
    assert alpha.head("ideas") == beta.head("ideas")


@pytest.mark.parametrize(
    "url", ["beta.example:srv/beta.git", "git@host:beta", "file:///srv/beta", "ssh://h/b"]
)
def test_urls_that_are_not_local_paths_are_kept_as_given(store: Store, url: str) -> None:
    assert add_peer(store, "beta", url).url == url


def test_duplicate_add_and_unknown_remove_change_nothing(nodes: Nodes, mg: Mg) -> None:
    alpha = nodes.make("alpha")
    assert mg(*at(nodes, "alpha"), "remote", "add", "beta", "/srv/one").code == 0
    before = (alpha.path / "config").read_bytes()
    res = mg(*at(nodes, "alpha"), "remote", "add", "beta", "/srv/two", "--json")
    assert res.code == 1 and json.loads(res.out)["type"] == "PeerExists"
    res = mg(*at(nodes, "alpha"), "remote", "remove", "gamma", "--json")
    assert res.code == 1 and json.loads(res.out)["type"] == "UnknownPeer"
    assert "beta" in json.loads(res.out)["error"]
    assert (alpha.path / "config").read_bytes() == before


# -- push ----------------------------------------------------------------------------------


def test_push_of_an_unknown_experiment_sends_nothing(pair: Nodes, mg: Mg) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    alpha.fork("ideas")
    before = fingerprint(beta)
    res = mg(*at(pair, "alpha"), "push", "beta", "ideas", "nosuch", "--json")
    assert res.code == 1
    assert json.loads(res.out)["type"] == "UnknownExperiment" and "nosuch" in res.err
    assert fingerprint(beta) == before
    res = mg(*at(pair, "alpha"), "push", "beta", "-bad")
    assert res.code != 0 and "Traceback" not in res.err


def test_push_to_a_diverged_peer_is_refused_with_what_to_do(pair: Nodes, mg: Mg) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    alpha.fork("ideas")
    assert push(alpha, "beta", ["ideas"]).ok
    beta.think("beta's", experiment="ideas")
    pull(alpha, "beta")
    alpha.think("alpha's", experiment="ideas")
    beta.think("beta's again", experiment="ideas")  # alpha does not know this one
    theirs = beta.head("ideas")
    res = mg(*at(pair, "alpha"), "push", "beta", "ideas", "--json")
    assert res.code == 1
    [ref] = [r for r in json.loads(res.out)["refs"] if r["ref"] == "refs/heads/ideas"]
    assert ref["status"] == "rejected" and beta.head("ideas") == theirs
    pull(alpha, "beta")  # now alpha knows it: diverged, and says to pull
    alpha.think("alpha's again", experiment="ideas")
    beta.think("beta's third", experiment="ideas")
    pull(alpha, "beta")
    beta.think("beta's fourth", experiment="ideas")
    report = push(alpha, "beta", ["ideas"])
    assert not report.ok and beta.head("ideas") != alpha.head("ideas")


def _hostile_server(base: Path) -> Path:
    """A bare repository whose pre-receive hook (the peer's own code) prints control codes."""
    server = base / "hostile.git"
    git("init", "--quiet", "--bare", str(server))
    hook = server / "hooks" / "pre-receive"
    payload = HOSTILE.encode()
    hook.write_bytes(b"#!/bin/sh\nprintf '%s\\n' '" + payload + b"' >&2\nexit 0\n")
    hook.chmod(0o755)
    return server


def test_a_hostile_peers_push_messages_reach_the_terminal_without_control_codes(
    nodes: Nodes, mg: Mg
) -> None:
    """Bug: the peer's 'remote:' lines were printed as sent: OSC 52 (clipboard), titles,
    cursor moves went straight to the user's terminal."""
    alpha = nodes.make("alpha")
    alpha.fork("ideas")
    server = _hostile_server(nodes.base)
    add_peer(alpha, "evil", f"file://{server}")
    res = mg(*at(nodes, "alpha"), "push", "evil", "ideas")
    assert res.code == 0, res.err
    assert "remote:" in res.err and "red" in res.err
    assert terminal_safe(res.err) and terminal_safe(res.out), repr(res.err)
    # --json keeps what the peer said (JSON escapes it) for a program to judge.
    alpha.think("more", experiment="ideas")
    res = mg(*at(nodes, "alpha"), "push", "evil", "ideas", "--json")
    assert "\x1b]52" in json.loads(res.out)["remote"]


@pytest.fixture
def err_server() -> Iterator[int]:
    """A git:// 'peer' that answers every request with an ERR packet full of control codes."""
    message = b"ERR " + HOSTILE.encode() + b" [/x] [link=http://evil]here[/link]\n"
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(60)

    import threading

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.recv(4096)
                conn.sendall(b"%04x" % (len(message) + 4) + message)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()
        thread.join(timeout=60)


def test_a_hostile_daemons_error_is_recorded_and_shown_without_control_codes(
    nodes: Nodes, mg: Mg, err_server: int
) -> None:
    """git masks C0 codes in a remote error but lets UTF-8 C1 (U+009B, CSI) and bidi overrides
    through. Bug: they reached the error message, the peer state file and `mindgit peers`."""
    alpha = nodes.make("alpha")
    add_peer(alpha, "evil", f"git://127.0.0.1:{err_server}/x")
    with pytest.raises(TransportError) as info:
        pull(alpha, "evil", timeout=30)
    assert "remote error" in str(info.value) and terminal_safe(str(info.value))
    error = read_state(alpha, "evil").last_error
    assert error is not None and terminal_safe(error.message)
    res = mg(*at(nodes, "alpha"), "pull", "evil", "--timeout", "30")
    assert res.code == 1 and terminal_safe(res.err), repr(res.err)
    res = mg(*at(nodes, "alpha"), "sync", "--timeout", "30")
    assert res.code == 1 and "peer evil failed" in res.err and terminal_safe(res.err)
    res = mg(*at(nodes, "alpha"), "peers")
    assert res.code == 0 and "remote error" in res.out and terminal_safe(res.out)


def test_peers_shows_a_stored_error_without_control_codes(nodes: Nodes, mg: Mg) -> None:
    """A state file written before errors were cleaned (or by hand) still prints safely."""
    alpha = nodes.make("alpha")
    add_peer(alpha, "beta", "/srv/beta")
    write_state(alpha, "beta", PeerState(last_error=PeerError(1.0, "pull", "bad " + HOSTILE)))
    res = mg(*at(nodes, "alpha"), "peers")
    assert res.code == 0 and "bad" in res.out and terminal_safe(res.out), repr(res.out)
    data = json.loads(mg(*at(nodes, "alpha"), "peers", "--json").out)
    assert data[0]["last_error"]["message"] == "bad " + HOSTILE


# -- pull ----------------------------------------------------------------------------------


def test_a_peer_offering_an_experiment_named_HEAD_is_refused(pair: Nodes) -> None:
    """Bug: a peer's refs/heads/HEAD was pulled as an experiment, a name this store refuses
    to make (every git command would call 'HEAD' ambiguous)."""
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("ideas")
    git(f"--git-dir={beta.path}", "update-ref", "refs/heads/HEAD", beta.head("ideas"))
    before = fingerprint(alpha)
    with pytest.raises(PullRejected) as info:
        pull(alpha, "beta")
    assert "refs/heads/HEAD" in str(info.value)
    assert fingerprint(alpha) == before


def test_refs_outside_the_synced_namespaces_are_not_fetched(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("ideas")
    head = beta.head("ideas")
    for ref in (
        "refs/tags/v1",
        "refs/notes/commits",
        "refs/peers/gamma/heads/x",
        "refs/quarantine/alpha/heads/x",
        "refs/remotes/origin/x",
        "refs/stash",
    ):
        git(f"--git-dir={beta.path}", "update-ref", ref, head)
    report = pull(alpha, "beta")
    assert {r.ref for r in report.refs} == {"refs/heads/ideas", "refs/heads/main"}
    assert sorted(r for r in alpha.repo.references if not r.startswith("refs/peers/beta/")) == [
        "refs/heads/ideas",
        "refs/heads/main",
    ]


def test_a_local_commit_made_during_a_pull_is_never_lost(
    pair: Nodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compare-and-swap: the experiment moves here between the pull reading it and moving it."""
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("ideas")
    pull(alpha, "beta")
    beta.think("beta's next", experiment="ideas")
    from mindgit.sync.ancestry import descends as real

    raced: list[str] = []

    def racing(repo: object, a: str, b: str) -> bool:
        result = real(repo, a, b)  # type: ignore[arg-type]
        if not raced and a == beta.head("ideas"):
            commit, _ = alpha.think("written meanwhile", experiment="ideas")
            raced.append(str(commit.id))
        return result

    monkeypatch.setattr(pull_module, "descends", racing)
    report = pull(alpha, "beta")
    assert raced
    [ideas] = [r for r in report.refs if r.ref == "refs/heads/ideas"]
    assert ideas.status in ("merged", "conflict")
    head = alpha.head("ideas")
    assert head == raced[0] or alpha.repo.descendant_of(head, raced[0])
    fsck(alpha.path)


_KILLED_WHILE_VERIFYING = """
import os, signal, sys
from mindgit.store.repository import open_store
from mindgit.sync.pull import pull

def on_event(event):
    if event.step == "verify":
        os.kill(os.getpid(), signal.SIGKILL)

pull(open_store(sys.argv[1]), "beta", on_event=on_event)
"""


def test_a_pull_killed_while_verifying_changes_nothing_and_the_next_cleans_up(
    pair: Nodes,
) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("ideas")
    for i in range(3):
        beta.think(f"thought {i}", experiment="ideas")
    before = fingerprint(alpha)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.run(
        [sys.executable, "-c", _KILLED_WHILE_VERIFYING, str(alpha.path)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert fingerprint(alpha) == before
    q = Quarantine(alpha, "beta")
    assert list((q.objects / "pack").iterdir())  # what the killed pull fetched is still there
    fsck(alpha.path)
    report = pull(alpha, "beta")
    assert {r.ref: r.status for r in report.refs}["refs/heads/ideas"] == "new"
    assert alpha.head("ideas") == beta.head("ideas")
    assert list((q.objects / "pack").iterdir()) == []
    fsck(alpha.path)


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        assert chunk, "git hung up before its request was whole"
        data += chunk
    return data


def test_remote_remove_takes_a_killed_pulls_quarantine_along(pair: Nodes) -> None:
    """Bug: `remote remove` left mindgit/quarantine/<peer>, with whatever a killed pull had
    fetched and never verified, on disk for good."""
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("ideas")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.run(
        [sys.executable, "-c", _KILLED_WHILE_VERIFYING, str(alpha.path)], env=env, check=False
    )
    assert child.returncode == -signal.SIGKILL
    q = Quarantine(alpha, "beta")
    assert list((q.objects / "pack").iterdir())
    remove_peer(alpha, "beta")
    assert not q.path.exists()


_PULL_FOREVER = """
import sys
from mindgit.store.repository import open_store
from mindgit.sync.pull import pull
pull(open_store(sys.argv[1]), "hung", timeout=3600)
"""


def test_git_dies_with_a_pull_killed_while_fetching(nodes: Nodes) -> None:
    """Bug: git runs in a session of its own (so that a timeout can kill its helpers), so a
    mindgit killed with SIGKILL left `git fetch` running, with no timeout left to end it,
    still writing into the quarantine the next pull would use."""
    alpha = nodes.make("alpha")
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(60)
    add_peer(alpha, "hung", f"git://127.0.0.1:{server.getsockname()[1]}/x")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen(
        [sys.executable, "-c", _PULL_FOREVER, str(alpha.path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        conn, _ = server.accept()  # git is connected: the fetch is under way
        with conn:
            conn.settimeout(30)
            head = _read_exactly(conn, 4)  # its request: one pkt-line
            _read_exactly(conn, int(head, 16) - 4)
            child.kill()
            child.wait(timeout=60)
            # git's end of the connection closes when git dies; an orphan would wait forever.
            try:
                left = conn.recv(4096)
            except TimeoutError:
                pytest.fail("git fetch outlived the mindgit that started it")
            assert left == b""
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        server.close()


# -- sync, peers, timeouts -----------------------------------------------------------------


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "1e400"])
def test_a_timeout_that_is_not_a_finite_number_is_a_usage_error(
    pair: Nodes, mg: Mg, value: str
) -> None:
    """Bug: --timeout inf (or nan, which FloatRange lets through) was an internal error, exit 3
    (OverflowError/ValueError turning it into an int)."""
    for command in ("pull", "push", "sync"):
        res = mg(*at(pair, "alpha"), command, "beta", "--timeout", value)
        assert res.code == 2, (command, res.err)
        assert "Traceback" not in res.err and "internal error" not in res.err
    pair["alpha"].config_set("mindgit.synctimeout", value)
    res = mg(*at(pair, "alpha"), "pull", "beta")
    assert res.code == 1 and "mindgit.synctimeout" in res.err  # bad data in the config


def test_a_timeout_over_what_poll_can_wait_is_a_usage_error(pair: Nodes, mg: Mg) -> None:
    # 2,147,484 s is past poll()'s milliseconds in a C int: push raised OverflowError (exit 3).
    for command in ("pull", "push", "sync"):
        res = mg(*at(pair, "alpha"), command, "beta", "--timeout", "2147484")
        assert res.code == 2 and "over the limit of 2147483 seconds" in res.err, (command, res.err)


def test_a_configured_timeout_over_what_poll_can_wait_is_refused(pair: Nodes, mg: Mg) -> None:
    # Bug: config set bounds synctimeout, but git config (or an older mindgit) does not: push
    # raised OverflowError, and 1e300 a timestamp overflow, both exit 3. Now read as config set
    # checks it: bad data in the config, exit 1.
    for value, why in (("2147484", "over the limit of 2147483"), ("1e300", "positive integer")):
        pair["alpha"].config_set("mindgit.synctimeout", value)
        for command in ("pull", "push", "sync"):
            res = mg(*at(pair, "alpha"), command, "beta")
            assert res.code == 1, (value, command, res.err)
            assert "mindgit.synctimeout" in res.err and why in res.err


def test_peers_with_a_peer_never_contacted(nodes: Nodes, mg: Mg) -> None:
    nodes.make("alpha")
    beta = nodes.make("beta")
    assert mg(*at(nodes, "alpha"), "remote", "add", "beta", str(beta.path)).code == 0
    res = mg(*at(nodes, "alpha"), "peers", "--json")
    assert res.code == 0
    assert json.loads(res.out) == [
        {
            "name": "beta",
            "url": str(beta.path),
            "node": None,
            "trusted_as": None,
            "last_pull": None,
            "last_push": None,
            "last_error": None,
            "seen": [],
        }
    ]
    res = mg(*at(nodes, "alpha"), "peers")
    assert res.code == 0 and "(no node given)" in res.out


def test_sync_with_one_peer_down_and_one_up_in_json(pair: Nodes, mg: Mg) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("ideas")
    add_peer(alpha, "aaa-gone", str(pair.base / "gone"))  # tried first
    res = mg(*at(pair, "alpha"), "sync", "--json", "--timeout", "30")
    assert res.code == 1
    results = {r["peer"]: r for r in json.loads(res.out)}
    assert results["aaa-gone"]["ok"] is False and "cannot reach" in results["aaa-gone"]["error"]
    assert results["aaa-gone"]["pull"] is None and results["aaa-gone"]["push"] is None
    assert results["beta"]["ok"] is True and results["beta"]["push"]["ok"] is True
    assert alpha.head("ideas") == beta.head("ideas")


def test_every_sync_command_json_parses(pair: Nodes, mg: Mg) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("ideas")
    beta.think("one", experiment="ideas")
    for args in (
        ("remote", "list"),
        ("pull", "beta"),
        ("push", "beta"),
        ("sync",),
        ("peers",),
        ("remote", "add", "gamma", "/srv/gamma"),
        ("remote", "remove", "gamma"),
    ):
        res = mg(*at(pair, "alpha"), *args, "--json")
        assert res.code == 0, (args, res.err)
        json.loads(res.out)
    assert alpha.head("ideas") == beta.head("ideas")
