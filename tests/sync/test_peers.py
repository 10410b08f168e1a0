"""Peers as git remotes, their names and URLs, and the state file kept for each."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.errors import UsageError
from mindgit.identity.keys import NodeKey
from mindgit.store.repository import Store
from mindgit.sync import refspace
from mindgit.sync.peers import (
    InvalidPeerName,
    InvalidURL,
    Peer,
    PeerError,
    PeerExists,
    PeerState,
    PeerStateCorrupt,
    Seen,
    UnknownPeer,
    UntrustedPeerNode,
    add_peer,
    get_peer,
    list_peers,
    peer_statuses,
    read_state,
    remove_peer,
    state_path,
    write_state,
)
from mindgit.sync.pull import pull
from mindgit.sync.transport import parse_porcelain
from tests.conftest import Mg, git
from tests.sync.conftest import Nodes


def test_add_list_get_remove(store: Store) -> None:
    other = NodeKey.generate().public
    store.trust.add(other, "beta")
    a = add_peer(store, "beta", "git://127.0.0.1:9418/beta", node="beta")
    b = add_peer(store, "gamma", "/srv/gamma.git", node=NodeKey.generate().public.did)
    c = add_peer(store, "delta", "https://example.invalid/delta.git")
    assert a == Peer("beta", "git://127.0.0.1:9418/beta", other.did)
    assert list_peers(store) == sorted([a, b, c], key=lambda p: p.name)
    assert get_peer(store, "gamma") == b
    # A plain git remote, without a fetch refspec: `git fetch beta` moves nothing mindgit reads.
    assert git(f"--git-dir={store.path}", "remote", "get-url", "beta").strip() == a.url
    assert git(f"--git-dir={store.path}", "config", "--get-all", "transfer.hideRefs").split() == [
        "refs/quarantine",
        "refs/peers",
    ]
    assert remove_peer(store, "beta") == a
    assert [p.name for p in list_peers(store)] == ["delta", "gamma"]
    with pytest.raises(UnknownPeer):
        get_peer(store, "beta")


def test_remove_forgets_marks_and_state(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("ideas")
    pull(alpha, "beta")
    assert state_path(alpha, "beta").exists()
    remove_peer(alpha, "beta")
    assert not [r for r in alpha.repo.references if r.startswith("refs/peers/")]
    assert not state_path(alpha, "beta").exists()
    assert alpha.head("ideas") == beta.head("ideas")  # what was accepted stays


def test_existing_peer_is_refused(store: Store) -> None:
    add_peer(store, "beta", "/x")
    with pytest.raises(PeerExists) as info:
        add_peer(store, "beta", "/y")
    assert info.value.url == "/x"
    assert get_peer(store, "beta").url == "/x"


@pytest.mark.parametrize("name", ["", "-x", ".x", "a/b", "a..b", "x.lock", "a b", "é", "x" * 65])
def test_bad_peer_names(store: Store, name: str) -> None:
    with pytest.raises(InvalidPeerName):
        add_peer(store, name, "/x")
    assert list_peers(store) == []


@pytest.mark.parametrize(
    "url", ["", " /x", "-upload-pack=touch /tmp/x", "ext::sh -c touch% /tmp/x", "fd::3", "/a\nb"]
)
def test_bad_urls(store: Store, url: str) -> None:
    with pytest.raises(InvalidURL):
        add_peer(store, "beta", url)
    assert list_peers(store) == []


def test_expected_node_must_be_trusted_by_name(store: Store, mg: Mg) -> None:
    # A well-formed name this store does not trust is exit 1, as `think --to` gives it; it was
    # a usage error (exit 2), which is for a command line nothing could take.
    with pytest.raises(UntrustedPeerNode) as info:
        add_peer(store, "beta", "/x", node="beta")
    assert not isinstance(info.value, UsageError)
    assert "mindgit trust add <did:key> --name beta" in (info.value.hint or "")
    r = mg("--store", str(store.path), "remote", "add", "beta", "/x", "--node", "nobody")
    assert r.code == 1 and "no trusted node named 'nobody'" in r.err, r.err


def test_unknown_peer_lists_the_known_ones(store: Store) -> None:
    add_peer(store, "beta", "/x")
    with pytest.raises(UnknownPeer) as info:
        get_peer(store, "gamma")
    assert info.value.known == ["beta"] and "beta" in str(info.value)
    with pytest.raises(UnknownPeer):
        get_peer(store, "../etc")


def test_statuses_show_trust_of_the_expected_node(store: Store) -> None:
    key = NodeKey.generate().public
    add_peer(store, "beta", "/x", node=key.did)
    [status] = peer_statuses(store)
    assert status.trusted_as is None
    store.trust.add(key, "b")
    [status] = peer_statuses(store)
    assert status.trusted_as == "b" and status.marks == {}


def test_corrupt_state_file(store: Store) -> None:
    add_peer(store, "beta", "/x")
    path = state_path(store, "beta")
    path.parent.mkdir(exist_ok=True)
    path.write_text("{not json")
    with pytest.raises(PeerStateCorrupt):
        read_state(store, "beta")
    path.write_text(json.dumps({"version": 99}))
    with pytest.raises(PeerStateCorrupt):
        read_state(store, "beta")
    # Status still shows the peer: the file only held times.
    assert peer_statuses(store)[0].state == PeerState()


times = st.floats(min_value=0, max_value=4e9, allow_nan=False)
oids = st.text("0123456789abcdef", min_size=40, max_size=40)
refs = st.from_regex(r"refs/(heads|runs|fitness)/[a-z][a-z0-9_-]{0,20}", fullmatch=True)
states = st.builds(
    PeerState,
    seen=st.dictionaries(refs, st.builds(Seen, oids, times, times), max_size=5),
    last_pull=st.none() | times,
    last_push=st.none() | times,
    last_error=st.none()
    | st.builds(PeerError, times, st.sampled_from(["pull", "push"]), st.text(max_size=80)),
)


@settings(max_examples=50, deadline=None)
@given(state=states)
def test_state_round_trips(state: PeerState) -> None:
    assert PeerState.from_json(json.loads(json.dumps(state.to_json()))) == state


def test_state_file_round_trips_on_disk(store: Store) -> None:
    state = PeerState({"refs/heads/x": Seen("a" * 40, 1.0, 2.5)}, 2.5, None, None)
    write_state(store, "beta", state)
    assert read_state(store, "beta") == state
    assert read_state(store, "gamma") == PeerState()


flags = st.sampled_from([" ", "*", "=", "!", "+", "-"])
summaries = st.from_regex(r"[a-z0-9.\[\] ]{1,20}", fullmatch=True).map(str.strip).filter(bool)
reasons = st.none() | st.from_regex(r"[a-z ]{1,20}", fullmatch=True).map(str.strip).filter(bool)


@settings(max_examples=50, deadline=None)
@given(lines=st.lists(st.tuples(flags, refs, oids, summaries, reasons), max_size=6))
def test_porcelain_push_output_parses(
    lines: list[tuple[str, str, str, str, str | None]],
) -> None:
    text = "To somewhere\n"
    for flag, ref, oid, summary, reason in lines:
        text += f"{flag}\t{oid}:{ref}\t{summary}" + (f" ({reason})" if reason else "") + "\n"
    text += "Done\n"
    parsed = parse_porcelain(text)
    assert [(p.flag, p.ref, p.summary, p.reason) for p in parsed] == [
        (flag, ref, summary, reason) for flag, ref, _, summary, reason in lines
    ]


@pytest.mark.parametrize(
    "ref",
    [
        "refs/heads/x",
        "refs/heads/a/b",
        "refs/runs/0123456789ab",
        "refs/fitness/rastrigin",
        "refs/keys/announce",
        refspace.key_chain_ref(NodeKey.from_seed(bytes(32)).public.did),
    ],
)
def test_synced_ref_names(ref: str) -> None:
    assert refspace.check_synced_ref(ref) == ref


@pytest.mark.parametrize(
    "ref",
    [
        "refs/heads/-x",
        "refs/runs/nothex",
        "refs/fitness/-bad",
        "refs/keys/whatever",
        "refs/tags/v1",
        "refs/peers/beta/heads/x",
        "refs/heads/a..b",
    ],
)
def test_refused_ref_names(ref: str) -> None:
    with pytest.raises(refspace.BadRefName):
        refspace.check_synced_ref(ref)
