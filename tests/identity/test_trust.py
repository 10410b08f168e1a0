"""The trust store: an OpenSSH allowed_signers file that ssh-keygen and git read as mindgit does."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mindgit.identity import sshsig
from mindgit.identity.keys import MalformedKey, NodeKey, PublicKey
from mindgit.identity.trust import (
    InvalidHeads,
    InvalidNodeName,
    TrustConflict,
    TrustedNode,
    TrustFileCorrupt,
    TrustFileUnreadable,
    TrustFileUnwritable,
    TrustStore,
    UnknownNode,
    check_node_name,
)

from .tools import ok, run, ssh_keygen_key


def key(n: int) -> PublicKey:
    return NodeKey.from_seed(bytes([n]) * 32).public


A, B, C = key(1), key(2), key(3)


@pytest.fixture
def store(tmp_path: Path) -> TrustStore:
    return TrustStore(tmp_path / "allowed_signers")


# -- the API --------------------------------------------------------------------------------


def test_missing_file_is_empty(store: TrustStore) -> None:
    assert store.nodes() == []
    assert store.export() == ""
    assert store.find(A) is None
    assert not store.path.exists()


def test_add_writes_one_canonical_line(store: TrustStore) -> None:
    node = store.add(A, "alpha")
    assert node == TrustedNode("alpha", A)
    assert node.did == A.did
    line = f'{A.did} namespaces="git" {A.openssh} alpha\n'
    assert store.path.read_text() == line
    assert store.export() == line


def test_lookups(store: TrustStore) -> None:
    alpha = store.add(A, "alpha")
    beta = store.add(B, "beta")
    assert store.nodes() == [alpha, beta]
    assert store.get("alpha") == alpha
    assert store.get(B.did) == beta
    assert store.find(PublicKey(A.raw)) == alpha
    assert store.find(C) is None


def test_add_is_idempotent(store: TrustStore) -> None:
    first = store.add(A, "alpha")
    before = store.path.read_bytes()
    assert store.add(A, "alpha") == first
    assert store.path.read_bytes() == before


def test_name_taken_by_another_key(store: TrustStore) -> None:
    store.add(A, "alpha")
    with pytest.raises(TrustConflict) as info:
        store.add(B, "alpha")
    assert info.value.existing == TrustedNode("alpha", A)
    assert "already trusted with another key" in str(info.value)


def test_key_trusted_under_another_name(store: TrustStore) -> None:
    store.add(A, "alpha")
    with pytest.raises(TrustConflict) as info:
        store.add(A, "again")
    assert info.value.existing.name == "alpha"
    assert [n.name for n in store.nodes()] == ["alpha"]


@pytest.mark.parametrize(
    "name",
    [
        *("", "a b", "x" * 65, "did:key:z6Mk", "ü", "a/b", "a\nb", "tab\t", "a,b", '"q"', "#c"),
        "RO/J59qWkGt8e3l7ZdQm1v0Yp2xSgHcAuFbNiTkOr4E=",  # the base64 of an ed25519 seed
    ],
)
def test_invalid_names(store: TrustStore, name: str) -> None:
    with pytest.raises(InvalidNodeName) as info:
        store.add(A, name)
    assert info.value.name == name
    # Never quoted whole: a seed or a key's base64 pasted as a name is a secret.
    assert len(name) < 2 or name not in str(info.value)
    with pytest.raises(InvalidNodeName):
        check_node_name(name)
    assert not store.path.exists()


@pytest.mark.parametrize("name", ["a", "x" * 64, "node-1.eu_west", "...", "-"])
def test_valid_names(store: TrustStore, name: str) -> None:
    assert check_node_name(name) == name
    assert store.add(A, name).name == name
    assert TrustStore(store.path).get(name).key == A


def test_remove(store: TrustStore) -> None:
    store.add(A, "alpha")
    store.add(B, "beta")
    assert store.remove("alpha") == TrustedNode("alpha", A)
    assert store.find(A) is None
    assert store.remove(B.did) == TrustedNode("beta", B)
    assert store.nodes() == []
    assert store.export() == ""


def test_unknown_nodes(store: TrustStore) -> None:
    store.add(A, "alpha")
    for query in ("beta", B.did, "did:key"):
        with pytest.raises(UnknownNode) as info:
            store.get(query)
        assert info.value.query == query
        with pytest.raises(UnknownNode):
            store.remove(query)
    assert [n.name for n in store.nodes()] == ["alpha"]


def test_malformed_did_lookup(store: TrustStore) -> None:
    with pytest.raises(MalformedKey):
        store.get("did:key:z0000")


def test_persistence_and_outside_changes(store: TrustStore) -> None:
    store.add(A, "alpha")
    other = TrustStore(store.path)
    assert other.get("alpha").key == A
    other.add(B, "beta")
    assert store.find(B) == TrustedNode("beta", B)  # the first instance sees the change
    other.remove("alpha")
    assert store.find(A) is None


def test_writes_leave_no_temporary_files_and_keep_the_mode(store: TrustStore) -> None:
    store.add(A, "alpha")
    store.path.chmod(0o640)
    store.add(B, "beta")
    store.remove("alpha")
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o640
    assert sorted(p.name for p in store.path.parent.iterdir()) == [
        "allowed_signers",
        "allowed_signers.lock",
    ]


def test_a_trust_file_that_is_a_link_is_written_through_it(tmp_path: Path) -> None:
    # An allowed-signers file kept elsewhere and shared (git's own allowedSignersFile, another
    # store's) by a link in the store's place: a write replaced the link by a file of its own,
    # so the shared file never saw the node added, nor the store later changes to it.
    shared_dir = tmp_path / "shared"
    shared_dir.mkdir()
    shared = shared_dir / "allowed_signers"
    shared.write_text(f'{A.did} namespaces="git" {A.openssh} alpha\n')
    shared.chmod(0o640)
    links = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        link = tmp_path / name / "allowed_signers"
        link.symlink_to(os.path.relpath(shared, link.parent))
        links.append(link)
    one, two = TrustStore(links[0]), TrustStore(links[1])
    one.add(B, "beta")
    assert all(link.is_symlink() for link in links)
    assert two.find(B) == TrustedNode("beta", B)
    two.remove("alpha")
    assert one.find(A) is None
    assert shared.read_text() == f'{B.did} namespaces="git" {B.openssh} beta\n'
    assert stat.S_IMODE(shared.stat().st_mode) == 0o640
    # One lock, beside the file both write; no temporary file left anywhere.
    assert sorted(p.name for p in shared_dir.iterdir()) == [
        "allowed_signers",
        "allowed_signers.lock",
    ]
    assert [p.name for p in links[0].parent.iterdir()] == ["allowed_signers"]


def test_concurrent_adds_lose_nothing(store: TrustStore) -> None:
    keys = [key(n) for n in range(10, 40)]

    def add_some(part: list[PublicKey], prefix: str) -> None:
        mine = TrustStore(store.path)
        for i, k in enumerate(part):
            mine.add(k, f"{prefix}{i}")

    threads = [threading.Thread(target=add_some, args=(keys[i::3], f"t{i}-")) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {n.key for n in TrustStore(store.path).nodes()} == set(keys)


def test_unwritable_directory(tmp_path: Path) -> None:
    with pytest.raises(TrustFileUnwritable):
        TrustStore(tmp_path / "missing" / "allowed_signers").add(A, "alpha")


def test_unreadable_path(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    with pytest.raises(TrustFileUnreadable) as info:
        TrustStore(tmp_path / "dir").nodes()
    # Not "check its permissions": a directory's permissions are not what is wrong.
    assert "not a regular file" in str(info.value)
    assert "permissions" not in (info.value.hint or "")
    assert "regular file" in (info.value.hint or "")


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    names=st.lists(st.from_regex(r"\A[A-Za-z0-9._-]{1,64}\Z"), min_size=1, max_size=5, unique=True)
)
def test_names_survive_the_file(tmp_path: Path, names: list[str]) -> None:
    path = tmp_path / f"signers-{os.urandom(4).hex()}"
    store = TrustStore(path)
    for i, name in enumerate(names):
        store.add(key(50 + i), name)
    assert [(n.name, n.key) for n in TrustStore(path).nodes()] == [
        (name, key(50 + i)) for i, name in enumerate(names)
    ]


# -- OpenSSH agrees with the file -----------------------------------------------------------


def test_ssh_keygen_finds_the_did_as_principal(tmp_path: Path, store: TrustStore) -> None:
    node = NodeKey.from_seed(bytes([7]) * 32)
    store.add(node.public, "alpha")
    store.add(B, "beta")
    sig = tmp_path / "sig"
    sig.write_text(sshsig.sign(node, b"data"))
    found = ok("ssh-keygen", "-Y", "find-principals", "-f", store.path, "-s", sig)
    assert found.decode().split() == [node.public.did]
    verified = run(
        "ssh-keygen",
        "-Y",
        "verify",
        "-f",
        store.path,
        "-I",
        node.public.did,
        "-n",
        "git",
        "-s",
        sig,
        stdin=b"data",
    )
    assert verified.returncode == 0, verified.stderr.decode()
    wrong_ns = run(
        "ssh-keygen",
        "-Y",
        "verify",
        "-f",
        store.path,
        "-I",
        node.public.did,
        "-n",
        "file",
        "-s",
        sig,
        stdin=b"data",
    )
    assert wrong_ns.returncode != 0


def test_match_principals_sees_only_the_did(store: TrustStore) -> None:
    store.add(A, "alpha")
    assert ok(
        "ssh-keygen", "-Y", "match-principals", "-I", A.did, "-f", store.path
    ).decode().split() == [A.did]
    assert (
        run("ssh-keygen", "-Y", "match-principals", "-I", "alpha", "-f", store.path).returncode != 0
    )


# -- hand-written lines ---------------------------------------------------------------------


def write(store: TrustStore, *lines: str) -> None:
    store.path.write_text("".join(line + "\n" for line in lines))


def test_reads_hand_written_forms(tmp_path: Path, store: TrustStore) -> None:
    ecdsa = (
        (ssh_keygen_key(tmp_path, "ec", key_type="ecdsa").with_suffix(".pub")).read_text().strip()
    )
    keys = [key(n) for n in range(60, 70)]
    store.path.write_text(
        "# a comment\n"
        "\n"
        "   \n"
        f"  alice {keys[0].openssh}\n"
        f'"{keys[1].did}"\t{keys[1].openssh}\tbob extra words\n'
        f'carol,carol@example.com NAMESPACES="git,file" {keys[2].openssh} laptop\n'
        f"dev@example.com {keys[3].openssh} dev@laptop\n"
        f'{keys[4].did} namespaces="*,!git" {keys[4].openssh} notgit\n'
        f"ca@example.com cert-authority {keys[5].openssh} ca\n"
        f'vw valid-after="20200101",valid-before="20990101" {keys[6].openssh} windowed\n'
        f"ecdsa@example.com {ecdsa}\n"
        f'{keys[7].did} namespaces="g?t" {keys[7].openssh} dave # trailing words\n'
        f"*@example.com {keys[8].openssh}\r\n"
    )
    assert [(n.name, n.key) for n in store.nodes()] == [
        ("alice", keys[0]),
        ("bob", keys[1]),
        ("carol", keys[2]),
        ("dev-example.com", keys[3]),
        ("dave", keys[7]),
        ("example.com", keys[8]),
    ]
    assert store.find(keys[4]) is None  # namespaces exclude git
    assert store.find(keys[5]) is None  # a CA key does not sign commits itself
    assert store.find(keys[6]) is None  # mindgit does not evaluate validity windows


def test_rewrites_keep_hand_written_lines(store: TrustStore) -> None:
    original = (
        "# peers\n"
        f"alice {A.openssh} hand written\n"
        "\n"
        f'{B.did} namespaces="file" {B.openssh} files only\n'
    )
    store.path.write_text(original)
    store.add(C, "carol")
    assert store.path.read_text() == original + f'{C.did} namespaces="git" {C.openssh} carol\n'
    store.remove("carol")
    assert store.path.read_text() == original


def test_remove_drops_every_line_git_would_honour(store: TrustStore) -> None:
    write(
        store,
        f"alice {A.openssh}",
        f"alice {A.openssh} duplicate line",
        f'a-window valid-before="20990101" {A.openssh}',
        f'a-files namespaces="file" {A.openssh}',
        f"bob {B.openssh}",
    )
    assert store.remove("alice") == TrustedNode("alice", A)
    assert store.path.read_text() == f'a-files namespaces="file" {A.openssh}\nbob {B.openssh}\n'


def test_derived_names_never_collide(store: TrustStore) -> None:
    write(store, f"x@y {A.openssh}", f"x@y {B.openssh}")
    names = [n.name for n in store.nodes()]
    assert names[0] == "x-y"
    assert names[1] == f"x-y-{B.did[-8:]}"
    assert all(check_node_name(n) for n in names)


@pytest.mark.parametrize(
    ("lines", "bad_line", "reason"),
    [
        ([f"alice bogus {A.openssh}"], 1, "unknown option"),
        ([f"alice namespaces=git {A.openssh}"], 1, "double quotes"),
        ([f'alice namespaces="git {A.openssh}'], 1, "unterminated quote"),
        ([f'alice namespaces="git", {A.openssh}'], 1, "end with a comma"),
        ([f'alice namespaces="git",{A.openssh}'], 1, None),
        ([f'alice cert-authority="x" {A.openssh}'], 1, "takes no value"),
        ([f"alice namespaces {A.openssh}"], 1, "needs a value"),
        ([f'"alice {A.openssh}'], 1, "unterminated quote"),
        ([f'"alice"x {A.openssh}'], 1, "after the quoted"),
        ([",alice " + A.openssh], 1, "empty principal"),
        (["alice"], 1, "no key"),
        (["alice ssh-ed25519"], 1, "missing"),
        (["alice ssh-ed25519 !!!"], 1, "base64"),
        (["# ok", f"alice {A.openssh}", "", "bob ssh-ed25519 AAAA"], 4, "bad ssh-ed25519 key"),
        ([f"{B.did} {A.openssh} alice"], 1, "is not the did:key"),
        ([f"alice {A.openssh}", f"alice {B.openssh}"], 2, "already used for another key on line 1"),
        ([f"alice {A.openssh}", f"bob {A.openssh}"], 2, "already trusted as 'alice' on line 1"),
        (
            ["alice ssh-ed25519 " + PublicKey(bytes(32)).openssh.split()[1]],
            1,
            "valid ed25519 point",
        ),
    ],
)
def test_corrupt_lines_are_reported_by_number(
    store: TrustStore, lines: list[str], bad_line: int, reason: str | None
) -> None:
    write(store, *lines)
    with pytest.raises(TrustFileCorrupt) as info:
        store.nodes()
    assert info.value.line == bad_line
    assert info.value.path == store.path
    assert str(info.value).startswith(f"{store.path}:{bad_line}: ")
    if reason is not None:
        assert reason in info.value.reason


def _ssh_keygen_trusts(tmp_path: Path, path: Path) -> bool:
    """Whether ssh-keygen (as git runs it) finds a principal for A's signature in ``path``."""
    sig = tmp_path / "a.sig"
    sig.write_text(sshsig.sign(NodeKey.from_seed(bytes([1]) * 32), b"data"))
    found = run("ssh-keygen", "-Y", "find-principals", "-f", path, "-s", sig)
    return found.returncode == 0


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (f'alice namespaces="git",namespaces="git" {A.openssh}', "given twice"),
        (f'alice valid-after="20000101",valid-after="20000101" {A.openssh}', "given twice"),
        (f"alice {A.openssh}=", "canonical base64"),
        (f"alice\0 {A.openssh}", "no key"),
        (f"alice\xa0{A.openssh}", None),
        (f"alice\x0b{A.openssh}", None),
        (f"alice\u2028{A.openssh}", None),
        ("alice ssh-ed25519\x0c" + A.openssh.split()[1], None),
        (f'alice namespaces="git"\x1f{A.openssh}', None),
        (f'al"ice {A.openssh}', "unterminated quote"),
        (f'alice" {A.openssh}', "unterminated quote"),
    ],
    ids=[
        "namespaces twice",
        "valid-after twice",
        "padding too many",
        "NUL in principal",
        "no-break space after the principal",
        "vertical tab after the principal",
        "line separator after the principal",
        "form feed inside the key",
        "unit separator after the options",
        "quote inside a principal",
        "quote after a principal",
    ],
)
def test_a_line_ssh_keygen_refuses_is_not_trusted(
    tmp_path: Path, store: TrustStore, line: str, reason: str | None
) -> None:
    # mindgit trusted A on each of these lines; ssh-keygen refuses them, so git did not. (It
    # splits a line on spaces and tabs only, where Python's str.split() splits on any space.)
    write(store, line)
    assert not _ssh_keygen_trusts(tmp_path, store.path)
    with pytest.raises(TrustFileCorrupt, match=reason):
        store.find(A)


def test_a_quote_inside_the_principals_is_read_as_ssh_keygen_reads_it(
    tmp_path: Path, store: TrustStore
) -> None:
    # ssh-keygen drops the quote and reads up to the next one: the principal "al ice".
    write(store, f'al"  ice" {A.openssh}')
    assert _ssh_keygen_trusts(tmp_path, store.path)
    assert store.find(A) is not None
    assert ok("ssh-keygen", "-Y", "match-principals", "-I", "al  ice", "-f", store.path)


def test_a_line_is_read_up_to_a_nul_as_ssh_keygen_reads_it(
    tmp_path: Path, store: TrustStore
) -> None:
    write(store, f"alice\r{A.openssh}\0 anything", f"# a comment\0{B.openssh}")
    assert _ssh_keygen_trusts(tmp_path, store.path)
    assert store.find(A) == TrustedNode("alice", A) and store.find(B) is None
    before = store.path.read_bytes()
    store.add(C, "gamma")
    assert store.path.read_bytes().startswith(before)  # kept as written


def test_non_utf8_line(store: TrustStore) -> None:
    store.path.write_bytes(b"# fine\n\xff\xfe\n")
    with pytest.raises(TrustFileCorrupt) as info:
        store.find(A)
    assert info.value.line == 2


def test_corrupt_file_is_not_rewritten(store: TrustStore) -> None:
    write(store, "alice")
    before = store.path.read_bytes()
    with pytest.raises(TrustFileCorrupt):
        store.add(A, "alpha")
    assert store.path.read_bytes() == before


def test_a_change_within_one_clock_tick_is_still_seen(
    store: TrustStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Simulate a filesystem whose coarse times (and a reused inode) give a rewritten file the old stamp."""
    store.add(A, "alpha")
    frozen = store._stamp()
    monkeypatch.setattr(TrustStore, "_stamp", lambda self: frozen)
    write(store, f"beta {B.openssh}")  # same stamp as far as the store can tell
    assert store.find(A) is None
    assert store.get("beta").key == B


def test_an_old_file_is_trusted_by_its_stamp(
    store: TrustStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other side of the check above: a file last changed long ago is not re-read on every lookup."""
    store.add(A, "alpha")
    past = 1_000_000_000_000_000_000
    os.utime(store.path, ns=(past, past))
    monkeypatch.setattr("mindgit.identity.trust._RACY_NS", 0)
    assert store.find(A) is not None  # loads: the stamp changed
    frozen = store._stamp()
    monkeypatch.setattr(TrustStore, "_stamp", lambda self: frozen)
    store.path.write_text(f"beta {B.openssh}\n")
    assert store.find(A) is not None  # the cached snapshot is used, as intended


def test_remove_can_remember_the_key_until_it_is_added_again(store: TrustStore) -> None:
    store.add(A, "alpha")
    store.remove("alpha", remember=True)
    assert store.is_removed(A) and not store.is_removed(B)
    assert store.export() == f"# mindgit removed {A.did}\n"
    assert TrustStore(store.path).is_removed(A)  # read back from the file
    store.add(A, "alpha")
    assert not store.is_removed(A)
    assert store.export() == TrustedNode("alpha", A).allowed_signers_line() + "\n"


def test_a_removed_mark_with_a_bad_key_is_a_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "allowed"
    path.write_text("# mindgit removed did:key:z6Mknot-a-key\n")
    with pytest.raises(TrustFileCorrupt, match="removed key"):
        TrustStore(path).nodes()


def test_a_bounded_key_round_trips_and_bad_heads_are_refused(store: TrustStore) -> None:
    heads = ("0" * 40, "a" * 64)
    node = store.add(A, "alpha.retired-1", heads)
    assert TrustStore(store.path).get("alpha.retired-1") == node
    assert node.allowed_signers_line().endswith(" alpha.retired-1 heads=" + ",".join(heads))
    for bad in (("HEAD",), ("a" * 40, "0" * 40), ("0" * 40, "0" * 40)):
        with pytest.raises(InvalidHeads):
            store.add(B, "beta.retired-1", bad)
    assert store.find(B) is None


def test_a_pinned_store_keeps_the_trust_it_was_made_with(store: TrustStore) -> None:
    """One long check sees one trust: neither a later change nor the file's removal reaches a
    pinned store, and it does not read the file again (the gate looks a key up per commit)."""
    store.add(A, "alpha")
    pinned = store.pinned()
    store.remove("alpha")
    store.add(B, "beta")
    assert pinned.find(A) is not None and pinned.find(B) is None
    assert [n.name for n in pinned.nodes()] == ["alpha"]
    store.path.unlink()
    assert pinned.get("alpha").key == A
    assert store.find(A) is None and store.find(B) is None
    assert pinned.pinned().find(A) is not None
