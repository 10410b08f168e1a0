"""Review s18 (H5) of private thoughts: what a user and a hostile peer met. Each test here
failed before the fix it names."""

from __future__ import annotations

import json

import pytest

from mindgit.identity.keys import NodeKey
from mindgit.identity.seal import IntegrityError
from mindgit.ipld import dagjson
from mindgit.store.private import node_keys, open_envelope
from tests.conftest import Mg
from tests.private.conftest import Nodes
from tests.private.test_attack_review import _swapped
from tests.private.test_rotation import interrupt_rotation


def test_diff_and_show_refuse_to_open_an_envelope_held_under_another_thoughts_name(
    nodes: Nodes, mg: Mg
) -> None:
    # mallory, relaying beta's branch, put an envelope of her own under the name of the thought
    # beta sealed to alpha. reveal and share refused it, but `diff` printed mallory's text as
    # that thought (beta's, by its first commit) with no warning at all, and `show` printed it
    # too, with only a warning on stderr that the state does not verify.
    alpha, cid, ref = _swapped(nodes)
    store = ("--store", str(alpha.path))
    for args in (("diff", f"{ref}~2", ref), ("show", ref)):
        r = mg(*store, *args)
        assert "wire the money" not in r.out + r.err, (args, r.out)
        line = next(line for line in r.out.splitlines() if str(cid) in line)
        # Named damaged before any opening is tried, as a public note would be.
        assert "(damaged: its bytes hash to " in line and "not to its name" in line, (args, line)
    r = mg(*store, "diff", f"{ref}~2", ref, "--json")
    [added] = json.loads(r.out)["thoughts_added"]
    assert "text" not in added and "not to its name" in added["error"]


def test_open_envelope_checks_the_envelope_is_the_thought_it_is_called(nodes: Nodes) -> None:
    alpha, cid, ref = _swapped(nodes)
    node = dagjson.decode(alpha.thought(cid, ref))
    assert isinstance(node, dict)
    with pytest.raises(IntegrityError, match="not to its CID"):
        open_envelope(cid, node, node_keys(alpha))


def test_the_commands_hints_give_name_the_typed_store(
    nodes: Nodes, mg: Mg, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `mindgit --store S think x --private --to nobody` said "add a node with: mindgit trust add
    # <did:key> --name <name>", which run as written trusted the node in another store (the one
    # of the working directory), or in none. The same of an untrusted did:key and of `keys apply`.
    alpha, _beta = nodes("alpha", "beta")
    (stranger,) = nodes("stranger", trust=False)
    monkeypatch.chdir(alpha.path.parent)
    store = ("--store", "alpha")
    did = stranger.public_key.did
    cases = [
        (
            ("think", "x", "--private", "--to", "nobody"),
            "`mindgit --store alpha trust add <did:key>",
        ),
        (
            ("think", "x", "--private", "--to", did),
            f"`mindgit --store alpha trust add {did} --name",
        ),
        (
            ("share", "bafyreigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", "--with", did),
            f"`mindgit --store alpha trust add {did} --name",
        ),
        (("keys", "apply", "nope"), "`mindgit --store alpha keys apply FETCH_HEAD`"),
    ]
    for args, hint in cases:
        r = mg(*store, *args)
        assert r.code == 1 and hint in r.err, (args, r.err)


def test_keys_list_names_the_key_an_unfinished_rotation_moves_to(
    nodes: Nodes, mg: Mg, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stopped halfway, a rotation has copied the old key to retired/ and left the new one in
    # pending.key, which reveal and show read thoughts with. `keys list` named the old key
    # twice and the new one not at all; and a pending key readable by others (a restore) went
    # unsaid there, exit 0, while `show` named it beside every thought it did not open.
    (alpha,) = nodes("alpha")
    old = alpha.public_key.did
    interrupt_rotation(alpha, monkeypatch)
    pending = alpha.pending_key_path
    new = NodeKey.load(pending).public.did
    r = mg("--store", str(alpha.path), "keys", "list", "--json")
    assert r.code == 0, r.err
    listed = [(k["status"], k["did"]) for k in json.loads(r.out)]
    assert listed == [("current", old), ("retired", old), ("pending", new)]
    pending.chmod(0o644)
    r = mg("--store", str(alpha.path), "keys", "list")
    assert r.code == 1 and str(pending) in r.err and "accessible by other users" in r.err
    assert len(r.err.strip().splitlines()) == 1 and old in r.out
