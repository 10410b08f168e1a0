"""The command line of private thoughts: think --private, show, share, keys."""

from __future__ import annotations

import dataclasses
import io
import json

import pytest

from mindgit.errors import shell_word
from mindgit.identity.keys import NodeKey
from mindgit.ipld.cid import CID
from mindgit.store.repository import Store
from mindgit.store.rotations import ANNOUNCE_REF
from mindgit.store.sealed import decode_envelope, encode_envelope
from tests.conftest import Mg
from tests.private.conftest import Nodes, fetch

SECRET = "the key is under the third stone"


def test_think_private_and_show_for_a_recipient(nodes: Nodes, mg: Mg) -> None:
    alpha, beta, _gamma = nodes("alpha", "beta", "gamma")
    r = mg(
        "--store", str(alpha.path), "think", SECRET, "--private", "--to", "beta", "--to", "gamma"
    )
    assert r.code == 0, r.err
    cid = r.out.strip()
    assert CID.parse(cid) in alpha.state().thoughts
    shown = mg("--store", str(alpha.path), "show")
    assert f"{cid}  {SECRET}  (private, 3 recipients)" in shown.out
    data = json.loads(mg("--store", str(alpha.path), "show", "--json").out)
    assert data["thoughts"] == [
        {
            "cid": cid,
            "type": "sealed",
            "private": True,
            "recipients": 3,
            "readable": True,
            "text": SECRET,
            "tags": [],
        }
    ]
    log = mg("--store", str(alpha.path), "log", "-n", "1")
    assert f"think: private thought {cid}" in log.out and SECRET not in log.out
    fetch(beta, alpha, "main:refs/remotes/alpha/main")
    assert SECRET in mg("--store", str(beta.path), "show", "refs/remotes/alpha/main").out


def test_show_for_a_non_recipient(nodes: Nodes, mg: Mg) -> None:
    alpha, beta, delta = nodes("alpha", "beta", "delta")
    cid = mg("--store", str(alpha.path), "think", SECRET, "--private", "--to", "beta").out.strip()
    fetch(delta, alpha, "main:refs/remotes/alpha/main")
    shown = mg("--store", str(delta.path), "show", "refs/remotes/alpha/main")
    assert shown.code == 0, shown.err
    assert f"{cid}  private (2 recipients): this node is not a recipient; " in shown.out
    assert SECRET not in shown.out + shown.err
    data = json.loads(
        mg("--store", str(delta.path), "show", "--json", "refs/remotes/alpha/main").out
    )
    order = sorted([(alpha.public_key.did, "alpha"), (beta.public_key.did, "beta")])
    names = ", ".join(name for _, name in order)
    assert data["thoughts"] == [
        {
            "cid": cid,
            "type": "sealed",
            "private": True,
            "recipients": 2,
            "readable": False,
            "error": f"this node is not a recipient; {names} can open it",
            "sealed_to": [{"key": did, "name": name} for did, name in order],
        }
    ]


def test_show_reports_a_tampered_envelope_and_goes_on(nodes: Nodes, mg: Mg) -> None:
    (alpha,) = nodes("alpha")
    cid = CID.parse(mg("--store", str(alpha.path), "think", SECRET, "--private").out.strip())
    sealed = decode_envelope(alpha.thought(cid))
    block = encode_envelope(
        dataclasses.replace(sealed, box=bytes([sealed.box[0] ^ 1]) + sealed.box[1:])
    )
    alpha.update(
        lambda s: (s.with_thoughts({block.cid}), {block.cid: block.data}), "tamper", experiment=None
    )
    mg("--store", str(alpha.path), "think", "public")
    shown = mg("--store", str(alpha.path), "show")
    assert shown.code == 0, shown.err
    assert "private (1 recipient): cannot decrypt: integrity check failed" in shown.out
    assert "public" in shown.out


def test_private_text_from_stdin(nodes: Nodes, mg: Mg, monkeypatch: pytest.MonkeyPatch) -> None:
    (alpha,) = nodes("alpha")
    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
    r = mg("--store", str(alpha.path), "think", "-", "--private", "--json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["private"] is True
    assert SECRET in mg("--store", str(alpha.path), "show").out


def test_think_bad_input(nodes: Nodes, mg: Mg) -> None:
    alpha, stranger = nodes("alpha", "stranger", trust=False)
    store = str(alpha.path)
    r = mg("--store", store, "think", SECRET, "--to", "beta")
    assert r.code == 2 and "add --private" in r.err
    r = mg("--store", store, "think", SECRET, "--private", "--to", "gamma")
    assert r.code == 1 and "no trusted node named 'gamma'" in r.err
    did = stranger.public_key.did
    r = mg("--store", store, "think", SECRET, "--private", "--to", did)
    # The command names the --store typed (the hint's command runs as written).
    assert r.code == 1 and f"`mindgit --store {shell_word(store)} trust add {did} --name" in r.err
    for result in (r,):
        assert SECRET not in result.err and SECRET not in result.out
    assert len(alpha.state().thoughts) == 0


def test_a_key_of_another_type_is_refused_as_a_key_not_as_a_name(nodes: Nodes, mg: Mg) -> None:
    """`--to "ssh-rsa AAAA..."` was "invalid node name ... ' ' at 8": a key line of any OpenSSH
    type is a key, one mindgit does not take."""
    from mindgit.store.private import MalformedRecipientKey, resolve_recipient

    (alpha,) = nodes("alpha")
    line = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ user@host"
    r = mg("--store", str(alpha.path), "think", SECRET, "--private", "--to", line)
    assert r.code == 2, r
    assert r.err.startswith("mindgit: error: --to: not an ed25519 public key: ")
    assert "key type 'ssh-rsa' is not supported" in r.err and "node name" not in r.err
    with pytest.raises(MalformedRecipientKey, match="not an ed25519 public key"):
        resolve_recipient(alpha, line)
    assert len(alpha.state().thoughts) == 0


def test_share_and_its_refusals(nodes: Nodes, mg: Mg) -> None:
    alpha, _beta, gamma, delta = nodes("alpha", "beta", "gamma", "delta")
    cid = mg("--store", str(alpha.path), "think", SECRET, "--private", "--to", "beta").out.strip()
    r = mg("--store", str(alpha.path), "share", cid, "--with", "delta")
    assert r.code == 0, r.err
    new = r.out.strip()
    assert alpha.state().thoughts == {CID.parse(new)}
    assert f"share: {cid} with delta" in mg("--store", str(alpha.path), "log", "-n", "1").out
    fetch(delta, alpha, "main:refs/remotes/alpha/main")
    assert SECRET in mg("--store", str(delta.path), "show", "refs/remotes/alpha/main").out
    # gamma holds the thought but is no recipient: it cannot pass it on.
    fetch(gamma, alpha, "main:refs/heads/from-alpha")
    r = mg("--store", str(gamma.path), "share", new, "--with", "delta", "-e", "from-alpha")
    assert r.code == 1 and "not a recipient" in r.err
    r = mg("--store", str(alpha.path), "share", new, "--with", "delta")
    assert r.code == 1 and "already a recipient" in r.err
    r = mg("--store", str(alpha.path), "share", new, "--with", "nobody")
    assert r.code == 1 and "no trusted node named 'nobody'" in r.err


def test_share_with_a_retired_key_hints_at_share_s_own_flag(nodes: Nodes, mg: Mg) -> None:
    # The hint said "--to beta", an option share does not have.
    alpha, _beta = nodes("alpha", "beta")
    alpha.trust.add(NodeKey.from_seed(bytes(32)).public, "beta.retired-1")
    cid = mg("--store", str(alpha.path), "think", SECRET, "--private").out.strip()
    before = alpha.head()
    r = mg("--store", str(alpha.path), "share", cid, "--with", "beta.retired-1")
    assert r.code == 1 and "is a retired key" in r.err, r.err
    assert "--with beta)" in r.err and "--to" not in r.err
    assert alpha.head() == before
    r = mg("--store", str(alpha.path), "think", SECRET, "--private", "--to", "beta.retired-1")
    assert r.code == 1 and "--to beta)" in r.err


def _trusted(store: Store) -> dict[str, str]:
    return {n.name: n.did for n in store.trust.nodes()}


def test_keys_rotate_list_and_apply(nodes: Nodes, mg: Mg) -> None:
    alpha, beta = nodes("alpha", "beta")
    cid = mg("--store", str(alpha.path), "think", SECRET, "--private").out.strip()
    old = alpha.public_key.did
    before = alpha.head()
    r = mg("--store", str(alpha.path), "keys", "rotate", "--json")
    assert r.code == 0, r.err
    rotated = json.loads(r.out)
    assert rotated["old"] == old and rotated["retired_as"] == "alpha.retired-1"
    listed = json.loads(mg("--store", str(alpha.path), "keys", "list", "--json").out)
    assert [(k["status"], k["did"], k["path"]) for k in listed] == [
        ("current", rotated["new"], str(alpha.path / "mindgit" / "node.key")),
        ("retired", old, rotated["retired_key"]),
    ]
    assert f"{cid[:8]}" in mg("--store", str(alpha.path), "show").out
    assert SECRET in mg("--store", str(alpha.path), "show").out
    fetch(beta, alpha, f"{ANNOUNCE_REF}:refs/keys/peers/alpha")
    r = mg("--store", str(beta.path), "keys", "apply", "refs/keys/peers/alpha", "--json")
    assert r.code == 0, r.err
    assert [o["status"] for o in json.loads(r.out)] == ["applied"]
    assert _trusted(beta)["alpha"] == rotated["new"]
    # trust list shows how far each key may sign: a retired one only below its rotation's heads.
    trusted = json.loads(mg("--store", str(beta.path), "trust", "list", "--json").out)
    bounds = {t["name"]: t["heads"] for t in trusted}
    assert bounds["alpha"] is None and bounds["beta"] is None
    assert bounds["alpha.retired-1"] == [before]
    table = mg("--store", str(beta.path), "trust", "list").out
    assert "history below " + before[:12] in table


def test_keys_apply_refuses_an_untrusted_rotation(nodes: Nodes, mg: Mg) -> None:
    beta, gamma = nodes("beta", "gamma", trust=False)
    assert mg("--store", str(gamma.path), "keys", "rotate").code == 0
    fetch(beta, gamma, f"{ANNOUNCE_REF}:refs/keys/peers/gamma")
    before = beta.trust.export()
    r = mg("--store", str(beta.path), "keys", "apply", "refs/keys/peers/gamma")
    assert r.code == 1 and "refused key rotation" in r.err and "does not trust" in r.err
    assert beta.trust.export() == before


def _refs(store: Store) -> dict[str, str]:
    return {r: str(store.repo.references[r].target) for r in store.repo.references}


def test_every_refusal_is_one_line_exit_1_and_changes_nothing(
    nodes: Nodes, mg: Mg, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mindgit.store.rotations import rotate_key

    alpha, beta, stranger = nodes("alpha", "beta", "stranger")
    rotate_key(beta)
    fetch(alpha, beta, f"{ANNOUNCE_REF}:refs/heads/beta-keys")
    mg("--store", str(alpha.path), "keys", "apply", "beta-keys")
    store = ("--store", str(alpha.path))
    cid = mg(*store, "think", SECRET, "--private", "--to", "beta").out.strip()
    sealed = decode_envelope(alpha.thought(CID.parse(cid)))
    bad = encode_envelope(
        dataclasses.replace(sealed, box=bytes([sealed.box[0] ^ 1]) + sealed.box[1:])
    )
    alpha.update(
        lambda s: (s.with_thoughts(s.thoughts | {bad.cid}), {bad.cid: bad.data}), "tampered"
    )
    before = _refs(alpha)
    cases: list[tuple[tuple[str, ...], str] | tuple[tuple[str, ...], str, int]] = [
        (("think", SECRET, "--private", "--to", "beta.retired-1"), "is a retired key"),
        (("think", SECRET, "--private", "--to", "nobody"), "no trusted node named 'nobody'"),
        # Typed on the command line, a tag no thought can take is a usage error, as it is for
        # a plain thought (it was exit 1 for a private one alone).
        (
            ("think", SECRET, "--private", "--tag", " x"),
            "tags of a private thought are private",
            2,
        ),
        (("think", "-", "--private"), "over the"),  # stdin, below: too big once sealed
        (("share", cid, "--with", "beta.retired-1"), "is a retired key"),
        (("share", str(bad.cid), "--with", "stranger"), "integrity check failed"),
        # A malformed key typed on the command line: a usage error.
        (("share", cid, "--with", stranger.public_key.did[:-2]), "not an ed25519 public key", 2),
    ]
    for args, message, *code in cases:
        monkeypatch.setattr("sys.stdin", io.StringIO(SECRET * 40_000))
        r = mg(*store, *args)
        assert r.code == (code[0] if code else 1), (args, r.out, r.err)
        assert message in r.err and len(r.err.strip().splitlines()) == 1, (args, r.err)
        assert SECRET not in r.err + r.out and " x" not in r.err
        assert _refs(alpha) == before, args


def test_keys_apply_of_no_key_chain_says_how_to_get_one(nodes: Nodes, mg: Mg) -> None:
    # An unknown revision's hint named `mindgit experiments`, which lists no key chain; an
    # empty one was an unknown revision (exit 1), where every other command's is a usage error.
    (beta,) = nodes("beta")
    trust = beta.trust.path.read_bytes()
    r = mg("--store", str(beta.path), "keys", "apply", "nope")
    assert r.code == 1 and "unknown experiment or revision 'nope'" in r.err
    assert "git fetch <peer> refs/keys/announce" in r.err and "experiments" not in r.err
    r = mg("--store", str(beta.path), "keys", "apply", "")
    assert r.code == 2 and "REVS is empty" in r.err
    assert beta.trust.path.read_bytes() == trust


def test_share_json_names_the_thought_as_show_does(nodes: Nodes, mg: Mg) -> None:
    # "replaces" echoed the CID as typed: in upper case (base32upper) it matched nothing
    # `show --json` lists.
    alpha, _beta = nodes("alpha", "beta")
    cid = mg("--store", str(alpha.path), "think", SECRET, "--private").out.strip()
    typed = "B" + cid[1:].upper()
    r = mg("--store", str(alpha.path), "share", typed, "--with", "beta", "--json")
    assert r.code == 0, r.err
    shared = json.loads(r.out)
    assert shared["replaces"] == cid
    shown = json.loads(mg("--store", str(alpha.path), "show", "--json").out)
    assert [t["cid"] for t in shown["thoughts"]] == [shared["thought"]]


def test_a_node_named_as_a_key_type_is_still_a_name(nodes: Nodes, mg: Mg) -> None:
    """A node name may be 'ssh-rsa' or 'ssh-ed25519' ([A-Za-z0-9._-]): a key type with no key
    after it is that name, as before names_a_key (only a key type and more is a key line)."""
    from mindgit.store.private import resolve_recipient

    alpha, beta = nodes("alpha", "beta", trust=False)
    alpha.trust.add(beta.public_key, "ssh-rsa")
    assert resolve_recipient(alpha, "ssh-rsa").key == beta.public_key
    r = mg("--store", str(alpha.path), "think", SECRET, "--private", "--to", "ssh-rsa")
    assert r.code == 0, r.err
