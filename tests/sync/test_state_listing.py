"""The gate reads a generation's states directory from its raw bytes, and checks each state's
name against its bytes' digest without spelling the CID out. Both must say exactly what
libgit2's reading of the tree and ``str(CID.of(data))`` say, on any tree and any name."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pygit2
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mindgit.ipld.cid import CID, RAW, SHA2_256
from mindgit.store.generation_check import (
    names_digest,
    states_listing,
    states_listing_in_full,
)

BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
ODD_CHARS = "018=A_ -" + BASE32


@st.composite
def names_near(draw: st.DrawFn, text: str) -> str:
    """The CID text itself, or one changed, cut, grown, or recased."""
    how = draw(st.integers(0, 6))
    if how == 0:
        return text
    if how == 1:
        at = draw(st.integers(0, len(text) - 1))
        return text[:at] + draw(st.sampled_from(ODD_CHARS)) + text[at + 1 :]
    if how == 2:
        return text[: draw(st.integers(0, len(text) - 1))]
    if how == 3:
        return text + draw(st.text(BASE32, min_size=1, max_size=3))
    if how == 4:
        return text.upper() if draw(st.booleans()) else "B" + text[1:]
    if how == 5:
        return text[:-1] + draw(st.sampled_from(BASE32))  # the last character's spare bits
    return draw(st.text(min_size=0, max_size=70))


OTHER_CIDS = [
    str(CID.of(b"x", RAW)),
    str(CID(1, 0x0129, SHA2_256, bytes(32))),
    str(CID(1, 0x0129, 0x13, bytes(64))),
    str(CID(0, 0x70, SHA2_256, bytes(32))),
]


@settings(max_examples=2000)
@given(st.binary(max_size=200), st.data())
def test_names_digest_says_what_str_of_the_cid_says(data: bytes, draw: st.DataObject) -> None:
    text = str(CID.of(data))
    name = draw.draw(names_near(text) | st.sampled_from(OTHER_CIDS))
    assert names_digest(name, hashlib.sha256(data).digest()) == (name == text)


def test_a_state_is_named_by_its_own_digest_only() -> None:
    text = str(CID.of(b"{}"))
    assert names_digest(text, hashlib.sha256(b"{}").digest())
    assert not names_digest(text, hashlib.sha256(b"{} ").digest())
    assert not names_digest(str(CID.of(b"{}", RAW)), hashlib.sha256(b"{}").digest())


NAMES = [str(CID.of(bytes([i]))) for i in range(6)]
ODD_NAMES = [
    "manifest.json",
    NAMES[0].upper(),
    NAMES[0][:-1],
    NAMES[0] + "a",
    "b" + "a" * 60,
    "c" + NAMES[0][1:],
    NAMES[0][:30] + "\u00e9" + NAMES[0][31:],
]
MODES = [b"100644"] * 6 + [b"100755", b"40000", b"120000", b"100664", b"644", b"0100644"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> pygit2.Repository:
    path: Path = tmp_path_factory.mktemp("listing")
    return pygit2.init_repository(str(path), bare=True)


@settings(max_examples=600, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(MODES),
            st.sampled_from(NAMES) | st.sampled_from(ODD_NAMES),
            st.binary(min_size=20, max_size=20),
        ),
        max_size=6,
    ),
    st.booleans(),
)
def test_the_raw_reading_of_a_states_tree_is_libgit2s(
    repo: pygit2.Repository,
    entries: list[tuple[bytes, str, bytes]],
    in_order: bool,
) -> None:
    if in_order:
        entries = sorted(entries, key=lambda e: e[1].encode())
    raw = b"".join(mode + b" " + name.encode() + b"\0" + oid for mode, name, oid in entries)
    tree_id = repo.odb.write(pygit2.enums.ObjectType.TREE, raw)
    read = _in_full(repo, tree_id)
    assume(read is not None)  # libgit2 cannot read it: the gate's scanner refuses it first
    assert read is not None
    tree, full = read
    assert states_listing(repo.odb, tree) == full


def _in_full(
    repo: pygit2.Repository, tree_id: pygit2.Oid
) -> tuple[pygit2.Tree, tuple[dict[str, tuple[bytes, int]], pygit2.Tree | str]] | None:
    try:
        tree = repo.get(tree_id)
        if not isinstance(tree, pygit2.Tree):
            return None
        return tree, states_listing_in_full(tree)
    except pygit2.GitError:
        return None


def test_a_tree_out_of_order_is_not_well_formed_either_way(repo: pygit2.Repository) -> None:
    a, b = sorted(NAMES[:2])
    raw = b"".join(b"100644 " + n.encode() + b"\0" + bytes(20) for n in (b, a))
    tree = repo.get(repo.odb.write(pygit2.enums.ObjectType.TREE, raw))
    assert isinstance(tree, pygit2.Tree)
    assert states_listing(repo.odb, tree) == ({}, "is not a well-formed tree")
    good = b"".join(b"100644 " + n.encode() + b"\0" + bytes(20) for n in (a, b))
    tree = repo.get(repo.odb.write(pygit2.enums.ObjectType.TREE, good))
    assert isinstance(tree, pygit2.Tree)
    assert states_listing(repo.odb, tree)[0] == {a: (bytes(20), 0o100644), b: (bytes(20), 0o100644)}
