"""A peer's URL with credentials in it (https://user:password@host/...): they take it to the
peer, and are never printed, put in --json or recorded in the peer's state file.

Bug: `remote add`, `remote list`, `peers`, every error about the peer (git's own words
included), `-v` steps, the --json of pull, push and sync, and `mindgit/peers/<peer>.json`
all showed the password as typed."""

from __future__ import annotations

import base64
import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mindgit.errors import scrub, shown_url
from mindgit.store.repository import Store
from tests.conftest import Mg, git
from tests.sync.conftest import Nodes
from tests.sync.daemons import closed_port

USER = "alice"
SECRET = "s3cr3t-Pa55"


class _BasicAuth(SimpleHTTPRequestHandler):
    """git's dumb HTTP protocol, served only to who gives USER:SECRET."""

    def _allowed(self) -> bool:
        token = base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
        if self.headers.get("Authorization") == f"Basic {token}":
            return True
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="mindgit"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def do_GET(self) -> None:
        if self._allowed():
            super().do_GET()

    def do_HEAD(self) -> None:
        if self._allowed():
            super().do_HEAD()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_base(nodes: Nodes) -> Iterator[str]:
    """An http:// base URL with USER:SECRET in it, serving the nodes' stores."""
    handler = functools.partial(_BasicAuth, directory=str(nodes.base))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{USER}:{SECRET}@127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _no_secret(text: str) -> None:
    assert SECRET not in text, text
    assert f"{USER}:" not in text, text


def _files_without_secret(store: Store) -> None:
    """Only the config (where git reads the URL from) holds the credentials."""
    for path in store.path.rglob("*"):
        if path.is_file() and path.name != "config":
            assert SECRET.encode() not in path.read_bytes(), path


def test_credentials_in_a_peers_url_are_used_and_never_shown(
    pair: Nodes, mg: Mg, http_base: str
) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    a = ("--store", str(alpha.path))
    assert mg("--store", str(beta.path), "fork", "dreams").code == 0
    assert mg("--store", str(beta.path), "think", "dreams of flight", "-e", "dreams").code == 0
    git(f"--git-dir={beta.path}", "update-server-info")  # what dumb HTTP serves the refs from
    assert mg(*a, "fork", "mine").code == 0
    assert mg(*a, "think", "alpha's own", "-e", "mine").code == 0  # something to push
    url = f"{http_base}/beta"

    said = []
    for args in (
        ("remote", "add", "web", url, "--node", "beta"),
        ("remote", "list"),
        ("remote", "list", "--json"),
        ("pull", "web", "-v"),
        ("pull", "web", "--json"),
        ("push", "web", "-v"),  # dumb HTTP takes no push: an error naming the URL
        ("push", "web", "--json"),
        ("sync", "web", "--json"),
        ("peers",),
        ("peers", "--json"),
    ):
        r = mg(*a, *args)
        said.append((args, r.code, r.out + r.err))
    for args, _, text in said:
        assert "***@127.0.0.1" in text or args[0] in ("pull", "push", "sync"), (args, text)
        _no_secret(text)
    # The credentials did their work: the pull brought beta's experiment in.
    assert said[3][1] == 0, said[3]
    assert alpha.repo.references.get("refs/heads/dreams") is not None
    assert said[5][1] == 1, said[5]  # and the push failed, with the URL in its error
    assert "http://***@127.0.0.1:" in said[5][2], said[5]
    _files_without_secret(alpha)

    r = mg(*a, "remote", "remove", "web")
    assert r.code == 0
    _no_secret(r.out + r.err)


def test_gits_own_words_about_a_credentialed_url_are_scrubbed(nodes: Nodes, mg: Mg) -> None:
    """git names a git:// host with its userinfo on (`unable to look up user:pw@host`)."""
    alpha = nodes.make("alpha")
    a = ("--store", str(alpha.path))
    url = f"git://{USER}:{SECRET}@127.0.0.1:{closed_port()}/beta"
    assert mg(*a, "remote", "add", "down", url).code == 0
    commands: list[tuple[str, ...]] = [("pull", "down"), ("push", "down"), ("sync", "--json")]
    for args in [*commands, ("peers", "--json")]:
        r = mg(*a, *args)
        assert r.code == (0 if args[0] == "peers" else 1), (args, r)
        _no_secret(r.out + r.err)
    assert mg(*a, "remote", "add", "down", url).err.count("***@") == 1  # PeerExists names it
    _no_secret(mg(*a, "remote", "add", "other", url + " ").err)  # InvalidURL names it
    _files_without_secret(alpha)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:pw@h/x", "https://***@h/x"),
        ("https://TOKEN@h/x", "https://***@h/x"),  # a token as the user name
        ("https://u:p%40w@h/a@b", "https://***@h/a@b"),  # an '@' in the path is no userinfo
        ("ssh://u:pw@h/x", "ssh://***@h/x"),
        ("ssh://git@h:22/x", "ssh://git@h:22/x"),  # a login name alone, which ssh needs
        ("git@h:x/y", "git@h:x/y"),  # scp-like: no password can be in it
        ("file:///srv/a@b", "file:///srv/a@b"),
        ("/srv/a@b", "/srv/a@b"),
    ],
)
def test_shown_url(url: str, shown: str) -> None:
    assert shown_url(url) == shown
    assert scrub(f"unable to look up {url.partition('://')[2]} ({url})", url).count("pw") == 0
