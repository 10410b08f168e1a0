"""gpgsig headers: insertion and extraction exactly as git does them."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mindgit.identity import sshsig
from mindgit.identity.gitsig import CommitAlreadySigned, MalformedArmour, add_gpgsig, split_gpgsig
from mindgit.identity.keys import NodeKey

from .tools import ok, ssh_keygen_key

COMMIT = (
    b"tree 4b825dc642cb6eb9a060e54bf8d69288fbc4b904\n"
    b"author A U Thor <a@example.com> 1700000000 +0000\n"
    b"committer C O Mitter <c@example.com> 1700000000 +0000\n"
    b"\n"
    b"subject\n\nbody\ngpgsig this line is message text, not a header\n"
)
SIG = "-----BEGIN SSH SIGNATURE-----\nAAAA\nBBBB\n-----END SSH SIGNATURE-----\n"


def test_insert_after_the_last_header() -> None:
    signed = add_gpgsig(COMMIT, SIG)
    assert signed == COMMIT.replace(
        b"+0000\n\n",
        b"+0000\ngpgsig -----BEGIN SSH SIGNATURE-----\n AAAA\n BBBB\n -----END SSH SIGNATURE-----\n\n",
        1,
    )
    assert split_gpgsig(signed) == (COMMIT, SIG)


def test_unsigned_commit_has_no_signature() -> None:
    assert split_gpgsig(COMMIT) == (COMMIT, None)


def test_signature_without_final_newline_is_normalised() -> None:
    assert split_gpgsig(add_gpgsig(COMMIT, SIG.rstrip("\n"))) == (COMMIT, SIG)


def test_commit_without_message_separator() -> None:
    bare = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbc4b904\n"
    signed = add_gpgsig(bare, SIG)
    assert signed.startswith(bare + b"gpgsig -----BEGIN")
    assert split_gpgsig(signed) == (bare, SIG)


def test_both_object_formats() -> None:
    other = "-----BEGIN SSH SIGNATURE-----\nCCCC\n-----END SSH SIGNATURE-----\n"
    # add_gpgsig refuses a second signature, so build the two-signature commit by hand.
    header_end = COMMIT.index(b"\n\n") + 1
    block1 = b"gpgsig -----BEGIN SSH SIGNATURE-----\n AAAA\n BBBB\n -----END SSH SIGNATURE-----\n"
    block256 = b"gpgsig-sha256 -----BEGIN SSH SIGNATURE-----\n CCCC\n -----END SSH SIGNATURE-----\n"
    two = COMMIT[:header_end] + block1 + block256 + COMMIT[header_end:]
    assert split_gpgsig(two) == (COMMIT, SIG)
    assert split_gpgsig(two, object_format="sha256") == (COMMIT, other)
    only256 = add_gpgsig(COMMIT, other, object_format="sha256")
    assert only256 == COMMIT[:header_end] + block256 + COMMIT[header_end:]
    assert split_gpgsig(only256) == (COMMIT, None)


def test_refuses_to_sign_twice() -> None:
    with pytest.raises(CommitAlreadySigned) as info:
        add_gpgsig(add_gpgsig(COMMIT, SIG), SIG)
    assert info.value.header == "gpgsig"
    with pytest.raises(CommitAlreadySigned) as info:
        add_gpgsig(add_gpgsig(COMMIT, SIG, object_format="sha256"), SIG)
    assert info.value.header == "gpgsig-sha256"


@pytest.mark.parametrize("armored", ["", "\n\n", "a\rb", "nul\0", "é"])
def test_refuses_unstorable_armour(armored: str) -> None:
    with pytest.raises(MalformedArmour):
        add_gpgsig(COMMIT, armored)


header_line = st.from_regex(rb"\A(tree|parent|author|committer|encoding|x-extra) [ -~]{0,60}\Z")
continuation = st.from_regex(rb"\A [ -~]{0,60}\Z")
armour_line = st.from_regex(r"\A[!-~][ -~]{0,69}\Z")


@given(
    headers=st.lists(
        st.tuples(header_line, st.lists(continuation, max_size=2)), min_size=1, max_size=6
    ),
    message=st.binary(max_size=300),
    lines=st.lists(armour_line, min_size=1, max_size=8),
)
def test_split_undoes_add(
    headers: list[tuple[bytes, list[bytes]]], message: bytes, lines: list[str]
) -> None:
    head = b"".join(h + b"\n" + b"".join(c + b"\n" for c in cont) for h, cont in headers)
    commit = head + b"\n" + message
    armored = "\n".join(lines) + "\n"
    signed = add_gpgsig(commit, armored)
    assert split_gpgsig(signed) == (commit, armored)
    assert split_gpgsig(commit) == (commit, None)


def test_matches_git_signing_byte_for_byte(tmp_path: Path) -> None:
    """git itself signs a commit with ssh-keygen; we take it apart and put it back identically."""
    key_path = ssh_keygen_key(tmp_path, "signer")
    repo = tmp_path / "repo"
    ok("git", "init", "-q", repo)
    tree = ok("git", "-C", repo, "write-tree").decode().strip()
    oid = (
        ok(
            "git",
            "-C",
            repo,
            "-c",
            "gpg.format=ssh",
            "-c",
            f"user.signingkey={key_path}",
            "commit-tree",
            "-S",
            "-m",
            "signed by git",
            tree,
        )
        .decode()
        .strip()
    )
    raw = ok("git", "-C", repo, "cat-file", "commit", oid)
    payload, armored = split_gpgsig(raw)
    assert armored is not None
    key = NodeKey.load(key_path)
    assert sshsig.verify(armored, payload) == key.public
    assert sshsig.sign(key, payload) == armored
    assert add_gpgsig(payload, armored) == raw


def reference_split(raw: bytes, header: bytes = b"gpgsig") -> tuple[bytes, str | None]:
    """git's parse_buffer_signed_by_header, line by line, kept naive on purpose."""
    payload, signature = b"", b""
    saw = in_sig = other = False
    pos = 0
    while pos < len(raw):
        nl = raw.find(b"\n", pos)
        nxt = len(raw) if nl < 0 else nl + 1
        line = raw[pos:nxt]
        sig = None
        if in_sig and line[:1] == b" ":
            sig = line[1:]
        elif line.startswith(header + b" "):
            sig = line[len(header) + 1 :]
            other = False
        elif line.startswith(b"gpgsig"):
            other = True
        elif other and line[:1] != b" ":
            other = False
        if sig is not None:
            signature += sig
            saw = in_sig = True
        else:
            if line[:1] == b"\n":
                nxt = len(raw)
                line = raw[pos:]
            if not other:
                payload += line
            in_sig = False
        pos = nxt
    return payload, (signature.decode("ascii", "surrogateescape") if saw else None)


commit_line = st.one_of(
    header_line,
    continuation,
    st.sampled_from(
        [b"gpgsig x", b"gpgsig-sha256 y", b"gpgsig", b"gpgsigz q", b" cont", b"", b"gpgsig "]
    ),
)


@given(lines=st.lists(commit_line, max_size=12), final_newline=st.booleans())
def test_split_matches_gits_algorithm(lines: list[bytes], final_newline: bool) -> None:
    raw = b"\n".join(lines) + (b"\n" if final_newline else b"")
    assert split_gpgsig(raw) == reference_split(raw)
    assert split_gpgsig(raw, object_format="sha256") == reference_split(raw, b"gpgsig-sha256")


@given(
    before=st.lists(st.one_of(header_line, continuation), min_size=1, max_size=5),
    value=st.from_regex(rb"\A[ -~]{0,60}\Z"),
    signature=st.lists(continuation, max_size=6),
    after=st.lists(st.one_of(header_line, continuation), max_size=4),
    message=st.one_of(st.none(), st.binary(max_size=80)),
    sha256=st.booleans(),
)
def test_one_signature_header_is_split_as_gits_algorithm_splits_it(
    before: list[bytes],
    value: bytes,
    signature: list[bytes],
    after: list[bytes],
    message: bytes | None,
    sha256: bool,
) -> None:
    """One signature header anywhere after the first line (the shape every signed commit has,
    which split_gpgsig cuts with bytes operations) splits exactly as git's line walk does."""
    header = b"gpgsig-sha256" if sha256 else b"gpgsig"
    lines = [*before, header + b" " + value, *signature, *after]
    raw = b"\n".join(lines) + (b"" if message is None else b"\n\n" + message)
    assert split_gpgsig(raw) == reference_split(raw)
    assert split_gpgsig(raw, object_format="sha256") == reference_split(raw, b"gpgsig-sha256")
