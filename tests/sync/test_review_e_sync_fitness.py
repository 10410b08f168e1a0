"""Review E: `sync --fitness NAME` with a module not stored here lists each peer's refs first
(is the module offered anywhere?). That listing spends from the peer's own --timeout, which its
pull and push then share: it had a whole timeout of its own, so a hung peer cost up to twice
--timeout. A peer set by hand under a name no pull can use (UnusablePeerName) is reported as
that peer's failure, and the others are synced: the listing stopped the whole sync on it."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mindgit.store.refs import read_ref
from tests.conftest import FIXTURES, Mg
from tests.snapshots import changed, snapshot
from tests.sync.conftest import Nodes

RASTRIGIN = FIXTURES / "fitness" / "rastrigin.wat"


class Hung:
    """A port that accepts connections, counts them, and never says a word (a hung peer)."""

    def __init__(self) -> None:
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.port: int = self.server.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return  # closed
            self.accepted.append(conn)

    def close(self) -> None:
        self.server.close()
        for conn in self.accepted:
            conn.close()


@contextlib.contextmanager
def hung_server() -> Iterator[Hung]:
    hung = Hung()
    try:
        yield hung
    finally:
        hung.close()


def git_config(gitdir: Path, key: str, value: str) -> None:
    subprocess.run(["git", "--git-dir", str(gitdir), "config", key, value], check=True)


def test_a_hung_peer_costs_one_timeout_not_two(pair: Nodes, mg: Mg) -> None:
    alpha = pair["alpha"]
    timeout = 2.0
    with hung_server() as hung:
        git_config(alpha.path, "remote.hung.url", f"git://127.0.0.1:{hung.port}/beta")
        started = time.monotonic()
        # A module named nowhere: beta offers none, the hung peer cannot tell (its pull says
        # what is wrong with it).
        r = mg(
            "--store", str(alpha.path), "sync", "--fitness", "nowhere", "--timeout", "2", "--json"
        )
        elapsed = time.monotonic() - started
        connections = len(hung.accepted)
    assert r.code == 1, r
    by_peer = {p["peer"]: p for p in json.loads(r.out)}
    assert by_peer["beta"]["ok"] is True
    assert by_peer["hung"]["type"] == "PeerTimeout", by_peer["hung"]
    # The listing took the hung peer's whole budget; its pull had none left and did not call
    # again (it called, and waited a whole timeout more).
    assert connections == 1
    assert elapsed < 2 * timeout, elapsed


def test_the_listing_spends_from_the_peers_budget_from_python(pair: Nodes) -> None:
    from mindgit.store.fitness_store import UnknownFitness
    from mindgit.sync.session import sync

    alpha = pair["alpha"]
    pair["beta"].fork("ideas")
    # sync() makes the check itself now, as the CLI did before calling it (with budgets of
    # its own): a module named nowhere is refused before anything is fetched.
    before = snapshot(alpha.path)
    with pytest.raises(UnknownFitness) as info:
        sync(alpha, fitness="rastrigni", timeout=30.0)
    assert info.value.hint is not None and info.value.hint.startswith("beta offers none either")
    assert changed(before, alpha.path) == []
    with hung_server() as hung:
        git_config(alpha.path, "remote.hung.url", f"git://127.0.0.1:{hung.port}/beta")
        results = {r.peer: r for r in sync(alpha, fitness="nowhere", timeout=1.0)}
        connections = len(hung.accepted)
    assert results["beta"].ok
    assert type(results["hung"].error).__name__ == "PeerTimeout"
    assert connections == 1


@pytest.mark.parametrize("name", ["b..x", "b.lock", "b."])
def test_sync_fitness_reports_a_hand_named_peer_and_syncs_the_others(
    nodes: Nodes, mg: Mg, name: str
) -> None:
    alpha, beta = nodes.make("alpha"), nodes.make("beta")
    nodes.trust_all()
    nodes.link("alpha", "beta")
    beta.fork("ideas")
    alpha.fork("mine")
    assert mg("--store", str(beta.path), "fitness", "add", str(RASTRIGIN)).code == 0
    git_config(alpha.path, f"remote.{name}.url", str(beta.path))
    # rastrigin is not stored here: beta is asked whether it offers it; the hand-named peer,
    # which no pull can reach, is not asked and is reported as failed.
    r = mg("--store", str(alpha.path), "sync", "--fitness", "rastrigin", "--json")
    assert r.code == 1, r
    by_peer = {p["peer"]: p for p in json.loads(r.out)}
    assert by_peer[name]["type"] == "UnusablePeerName", by_peer[name]
    assert by_peer["beta"]["ok"] is True, by_peer["beta"]
    assert read_ref(alpha.repo, "refs/fitness/rastrigin") is not None
    assert read_ref(alpha.repo, "refs/heads/ideas") is not None
    assert "refs/heads/mine" in beta.repo.references
    # In text too: the peer's failure, then the count.
    alpha.fork("more")
    r = mg("--store", str(alpha.path), "sync", "--fitness", "rastrigin")
    assert r.code == 1, r
    assert f"mindgit: peer {name} failed: peer '{name}' cannot be pulled from" in r.err
    assert f"synced with 1 of 2 peers; failed: {name}" in r.err


def test_a_module_nowhere_is_still_refused_whole_beside_a_hand_named_peer(
    pair: Nodes, mg: Mg
) -> None:
    alpha = pair["alpha"]
    pair["beta"].fork("ideas")
    git_config(alpha.path, "remote.b..x.url", str(pair["beta"].path))
    before = snapshot(alpha.path)
    r = mg("--store", str(alpha.path), "sync", "--fitness", "rastrigni")
    assert r.code == 1, r
    # The peer that could not be asked is not said to offer none.
    assert r.err == (
        "mindgit: error: no fitness module named 'rastrigni' in this store (hint: beta offers "
        f"none either; nothing was changed; `mindgit --store {alpha.path} fitness list` shows "
        "the stored ones)\n"
    )
    assert changed(before, alpha.path) == []


def test_pull_of_a_hand_named_peer_with_fitness_still_names_the_peers_fault(
    pair: Nodes, mg: Mg
) -> None:
    alpha = pair["alpha"]
    git_config(alpha.path, "remote.b..x.url", str(pair["beta"].path))
    before = snapshot(alpha.path)
    for command in ("pull", "sync"):
        r = mg("--store", str(alpha.path), command, "b..x", "--fitness", "rastrigni", "--json")
        assert r.code == 1, (command, r)
        assert json.loads(r.out)["type"] == "UnusablePeerName", (command, r.out)
    assert changed(before, alpha.path) == []


def test_the_hint_names_several_peers_in_plain_words(pair: Nodes) -> None:
    from mindgit.store.fitness_store import UnknownFitness
    from mindgit.sync.peers import add_peer
    from mindgit.sync.session import sync

    alpha = pair["alpha"]
    add_peer(alpha, "b2", f"file://{pair['beta'].path}")
    with pytest.raises(UnknownFitness) as info:
        sync(alpha, fitness="rastrigni", timeout=30.0)
    hint = info.value.hint or ""
    # It read "b2 nor beta offers none either".
    assert hint.startswith(("neither b2 nor beta offers one;", "neither beta nor b2 offers one;"))
    assert "none either" not in hint
