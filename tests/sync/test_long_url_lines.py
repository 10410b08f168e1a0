"""A peer's URL set by hand in the store's config (`git config remote.beta.url ...`) has no
bound (`remote add` takes 4,096 characters at most), and every line that named it named it
whole: 100,000 characters made `pull`'s, `push`'s and `sync`'s "cannot reach <url>: <git's
words>" a 100 KB line (git's words quote the URL again, up to 4,096 characters), recorded as
long as the peer's last error, and `remote remove` and `pull -v` as long. A line now names the
URL as errors.shown_path names a path: whole up to 160 characters, else its start quoted and
its length said; git's words have each run without a space cut past 160 characters.
`remote list` still shows the URL whole: it is where the hints send the user to read it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mindgit.errors import quoted, shown_path
from mindgit.store.repository import Store, init_store
from mindgit.sync.peers import peer_lock
from mindgit.sync.transport import (
    FetchTooLarge,
    LocalWriteFailed,
    ObjectFormatMismatch,
    ObjectsRefused,
    PeerTimeout,
    PeerUnreachable,
    TransportError,
)
from tests.conftest import Mg
from tests.snapshots import changed, snapshot
from tests.sync.daemons import closed_port

LONG = 100_000


def _set_by_hand(store: Store, name: str, url: str) -> None:
    subprocess.run(
        ["git", "--git-dir", str(store.path), "config", f"remote.{name}.url", url], check=True
    )


def _path_url(tmp_path: Path) -> str:
    base = f"{tmp_path}/nothing/"
    return base + "a" * (LONG - len(base))


@pytest.mark.parametrize(("command", "operation"), [("pull", "pull from"), ("push", "push to")])
def test_a_failing_pull_or_push_names_a_long_url_cut(
    store: Store, mg: Mg, tmp_path: Path, command: str, operation: str
) -> None:
    url = _path_url(tmp_path)
    _set_by_hand(store, "beta", url)
    before = snapshot(store.path)
    r = mg("--store", str(store.path), command, "beta")
    assert (r.code, r.out) == (1, ""), r.err[:600]
    assert r.err.count("\n") == 1 and len(r.err) < 600, r.err[:600]
    assert r.err.startswith(
        f"mindgit: error: {operation} beta: cannot reach {quoted(url, 160)}: "
    ), r.err[:600]
    assert "a" * 161 not in r.err
    # Nothing changed but the record of the failure, which is as short (and the quarantine a
    # pull fetches into, kept as after any failed pull).
    state = Path("mindgit", "peers", "beta.json")
    kept = {str(state.parent), str(state), str(state.with_suffix(".lock"))}
    assert [
        p for p in changed(before, store.path) if p not in kept and "mindgit/quarantine" not in p
    ] == []
    assert store.repo.config["remote.beta.url"] == url
    recorded = json.loads((store.path / state).read_text())["last_error"]["message"]
    assert len(recorded) < 400 and recorded in r.err, recorded


def test_sync_names_a_long_url_cut(store: Store, mg: Mg, tmp_path: Path) -> None:
    url = _path_url(tmp_path)
    _set_by_hand(store, "beta", url)
    r = mg("--store", str(store.path), "sync")
    assert r.code == 1, r.err[:600]
    lines = r.err.splitlines()
    assert len(lines) == 2 and all(len(line) < 600 for line in lines), r.err[:600]
    assert lines[0].startswith(
        f"mindgit: peer beta failed: pull from beta: cannot reach {quoted(url, 160)}: "
    )
    assert lines[1] == "synced with 0 of 1 peer; failed: beta"


def test_a_long_url_s_credentials_stay_hidden_when_cut(store: Store, mg: Mg) -> None:
    url = f"https://user:{'s' * 5000}@127.0.0.1:{closed_port()}/" + "a" * LONG
    _set_by_hand(store, "beta", url)
    r = mg("--store", str(store.path), "pull", "beta", "--timeout", "20")
    assert (r.code, r.out) == (1, ""), r.err[:600]
    assert r.err.count("\n") == 1 and len(r.err) < 600, r.err[:600]
    assert f"cannot reach 'https://***'... ({len(url)} characters): " in r.err, r.err[:600]
    assert "user" not in r.err and "sss" not in r.err


def test_remote_remove_and_add_name_a_long_url_cut(store: Store, mg: Mg, tmp_path: Path) -> None:
    url = _path_url(tmp_path)
    _set_by_hand(store, "beta", url)
    r = mg("--store", str(store.path), "remote", "remove", "beta")
    assert r.code == 0, r.err[:600]
    assert r.err == f"removed peer beta ({quoted(url, 160)})\n", r.err[:600]
    assert list(store.repo.config.get_multivar("remote.beta.url")) == []
    longest = url[:4096]  # the longest `remote add` takes
    r = mg("--store", str(store.path), "remote", "add", "beta", longest)
    assert r.code == 0, r.err[:600]
    assert r.err == f"added peer beta: {quoted(longest, 160)}\n", r.err[:600]
    # The listing shows it whole: it is where a user reads the URL (the hints send them there).
    r = mg("--store", str(store.path), "remote", "list")
    assert r.out == f"beta\t{longest}\t\n", r.out[:600]


def test_a_short_url_is_named_as_it_is(store: Store, mg: Mg, tmp_path: Path) -> None:
    url = f"{tmp_path}/nothing"
    assert mg("--store", str(store.path), "remote", "add", "beta", url).err == (
        f"added peer beta: {url}\n"
    )
    r = mg("--store", str(store.path), "pull", "beta")
    assert r.err.startswith(f"mindgit: error: pull from beta: cannot reach {url}: "), r.err


def test_pull_verbose_names_a_long_url_cut(store: Store, mg: Mg, tmp_path: Path) -> None:
    url = _path_url(tmp_path)
    _set_by_hand(store, "beta", url)
    r = mg("--store", str(store.path), "pull", "beta", "-v")
    assert r.code == 1
    assert "beta: fetching from " + url[:160] + f"... ({LONG} characters)" in r.err, r.err[:600]
    assert all(len(line) < 600 for line in r.err.splitlines()), r.err[:600]


def test_a_busy_peer_names_the_lock_of_a_long_store_path_cut(tmp_path: Path, mg: Mg) -> None:
    store = init_store(tmp_path.joinpath(*["d" * 200] * 3, "alpha"), "alpha")
    _set_by_hand(store, "beta", f"{tmp_path}/nothing")
    lock = store.path / "mindgit" / "peers" / "beta.lock"
    with peer_lock(store, "beta"):
        r = mg("--store", str(store.path), "pull", "beta", "--timeout", "0.2")
    assert (r.code, r.out) == (1, ""), r.err[:600]
    waiting, error = r.err.splitlines()  # the wait is told, then the error
    assert waiting.startswith("beta: waiting for another pull or push"), waiting
    assert len(error) < 400, error
    assert f"nothing was changed ({shown_path(lock)} is held)" in error, error


def test_every_transport_error_names_a_long_url_and_git_s_words_cut() -> None:
    url = "https://example.invalid/" + "a" * LONG
    said = f"unable to access '{url[:4090]}'"  # git quotes the URL, cut at about 4,096
    errors: list[TransportError] = [
        TransportError("beta", url, "pull from", said),
        PeerUnreachable("beta", url, "pull from", said),
        PeerTimeout("beta", url, "push to", 60),
        ObjectFormatMismatch("beta", url, "pull from", said),
        ObjectsRefused("beta", url, "pull from", said),
        FetchTooLarge("beta", url, 1000, 2000),
        LocalWriteFailed("beta", url, "pull from", said),
        TransportError("beta", url, "push to", "x " * LONG),  # a peer's long words
    ]
    for error in errors:
        text = f"{error} (hint: {error.hint})"
        assert len(text) < 700 and "a" * 161 not in text, (type(error), text[:800])
        assert len(error.detail) < 600
